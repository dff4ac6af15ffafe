"""Cited works as BibTeX, RIS and CSV (parsed back with real parsers), example questions made from the
corpus, "Author Year" labels, and the /openapi.json and /docs aliases."""

from __future__ import annotations

import csv
import io
import urllib.parse

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from flask.testing import FlaskClient
from service_support import assert_json_error

from reviewqa.models import CitedWork
from reviewqa.refs.export import author_names, bibtex, csv_table, ris, short_label
from reviewqa.service.examples import heading_question

HOSTILE = CitedWork(
    key="Smith et al. 2010a",
    authors="Smith J, O'Brien KL Jr, Müller A; CISNET & Co",
    year=2010,
    title="Growth {factor} & 5% of cells_x: a $1 #study ~ 2^3 \\ done",
    journal="J Test",
    doi="10.1000/a_b{c}",
    pmid="123",
    url="https://example.org/a?b=1&c=2",
)
SAME_KEY = CitedWork(key="Smith et al. 2010b", authors="Smith J, Doe K, Roe L", year=2010, title="Another")
FORMULA = CitedWork(key='=HYPERLINK("http://x")', authors="-Evil", year=None, title="+1 @cmd")


# ---------------------------------------------------------------- authors and labels


@pytest.mark.parametrize(
    ("authors", "names", "more"),
    [
        ("Yee D", [("Yee", "D")], False),
        ("Arteaga CL, Kull FC Jr, van't Veer LJ", [("Arteaga", "CL"), ("Kull", "FC"), ("van't Veer", "LJ")],
         False),
        ("Binoux M, et al.", [("Binoux", "M")], True),
        ("Jane Smith, John Doe", [("Smith", "Jane"), ("Doe", "John")], False),
        ("Smith, J. and Doe, K.", [("Smith", "J."), ("Doe", "K.")], False),
        ("Smith, J., Doe, K.", [("Smith", "J."), ("Doe", "K.")], False),
        ("Berry DA; CISNET Collaborators", [("Berry", "DA"), ("CISNET Collaborators", "")], False),
        ("Boehringer Ingelheim (sponsor)", [("Boehringer Ingelheim (sponsor)", "")], False),
    ],
)  # fmt: skip
def test_author_names_reads_the_common_styles(authors: str, names: list, more: bool) -> None:
    parsed = author_names(authors)
    assert [(a.family, a.given) for a in parsed.authors] == names
    assert parsed.more is more


def test_short_label_cites_as_the_review_does() -> None:
    assert short_label("Yee D", 2018) == "Yee 2018"
    assert short_label("Biller-Andorno N, Jüni P", 2014) == "Biller-Andorno & Jüni 2014"
    assert short_label("Arteaga CL, Kitten LJ, Coronado EB", 1989) == "Arteaga et al. 1989"
    assert short_label("Binoux M, et al.", 1986) == "Binoux et al. 1986"
    assert short_label("", 2018) == ""


# ---------------------------------------------------------------- formats


def test_bibtex_parses_with_a_real_parser_and_keeps_every_character() -> None:
    text = bibtex(
        [HOSTILE, SAME_KEY, CitedWork(key="NCT03099174", url="https://clinicaltrials.gov/study/NCT03099174")]
    )
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert library.failed_blocks == []
    entries = library.entries
    assert [e.key for e in entries] == ["Smith2010a", "Smith2010b", "NCT03099174"]
    assert [e.entry_type for e in entries] == ["article", "misc", "misc"]
    first = entries[0].fields_dict
    title = first["title"].value
    for fragment in ("Growth", "& 5% of cells_x", "$1 #study", "done"):
        assert fragment in title, title
    assert first["year"].value == "2010"
    assert first["doi"].value.startswith("10.1000/a_b")
    assert "Müller, A." in first["author"].value and "O'Brien, Jr, K. L." in first["author"].value
    assert entries[2].fields_dict["title"].value == "NCT03099174"


def test_ris_has_one_record_per_work() -> None:
    text = ris([HOSTILE, SAME_KEY])
    lines = text.split("\r\n")
    assert sum(line.startswith("TY  - ") for line in lines) == 2
    assert sum(line == "ER  - " for line in lines) == 2
    assert all(line == "" or line[2:6] == "  - " for line in lines)  # "TAG  - value"
    assert "AU  - O'Brien, K. L., Jr" in lines and "AU  - CISNET & Co" in lines
    assert "TY  - JOUR" in lines and "DO  - 10.1000/a_b{c}" in lines


def test_csv_parses_and_defuses_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_table([HOSTILE, FORMULA]))))
    assert rows[0]["key"] == HOSTILE.key and rows[0]["title"] == HOSTILE.title
    assert rows[1]["key"].startswith("'=") and rows[1]["authors"] == "'-Evil"
    assert rows[1]["title"] == "'+1 @cmd" and rows[1]["year"] == ""


# ---------------------------------------------------------------- example questions from headings


@pytest.mark.parametrize(
    ("heading", "question"),
    [
        ("Monoclonal antibodies", "What is known about monoclonal antibodies?"),
        ("2.1 Tyrosine kinase inhibition", "What is known about tyrosine kinase inhibition?"),
        ("IGF1R signalling in tumours", "What is known about IGF1R signalling in tumours?"),
        ("Is there a future for IGF1R inhibitors?", "Is there a future for IGF1R inhibitors?"),
        ("Introduction", None),
        ("3. Materials and methods", None),
        ("INSR is also a target in breast cancer", None),
        ("Results", None),
        ("Table", None),
    ],
)
def test_heading_questions(heading: str, question: str | None) -> None:
    assert heading_question(heading) == question


# ---------------------------------------------------------------- the API


