"""Load benchmark of POST /api/v1/ask: a fixed number of requests from a thread pool, against localhost.

By default it starts `reviewqa serve` (gunicorn, the app preloaded) on a free port, sends a warm-up pass
(each distinct question once), then the measured requests, and prints a Markdown table: throughput,
latency percentiles and errors. The client runs on the same machine and shares its cores with the server
(and with anything else running), so the table also gives the CPU time the server and the client spent per
answer (from /proc, for a started server): those vary less with other load than throughput does.

    .venv/bin/python bench/bench_load.py                       # 10,000 requests, concurrency 16
    .venv/bin/python bench/bench_load.py --answer-cache-size 0 --requests 2000   # every answer computed
    .venv/bin/python bench/bench_load.py --unique --requests 2000                # no cache can help
    .venv/bin/python bench/bench_load.py --url http://127.0.0.1:8000             # an already running server
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from serving import Server, reviewqa_server

from reviewqa.eval import load_gold

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold.jsonl"


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cache_hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, latency_ms: float, error: str | None, cache_hit: bool) -> None:
        with self.lock:
            self.latencies_ms.append(latency_ms)
            self.cache_hits += cache_hit
            if error is not None:
                self.errors.append(error)


def load_questions() -> list[str]:
    """The distinct questions of the gold set, in file order."""
    return list(dict.fromkeys(q.question for q in load_gold(GOLD)))


def process_tree_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of ``pid`` and its living descendants (Linux /proc), or None."""
    if pid is None or not Path("/proc").is_dir():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent pid, CPU seconds)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Fields after the ")" that closes the command name: state ppid ... utime(12) stime(13).
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    tree, total = {pid}, 0.0
    for _ in range(4):  # master -> workers (-> their children): a few levels suffice
        tree |= {child for child, (parent, _) in stats.items() if parent in tree}
    for member in tree:
        total += stats.get(member, (0, 0.0))[1]
    return total


@contextmanager
def started_server(workers: int, answer_cache_size: int | None) -> Iterator[Server]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if answer_cache_size is not None:
        env["REVIEWQA_ANSWER_CACHE_SIZE"] = str(answer_cache_size)
    with reviewqa_server(["--workers", str(workers)], env) as server:
        yield server


def run_load(
    base: str, questions: list[str], total: int, concurrency: int, unique: bool = False
) -> tuple[Outcome, float]:
    """``unique`` numbers each question ("... (request 17)") so that no answer or query-embedding cache
    can serve it: every request pays for the full pipeline."""
    outcome = Outcome()
    local = threading.local()
    cycle = itertools.cycle(questions)
    counter = itertools.count()
    cycle_lock = threading.Lock()

    def one_request(_: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        with cycle_lock:
            question = next(cycle)
            if unique:
                question = f"{question} (request {next(counter)})"
        started = time.perf_counter()
        error, hit = None, False
        try:
            response = session.post(base + "/api/v1/ask", json={"question": question}, timeout=120)
            if response.status_code != 200 or "answer" not in response.json():
                error = f"HTTP {response.status_code}"
            hit = response.headers.get("X-Answer-Cache") == "hit"
        except requests.RequestException as exc:
            error = type(exc).__name__
        outcome.record((time.perf_counter() - started) * 1000, error, hit)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one_request, range(total)))
    return outcome, time.perf_counter() - started


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def report(
    label: str,
    outcome: Outcome,
    wall_s: float,
    concurrency: int,
    server_cpu_s: float | None = None,
    client_cpu_s: float | None = None,
) -> str:
    latencies = sorted(outcome.latencies_ms)
    n = len(latencies)

    def per_answer_ms(cpu_s: float | None) -> str:
        return "-" if cpu_s is None else f"{cpu_s / n * 1000:.1f}"

    return (
        f"| {label} | {n} | {concurrency} | {len(outcome.errors)} | {outcome.cache_hits} | {wall_s:.1f} | "
        f"{n / wall_s:.1f} | {statistics.median(latencies):.1f} | {percentile(latencies, 0.95):.1f} | "
        f"{percentile(latencies, 0.99):.1f} | {per_answer_ms(server_cpu_s)} | {per_answer_ms(client_cpu_s)} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server (default: start `reviewqa serve` on a free port)")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the started server")
    parser.add_argument("--answer-cache-size", type=int, default=None, help="0 computes every answer")
    parser.add_argument("--unique", action="store_true", help="make every question new (defeats caches)")
    parser.add_argument("--label", default="ask")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]  # other work sharing the cores, before this benchmark adds its own
    questions = load_questions()
    server = started_server(args.workers, args.answer_cache_size) if args.url is None else _existing(args.url)
    with server as running:
        warm, warm_s = run_load(running.base, questions, len(questions), args.concurrency)
        server_cpu_before, client_cpu_before = process_tree_cpu_s(running.pid), time.process_time()
        outcome, wall_s = run_load(running.base, questions, args.requests, args.concurrency, args.unique)
        server_cpu_after, client_cpu_after = process_tree_cpu_s(running.pid), time.process_time()
    server_cpu_s = (
        None
        if server_cpu_before is None or server_cpu_after is None
        else server_cpu_after - server_cpu_before
    )
    header = (
        "| run | requests | concurrency | errors | cache hits | wall s | answers/s "
        "| p50 ms | p95 ms | p99 ms | server CPU ms/answer | client CPU ms/answer |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    print(
        f"{len(questions)} distinct questions, {os.cpu_count()} cores shared by client and server, "
        f"1-minute load average before the benchmark {load_before:.2f}"
    )
    print(header)
    print(report("warm-up (each question once)", warm, warm_s, args.concurrency))
    print(
        report(
            args.label, outcome, wall_s, args.concurrency, server_cpu_s, client_cpu_after - client_cpu_before
        )
    )
    if outcome.errors or warm.errors:
        print("errors:", sorted(set(outcome.errors + warm.errors)))
        return 1
    return 0


@contextmanager
def _existing(url: str) -> Iterator[Server]:
    yield Server(url.rstrip("/"), None)


if __name__ == "__main__":
    sys.exit(main())
