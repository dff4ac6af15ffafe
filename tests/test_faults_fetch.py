"""`reviewqa refs fetch` against local stubs that drip, send too much or answer slowly (issue 12, item 6):
each request and each run ends by its deadline, a reply over the cap is refused, nothing partial is
written."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner, Result
from service_support import stub_http_server

from reviewqa.cli import main
from reviewqa.models import CitedWork
from reviewqa.refs.bibliography import write_bibliography
from reviewqa.settings import Settings

PMCID = "PMC0000001"
WORKS = [
    CitedWork(key=f"Author{i} et al. 2016", year=2016, title=f"Paper {i}", doi=f"10.1/paper.{i}")
    for i in range(6)
]
CAP_BYTES = 256 * 1024


@dataclass
class Misbehaviour:
    full_text: str = "normal"  # normal | drip | declared-too-large | endless
    search_delay_s: float = 0.0
    sent_bytes: int = 0  # body bytes the full-text handler managed to send


def search_reply(doi: str) -> bytes:
    record = {
        "id": "1", "source": "MED", "pmid": "1", "pmcid": PMCID, "doi": doi, "isOpenAccess": "Y",
        "title": f"Paper {doi.rsplit('.', 1)[-1]}", "abstractText": "An abstract.",
    }  # fmt: skip
    return json.dumps({"resultList": {"result": [record]}}).encode()


@pytest.fixture
def stub() -> Iterator[tuple[Misbehaviour, str]]:
    behaviour = Misbehaviour()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path.endswith("/search"):
                time.sleep(behaviour.search_delay_s)
                query = parse_qs(parts.query)["query"][0]
                self._reply(search_reply(query.split('"')[1]))
            else:
                self._full_text()

        def _reply(self, body: bytes) -> None:
            with contextlib.suppress(OSError):  # the client may have given up (the run's deadline)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def _full_text(self) -> None:
            mode = behaviour.full_text
            self.send_response(200)
            if mode == "declared-too-large":  # headers only: the client must not wait for the body
                self.send_header("Content-Length", str(300 * 1024 * 1024))
                self.end_headers()
                self.wfile.flush()
                time.sleep(3)
                return
            if mode == "drip":
                self.send_header("Content-Length", "100000")
            elif mode == "normal":
                body = b"<article><body><p>The full text.</p></body></article>"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Connection", "close")  # endless: no length, the body runs until closed
            self.end_headers()
            piece = b"x" if mode == "drip" else b"<p>" + b"y" * 65536 + b"</p>"
            try:
                while True:
                    self.wfile.write(piece)
                    self.wfile.flush()
                    behaviour.sent_bytes += len(piece)
                    if mode == "drip":
                        time.sleep(0.2)
                    if behaviour.sent_bytes > 400 * 1024 * 1024:  # a safety stop for the test itself
                        return
            except OSError:  # the client hung up, as it should
                return

        def log_message(self, *args: object) -> None:
            pass

    with stub_http_server(Handler) as base_url:
        yield behaviour, base_url + "/rest"


@pytest.fixture
def project(empty_settings: Settings) -> Settings:
    write_bibliography(empty_settings.references_path, WORKS[:1])
    return empty_settings


def fetch(project: Settings, base_url: str, deadline_s: float = 60, **env: str) -> tuple[Result, float]:
    """`reviewqa refs fetch` in a thread, which must end within ``deadline_s`` (the test fails otherwise
    instead of hanging)."""
    environment = {
        "REVIEWQA_CORPUS_DIR": str(project.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(project.index_dir),
        "REVIEWQA_FETCH_BASE_URL": base_url,
        "REVIEWQA_FETCH_DELAY_S": "0",
        "REVIEWQA_FETCH_BACKOFF_S": "0.01",
        "REVIEWQA_FETCH_RETRIES": "1",
        "REVIEWQA_FETCH_TIMEOUT_S": "1.5",
        "REVIEWQA_FETCH_MAX_BYTES": str(CAP_BYTES),
        **env,
    }
    results: list[Result] = []
    started = time.monotonic()
    runner = threading.Thread(
        target=lambda: results.append(CliRunner().invoke(main, ["refs", "fetch"], env=environment)),
        daemon=True,
    )
    runner.start()
    runner.join(deadline_s)
    assert not runner.is_alive(), f"refs fetch was still running after {deadline_s} s"
    return results[0], time.monotonic() - started


def written(project: Settings) -> list[str]:
    sources = project.documents_dir / "sources"
    return sorted(p.name for p in sources.rglob("*")) if sources.exists() else []


def test_a_normal_reply_is_written(project: Settings, stub) -> None:
    result, _ = fetch(project, stub[1])
    assert result.exit_code == 0, result.output
    assert written(project) == ["author0-et-al-2016.txt"]


def test_a_dripping_reply_is_cut_off_at_the_request_deadline(project: Settings, stub) -> None:
    behaviour, base_url = stub
    behaviour.full_text = "drip"  # a byte every 0.2 s: no read ever times out
    result, elapsed = fetch(project, base_url)
    assert result.exit_code == 1 and "failed: 1" in result.output, result.output
    assert "no complete reply within 1.5 s" in result.output
    assert elapsed < 20  # two attempts of 1.5 s, not the 100,000 s the reply would take
    assert written(project) == []


def test_a_reply_announcing_too_many_bytes_is_refused_at_once(project: Settings, stub) -> None:
    behaviour, base_url = stub
    behaviour.full_text = "declared-too-large"
    result, _ = fetch(project, base_url)
    assert result.exit_code == 1, result.output
    assert f"the reply is {300 * 1024 * 1024} bytes, over fetch_max_bytes ({CAP_BYTES})" in result.output
    assert written(project) == []


def test_an_endless_reply_is_cut_off_past_the_cap(project: Settings, stub) -> None:
    behaviour, base_url = stub
    behaviour.full_text = "endless"
    result, _ = fetch(project, base_url)
    assert result.exit_code == 1, result.output
    assert f"over fetch_max_bytes ({CAP_BYTES}); stopped" in result.output
    assert behaviour.sent_bytes < 64 * CAP_BYTES  # the client stopped reading (socket buffers aside)
    assert written(project) == []


def test_the_run_stops_at_its_deadline(project: Settings, stub) -> None:
    behaviour, base_url = stub
    write_bibliography(project.references_path, WORKS)
    behaviour.search_delay_s = 0.4  # each work takes ~1 s (search, full text)
    result, elapsed = fetch(project, base_url, REVIEWQA_FETCH_RUN_TIMEOUT_S="1.5")
    assert "not attempted after the run's time limit (fetch_run_timeout_s)" in result.output, result.output
    assert elapsed < 20
    fetched = written(project)
    assert 0 < len(fetched) < len(WORKS)  # what was complete is kept; the rest waits for the next run
