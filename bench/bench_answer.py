"""Answer latency over the gold questions: model loaded, index warm, p50/p95 per stage.

    .venv/bin/python bench/bench_answer.py [--rounds 3] [--gold eval/gold.jsonl]

Prints figures only; nothing is asserted (the machine is shared, so numbers vary from run to run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from reviewqa.settings import PROJECT_ROOT, Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the question set")
    parser.add_argument("--gold", type=Path, default=PROJECT_ROOT / "eval" / "gold.jsonl")
    args = parser.parse_args()

    from reviewqa.answer import answer
    from reviewqa.index import build_index, load_index

    # No query-vector cache: every question is embedded, as a new question would be.
    settings = Settings.load(query_cache_size=0)
    build_index(settings)
    started = time.perf_counter()
    index = load_index(settings)
    load_s = time.perf_counter() - started
    questions = [json.loads(line)["question"] for line in args.gold.read_text().splitlines() if line.strip()]

    # Warm-up: first-call costs (model graph, engine statistics) are not what a running service pays.
    for question in questions[:5]:
        answer(question, settings, index)

    timings: dict[str, list[float]] = {"retrieve": [], "select": [], "total": [], "wall": []}
    abstained = 0
    for _ in range(args.rounds):
        for question in questions:
            before = time.perf_counter()
            result = answer(question, settings, index)
            timings["wall"].append((time.perf_counter() - before) * 1000)
            for stage in ("retrieve", "select", "total"):
                timings[stage].append(result.timings_ms[stage])
            abstained += result.abstained

    runs = len(questions) * args.rounds
    print(f"index load {load_s:.2f} s; {len(questions)} questions x {args.rounds} rounds = {runs} answers")
    print(f"abstained {abstained / args.rounds:.0f} of {len(questions)} per round")
    print(f"{'stage':<9} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for stage, values in timings.items():
        print(
            f"{stage:<9} {percentile(values, 0.5):8.1f} {percentile(values, 0.95):8.1f} "
            f"{statistics.fmean(values):8.1f}"
        )


if __name__ == "__main__":
    main()
