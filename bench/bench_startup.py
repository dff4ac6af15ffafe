"""Cold start: load a built index and answer one question (`reviewqa ask` from nothing), on the review
and on the COVID-QA train+dev corpus.

    .venv/bin/python bench/bench_startup.py [--work-dir DIR] [--runs 3] [--backend onnx-int8|torch]

Two measures per corpus, each in fresh processes:
- ``reviewqa ask QUESTION``, end to end: wall and CPU seconds of the child (median of ``--runs``);
- the same steps timed one by one in a fresh interpreter: imports, ``load_index`` (artefacts read and
  checksums verified), the first query embedding (loads the query encoder: onnxruntime session or torch
  model), building the answer engine (its per-index statistics: the ``answers`` branch's part, reported
  apart), and the answer itself; plus whether torch was imported at all.

The indexes are built first if needed (COVID-QA: the one ``bench_build.py`` leaves in the same
``--work-dir``). The load average is printed beside the figures: the machine is shared, so wall times
are inflated; the goals (<= 3 s on the review, <= 5 s on COVID-QA) are for a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpora import covidqa_project, load_questions, review_project

from reviewqa.answer.stats import DERIVED_WRITERS
from reviewqa.index import build_index
from reviewqa.settings import Settings

CORPORA = ("review", "COVID-QA")

PHASES = r"""
import json, sys, time
clock = time.perf_counter
cpu = time.process_time
marks = [("start", clock(), cpu())]
def mark(name):
    marks.append((name, clock(), cpu()))
from reviewqa.settings import Settings
from reviewqa.index import load_index
from reviewqa.answer.pipeline import engine_for
mark("imports")
settings = Settings.load()
index = load_index(settings)
mark("load_index")
index.embed_queries([sys.argv[1]])
mark("first query embedding")
engine = engine_for(index)
mark("answer engine statistics")
engine.answer(sys.argv[1], settings)
mark("answer")
phases = {name: (w - marks[i][1], c - marks[i][2]) for i, (name, w, c) in enumerate(marks[1:])}
print(json.dumps({"phases": phases, "torch_imported": "torch" in sys.modules}))
"""


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def child_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "REVIEWQA_CORPUS_DIR": str(settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(settings.index_dir),
        "REVIEWQA_EMBED_BACKEND": settings.embed_backend,
    }


def run_child(command: list[str], settings: Settings) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, env=child_env(settings), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed: {result.stderr[-2000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, result.stdout


def first_question(name: str) -> str:
    if name == "review":
        return "What dose of metformin was given in I-SPY 2?"
    return load_questions("dev")[0].question


def measure(name: str, settings: Settings, runs: int) -> list[str]:
    build_index(settings, derived_writers=DERIVED_WRITERS)  # as `reviewqa index` builds it
    question = first_question(name)
    reviewqa = str(Path(sys.executable).with_name("reviewqa"))
    loads = [load()]
    asks = [run_child([reviewqa, "ask", question], settings)[:2] for _ in range(runs)]
    phases = [sys.executable, "-c", PHASES, question]
    phase_runs = [json.loads(run_child(phases, settings)[2]) for _ in range(runs)]
    loads.append(load())
    rows = [
        f"| {name} | `reviewqa ask`, end to end | {statistics.median(w for w, _ in asks):.2f} "
        f"| {statistics.median(c for _, c in asks):.2f} |"
    ]
    for phase in phase_runs[0]["phases"]:
        wall = statistics.median(run["phases"][phase][0] for run in phase_runs)
        cpu = statistics.median(run["phases"][phase][1] for run in phase_runs)
        owner = " (answers)" if phase == "answer engine statistics" else ""
        rows.append(f"| {name} | {phase}{owner} | {wall:.2f} | {cpu:.2f} |")
    torch = "yes" if phase_runs[0]["torch_imported"] else "no"
    rows.append(f"| {name} | torch imported? {torch}; load average {loads[0]} -> {loads[1]} | | |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "reviewqa-bench-build")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default=None, help="embed_backend (default: the setting)")
    parser.add_argument("--corpus", choices=CORPORA, action="append", help="default: both")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    projects = {
        "review": review_project(args.work_dir / "review", embed_backend=args.backend),
        "COVID-QA": covidqa_project(args.work_dir / "covidqa", embed_backend=args.backend),
    }
    rows = [
        f"cold start, median of {args.runs} fresh processes each; backend {projects['review'].embed_backend}",
        "",
        "| corpus | step | wall s | CPU s |",
        "|---|---|---|---|",
    ]
    for name in args.corpus or CORPORA:
        rows += measure(name, projects[name], args.runs)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
