"""Helpers for the fault tests: a small project (the review's first sections, indexed in seconds), the real
`reviewqa serve` in a subprocess, raw sockets for slow clients, and crashes injected into file operations."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from service_support import free_port

from reviewqa.settings import PROJECT_ROOT, Settings

REVIEW_PATH = PROJECT_ROOT / "corpus" / "documents" / "igf1r-review.txt"
SMALL_REVIEW_CHARS = 3500
REVIEWQA = Path(sys.executable).parent / "reviewqa"
STARTUP_TIMEOUT_S = 180


def small_project(root: Path, **changes: object) -> Settings:
    """Settings for a project under ``root`` whose corpus is the first sections of the review."""
    settings = Settings.load(
        corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval", **changes
    )
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    text = REVIEW_PATH.read_text(encoding="utf-8")[:SMALL_REVIEW_CHARS]
    (settings.documents_dir / "small-review.txt").write_text(text, encoding="utf-8")
    return settings


def copy_project(source: Settings, root: Path) -> Settings:
    """A copy of a built project (symlinks kept as links, as `cp -a` would)."""
    shutil.copytree(source.corpus_dir.parent, root, symlinks=True)
    return Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval")


def config_file(settings: Settings, path: Path) -> Path:
    lines = [f'{name} = "{getattr(settings, name)}"' for name in ("corpus_dir", "index_dir", "eval_dir")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "REVIEWQA_CORPUS_DIR": str(settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(settings.index_dir),
        "REVIEWQA_EVAL_DIR": str(settings.eval_dir),
        **extra,
    }


@dataclass
class Server:
    base: str
    port: int
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_server(settings: Settings, log_path: Path, *args: str, **env: str) -> Iterator[Server]:
    """`reviewqa serve` (gunicorn, the app preloaded) on a free port; its output goes to ``log_path`` (a
    pipe nobody reads would fill up and stall the server)."""
    port = free_port()
    command = [str(REVIEWQA), "serve", "--port", str(port), *args]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=cli_env(settings, **env)
        )
    server = Server(f"http://127.0.0.1:{port}", port, process, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert process.poll() is None, f"the server exited early:\n{server.log()}"
            try:
                requests.get(server.base + "/api/v1/health", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            pytest.fail("the server did not start in time")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def health(base: str) -> tuple[int, dict]:
    response = requests.get(base + "/api/v1/health", timeout=10)
    return response.status_code, response.json()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval_s)
    pytest.fail(f"timed out waiting for {what}")


# ---------------------------------------------------------------- slow clients


def drip_headers(port: int) -> socket.socket:
    """A client that has sent only the start of its request line (it would go on one byte a second)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return sock


def short_body(port: int) -> socket.socket:
    """A client that announces a 100-byte body and sends 2 bytes of it."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"'
    )
    return sock


def still_waiting(sock: socket.socket) -> bool:
    """True while the server has neither answered nor closed the connection."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)  # data (an answer) or b"" (closed)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return False


def read_all(sock: socket.socket, timeout_s: float) -> bytes:
    sock.settimeout(timeout_s)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


# ---------------------------------------------------------------- crashes


class Crash(BaseException):
    """Stands for the process dying: raised by a file operation and by every one after it, so nothing the
    crashed code would still have done (cleanup included) happens."""


class CrashAfter:
    """Counts the file-system operations that change what readers see (renames, links, removals) and
    crashes at the ``step``-th; ``step=None`` only counts."""

    OPERATIONS = ((os, "rename"), (os, "replace"), (os, "symlink"), (os, "unlink"), (shutil, "rmtree"))

    def __init__(self, monkeypatch: pytest.MonkeyPatch, step: int | None) -> None:
        self.step = step
        self.count = 0
        self.armed = False
        for module, name in self.OPERATIONS:
            monkeypatch.setattr(module, name, self._wrap(getattr(module, name)))

    def _wrap(self, real: Callable) -> Callable:
        def operation(*args: object, **kwargs: object) -> object:
            if self.armed:
                self.count += 1
                if self.step is not None and self.count >= self.step:
                    raise Crash(f"crash at file operation {self.count}")
            return real(*args, **kwargs)

        return operation
