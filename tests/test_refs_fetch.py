"""`reviewqa refs fetch` against a local stub of Europe PMC's REST API (never the real network)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from service_support import stub_http_server

from reviewqa.cli import main
from reviewqa.models import CitedWork
from reviewqa.refs.bibliography import write_bibliography
from reviewqa.refs.fetch import FetchError, PoliteClient, fetch_sources, retry_after_seconds
from reviewqa.settings import Settings

GRADISHAR = CitedWork(
    key="Gradishar et al. 2016",
    authors="Gradishar WJ",
    year=2016,
    title="Clinical and translational results of a phase II, randomized trial of an anti-IGF-1R "
    "(cixutumumab) in women with breast cancer that progressed on endocrine therapy",
    doi="10.1158/1078-0432.CCR-15-0588",
)
HALUSKA = CitedWork(
    key="Haluska et al. 2007", year=2007, title="Antitumor effects of BMS-554417", pmid="17908976"
)
FOX = CitedWork(key="Fox et al. 2011", year=2011, title="A lost paper", doi="10.1158/0008-5472.CAN-11-1295")
WRONG = CitedWork(
    key="Wrong et al. 2000", year=2000, title="Hypophysectomy in mammary cancer", doi="10.1/wrong"
)
NO_ID = CitedWork(key="Pearson & Ray 1960", year=1960, title="Hypophysectomy")


def search_record(doi: str = "", pmid: str = "", title: str = "", **extra: object) -> dict:
    record = {"id": pmid or "X1", "source": "MED", "pmid": pmid, "doi": doi, "title": title}
    record.update(extra)
    return {"version": "6.9", "hitCount": 1, "resultList": {"result": [record]}}


NO_HITS = {"version": "6.9", "hitCount": 0, "resultList": {"result": []}}

FULL_TEXT_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink">
<front><article-meta><title-group><article-title>Clinical and translational results</article-title>
</title-group></article-meta></front>
<body>
<sec><title>Introduction</title><p>The type I insulin-like growth factor receptor (IGF1R) is a
<italic>tyrosine kinase</italic> receptor.</p></sec>
<sec><title>Results</title><p>Cixutumumab did not improve progression-free survival.</p>
<table-wrap><table><tr><td>cell text that must not appear</td></tr></table></table-wrap></sec>
</body>
<back><ref-list><ref>A reference that must not appear</ref></ref-list></back>
</article>"""


