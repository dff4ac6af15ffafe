"""Plain-text articles that open with a header of ``Key: value`` lines (the CORD-19 layout of COVID-QA)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_settings

from reviewqa.corpus import ingest, load_documents, load_passages
from reviewqa.corpus.frontmatter import read_front_matter
from reviewqa.settings import PROJECT_ROOT

COVIDQA_ARTICLES = PROJECT_ROOT.parent / "shared" / "benchmarks" / "covidqa" / "articles.jsonl"
# Three layouts of the header: labelled fields, unlabelled authors and date with "DOI:x" (no space), and a
# title holding a colon; each with an abstract, one with "Abstract: nan".
SAMPLE_IDS = ("covidqa-1674", "covidqa-776", "covidqa-2669")

HEADER = """Viruses Causing Gastroenteritis: The Known, The New and Those Beyond

https://www.ncbi.nlm.nih.gov/pmc/articles/PMC4776197/

SHA: f7b30ee89775bc82607cc6bc87feb5934b47625f

Authors: Oude Munnink, Bas B.; van der Hoek, Lia
Date: 2016-02-19
DOI: 10.3390/v8020042
License: cc-by

Abstract: The list of recently discovered gastrointestinal viruses is expanding rapidly.

Text: The gastrointestinal tract is a vulnerable organ for infections. It is in constant contact with
the outside world.
"""


def test_header_lines_are_fields_and_labels_open_parts() -> None:
    front = read_front_matter(HEADER)
    assert front is not None
    assert front.fields["title"] == "Viruses Causing Gastroenteritis: The Known, The New and Those Beyond"
    assert front.fields["authors"] == "Oude Munnink, Bas B.; van der Hoek, Lia"
    assert (front.year, front.doi, front.fields["licence"]) == (2016, "10.3390/v8020042", "cc-by")
    assert front.fields["url"] == "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC4776197/"
    assert [name for name, _ in front.parts] == ["Abstract", "Main text"]
    assert front.parts[1][1].startswith("The gastrointestinal tract")


@pytest.mark.parametrize(
    "text",
    [
        "Introduction\n\nThe review starts here. Date: 2016 is mentioned.\n",
        "A title\n\nKeywords: a, b\n\nIntroduction\n\nText follows here.\n",  # one field is no header
        "Note: this line looks like a field.\nTo: someone\n\nBut the text goes on as prose.\n",
    ],
)
def test_texts_without_a_header_block_have_no_front_matter(text: str) -> None:
    assert read_front_matter(text) is None


def test_front_matter_of_a_text_document_becomes_metadata_not_sentences(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    (settings.documents_dir / "gastro.txt").write_text(HEADER, encoding="utf-8")
    ingest(settings)
    (record,) = load_documents(settings)
    assert record["title"].startswith("Viruses Causing Gastroenteritis")
    assert (record["year"], record["doi"], record["licence"]) == (2016, "10.3390/v8020042", "cc-by")
    assert record["sections"] == [["Abstract"], ["Main text"]]
    passages = load_passages(settings)
    assert [p.section for p in passages] == [["Abstract"], ["Main text"]]
    text = " ".join(s.text for p in passages for s in p.sentences)
    for leaked in ("SHA", "f7b30ee8", "Authors:", "License", "DOI", "cc-by", "https://"):
        assert leaked not in text


@pytest.mark.skipif(
    not COVIDQA_ARTICLES.exists(), reason="../shared/benchmarks/covidqa is not on this machine"
)
def test_real_cord19_articles_keep_their_header_out_of_the_sentences(tmp_path: Path) -> None:
    rows = {}
    with COVIDQA_ARTICLES.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["document"] in SAMPLE_IDS:
                rows[row["document"]] = row
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    for doc_id, row in rows.items():
        (settings.documents_dir / f"{doc_id}.txt").write_text(row["text"], encoding="utf-8")
    ingest(settings)
    records = {record["doc_id"]: record for record in load_documents(settings)}
    passages = load_passages(settings)
    for doc_id, row in rows.items():
        header = [line.strip() for line in row["text"].split("\n")[:12] if line.strip()]
        record = records[doc_id]
        assert record["title"] == row["title"].strip()
        assert record["doi"] and record["doi"] in row["text"][:1000]
        assert record["year"] is not None
        sentences = [s.text for p in passages if p.document == doc_id for s in p.sentences]
        assert sentences
        for line in header:
            assert not any(line in sentence for sentence in sentences), (doc_id, line)
        sections = {tuple(p.section[:1]) for p in passages if p.document == doc_id}
        assert ("Main text",) in sections
    assert records["covidqa-1674"]["sections"][0] == ["Abstract"]
    assert all(p.section for p in passages)
