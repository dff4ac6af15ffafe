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
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from measure import children_cpu
from serving import free_port, reviewqa_server

BIN = Path(sys.executable).parent
REVIEWQA = str(BIN / "reviewqa")
QUESTION = "Which IGF1R monoclonal antibodies were tested in breast cancer trials?"


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
    with reviewqa_server(["--workers", "1"], env, port=port):
        timings.append(run("`reviewqa ask`, with a running service", ask, env, options.repeat))
        timings.append(
            run("`reviewqa search --mode bm25`, with a running service", search, env, options.repeat)
        )
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
