"""`reviewqa ingest` on the review itself: sections, cited works, paragraphs, passages and offsets."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
import tiktoken
from click.testing import CliRunner
from conftest import REVIEW_PATH, make_settings

from reviewqa.corpus import cli as corpus_cli
from reviewqa.corpus import corpus_fingerprint, ingest, ingested_fingerprint, load_documents, load_passages
from reviewqa.errors import CorpusError
from reviewqa.models import Passage
from reviewqa.settings import PROJECT_ROOT, Settings

DOCUMENTS_TOML = PROJECT_ROOT / "corpus" / "documents.toml"
SHARED_REFERENCES = PROJECT_ROOT.parent / "shared" / "references" / "references.tsv"

EARLY = "Early phase clinical trials"
FUTURE = "Is there a future for IGF1R inhibitors as cancer therapies?"
STRATEGIES = "Strategies to block IGF1R"
# The review's headings, read off the text by hand, with the hierarchy the shipped outline gives them.
EXPECTED_SECTIONS = [
    ["Abstract"],
    ["Introduction"],
    [STRATEGIES],
    [STRATEGIES, "Ligand suppression"],
    [STRATEGIES, "Tyrosine kinase inhibition"],
    [STRATEGIES, "Monoclonal antibodies"],
    [EARLY],
    [EARLY, "Tyrosine kinase inhibitors in breast cancer"],
    [EARLY, "Randomized clinical trials of IGF1R inhibitors in ER+ breast cancer"],
    [EARLY, "Early phase clinical trials of IGF1R inhibitors with chemotherapy in breast cancer"],
    [FUTURE],
    [FUTURE, "Predictive biomarkers for IGF1R-driven tumors should be used for future clinical trials"],
    [FUTURE, "Specific subtypes of breast cancer should be included in clinical trials"],
    [FUTURE, "INSR is also a target in breast cancer"],
    ["Summary"],
]
# Every work the review cites, checked by hand against its text (64 works and 2 trial registry ids).
EXPECTED_CITED_WORKS = [
    "Arteaga et al. 1989",
    "Beatson 1896",
    "Becker et al. 2011",
    "Becker et al. 2016",
    "Berry et al. 2005",
    "Bhandari et al. 2014",
    "Biller-Andorno & Juni 2014",
    "Binoux et al. 1986",
    "Cardoso et al. 2016",
    "Chan et al. 1998",
    "Chan et al. 2016",
    "Chan et al. 2017",
    "Creighton et al. 2008",
    "Dearth et al. 2006",
    "Divisova et al. 2006",
    "Drury et al. 2011",
    "Ekyalongo & Yee 2017",
    "Esposito et al. 2013",
    "Fagan et al. 2012",
    "Fassnacht et al. 2015",
    "Fierz et al. 2010",
    "Fox et al. 2011",
    "Fracchia et al. 1971",
    "Friedbichler et al. 2014",
    "Gallagher et al. 2013",
    "Gradishar et al. 2016",
    "Guevara-Aguirre et al. 2011",
    "Haluska et al. 2007",
    "Haluska et al. 2014",
    "Hanahan & Weinberg 2011",
    "Iams & Lovly 2015",
    "Ingle et al. 1999",
    "Jones et al. 2015",
    "Krywicki & Yee 1992",
    "Leroith et al. 1993",
    "Litzenburger et al. 2011",
    "Ma et al. 2006",
    "Mandelblatt et al. 2009",
    "Mardilovich & Shaw 2009",
    "Mariotto et al. 2017",
    "McCaffery et al. 2013",
    "NCT01225172",
    "NCT03099174",
    "Nagle et al. 2004",
    "Novosyadlyy et al. 2010",
    "Oesterreich et al. 2001",
    "O’Flanagan et al. 2016",
    "Palmieri & Jones 2012",
    "Pearson & Ray 1960",
    "Pegram et al. 1998",
    "Perks & Holly 2008",
    "Peto et al. 2012",
    "Pollak 2008",
    "Pollak 2012",
    "Pritchard et al. 2011",
    "Puzanov et al. 2015",
    "Robertson et al. 2013",
    "Rostoker et al. 2015",
    "Ryan et al. 2011",
    "Sachdev et al. 2004",
    "Sciacca et al. 1999",
    "Yee 2015",
    "Yee et al. 2012",
    "Yee et al. 2017",
    "Yin et al. 2007",
    "de Lint et al. 2016",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A project holding the review and the shipped documents.toml, ingested once with the CLI."""
    settings = make_settings(tmp_path_factory.mktemp("corpus-review"))
    settings.documents_dir.mkdir(parents=True)
    shutil.copy(REVIEW_PATH, settings.documents_dir / REVIEW_PATH.name)
    shutil.copy(DOCUMENTS_TOML, settings.corpus_dir / "documents.toml")
    return settings


