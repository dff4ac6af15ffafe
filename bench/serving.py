"""`reviewqa serve` in a subprocess for the benches: started on a free port, waited for until its health
check says ready, stopped with SIGTERM (killed if it does not stop)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REVIEWQA = Path(sys.executable).parent / "reviewqa"
STARTUP_TIMEOUT_S = 300


@dataclass
class Server:
    base: str
    pid: int | None  # None: a server this bench did not start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def reviewqa_server(
    args: list[str], env: dict[str, str], *, port: int | None = None, log: Path | None = None
) -> Iterator[Server]:
    """`reviewqa serve --port PORT ARGS` with ``env``; its output goes to ``log`` (or nowhere)."""
    port = port or free_port()
    command = [str(REVIEWQA), "serve", "--port", str(port), *args]
    with log.open("w") if log else open(os.devnull, "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process, log)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ready(base: str, process: subprocess.Popen, log: Path | None) -> None:
    where = f"; see {log}" if log else "; run `reviewqa serve` to see why"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}{where}")
        try:
            health = requests.get(base + "/api/v1/health", timeout=5)
        except requests.RequestException:
            time.sleep(0.5)
            continue
        if health.status_code == 200:
            return
        # The server binds only after loading the index, so "not ready" will not change by waiting.
        raise SystemExit(f"the server is not ready: {health.json().get('reason')}")
    raise SystemExit(f"the server did not become ready{where}")
