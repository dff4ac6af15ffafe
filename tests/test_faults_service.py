"""The real `reviewqa serve` (gunicorn, two workers) under slow clients, a rebuild under load, a build that
does not load, damage on disk and SIGHUP (issue 12, items 1, 2, 4 and 8)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fault_support import (
    REVIEWQA,
    Server,
    cli_env,
    drip_headers,
    health,
    read_all,
    running_server,
    short_body,
    small_project,
    still_waiting,
    wait_for,
)

from reviewqa.fileio import replace_symlink
from reviewqa.index import build_index, store
from reviewqa.settings import Settings

pytestmark = pytest.mark.slow

READ_TIMEOUT_S = 5
SLOW_CLIENTS = 50
NEW_TERM = "Zorblatine"
NEW_PARAGRAPH = (
    f"\n\n{NEW_TERM} trial\n\n{NEW_TERM} is a kinase inhibitor that blocked IGF1R signalling in "
    "xenografts of breast tumours in the new study.\n"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = small_project(tmp_path_factory.mktemp("faults-service"))
    build_index(settings)
    return settings


@pytest.fixture(scope="module")
def server(project: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("faults-service-log") / "serve.log"
    with running_server(
        project,
        log,
        "--workers",
        "2",
        REVIEWQA_RELOAD_CHECK_S="0.5",
        REVIEWQA_REQUEST_READ_TIMEOUT_S=str(READ_TIMEOUT_S),
    ) as running:
        yield running


def served_builds(base: str, probes: int = 12) -> Counter:
    """The build ids health reports over several probes (the two workers answer in turn)."""
    return Counter(health(base)[1]["build"]["id"] for _ in range(probes))


# ---------------------------------------------------------------- slow clients


def test_slow_clients_are_held_while_normal_requests_are_served(server: Server) -> None:
    """50 connections that drip their headers or stop short of their body hold no answering thread:
    every normal request is answered meanwhile, and the slow ones are closed (408) at the deadline."""
    slow = [drip_headers(server.port) if i % 2 else short_body(server.port) for i in range(SLOW_CLIENTS)]
    stop = threading.Event()

    def drip() -> None:  # one more byte a second on every header-dripping connection
        while not stop.wait(1.0):
            for sock in slow[1::2]:
                with contextlib.suppress(OSError):  # closed by the server at the deadline
                    sock.send(b"a")

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        with requests.Session() as session:
            answered = Counter(
                session.get(server.base + "/api/v1/health", timeout=10).status_code
                if i % 2
                else session.post(
                    server.base + "/api/v1/ask", json={"question": "What is IGF1R?"}, timeout=10
                ).status_code
                for i in range(40)
            )
        held = sum(still_waiting(sock) for sock in slow)
    finally:
        stop.set()
        dripper.join()
    assert answered == Counter({200: 40})
    assert held == SLOW_CLIENTS, "every slow connection is still open and unanswered, yet nothing waited"
    replies = [read_all(sock, timeout_s=READ_TIMEOUT_S + 5) for sock in slow]
    for sock in slow:
        sock.close()
    assert all(reply.startswith(b"HTTP/1.1 408 ") for reply in replies), replies[:2]
    assert all(b'"code": "request_timeout"' in reply for reply in replies)


def raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(data)
        return read_all(sock, timeout_s=10)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /api/v1/health HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_line_too_long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: header\r\n" * 5000 + b"\r\n", 431, "headers_too_large"),
        (
            b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n",
            413,
            "request_too_large",
        ),
    ],
    ids=["bad-version", "long-line", "big-header", "too-many-header-bytes", "body-over-limit"],
)
def test_errors_the_server_answers_itself_are_json(
    server: Server, request_bytes: bytes, status: int, code: str
) -> None:
    reply = raw_request(server.port, request_bytes)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), head
    assert b"Content-Type: application/json" in head
    assert f'"code": "{code}"'.encode() in body


# ---------------------------------------------------------------- rebuilds


class Load:
    """Threads asking, searching and probing health without pause, counting every status and error."""

    def __init__(self, base: str, threads: int = 2) -> None:
        self.base = base
        self.statuses: Counter = Counter()
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, which: int) -> None:
        questions = ["What is IGF1R?", "Which antibodies target IGF1R?", "What is mammographic density?"]
        with requests.Session() as session:
            while not self._stop.is_set():
                for endpoint, call in (
                    ("ask", lambda: session.post(
                        self.base + "/api/v1/ask", json={"question": questions[which]}, timeout=60
                    )),
                    ("search", lambda: session.get(
                        self.base + "/api/v1/search", params={"q": "insulin receptor"}, timeout=60
                    )),
                    ("health", lambda: session.get(self.base + "/api/v1/health", timeout=60)),
                ):  # fmt: skip
                    try:
                        status = call().status_code
                    except requests.RequestException as exc:
                        status, error = None, f"{endpoint}: {type(exc).__name__}"
                    else:
                        error = None if status == 200 else f"{endpoint}: HTTP {status}"
                    with self._lock:
                        self.statuses[(endpoint, status)] += 1
                        if error:
                            self.errors.append(error)


def test_a_rebuild_under_load_loses_no_request_and_then_serves_the_new_build(
    server: Server, project: Settings
) -> None:
    old_build = store.current_build(project).name
    assert served_builds(server.base) == Counter({old_build: 12})
    question = {"question": f"What did {NEW_TERM} block?"}
    old_answers = [  # answered from the old build, and cached by both workers
        requests.post(server.base + "/api/v1/ask", json=question, timeout=60) for _ in range(10)
    ]
    assert any(answer.headers["X-Answer-Cache"] == "hit" for answer in old_answers)
    assert all(NEW_TERM not in answer.json()["answer"] for answer in old_answers)

    with (project.documents_dir / "small-review.txt").open("a", encoding="utf-8") as fh:
        fh.write(NEW_PARAGRAPH)
    with Load(server.base) as load:
        rebuilt = subprocess_run([str(REVIEWQA), "index"], cli_env(project))
        assert rebuilt.returncode == 0, rebuilt.stderr
        new_build = store.current_build(project).name
        wait_for(lambda: served_builds(server.base, 6) == Counter({new_build: 6}), 90, "the new build")
    assert load.errors == []
    assert sum(load.statuses.values()) > 30
    assert {status for (_, status) in load.statuses} == {200}  # health included: 200 throughout

    for _ in range(6):  # either worker: its cached answer of the old build must not come back
        new_answer = requests.post(server.base + "/api/v1/ask", json=question, timeout=60)
        assert NEW_TERM in new_answer.json()["answer"]
    hits = requests.get(server.base + "/api/v1/search", params={"q": NEW_TERM, "k": 1}, timeout=30).json()
    assert NEW_TERM in hits["results"][0]["text"]
    assert store.current_build(project).parent.joinpath(old_build).is_dir()  # kept until the next build


def subprocess_run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def flip_bytes(path: Path, count: int = 16) -> bytes:
    """Damage ``path`` without changing its size; returns the original bytes."""
    original = path.read_bytes()
    damaged = bytearray(original)
    middle = len(damaged) // 2
    for offset in range(middle, middle + count):
        damaged[offset] ^= 0xFF
    path.write_bytes(bytes(damaged))
    return original


def test_a_build_that_does_not_load_leaves_the_old_one_in_service(server: Server, project: Settings) -> None:
    good = store.current_build(project)
    broken = good.with_name("29990101T000000000000Z")
    shutil.copytree(good, broken)
    flip_bytes(broken / "passages.faiss")  # same size: only the checksums tell
    replace_symlink(project.index_dir / "current", f"builds/{broken.name}")
    try:

        def refused_everywhere() -> bool:
            probes = [health(server.base) for _ in range(6)]
            return all(
                status == 200
                and body["build"]["id"] == good.name
                and any(f"build {broken.name} could not be loaded" in w for w in body["warnings"])
                for status, body in probes
            )

        wait_for(refused_everywhere, 60, "both workers to refuse the damaged build")
        asked = requests.post(server.base + "/api/v1/ask", json={"question": "What is IGF1R?"}, timeout=60)
        assert asked.status_code == 200
    finally:
        replace_symlink(project.index_dir / "current", f"builds/{good.name}")
        shutil.rmtree(broken)
    wait_for(lambda: all(not health(server.base)[1]["warnings"] for _ in range(6)), 30, "warnings to clear")


def test_same_size_damage_to_the_served_build_is_a_health_warning(server: Server, project: Settings) -> None:
    faiss_path = store.current_build(project) / "passages.faiss"
    original = flip_bytes(faiss_path)
    try:
        for _ in range(6):  # both workers
            status, body = health(server.base)
            assert status == 200 and body["state"] == "ready"
            assert any("passages.faiss has changed since it was loaded" in w for w in body["warnings"]), body
        searched = subprocess_run([str(REVIEWQA), "search", "insulin"], cli_env(project))
        assert searched.returncode == 1 and "corrupt" in searched.stderr  # a new load refuses it
    finally:
        faiss_path.write_bytes(original)
    assert all(not health(server.base)[1]["warnings"] for _ in range(6))


def test_health_logs_changes_not_probes(server: Server) -> None:
    """Health changes (loading, refused builds, damage, recovery) were logged above; steady probes add
    nothing, and no probe is logged as an error."""

    def changes() -> list[str]:
        return [line for line in server.log().splitlines() if "health: " in line]

    # Each of the two workers logs its own changes, on the first probe it answers after one: probe until
    # both have caught up with the last change above (the count stops growing), then steady probes.
    logged = changes()
    for _ in range(5):
        for _ in range(20):
            health(server.base)
        if changes() == logged:
            break
        logged = changes()
    assert logged and any("WARNING" in line for line in logged)
    for _ in range(100):
        health(server.base)
    assert changes() == logged
    assert "/api/v1/health ->" not in server.log()


# ---------------------------------------------------------------- SIGHUP


def test_sighup_makes_the_master_load_the_new_build(project: Settings, tmp_path: Path) -> None:
    """With the periodic check off, SIGHUP brings a new build in: gunicorn's reload (what SIGHUP runs in
    the master) loads it into the app before gunicorn forks the new workers from it. In-process: a second
    server here would cost half a minute, and the forking is gunicorn's own SIGHUP handling."""
    from reviewqa.service import create_app
    from reviewqa.service.gunicorn_app import DEFAULT_CONFIG, PreloadedGunicorn

    app = create_app(project.replace(reload_check_s=3600))
    holder = app.extensions["reviewqa"].index
    old = store.current_build(project)
    assert holder.build().build_id == old.name
    new = shutil.copytree(old, old.with_name("29990101T000000000001Z"))
    try:
        replace_symlink(project.index_dir / "current", f"builds/{new.name}")
        assert holder.build().build_id == old.name  # not checked again for an hour
        gunicorn = PreloadedGunicorn(app, DEFAULT_CONFIG, {"bind": ["127.0.0.1:0"]}, on_reload=holder.reload)
        gunicorn.reload()
        assert holder.build().build_id == new.name
        assert app.test_client().get("/api/v1/health").get_json()["build"]["id"] == new.name
    finally:
        replace_symlink(project.index_dir / "current", f"builds/{old.name}")
        shutil.rmtree(new)


def test_a_service_started_without_an_index_serves_it_once_built(tmp_path: Path) -> None:
    from reviewqa.service import create_app

    settings = small_project(tmp_path / "late", reload_check_s=0)
    client = create_app(settings).test_client()
    assert client.get("/api/v1/health").status_code == 503
    build_index(settings)
    holder = client.application.extensions["reviewqa"].index
    holder.refresh()  # what the next request does: notice the build, load it in the background
    holder.wait_for_loader(120)
    body = client.get("/api/v1/health").get_json()
    assert body["ready"] and body["build"]["id"] == store.current_build(settings).name
