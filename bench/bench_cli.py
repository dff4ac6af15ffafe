"""Wall time of the command line, side by side in one run: `reviewqa ask` answering by itself (cold:
imports, index and model load), `reviewqa ask` with a running service, and `reviewqa search --mode bm25`.

    .venv/bin/python bench/bench_cli.py [--repeat 3] [--question "..."]

Uses the project's settings and index (run `make index` first). A service is started on a free port for the
"with a running service" rows and stopped afterwards; the commands find it from REVIEWQA_PORT, as they find
one at the settings' port. Each command runs --repeat times; the table gives the median and the fastest wall
time and the median CPU time (user + system of the command's process), which the machine's load disturbs
less. The 1-minute load average is printed before and after: on a busy machine wall times are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
REVIEWQA = str(BIN / "reviewqa")
QUESTION = "Which IGF1R monoclonal antibodies were tested in breast cancer trials?"
STARTUP_TIMEOUT_S = 300


@dataclass
class Timing:
    label: str
    walls: list[float]
    cpus: list[float]
    note: str

    def row(self) -> str:
        return (
            f"| {self.label} | {statistics.median(self.walls):.2f} | {min(self.walls):.2f} | "
            f"{statistics.median(self.cpus):.2f} | {self.note} |"
        )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(label: str, args: list[str], env: dict[str, str], repeat: int) -> Timing:
    walls, cpus, note = [], [], ""
    for _ in range(repeat):
        cpu_before, started = children_cpu(), time.perf_counter()
        done = subprocess.run([REVIEWQA, *args], capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - started)
        cpus.append(children_cpu() - cpu_before)
        if done.returncode != 0:
            sys.exit(f"{label} failed ({done.returncode}): {done.stderr.strip()}")
        note = done.stderr.strip().splitlines()[0] if done.stderr.strip() else ""
    return Timing(label, walls, cpus, note)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(port: int, env: dict[str, str]) -> subprocess.Popen:
    command = [REVIEWQA, "serve", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("the service did not start: run `reviewqa serve` to see why")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    sys.exit("the service did not become ready in time")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--question", default=QUESTION)
    options = parser.parse_args()

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "REVIEWQA_PORT": str(port)}
    load_before = os.getloadavg()[0]
    ask, search = ["ask", options.question], ["search", options.question, "--mode", "bm25"]
    timings = [
        run("`reviewqa ask`, cold (no service)", ask, env, options.repeat),
        run("`reviewqa search --mode bm25` (no service)", search, env, options.repeat),
    ]
    service = start_service(port, env)
    try:
        timings.append(run("`reviewqa ask`, with a running service", ask, env, options.repeat))
        timings.append(
            run("`reviewqa search --mode bm25`, with a running service", search, env, options.repeat)
        )
    finally:
        stop(service)
    load_after = os.getloadavg()[0]

    print(
        f"{options.repeat} runs each; 1-minute load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print("| command | wall s (median) | wall s (fastest) | CPU s (median) | which path answered |")
    print("|---|---|---|---|---|")
    for timing in timings:
        print(timing.row())


if __name__ == "__main__":
    main()
