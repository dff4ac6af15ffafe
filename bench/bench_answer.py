"""Answer latency: model loaded, index warm, p50/p95 per stage; and the answer engine's start-up.

    .venv/bin/python bench/bench_answer.py [--rounds 3] [--gold eval/gold.jsonl]
        [--covidqa ../shared/benchmarks/covidqa --cache-dir DIR]

The review's gold questions over the project's index, and with ``--covidqa`` the COVID-QA dev questions over
that benchmark's corpus (built or reused in ``--cache-dir``, as `reviewqa bench covidqa` does), with the
learned ranker on. Prints figures and the load average only; nothing is asserted (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from reviewqa.settings import PROJECT_ROOT, Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def time_answers(label: str, settings: Settings, index, questions: list[str], rounds: int) -> None:
    from reviewqa.answer import answer
    from reviewqa.answer.pipeline import AnswerEngine

    started = time.perf_counter()
    AnswerEngine(index)  # what the first question pays: the engine's per-index statistics
    engine_s = time.perf_counter() - started
    # Warm-up: first-call costs (model graph, engine) are not what a running service pays.
    for question in questions[:5]:
        answer(question, settings, index)
    timings: dict[str, list[float]] = {"retrieve": [], "select": [], "total": [], "wall": []}
    abstained = 0
    for _ in range(rounds):
        for question in questions:
            before = time.perf_counter()
            result = answer(question, settings, index)
            timings["wall"].append((time.perf_counter() - before) * 1000)
            for stage in ("retrieve", "select", "total"):
                timings[stage].append(result.timings_ms[stage])
            abstained += result.abstained
    print(
        f"\n{label}: {len(index.passages)} passages; answer engine start-up {engine_s:.2f} s "
        f"(statistics {'stored at index time' if index.manifest.get('derived') else 'computed on load'}); "
        f"{len(questions)} questions x {rounds} rounds; abstained {abstained / rounds:.0f} per round; "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"{'stage':<9} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for stage, values in timings.items():
        print(
            f"{stage:<9} {percentile(values, 0.5):8.1f} {percentile(values, 0.95):8.1f} "
            f"{statistics.fmean(values):8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the question set")
    parser.add_argument("--gold", type=Path, default=PROJECT_ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--covidqa", type=Path, default=None, help="also time COVID-QA dev questions")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "reviewqa-bench-cache"
    )
    args = parser.parse_args()

    from reviewqa.answer.stats import DERIVED_WRITERS
    from reviewqa.index import build_index, load_index

    # No query-vector cache: every question is embedded, as a new question would be.
    settings = Settings.load(query_cache_size=0)
    build_index(settings, derived_writers=DERIVED_WRITERS)
    started = time.perf_counter()
    index = load_index(settings)
    print(f"review index load {time.perf_counter() - started:.2f} s")
    questions = [json.loads(line)["question"] for line in args.gold.read_text().splitlines() if line.strip()]
    time_answers("review", settings, index, questions, args.rounds)

    if args.covidqa is not None:
        from reviewqa.eval.covidqa_corpus import build_corpus_index, load_questions

        corpus, index = build_corpus_index(
            settings, args.covidqa, args.cache_dir, derived_writers=DERIVED_WRITERS
        )
        covid_settings = settings.replace(corpus_dir=corpus.corpus_dir, index_dir=corpus.index_dir)
        covid_questions = [q.question for q in load_questions(args.covidqa, "dev")]
        time_answers("COVID-QA dev", covid_settings, index, covid_questions, max(1, args.rounds - 2))


if __name__ == "__main__":
    main()