@pytest.mark.slow
def test_cited_works_download_as_bibtex(client: FlaskClient, review_index) -> None:
    keys = ["Gradishar et al. 2016", "NCT03099174"]
    response = client.get("/api/v1/cited-works", query_string={"format": "bibtex", "key": keys})
    assert response.status_code == 200
    assert response.mimetype == "application/x-bibtex"
    assert response.headers["Content-Disposition"] == 'attachment; filename="reviewqa-cited-works.bib"'
    library = bibtexparser.parse_string(response.get_data(as_text=True))
    assert library.failed_blocks == []
    notes = [entry.fields_dict["note"].value for entry in library.entries]
    assert notes == [f"Cited as {key}" for key in keys]
    gradishar = library.entries[0].fields_dict
    assert gradishar["title"].value == review_index.bibliography["Gradishar et al. 2016"].title


@pytest.mark.slow
def test_a_passage_exports_its_document_and_the_works_it_cites(client: FlaskClient, review_index) -> None:
    passage = next(p for p in review_index.passages if len(p.cited_works) >= 2)
    response = client.get("/api/v1/cited-works", query_string={"passage_id": passage.passage_id})
    assert response.status_code == 200
    works = response.get_json()["works"]
    assert [w["key"] for w in works] == ["Yee 2018", *passage.cited_works]
    assert works[0]["title"].startswith("40 years of IGF1")
    ris_text = client.get(
        "/api/v1/cited-works", query_string={"passage_id": passage.passage_id, "format": "ris"}
    ).get_data(as_text=True)
    assert ris_text.count("ER  - ") == len(works)
    table = client.get("/api/v1/cited-works", query_string={"doc_id": "igf1r-review", "format": "csv"})
    assert table.mimetype == "text/csv"
    assert [row["key"] for row in csv.DictReader(io.StringIO(table.get_data(as_text=True)))] == ["Yee 2018"]


@pytest.mark.slow
def test_a_selection_longer_than_a_request_line_is_exported_by_post(
    client: FlaskClient, review_index
) -> None:
    from reviewqa.service.openapi import MAX_REQUEST_LINE_BYTES
    from reviewqa.service.validation import MAX_EXPORT_ITEMS

    keys = sorted(review_index.bibliography)
    repeated = (keys * (MAX_EXPORT_ITEMS // len(keys)))[:MAX_EXPORT_ITEMS]  # as a long conversation sends
    fields = {"key": repeated, "doc_id": ["igf1r-review"], "format": "csv"}
    assert len(urllib.parse.urlencode(fields, doseq=True)) > MAX_REQUEST_LINE_BYTES
    posted = client.post("/api/v1/cited-works", data=fields)
    assert posted.status_code == 200, posted.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(posted.get_data(as_text=True))))
    assert [row["key"] for row in rows] == [*keys, "Yee 2018"]
    assert posted.get_data() == client.get("/api/v1/cited-works", query_string=fields).get_data()
    as_json = client.post("/api/v1/cited-works", json={"key": keys[:1]})
    assert_json_error(as_json, 415, "unsupported_media_type")


@pytest.mark.slow
def test_cited_works_without_a_selection_is_the_bibliography(client: FlaskClient, review_index) -> None:
    works = client.get("/api/v1/cited-works").get_json()["works"]
    assert len(works) == len(review_index.bibliography) > 60
    trial = next(w for w in works if w["key"] == "NCT03099174")
    assert {"label": "ClinicalTrials.gov", "url": "https://clinicaltrials.gov/study/NCT03099174"} in trial[
        "links"
    ]


@pytest.mark.slow
def test_cited_works_errors(client: FlaskClient) -> None:
    assert_json_error(client.get("/api/v1/cited-works?format=docx"), 400, "invalid_format")
    assert_json_error(client.get("/api/v1/cited-works?key=%20"), 400, "invalid_key")
    assert_json_error(client.get("/api/v1/cited-works?key=Nobody%202099"), 404, "key_not_found")
    assert_json_error(client.get("/api/v1/cited-works?doc_id=nope"), 404, "doc_id_not_found")
    assert_json_error(client.get("/api/v1/cited-works?passage_id=nope:1"), 404, "passage_id_not_found")


@pytest.mark.slow
def test_documents_carry_an_author_year_label(client: FlaskClient) -> None:
    documents = client.get("/api/v1/documents").get_json()["documents"]
    assert [d["label"] for d in documents] == ["Yee 2018"]


@pytest.mark.slow
def test_example_questions_come_from_the_headings_and_are_answered(client: FlaskClient, review_index) -> None:
    questions = client.get("/api/v1/examples").get_json()["questions"]
    assert len(questions) == 3
    sections = {p.section_label for p in review_index.passages}
    for example in questions:
        assert example["section"] in sections and example["document"] == "igf1r-review"
        heading = example["section"].split(" > ")[-1]
        assert example["question"] == heading_question(heading)
        answer = client.post("/api/v1/ask", json={"question": example["question"]}).get_json()
        assert not answer["abstained"], example
    assert len({q["section"].split(" > ")[0] for q in questions}) == 3  # from different parts of the review


@pytest.mark.slow
def test_openapi_and_docs_aliases_redirect(client: FlaskClient) -> None:
    spec = client.get("/openapi.json")
    assert spec.status_code == 302 and spec.headers["Location"] == "/api/v1/openapi.json"
    assert client.get("/openapi.json", follow_redirects=True).get_json()["openapi"].startswith("3.")
    for path in ("/docs", "/docs/"):
        docs = client.get(path)
        assert docs.status_code == 302 and docs.headers["Location"] == "/api/"
    assert b"/cited-works" in client.get("/docs", follow_redirects=True).data
