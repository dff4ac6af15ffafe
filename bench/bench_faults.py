"""Faults benchmark: normal-request latency with and without 50 slow clients, and a rebuild under load.

Starts `reviewqa serve` (gunicorn, the app preloaded, 2 workers) on a copy of the review in a temporary
project, then, from one run, prints:

1. normal requests (ask, search and health in turn, from a few client threads) with no slow connection;
2. the same while 50 slow connections are held open (half send their headers one byte a second, half
   announce a 100-byte body and send 2 bytes), each reopened as soon as the server closes it; then 1
   again, so that the baseline brackets the slow phase;
3. a rebuild under load: the corpus gains a paragraph and `reviewqa index` runs while the same load goes
   on, until every worker serves the new build; errors and health status codes are counted.

`--worker gthread` runs gunicorn's stock gthread worker instead of reviewqa's buffering one, for the
comparison (its phase 2 requests time out after 15 s). Phases 1 and 2 last --duration seconds each,
longer than the read deadline (request_read_timeout_s, 10 s), so slow connections are closed and reopened
during phase 2.

    .venv/bin/python bench/bench_faults.py
    .venv/bin/python bench/bench_faults.py --worker gthread --skip-rebuild
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from bench_load import load_questions, percentile
from serving import REVIEWQA, reviewqa_server

ROOT = Path(__file__).resolve().parents[1]
NEW_PARAGRAPH = (
    "\n\nA note added for the rebuild\n\nSomatostatin analogues lowered serum IGF1 in the added note, "
    "which exists only so that the corpus changes.\n"
)


@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # (endpoint, status or error name)
    errors: int = 0
    wall_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, endpoint: str, outcome: object, latency_ms: float) -> None:
        with self.lock:
            self.latencies_ms.append(latency_ms)
            self.statuses[(endpoint, outcome)] += 1
            self.errors += outcome != 200

    def row(self, label: str) -> str:
        latencies = sorted(self.latencies_ms)
        p50 = statistics.median(latencies) if latencies else float("nan")
        p99 = percentile(latencies, 0.99) if latencies else float("nan")
        return f"| {label} | {len(latencies)} | {self.errors} | {self.wall_s:.1f} | {p50:.1f} | {p99:.1f} |"


def make_project(root: Path) -> dict[str, str]:
    """A project holding the review, its metadata and bibliography; returns the environment to use it."""
    documents = root / "corpus" / "documents"
    documents.mkdir(parents=True)
    shutil.copy(ROOT / "corpus" / "documents" / "igf1r-review.txt", documents)
    for name in ("documents.toml", "references.tsv"):
        shutil.copy(ROOT / "corpus" / name, root / "corpus" / name)
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "REVIEWQA_CORPUS_DIR": str(root / "corpus"),
        "REVIEWQA_INDEX_DIR": str(root / "index"),
        "REVIEWQA_EVAL_DIR": str(root / "eval"),
    }


@contextmanager
def started_server(env: dict[str, str], workers: int, config: Path | None, log: Path) -> Iterator[str]:
    args = ["--workers", str(workers)]
    if config is not None:
        args += ["--gunicorn-config", str(config)]
    with reviewqa_server(args, env, log=log) as server:
        yield server.base


class SlowClients:
    """Keeps ``count`` slow connections open: half drip their headers, half stop short of their body.
    A connection the server closes (or answers) is counted and replaced."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.opened = 0
        self.closed_by_server: Counter = Counter()  # first status line word of the reply, or "closed"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _open(self, dripping: bool) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        if dripping:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            sock.sendall(
                b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"'
            )
        sock.setblocking(False)
        self.opened += 1
        return sock

    def _run(self) -> None:
        sockets = [(self._open(i % 2 == 0), i % 2 == 0) for i in range(self.count)]
        while not self._stop.wait(1.0):
            for position, (sock, dripping) in enumerate(sockets):
                reply = None
                try:
                    reply = sock.recv(64)
                except BlockingIOError:
                    pass
                except OSError:
                    reply = b""
                if reply is None:  # still held: drip one more byte
                    if dripping:
                        with contextlib.suppress(OSError):
                            sock.send(b"a")
                    continue
                status = reply.split(b" ")[1].decode() if reply.startswith(b"HTTP/") else "closed"
                self.closed_by_server[status] += 1
                sock.close()
                sockets[position] = (self._open(dripping), dripping)
        for sock, _ in sockets:
            sock.close()