@pytest.fixture(scope="module")
def cli_output(project: Settings) -> str:
    # The command as the `reviewqa` group runs it, with the group's Settings object.
    result = CliRunner().invoke(corpus_cli.ingest, [], obj=project, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def passages(project: Settings, cli_output: str) -> list[Passage]:
    return load_passages(project)


@pytest.fixture(scope="module")
def clean_text(project: Settings, cli_output: str) -> str:
    with (project.index_dir / "clean" / "igf1r-review.txt").open(encoding="utf-8", newline="") as fh:
        return fh.read()


def test_cli_prints_the_summary(cli_output: str, project: Settings, passages: list[Passage]) -> None:
    documents = load_documents(project)
    sentences = sum(len({(s.start, s.end) for s in p.sentences}) for p in passages)
    assert f"{len(passages)} passages" in cli_output
    assert f"{documents[0]['sentences']} sentences" in cli_output
    assert sentences >= documents[0]["sentences"]  # overlap repeats sentences across passages
    assert "1 documents, 0 pages, 15 sections" in cli_output
    assert f"{len(EXPECTED_CITED_WORKS)} cited works" in cli_output


def test_sections_are_the_reviews_headings(
    project: Settings, passages: list[Passage], cli_output: str
) -> None:
    [document] = load_documents(project)
    assert document["sections"] == EXPECTED_SECTIONS
    sections_with_text = []
    for passage in passages:
        if passage.section not in sections_with_text:
            sections_with_text.append(passage.section)
    # "Early phase clinical trials" opens straight onto its first sub-heading: no text of its own.
    assert sections_with_text == [path for path in EXPECTED_SECTIONS if path != [EARLY]]


def test_every_cited_work_is_found(project: Settings, passages: list[Passage], cli_output: str) -> None:
    cited = json.loads((project.index_dir / "cited_works.json").read_text(encoding="utf-8"))
    assert cited == EXPECTED_CITED_WORKS
    assert sorted({key for p in passages for key in p.cited_works}) == EXPECTED_CITED_WORKS


@pytest.mark.skipif(not SHARED_REFERENCES.exists(), reason="the shared reference list is not on this machine")
def test_cited_work_keys_join_the_reference_list() -> None:
    rows = SHARED_REFERENCES.read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(row.split("\t")[0] for row in rows if row.strip()) == EXPECTED_CITED_WORKS


def test_sentences_know_their_citations(passages: list[Passage]) -> None:
    by_text = {s.text: s for p in passages for s in p.sentences}
    pollak = next(s for t, s in by_text.items() if t.startswith("There have been several excellent reviews"))
    assert pollak.cited_works == ["Pollak 2008", "Pollak 2012"]
    beatson = next(s for t, s in by_text.items() if t.startswith("In 1890, Beatson"))
    assert beatson.cited_works == ["Beatson 1896"]
    gradishar = next(s for t, s in by_text.items() if t.startswith("A reason for these worse outcomes"))
    assert gradishar.cited_works == ["Gradishar et al. 2016"]
    pearson = next(s for t, s in by_text.items() if "hypophysectomy after all sources" in t)
    assert pearson.cited_works == ["Pearson & Ray 1960", "Fracchia et al. 1971"]


def test_offsets_round_trip(passages: list[Passage], clean_text: str) -> None:
    for passage in passages:
        assert clean_text[passage.start : passage.end] == passage.text
        assert passage.sentences[0].start == passage.start and passage.sentences[-1].end == passage.end
        for sentence in passage.sentences:
            assert clean_text[sentence.start : sentence.end] == sentence.text


def test_no_passage_crosses_a_section_boundary(passages: list[Passage], clean_text: str) -> None:
    heading_texts = [path[-1] for path in EXPECTED_SECTIONS]
    heading_starts = sorted(clean_text.index(f"\n\n{text}\n\n") + 2 for text in heading_texts[1:])
    for passage in passages:
        assert not any(passage.start < start < passage.end for start in heading_starts), passage.passage_id
        opening = max((start for start in heading_starts if start < passage.start), default=0)
        assert clean_text[opening:].startswith(passage.section[-1])


def test_no_heading_text_is_glued_into_sentences(passages: list[Passage]) -> None:
    headings = {path[-1] for path in EXPECTED_SECTIONS}
    for sentence in (s for p in passages for s in p.sentences):
        assert "\n" not in sentence.text
        for heading in headings:
            assert not sentence.text.startswith(heading + " "), sentence.text
            assert not sentence.text.endswith(" " + heading), sentence.text


@pytest.mark.parametrize(
    "phrase",
    [
        "modulates the behavior of micro-metastatic distant metastases",
        "type I insulin-like growth factor receptor (IGF1R) could serve",
        "suggesting IGF1R signaling-enhanced ER function",
        "abemaciclib in endocrine-resistant breast cancer (NCT03099174).",
        "expressed at very low levels in these endocrine-resistant breast cancers",
        "Presumably, in tamoxifen-resistant cells",
        "had the poorest progression-free survival (Gradishar et al. 2016).",
        "Further, even for women with metastatic disease",
        "increased IGF1 production by the liver.",
        "(Pegram et al. 1998)",
        "4 cycles (given every 2 or 3 weeks) of doxorubicin",
        "As in the development of HER2-targeted therapies",
    ],
)
def test_cleaning_rejoins_lines_and_keeps_real_hyphens(clean_text: str, phrase: str) -> None:
    assert phrase in clean_text


def test_cleaned_text_has_no_extraction_debris(clean_text: str) -> None:
    assert "  " not in clean_text
    assert "\u00a0" not in clean_text
    assert "- " not in clean_text.replace(" - ", "")
    assert all(line == line.strip() for line in clean_text.split("\n"))


def test_paragraphs(passages: list[Passage]) -> None:
    paragraph_of = {s.text[:40]: s.paragraph for p in passages for s in p.sentences}

    def paragraph(start: str) -> int:
        return next(index for text, index in paragraph_of.items() if text.startswith(start))

    # A blank line followed by a lower-case continuation does not break a paragraph.
    assert paragraph("In contrast to mammography") == paragraph("Further, even for women")
    assert paragraph("In adults, post-pubertal") == paragraph("Originally called somatomedin C")
    # Wrapped lines end in a space in this text, paragraphs do not: a blank line after a line ending in a
    # space is a page or column break, even between sentences.
    assert paragraph("Ganitumab in combination with") == paragraph("This trial demonstrated no evidence")
    assert paragraph("Further, this acceleration") == paragraph("While the IGF1R and INSR tyrosine")
    assert paragraph("A reason for these worse outcomes") == paragraph("Similar to the trial of ganitumab")
    assert paragraph("Similar to the trial of ganitumab") < paragraph("A novel aspect of this trial")
    assert paragraph("A novel aspect of this trial") == paragraph("These authors showed the level of INSR")
    assert paragraph("Abstract"[:0] + "Early preclinical") == 0
    assert len(set(paragraph_of.values())) == max(paragraph_of.values()) + 1


def test_passages_respect_the_token_budget(project: Settings, passages: list[Passage]) -> None:
    encoding = tiktoken.get_encoding(project.encoding)
    for passage in passages:
        sizes = [len(encoding.encode(s.text)) for s in passage.sentences]
        assert len(sizes) == 1 or sum(sizes) <= project.chunk_tokens
    same_section = [(a, b) for a, b in itertools.pairwise(passages) if a.section == b.section]
    assert same_section
    for first, second in same_section:
        shared = {(s.start, s.end) for s in first.sentences} & {(s.start, s.end) for s in second.sentences}
        assert len(shared) <= project.chunk_overlap_sentences
        assert second.end > first.end
    assert [p.passage_id for p in passages] == [f"igf1r-review:{i}" for i in range(len(passages))]


def test_documents_json(project: Settings, passages: list[Passage]) -> None:
    [document] = load_documents(project)
    assert document["doc_id"] == "igf1r-review"
    assert document["path"] == "igf1r-review.txt"
    assert document["kind"] == "review" and document["key"] is None
    assert document["year"] == 2018 and document["authors"] == "Yee D"
    assert document["title"].startswith("40 years of IGF1")
    assert document["passages"] == len(passages)
    assert "text" not in document


def test_fingerprint_tracks_documents_and_settings(
    project: Settings, cli_output: str, tmp_path: Path
) -> None:
    assert ingested_fingerprint(project) == corpus_fingerprint(project)
    assert corpus_fingerprint(project.replace(chunk_tokens=99)) != corpus_fingerprint(project)
    other = make_settings(tmp_path)
    shutil.copytree(project.corpus_dir, other.corpus_dir)
    assert corpus_fingerprint(other) == corpus_fingerprint(project)  # where the project lives does not matter
    (other.documents_dir / "sources").mkdir()
    (other.documents_dir / "sources" / "note.txt").write_text("A source paper.\n", encoding="utf-8")
    assert corpus_fingerprint(other) != corpus_fingerprint(project)


def test_review_without_outline_infers_what_it_can(tmp_path: Path) -> None:
    """Without documents.toml every heading is still found from the text, but the plain text has no
    heading levels: only a heading directly followed by another is known to be its parent."""
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    shutil.copy(REVIEW_PATH, settings.documents_dir / REVIEW_PATH.name)
    assert not (settings.corpus_dir / "documents.toml").exists()
    ingest(settings)
    [document] = load_documents(settings)
    nested = [EARLY, "Tyrosine kinase inhibitors in breast cancer"]
    inferred = [path if path == nested else [path[-1]] for path in EXPECTED_SECTIONS]
    assert document["sections"] == inferred
    assert document["title"] == "igf1r-review"  # no documents.toml: the file name stands in
    cited = json.loads((settings.index_dir / "cited_works.json").read_text(encoding="utf-8"))
    assert cited == EXPECTED_CITED_WORKS


def test_loading_before_ingest_is_a_clear_error(empty_settings: Settings) -> None:
    with pytest.raises(CorpusError, match="reviewqa ingest"):
        load_passages(empty_settings)
    with pytest.raises(CorpusError, match="reviewqa ingest"):
        load_documents(empty_settings)
    with pytest.raises(CorpusError, match="no documents"):
        ingest(empty_settings)
