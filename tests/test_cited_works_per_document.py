"""The same citation key in two documents' reference lists can name two different works: each passage's
cited works come from its own document's list (DOI and title), in answers, passages and exports."""

from __future__ import annotations

import pytest
from conftest import make_settings

KEY = "Wang et al. 2020"
ARTICLES = {
    "lima-outbreak": (
        "Outbreak in Lima",
        "The Lima outbreak of ZQX virus was contained by household quarantine within six weeks [1].",
        "1. Wang L, Li X, Zhou Q. Household quarantine ended the Lima ZQX outbreak. J Virol. 2020;94:1-9. "
        "https://doi.org/10.1000/lima.2020.1",
    ),
    "oslo-vaccine": (
        "Vaccine trial in Oslo",
        "The Oslo trial found that the QRB vaccine protected nine of ten volunteers from infection [1].",
        "1. Wang P, Chen Y, Hansen K. A QRB vaccine protects volunteers in Oslo. Lancet. 2020;395:10-19. "
        "https://doi.org/10.1000/oslo.2020.2",
    ),
}
DOIS = {"lima-outbreak": "10.1000/lima.2020.1", "oslo-vaccine": "10.1000/oslo.2020.2"}


# Entries 2 and 3, and their citations, are the same in both: a numbered form is taken for citations when
# a document uses it three times or more.
OTHER_ENTRIES = (
    "2. Frost WH, Sydenstricker E, Reed LJ. Influenza morbidity. Public Health Rep. 1920;35:584.\n"
    "3. Marks G, Beatty WK, Porter R. Epidemics and their control. New York: Scribners; 1976.\n"
)


def article(title: str, finding: str, reference: str) -> str:
    return (
        f"{title}\n\nIntroduction\n\nOutbreaks of new viruses have been studied for a century [2]. "
        "Their control has a long history [3].\n\n"
        f"Results\n\n{finding} Further studies are planned for the next season.\n\n"
        f"References\n\n{reference}\n{OTHER_ENTRIES}"
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    from reviewqa.index import build_index, load_index

    settings = make_settings(tmp_path_factory.mktemp("same-key"))
    settings.documents_dir.mkdir(parents=True)
    for name, parts in ARTICLES.items():
        (settings.documents_dir / f"{name}.txt").write_text(article(*parts), encoding="utf-8")
    build_index(settings)
    return settings, load_index(settings)


def test_each_document_resolves_the_key_from_its_own_list(project) -> None:
    _, index = project
    for doc_id, doi in DOIS.items():
        assert any(KEY in p.cited_works for p in index.passages if p.document == doc_id), doc_id
        assert index.cited_work(KEY, doc_id).doi == doi


def test_answers_passages_and_exports_carry_the_citing_documents_work(project) -> None:
    from reviewqa.service import create_app

    settings, index = project
    client = create_app(settings, index).test_client()
    for doc_id, question in (
        ("oslo-vaccine", "How many volunteers did the QRB vaccine protect in the Oslo trial?"),
        ("lima-outbreak", "How was the Lima outbreak of ZQX virus contained?"),
    ):
        answer = client.post("/api/v1/ask", json={"question": question}).get_json()
        citation = answer["citations"][0]
        assert citation["document"] == doc_id
        assert [(w["key"], w["doi"]) for w in citation["cited_works"]] == [(KEY, DOIS[doc_id])]

        passage = client.get(f"/api/v1/passages/{citation['passage_id']}").get_json()
        assert [(w["key"], w["doi"]) for w in passage["cited_works"]] == [(KEY, DOIS[doc_id])]

        exported = client.get(
            "/api/v1/cited-works", query_string={"passage_id": citation["passage_id"], "format": "json"}
        ).get_json()
        assert DOIS[doc_id] in {work.get("doi") for work in exported["works"]}
        # The chat page's export names the keys of its citations and their documents.
        posted = client.post("/api/v1/cited-works", data={"key": [KEY], "doc_id": [doc_id]}).get_json()
        assert posted["works"][0]["doi"] == DOIS[doc_id]


def test_a_bibliography_file_row_is_the_same_work_everywhere(project, tmp_path) -> None:
    import shutil

    from reviewqa.index import build_index, load_index

    settings, _ = project
    copy = make_settings(tmp_path)
    shutil.copytree(settings.documents_dir, copy.documents_dir)
    copy.references_path.write_text(
        "key\tauthors\tyear\ttitle\tdoi\n" + f"{KEY}\tWang L\t2020\tChosen by hand\t10.1000/by-hand\n",
        encoding="utf-8",
    )
    build_index(copy)
    index = load_index(copy)
    assert {index.cited_work(KEY, doc_id).doi for doc_id in DOIS} == {"10.1000/by-hand"}