@dataclass
class StubEuropePmc:
    """Serves queued responses per (path, query); the last response of a queue repeats."""

    routes: dict[tuple[str, str], list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (path, query, user agent)

    def add(self, path: str, query: str, *responses: tuple[int, dict[str, str], object]) -> None:
        self.routes[(path, query)] = [
            (status, headers, body if isinstance(body, bytes) else json.dumps(body).encode())
            for status, headers, body in responses
        ]

    def respond(self, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        queue = self.routes.get((path, query))
        if not queue:
            return 404, {}, b"not found"
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def count(self, path: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == path)


@pytest.fixture
def stub() -> Iterator[tuple[StubEuropePmc, str]]:
    state = StubEuropePmc()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query).get("query", [""])[0]
            state.requests.append((parts.path, query, self.headers.get("User-Agent", "")))
            status, headers, body = state.respond(parts.path, query)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    with stub_http_server(Handler) as base_url:
        yield state, base_url + "/rest"


@pytest.fixture
def project(empty_settings: Settings, stub: tuple[StubEuropePmc, str]) -> Settings:
    write_bibliography(empty_settings.references_path, [GRADISHAR, HALUSKA, FOX, WRONG, NO_ID])
    return empty_settings.replace(
        fetch_base_url=stub[1], fetch_delay_s=0.0, fetch_backoff_s=0.01, fetch_retries=3, fetch_timeout_s=5.0
    )


def serve_the_usual(state: StubEuropePmc) -> None:
    state.add(
        "/rest/search",
        'DOI:"10.1158/1078-0432.CCR-15-0588"',
        (429, {"Retry-After": "0"}, b"slow down"),
        (500, {}, b"oops"),
        (200, {}, search_record(
            doi="10.1158/1078-0432.CCR-15-0588", pmid="26324738", pmcid="PMC5548297", isOpenAccess="Y",
            title=GRADISHAR.title + ".", authorString="Gradishar WJ, Yardley DA.",
            journalTitle="Clin Cancer Res", pubYear="2016",
            abstractText="<h4>Purpose</h4>Cixutumumab is an anti-IGF-1R antibody.",
        )),
    )  # fmt: skip
    state.add("/rest/PMC5548297/fullTextXML", "", (503, {}, b"busy"), (200, {}, FULL_TEXT_XML))
    state.add(
        "/rest/search",
        "EXT_ID:17908976 AND SRC:MED",
        (200, {}, search_record(pmid="17908976", title="Antitumor effects of BMS-554417.", isOpenAccess="N",
                                abstractText="BMS-554417 inhibited IGF1R &amp; INSR kinase activity.")),
    )  # fmt: skip
    state.add("/rest/search", 'DOI:"10.1158/0008-5472.CAN-11-1295"', (200, {}, NO_HITS))
    state.add(
        "/rest/search",
        'DOI:"10.1/wrong"',
        (200, {}, search_record(doi="10.1/wrong", title="Quantum chromodynamics")),
    )


def test_fetch_retries_then_writes_full_text_and_abstracts(project: Settings, stub) -> None:
    state, _ = stub
    serve_the_usual(state)

    report = fetch_sources(project)

    outcomes = {o.key: o.outcome for o in report.outcomes}
    assert outcomes == {
        "Gradishar et al. 2016": "full text",
        "Haluska et al. 2007": "abstract",
        "Fox et al. 2011": "not found",
        "Wrong et al. 2000": "title mismatch",
    }
    assert report.without_identifier == ["Pearson & Ray 1960"]
    assert state.count("/rest/search") == 3 + 3  # Gradishar: 429 and 500 retried, then 200; three others
    assert state.count("/rest/PMC5548297/fullTextXML") == 2  # the 503 is retried
    assert all(agent.startswith("reviewqa/") for _, _, agent in state.requests)

    sources = project.documents_dir / "sources"
    assert sorted(p.name for p in sources.iterdir()) == ["gradishar-et-al-2016.txt", "haluska-et-al-2007.txt"]
    full = (sources / "gradishar-et-al-2016.txt").read_text()
    assert full.startswith(GRADISHAR.title)
    assert "Purpose\n\nCixutumumab is an anti-IGF-1R antibody." in full
    assert (
        "Introduction\n\nThe type I insulin-like growth factor receptor (IGF1R) is a tyrosine kinase" in full
    )
    assert "did not improve progression-free survival" in full
    assert "must not appear" not in full
    abstract = (sources / "haluska-et-al-2007.txt").read_text()
    assert "inhibited IGF1R & INSR kinase activity" in abstract

    with (project.corpus_dir / "documents.toml").open("rb") as fh:
        entries = tomllib.load(fh)["documents"]
    assert entries["sources/gradishar-et-al-2016.txt"]["key"] == "Gradishar et al. 2016"
    assert entries["sources/gradishar-et-al-2016.txt"]["kind"] == "source"
    assert entries["sources/haluska-et-al-2007.txt"]["title"] == HALUSKA.title


def test_nothing_is_overwritten_without_force(project: Settings, stub) -> None:
    state, _ = stub
    serve_the_usual(state)
    target = project.documents_dir / "sources" / "gradishar-et-al-2016.txt"
    target.parent.mkdir(parents=True)
    target.write_text("my own notes")
    (project.documents_dir / "sources" / "haluska.pdf").write_bytes(b"%PDF")
    (project.corpus_dir / "documents.toml").write_text(
        '[documents."sources/haluska.pdf"]\nkind = "source"\nkey = "Haluska et al. 2007"\n'
    )

    report = fetch_sources(project, keys=["Gradishar et al. 2016", "Haluska et al. 2007"])

    assert [o.outcome for o in report.outcomes] == ["skipped", "skipped"]
    assert "already has a source document: sources/haluska.pdf" in report.outcomes[1].detail
    assert target.read_text() == "my own notes"
    assert state.requests == []

    forced = fetch_sources(project, keys=["Gradishar et al. 2016"], force=True)
    assert forced.outcomes[0].outcome == "full text"
    assert target.read_text().startswith(GRADISHAR.title)


def test_exhausted_retries_are_reported_and_other_rows_continue(project: Settings, stub) -> None:
    state, _ = stub
    serve_the_usual(state)
    state.add("/rest/search", 'DOI:"10.1158/1078-0432.CCR-15-0588"', (503, {"Retry-After": "0"}, b"down"))

    report = fetch_sources(project, keys=["Gradishar et al. 2016", "Haluska et al. 2007"])

    assert [(o.key, o.outcome) for o in report.outcomes] == [
        ("Gradishar et al. 2016", "failed"), ("Haluska et al. 2007", "abstract"),
    ]  # fmt: skip
    assert "HTTP 503 after 3 retries" in report.failed[0].detail
    assert state.count("/rest/search") == 4 + 1


def test_stops_after_repeated_failures(project: Settings, stub) -> None:
    state, _ = stub  # nothing served: every search is a 500
    state.add("/rest/search", 'DOI:"10.1158/1078-0432.CCR-15-0588"', (500, {}, b"down"))
    state.add("/rest/search", "EXT_ID:17908976 AND SRC:MED", (500, {}, b"down"))
    state.add("/rest/search", 'DOI:"10.1158/0008-5472.CAN-11-1295"', (500, {}, b"down"))

    report = fetch_sources(project.replace(fetch_retries=1))

    assert [o.outcome for o in report.outcomes] == ["failed", "failed", "failed"]
    assert report.not_attempted == ["Wrong et al. 2000"]
    assert report.without_identifier == ["Pearson & Ray 1960"]
    assert state.count("/rest/search") == 3 * 2


def test_unknown_key_is_a_clear_error(project: Settings) -> None:
    with pytest.raises(FetchError, match="Nobody 1999"):
        fetch_sources(project, keys=["Nobody 1999"])


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: go now


def test_fetch_command_prints_a_summary(project: Settings, stub, tmp_path: Path) -> None:
    state, base_url = stub
    serve_the_usual(state)
    env = {
        "REVIEWQA_CORPUS_DIR": str(project.corpus_dir),
        "REVIEWQA_FETCH_BASE_URL": base_url,
        "REVIEWQA_FETCH_DELAY_S": "0",
        "REVIEWQA_FETCH_BACKOFF_S": "0.01",
    }
    result = CliRunner().invoke(main, ["refs", "fetch"], env=env)
    assert result.exit_code == 0, result.output
    assert "full text: 1\n  Gradishar et al. 2016 -> sources/gradishar-et-al-2016.txt" in result.output
    assert "not found: 1\n  Fox et al. 2011" in result.output
    assert "no DOI or PMID: 1 (Pearson & Ray 1960)" in result.output
    assert "2 source texts written" in result.output

    again = CliRunner().invoke(main, ["refs", "fetch", "--key", "Gradishar et al. 2016"], env=env)
    assert "skipped: 1" in again.output
    assert "nothing written" in again.output


# ---------------------------------------------------------------- malformed replies, PMID fallback, delay


def gradishar_reply(record: object) -> dict:
    return {"version": "6.9", "hitCount": 1, "resultList": {"result": [record]}}


GRADISHAR_QUERY = 'DOI:"10.1158/1078-0432.CCR-15-0588"'


@pytest.mark.parametrize(
    ("record", "complaint"),
    [
        ("notadict", "a result is str, not a record"),
        ({"doi": GRADISHAR.doi, "title": 12345}, "'title' is int, not text"),
        ({"doi": GRADISHAR.doi, "title": GRADISHAR.title, "abstractText": ["a", "list"]}, "'abstractText'"),
        ({"doi": GRADISHAR.doi, "title": GRADISHAR.title, "pubYear": {"y": 2016}}, "'pubYear' is dict"),
    ],
    ids=["not-a-record", "numeric-title", "list-abstract", "object-year"],
)
def test_a_malformed_record_fails_its_work_and_the_run_goes_on(
    project: Settings, stub, record: object, complaint: str
) -> None:
    state, _ = stub
    serve_the_usual(state)
    state.add("/rest/search", GRADISHAR_QUERY, (200, {}, gradishar_reply(record)))

    report = fetch_sources(project, keys=["Gradishar et al. 2016", "Haluska et al. 2007"])

    assert [(o.key, o.outcome) for o in report.outcomes] == [
        ("Gradishar et al. 2016", "failed"), ("Haluska et al. 2007", "abstract"),
    ]  # fmt: skip
    assert complaint in report.failed[0].detail
    assert not (project.documents_dir / "sources" / "gradishar-et-al-2016.txt").exists()


@pytest.mark.parametrize(
    "reply", [{"resultList": {"result": "nope"}}, {"resultList": []}, ["not", "an", "object"], "text"]
)
def test_a_reply_without_a_result_list_fails_its_work(project: Settings, stub, reply: object) -> None:
    state, _ = stub
    state.add("/rest/search", GRADISHAR_QUERY, (200, {}, reply))
    report = fetch_sources(project, keys=["Gradishar et al. 2016"])
    assert [o.outcome for o in report.outcomes] == ["failed"]
    assert "resultList.result" in report.failed[0].detail or "not JSON" in report.failed[0].detail


def test_the_command_reports_a_malformed_reply_as_a_failure(project: Settings, stub) -> None:
    state, base_url = stub
    serve_the_usual(state)
    state.add("/rest/search", GRADISHAR_QUERY, (200, {}, gradishar_reply({"title": 12345})))
    env = {
        "REVIEWQA_CORPUS_DIR": str(project.corpus_dir),
        "REVIEWQA_FETCH_BASE_URL": base_url,
        "REVIEWQA_FETCH_DELAY_S": "0",
    }
    result = CliRunner().invoke(main, ["refs", "fetch"], env=env)
    assert result.exit_code == 1
    assert "failed: 1\n  Gradishar et al. 2016" in result.output
    assert "abstract: 1\n  Haluska et al. 2007" in result.output
    assert "1 request(s) failed" in result.output
    assert isinstance(result.exception, SystemExit)  # a one-line error, not an uncaught exception


def test_null_fields_read_as_absent(project: Settings, stub) -> None:
    state, _ = stub
    record = search_record(pmid="17908976", title="Antitumor effects of BMS-554417.", abstractText="Text.")
    record["resultList"]["result"][0].update(doi=None, pmcid=None, journalTitle=None, pubYear=None)
    state.add("/rest/search", "EXT_ID:17908976 AND SRC:MED", (200, {}, record))

    report = fetch_sources(project, keys=["Haluska et al. 2007"])

    assert [o.outcome for o in report.outcomes] == ["abstract"]
    text = (project.documents_dir / "sources" / "haluska-et-al-2007.txt").read_text()
    assert "None" not in text
    assert "Retrieved from Europe PMC (17908976)." in text

    # A null DOI in a reply to a DOI search is no match (and no crash).
    nameless = {"doi": None, "pmid": None, "title": GRADISHAR.title, "abstractText": "Text."}
    state.add("/rest/search", GRADISHAR_QUERY, (200, {}, gradishar_reply(nameless)))
    report = fetch_sources(project, keys=["Gradishar et al. 2016"])
    assert [o.outcome for o in report.outcomes] == ["not found"]


def test_a_record_without_identifiers_names_none(project: Settings, stub) -> None:
    state, _ = stub
    bare = {"doi": GRADISHAR.doi, "title": GRADISHAR.title, "abstractText": "Cixutumumab was tested."}
    state.add("/rest/search", GRADISHAR_QUERY, (200, {}, gradishar_reply(bare)))

    report = fetch_sources(project, keys=["Gradishar et al. 2016"])

    assert [(o.outcome, o.detail) for o in report.outcomes] == [("abstract", "")]
    text = (project.documents_dir / "sources" / "gradishar-et-al-2016.txt").read_text()
    assert "Retrieved from Europe PMC." in text
    assert "()" not in text


def test_a_doi_that_finds_nothing_falls_back_to_the_pmid(project: Settings, stub) -> None:
    state, _ = stub
    both = CitedWork(
        key="Both et al. 2012", year=2012, title="Two identifiers", doi="10.9/none", pmid="22222222"
    )
    write_bibliography(project.references_path, [both])
    state.add("/rest/search", 'DOI:"10.9/none"', (200, {}, NO_HITS))
    state.add(
        "/rest/search",
        "EXT_ID:22222222 AND SRC:MED",
        (200, {}, search_record(pmid="22222222", title="Two identifiers.", abstractText="Found by PMID.")),
    )

    report = fetch_sources(project)

    assert [(o.outcome, o.detail) for o in report.outcomes] == [("abstract", "22222222")]
    assert [query for _, query, _ in state.requests] == ['DOI:"10.9/none"', "EXT_ID:22222222 AND SRC:MED"]

    state.routes.pop(("/rest/search", "EXT_ID:22222222 AND SRC:MED"))  # now neither finds it
    missing = fetch_sources(project, force=True)
    assert [(o.outcome, o.detail) for o in missing.outcomes] == [
        ("not found", "DOI 10.9/none, PMID 22222222")
    ]


def test_requests_are_spaced_by_the_polite_delay(project: Settings, stub) -> None:
    state, _ = stub
    serve_the_usual(state)
    slept: list[float] = []
    client = PoliteClient(project.replace(fetch_delay_s=5.0), sleep=slept.append)  # records, never sleeps

    fetch_sources(
        project, keys=["Haluska et al. 2007", "Fox et al. 2011", "Wrong et al. 2000"], client=client
    )

    assert len(state.requests) == 3  # one search each, no retries
    # Before every request but the first, the client waits out what is left of the delay.
    assert len(slept) == 2
    assert all(4.0 < seconds <= 5.0 for seconds in slept), slept
