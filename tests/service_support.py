"""Helpers for the service tests: a live server in a thread and a tiny corpus with hostile markup."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from reviewqa.settings import Settings

# Text a reader could paste into a document or a question; the page must show it, never run it.
IMG_PAYLOAD = "<img src=x onerror=\"document.title='pwned-img'\">"
SCRIPT_PAYLOAD = "<script>document.title='pwned-script'</script>"

HOSTILE_NOTES = f"""Kinase notes

The zebrafish kinase ZQX7 was strongly inhibited by the compound {IMG_PAYLOAD} in cultured cells. \
Treatment with the ZQX7 inhibitor {SCRIPT_PAYLOAD} reduced the growth of xenograft tumours by half \
(Moreau et al. 2019). Both effects were confirmed in a second laboratory with the same protocol \
(Dupont 2020).

Unrelated background

Lipid droplets in hepatocytes expand during fasting. Their size returns to baseline within two days of \
refeeding. No kinase was involved in this process.
"""

SOURCE_PAPER = """Results

In cultured cells the ZQX7 kinase lost most of its activity after treatment with the inhibitor. \
Xenograft tumours shrank by half in treated mice compared with controls.
"""


MOREAU_DOI = "10.1234/jtb.2019.7"
MOREAU_PMID = "31234567"
REFERENCES_TSV = (
    "key\tauthors\tyear\ttitle\tjournal\tdoi\tpmid\turl\n"
    f"Moreau et al. 2019\tMoreau A, Li B\t2019\tZQX7 inhibition in xenografts\tJ Test Biol\t{MOREAU_DOI}"
    f"\t{MOREAU_PMID}\t\n"
)


def write_hostile_corpus(settings: Settings) -> None:
    """A review-like note with markup in it, and one cited source under sources/ (so ids contain '/')."""
    documents = settings.documents_dir
    (documents / "sources").mkdir(parents=True, exist_ok=True)
    (documents / "notes.txt").write_text(HOSTILE_NOTES, encoding="utf-8")
    (documents / "sources" / "moreau-2019.txt").write_text(SOURCE_PAPER, encoding="utf-8")
    settings.references_path.write_text(REFERENCES_TSV, encoding="utf-8")
    (settings.corpus_dir / "documents.toml").write_text(
        '[documents."sources/moreau-2019.txt"]\nkind = "source"\nkey = "Moreau et al. 2019"\n'
        'title = "ZQX7 inhibition in xenografts"\n',
        encoding="utf-8",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_server(app: Flask) -> AbstractContextManager[str]:
    """Serve ``app`` with werkzeug on a free localhost port in a thread; yields the base URL."""
    return _serving(make_server("127.0.0.1", 0, app, threaded=True))


def stub_http_server(handler: type[BaseHTTPRequestHandler]) -> AbstractContextManager[str]:
    """Serve ``handler`` (a stand-in for a remote service) on a free localhost port in a thread; yields the
    base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    return _serving(server)


@contextmanager
def _serving(server: HTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def project_root_of(settings: Settings) -> Path:
    return settings.corpus_dir.parent


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers.get("X-Request-ID")
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    if code is not None:
        assert body["error"]["code"] == code
    return body