def run_load(
    base: str, questions: list[str], threads: int, until: threading.Event, budget_s: float, total: int = 0
) -> Phase:
    """ask / search / health in turn from ``threads`` clients until ``until`` is set, ``budget_s`` has
    passed or (if given) ``total`` requests were made."""
    phase = Phase()
    cycle = itertools.cycle(questions)
    cycle_lock = threading.Lock()
    deadline = time.monotonic() + budget_s

    def finished() -> bool:
        return (
            until.is_set() or time.monotonic() > deadline or (total > 0 and len(phase.latencies_ms) >= total)
        )

    def client() -> None:
        # A new connection per request, as load-balancer probes and most API clients make them: a kept-alive
        # connection would stay with whichever worker accepted it and hide a worker that starves.
        for endpoint in itertools.cycle(("ask", "search", "health")):
            if finished():
                return
            with cycle_lock:
                question = next(cycle)
            started = time.perf_counter()
            try:
                if endpoint == "ask":
                    response = requests.post(base + "/api/v1/ask", json={"question": question}, timeout=15)
                elif endpoint == "search":
                    response = requests.get(base + "/api/v1/search", params={"q": question}, timeout=15)
                else:
                    response = requests.get(base + "/api/v1/health", timeout=15)
                outcome: object = response.status_code
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            phase.record(endpoint, outcome, (time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    phase.wall_s = time.perf_counter() - started
    return phase


def served_build(base: str) -> tuple[int, str | None]:
    try:
        response = requests.get(base + "/api/v1/health", timeout=15)
    except requests.RequestException as exc:
        return 0, type(exc).__name__
    build = response.json().get("build") or {}
    return response.status_code, build.get("id")


def rebuild_under_load(
    base: str, env: dict[str, str], questions: list[str], threads: int
) -> tuple[Phase, Counter, Counter, float, float]:
    """Load while the corpus changes and `reviewqa index` runs, until 10 health probes in a row report
    the new build. Returns the load, health statuses and builds seen by a separate prober, the build's
    duration and the seconds from its end until every worker served it."""
    document = Path(env["REVIEWQA_CORPUS_DIR"]) / "documents" / "igf1r-review.txt"
    with document.open("a", encoding="utf-8") as fh:
        fh.write(NEW_PARAGRAPH)
    done = threading.Event()
    health_statuses: Counter = Counter()
    builds_seen: Counter = Counter()
    result: list[Phase] = []
    loader = threading.Thread(
        target=lambda: result.append(run_load(base, questions, threads, done, 600)), daemon=True
    )
    loader.start()
    started = time.perf_counter()
    build = subprocess.Popen(
        [str(REVIEWQA), "index"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    while build.poll() is None:
        status, build_id = served_build(base)
        health_statuses[status] += 1
        builds_seen[build_id] += 1
        time.sleep(0.2)
    build_s = time.perf_counter() - started
    if build.returncode != 0:
        done.set()
        raise SystemExit(f"reviewqa index failed: {build.stderr.read().decode()[-2000:]}")
    new_build = Path(os.path.realpath(Path(env["REVIEWQA_INDEX_DIR"]) / "current")).name
    finished, streak = time.perf_counter(), 0
    while streak < 10 and time.perf_counter() - finished < 120:
        status, build_id = served_build(base)
        health_statuses[status] += 1
        builds_seen[build_id] += 1
        streak = streak + 1 if build_id == new_build else 0
        time.sleep(0.1)
    swapped_s = time.perf_counter() - finished
    done.set()
    loader.join()
    return result[0], health_statuses, builds_seen, build_s, swapped_s


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", choices=("buffering", "gthread"), default="buffering")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of normal requests per phase")
    parser.add_argument("--slow", type=int, default=50, help="slow connections in phase 2")
    parser.add_argument("--warm-up-timeout", type=float, default=120.0, help="seconds at most for warm-up")
    parser.add_argument("--skip-rebuild", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()
    questions = load_questions()
    with tempfile.TemporaryDirectory(prefix="reviewqa-bench-faults-") as tmp:
        root = Path(tmp)
        env = make_project(root / "project")
        built = subprocess.run([str(REVIEWQA), "index"], env=env, capture_output=True, text=True)
        if built.returncode != 0:
            raise SystemExit(built.stderr[-2000:])
        config = None
        if args.worker == "gthread":
            config = root / "gunicorn.conf.py"
            config.write_text(
                (ROOT / "service" / "gunicorn.conf.py").read_text() + '\nworker_class = "gthread"\n'
            )
        with started_server(env, args.workers, config, root / "serve.log") as base:
            port = int(base.rsplit(":", 1)[1])
            never = threading.Event()
            # Warm-up: each question once per worker (answers and query vectors are cached per worker).
            warm_up = len(questions) * 3 * args.workers * 2
            run_load(base, questions, args.threads, never, args.warm_up_timeout, warm_up)
            # No slow connection before and after the slow phase: the machine's other load drifts, and the
            # two together are the baseline.
            before = run_load(base, questions, args.threads, never, args.duration)
            with SlowClients(port, args.slow) as slow:
                time.sleep(2)  # let them connect and start dripping
                loaded = run_load(base, questions, args.threads, never, args.duration)
            after = run_load(base, questions, args.threads, never, args.duration)
            rebuild = None if args.skip_rebuild else rebuild_under_load(base, env, questions, args.threads)

    load_after = os.getloadavg()
    print(
        f"worker {args.worker}, {args.workers} gunicorn workers, {args.threads} client threads, "
        f"{os.cpu_count()} cores shared by client and server; load average (1/5/15 min) before "
        f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, after {load_after[0]:.2f}"
    )
    print("\n| phase | requests | errors | wall s | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
    print(before.row("normal requests, no slow connection (before)"))
    print(loaded.row(f"normal requests, {args.slow} slow connections held"))
    print(after.row("normal requests, no slow connection (after)"))
    baseline = sorted(before.latencies_ms + after.latencies_ms)
    p50_ratio = statistics.median(loaded.latencies_ms) / statistics.median(baseline)
    p99_ratio = percentile(sorted(loaded.latencies_ms), 0.99) / percentile(baseline, 0.99)
    print(
        f"\nwith {args.slow} slow connections / without (before and after together): "
        f"p50 x{p50_ratio:.2f}, p99 x{p99_ratio:.2f}"
    )
    print(
        f"slow connections opened {slow.opened}; closed by the server meanwhile: "
        f"{dict(slow.closed_by_server) or 'none'}"
    )
    if loaded.errors:
        failures = {key: count for key, count in loaded.statuses.items() if key[1] != 200}
        print(f"failed requests with slow connections, by endpoint and outcome: {failures}")
    if rebuild is not None:
        phase, health_statuses, builds_seen, build_s, swapped_s = rebuild
        print("\nrebuild under load (`reviewqa index` after a corpus change):")
        print("| phase | requests | errors | wall s | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
        print(phase.row("load during the rebuild and the swap"))
        print(f"health status codes (separate prober): {dict(health_statuses)}")
        print(f"builds served (prober): {dict(builds_seen)}")
        print(
            f"build took {build_s:.1f} s; every worker served the new build {swapped_s:.1f} s after it ended"
        )
        print(f"requests by endpoint and status: {dict(sorted(phase.statuses.items(), key=str))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
