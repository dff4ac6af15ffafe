"""`reviewqa serve`: gunicorn with the app preloaded, starting without an index, refusing a corrupt one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from conftest import make_settings
from fault_support import config_file, running_server
from service_support import free_port, write_hostile_corpus

from reviewqa.cli import main
from reviewqa.service.validation import MAX_QUERY_CHARS
from reviewqa.settings import Settings

pytestmark = pytest.mark.slow

REVIEWQA_SCRIPT = Path(sys.executable).parent / "reviewqa"


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from reviewqa.index import build_index

    settings = make_settings(tmp_path_factory.mktemp("serve-project"))
    write_hostile_corpus(settings)
    build_index(settings)
    return settings


def test_serve_runs_gunicorn_with_the_index_loaded(built_project: Settings, tmp_path: Path) -> None:
    with running_server(built_project, tmp_path / "server.log", "--workers", "2") as server:
        base = server.base
        health = requests.get(base + "/api/v1/health", timeout=10)
        assert health.status_code == 200, health.text
        assert health.headers["X-Request-ID"]
        answered = requests.post(base + "/api/v1/ask", json={"question": "What inhibited ZQX7?"}, timeout=60)
        assert answered.status_code == 200
        assert answered.json()["question"] == "What inhibited ZQX7?"
        assert requests.get(base + "/", timeout=10).text.startswith("<!doctype html>")
        check_long_non_ascii_query(base)
        check_chunked_body_over_the_limit(base, built_project.max_request_bytes)
    output = server.log()
    assert f"http://127.0.0.1:{server.port}/" in output
    assert "BufferingWorker" in output  # the worker class from service/gunicorn.conf.py
    assert "Traceback" not in output


def check_long_non_ascii_query(base: str) -> None:
    """The spec allows q of 1000 characters; percent-encoded, 1000 x "é" is a 6 KB request line, over
    gunicorn's default limit (whose 414 is an HTML page)."""
    query = "é" * MAX_QUERY_CHARS
    response = requests.get(base + "/api/v1/search", params={"q": query, "k": 50, "mode": "bm25"}, timeout=30)
    assert len(response.request.url) > 6000
    assert response.status_code == 200, response.text[:200]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["query"] == query


def check_chunked_body_over_the_limit(base: str, limit: int) -> None:
    """A chunked body (no Content-Length) over max_request_bytes is refused whole, not cut and parsed."""
    padding = b"x" * (limit + 10)

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "What inhibited ZQX7?", "padding": "'
        yield from (padding[i : i + 4096] for i in range(0, len(padding), 4096))
        yield b'"}'

    response = requests.post(
        base + "/api/v1/ask", data=chunks(), headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 413, response.text[:200]
    assert response.json()["error"]["code"] == "request_too_large"


def test_serve_starts_without_an_index(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    with running_server(settings, tmp_path / "server.log", "--workers", "1") as server:
        assert requests.get(server.base + "/api/v1/health", timeout=10).status_code == 503
        asked = requests.post(server.base + "/api/v1/ask", json={"question": "Anything?"}, timeout=10)
        assert asked.status_code == 503
        assert asked.json()["error"]["code"] == "index_not_ready"
    assert "index is not ready" in server.log()


@pytest.mark.parametrize("same_size", [False, True], ids=["size-changed", "bytes-changed"])
def test_serve_refuses_a_corrupt_index(built_project: Settings, tmp_path: Path, same_size: bool) -> None:
    from reviewqa.index.store import current_dir, read_manifest

    settings = make_settings(tmp_path / "copy")
    shutil.copytree(built_project.corpus_dir, settings.corpus_dir)
    shutil.copytree(built_project.index_dir, settings.index_dir)
    directory = current_dir(settings)
    name = max(read_manifest(directory)["files"], key=lambda n: (directory / n).stat().st_size)
    target = directory / name
    size = target.stat().st_size
    target.write_bytes(b"\0" * size if same_size else b"garbage")
    config = config_file(settings, tmp_path / "reviewqa.toml")

    result = CliRunner().invoke(main, ["--config", str(config), "serve", "--port", str(free_port())])
    assert result.exit_code == 1
    assert "corrupt" in result.output
    assert "Traceback" not in result.output


def test_serve_on_a_taken_port_fails_at_once_saying_how_to_pick_another(
    built_project: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import reviewqa.service.app as service_app

    config = config_file(built_project, tmp_path / "reviewqa.toml")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        # In a real process: exit status and the one line it prints.
        command = [str(REVIEWQA_SCRIPT), "--config", str(config), "serve", "--port", str(port)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert lines == [
            f"Error: port {port} on 127.0.0.1 is already in use; pick another port: "
            "`make PORT=8001 run` or `reviewqa serve --port 8001`"
        ]
        assert done.stdout == ""

        # Before anything slow: the app, which loads the index and the model and warms up, is not built.
        def must_not_run(*args, **kwargs):
            raise AssertionError("the index was loaded before the port was checked")

        monkeypatch.setattr(service_app, "create_app", must_not_run)
        result = CliRunner().invoke(main, ["--config", str(config), "serve", "--port", str(port)])
        assert result.exit_code == 1
        assert f"port {port} on 127.0.0.1 is already in use" in result.output
