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


def test_run_in_headings_become_sub_sections_where_the_document_uses_them() -> None:
    from reviewqa.corpus.cleaning import clean_text

    raw = (
        "Methods\n\n"
        "2.1. Cell Culture. MDCK cells were cultured in DMEM with ten percent serum for two days.\n\n"
        "Statistical analysis. Differences between two groups were evaluated with a t test here.\n\n"
        "All patients recovered. None of them had to be admitted to an intensive care unit later.\n"
    )
    cleaned = clean_text(raw)
    assert [h.path for h in cleaned.headings] == [
        ("Methods",),
        ("Methods", "2.1. Cell Culture"),
        ("Methods", "Statistical analysis"),
    ]
    first = cleaned.paragraphs[0]
    assert cleaned.text[first.start : first.end].startswith("MDCK cells were cultured")
    assert cleaned.paragraphs[2].section == ("Methods", "Statistical analysis")  # a clause is no heading


def test_reference_list_is_taken_out_of_the_text() -> None:
    from reviewqa.corpus.cleaning import clean_text

    raw = (
        "Discussion\n\nThe virus spread widely [1]. It was contained later [2].\n\n"
        "References\n\n1. Frost WH. Statistics of influenza morbidity. Public Health Rep. 1920;35:584.\n"
        "2. Marks G, Beatty WK. Epidemics. New York: Scribners, 1976.\n\n"
        "Acknowledgements\n\nWe thank the nurses for their help with the samples.\n"
    )
    cleaned = clean_text(raw)
    assert "Frost WH" not in cleaned.text and "Scribners" not in cleaned.text
    assert "We thank the nurses" in cleaned.text
    assert cleaned.reference_lists == [
        [
            "1. Frost WH. Statistics of influenza morbidity. Public Health Rep. 1920;35:584.",
            "2. Marks G, Beatty WK. Epidemics. New York: Scribners, 1976.",
        ]
    ]


def test_a_references_line_followed_by_prose_is_kept() -> None:
    from reviewqa.corpus.cleaning import clean_text

    raw = "Background\n\nSome text here.\n\nReferences\n\nThe following text is prose, not a list of works.\n"
    assert "not a list of works" in clean_text(raw).text


def test_a_caption_label_is_not_a_sentence_of_its_own() -> None:
    from reviewqa.corpus.sentences import split_sentences

    text = "Figure 2. Viral load over time in the two groups. Table S1 . Primers used."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Figure 2. Viral load over time in the two groups.",
        "Table S1 . Primers used.",
    ]
