"""A cited source paper followed end to end: matched, indexed with the review, and used as support.

The source is synthetic: made-up sentences in the style of a trial report, written for this test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REFERENCES_PATH, REVIEW_PATH, make_settings

from reviewqa.refs.bibliography import load_bibliography
from reviewqa.refs.match import match_sources
from reviewqa.settings import Settings

pytestmark = pytest.mark.slow

KEY = "Gradishar et al. 2016"
SOURCE_NAME = "insr-receptor-study.txt"
INSR_SENTENCES = (
    "INSR transcripts were on average eight times more abundant than IGF1R transcripts in the same tumours.",
    "Among the INSR isoforms, INSR-A exceeded INSR-B in most of the tumours examined.",
    "Patients whose tumours were in the top quartile of INSR expression had the shortest "
    "progression-free survival.",
)


def synthetic_source(title: str) -> str:
    return "\n\n".join(
        [
            title,
            "Abstract",
            "We report receptor expression in tumours from a randomised trial of an antibody against IGF1R. "
            "The antibody gave no benefit alone or with endocrine therapy.",
            "Methods",
            "Archival tumour blocks were available from seventy patients. "
            "Messenger RNA levels of IGF1R, INSR and both INSR isoforms were measured by RT-qPCR. "
            "Expression was normalised to three housekeeping genes.",
            "Results",
            " ".join(INSR_SENTENCES),
            "Fatigue and nausea were the most frequent adverse events. "
            "Grade 3 hyperglycaemia occurred in four patients.",
            "Discussion",
            "Low IGF1R and high INSR levels may explain why blocking IGF1R alone did not slow these tumours.",
        ]
    )


@pytest.fixture(scope="module")
def source_project(tmp_path_factory: pytest.TempPathFactory):
    """A project with the review, the bibliography and one matched source paper, indexed once."""
    from reviewqa.index import build_index, load_index

    settings = make_settings(tmp_path_factory.mktemp("sources-project"))
    sources = settings.documents_dir / "sources"
    sources.mkdir(parents=True)
    shutil.copy(REVIEW_PATH, settings.documents_dir / REVIEW_PATH.name)
    shutil.copy(REFERENCES_PATH, settings.references_path)
    title = load_bibliography(settings.references_path)[KEY].title
    (sources / SOURCE_NAME).write_text(synthetic_source(title), encoding="utf-8")
    report = match_sources(settings)
    build_index(settings)
    return settings, load_index(settings), report


def source_doc_id(index) -> str:
    return next(doc_id for doc_id, meta in index.documents.items() if meta.get("key") == KEY)


def test_the_source_is_matched_and_indexed_with_its_key(source_project) -> None:
    _, index, report = source_project
    assert [(m.path, m.key, m.method) for m in report.matched] == [(f"sources/{SOURCE_NAME}", KEY, "title")]
    doc_id = source_doc_id(index)
    assert doc_id == "sources/" + Path(SOURCE_NAME).stem
    assert index.documents[doc_id]["kind"] == "source"
    assert any(p.document == doc_id for p in index.passages)


def test_find_support_points_into_the_source(source_project) -> None:
    from reviewqa.refs.support import find_support

    _, index, _ = source_project
    # Two sentences of the review that cite Gradishar et al. 2016, and the synthetic findings they match.
    claims = {
        "endocrine-resistant ER+ breast cancers had very little expression of IGF1R, yet, had much higher "
        "levels of INSR (Gradishar et al. 2016).": INSR_SENTENCES[0],
        "the tumors with the top quartile of IR expression had the poorest progression-free survival "
        "(Gradishar et al. 2016).": INSR_SENTENCES[2],
    }
    for claim, expected in claims.items():
        support = find_support(index, KEY, claim)
        assert support is not None
        passage = index.passage_by_id[support.passage_id]
        assert passage.document == source_doc_id(index)
        assert support.quote in passage.text
        assert support.quote == expected
        assert 0.5 < support.score <= 1.0
    assert find_support(index, "Fox et al. 2011", "IGF1R levels") is None  # no source indexed for that work


def test_answer_carries_source_support_for_gradishar(source_project) -> None:
    from reviewqa.answer import answer

    settings, index, _ = source_project
    result = answer("What did Gradishar and coworkers find about INSR levels?", settings, index)
    assert not result.abstained
    supported = [
        (citation, work)
        for citation in result.citations
        for work in citation.cited_works
        if work.key == KEY and work.support is not None
    ]
    assert supported, result.citations
    citation, work = supported[0]
    source_passage = index.passage_by_id[work.support.passage_id]
    assert source_passage.document == source_doc_id(index)
    assert work.support.quote in source_passage.text
    assert "INSR" in work.support.quote
    # The claim is the review's, attributed to the work: a review citation, not one of the source.
    assert (citation.document_kind, citation.work_key) == ("review", None)
    assert work.doi == "10.1158/1078-0432.CCR-15-0588"
    # Every reference to the indexed work says its source is indexed; other works say they are not.
    works = [w for c in result.citations for w in c.cited_works]
    assert all(w.source_indexed == (w.key == KEY) for w in works), works


def test_source_passages_carry_their_work_key(source_project) -> None:
    _, index, _ = source_project
    doc_id = source_doc_id(index)
    source_passages = [p for p in index.passages if p.document == doc_id]
    assert source_passages and all(p.work_key == KEY for p in source_passages)
    assert all(p.work_key is None for p in index.passages if p.document == "igf1r-review")


def test_an_answer_from_the_source_cites_it_with_its_work_key(source_project) -> None:
    from reviewqa.answer import answer

    settings, index, _ = source_project
    result = answer("How many patients had grade 3 hyperglycaemia?", settings, index)
    assert not result.abstained
    direct = [c for c in result.citations if c.passage_id.startswith(source_doc_id(index) + ":")]
    assert direct, result.citations
    assert all((c.document_kind, c.work_key) == ("source", KEY) for c in direct)
    assert "four patients" in direct[0].quote
    retrieved = {p.passage_id: p.work_key for p in result.passages}
    assert retrieved[direct[0].passage_id] == KEY
    as_json = result.to_dict()
    assert as_json["citations"][0]["work_key"] == KEY


def test_search_hits_name_the_work_in_the_api_and_the_cli(source_project) -> None:
    import json

    from click.testing import CliRunner

    from reviewqa.cli import main
    from reviewqa.service import create_app

    settings, index, _ = source_project
    query = "grade 3 hyperglycaemia in four patients"
    client = create_app(settings, index).test_client()
    hits = client.get("/api/v1/search", query_string={"q": query, "k": 5}).get_json()["results"]
    by_id = {hit["passage_id"]: hit["work_key"] for hit in hits}
    assert by_id[hits[0]["passage_id"]] == KEY
    assert all(by_id[pid] is None for pid in by_id if pid.startswith("igf1r-review:"))
    detail = client.get(f"/api/v1/passages/{hits[0]['passage_id']}").get_json()
    assert detail["work_key"] == KEY

    env = {
        "REVIEWQA_CORPUS_DIR": str(settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(settings.index_dir),
    }
    result = CliRunner().invoke(main, ["search", query, "--k", "5", "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["hits"]  # stderr says whether a service or this process answered
    assert rows[0]["passage_id"] == hits[0]["passage_id"] and rows[0]["work_key"] == KEY


def test_check_finds_the_shipped_bibliography_complete(
    source_project: tuple[Settings, object, object],
) -> None:
    from reviewqa.refs.check import check_bibliography

    settings, _, _ = source_project
    report = check_bibliography(settings)
    assert report.missing_from_bibliography == []
    assert report.never_cited == []
    assert KEY in report.cited
