"""Passage retrieval on COVID-QA train for each fusion setting: is the gold passage in the top 1/5/20/40,
and is the top passage from the question's article? (How `dense_weight` was chosen, with SciFact train.)

    .venv/bin/python bench/bench_covidqa_fusion.py ../shared/benchmarks/covidqa --cache-dir DIR [--every 3]

Uses (or builds) the same index as `reviewqa bench covidqa`; prints figures only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEPTHS = (1, 5, 20, 40)
SETTINGS = (("bm25", None), ("dense", None), *(("hybrid", w) for w in (0.2, 0.3, 0.4, 0.5, 0.6)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "reviewqa-bench-cache"
    )
    parser.add_argument("--every", type=int, default=3, help="take every N-th train question")
    args = parser.parse_args()

    from reviewqa.answer.stats import DERIVED_WRITERS
    from reviewqa.eval import metrics as m
    from reviewqa.eval.covidqa_corpus import build_corpus_index, load_questions
    from reviewqa.settings import Settings

    settings = Settings.load()
    _, index = build_corpus_index(settings, args.dataset, args.cache_dir, derived_writers=DERIVED_WRITERS)
    questions = load_questions(args.dataset, "train")[:: args.every]
    vectors = index.embed_queries([q.question for q in questions])
    print(f"COVID-QA train, {len(questions)} questions; load average {os.getloadavg()[0]:.2f}")
    print("| mode | dense_weight | " + " | ".join(f"gold in top {k}" for k in DEPTHS) + " | doc@1 |")
    print("|---|---|" + "---|" * (len(DEPTHS) + 1))
    for mode, weight in SETTINGS:
        index.settings = settings.replace(dense_weight=weight) if weight is not None else settings
        found = {k: 0 for k in DEPTHS}
        first_doc = 0
        for question, vector in zip(questions, vectors, strict=True):
            hits = index.search(question.question, k=max(DEPTHS), mode=mode, query_vector=vector)
            gold = m.normalize(question.answer.strip())
            relevant = [
                h.passage.document == question.document and gold in m.normalize(h.passage.text) for h in hits
            ]
            for k in DEPTHS:
                found[k] += any(relevant[:k])
            first_doc += bool(hits) and hits[0].passage.document == question.document
        cells = " | ".join(f"{found[k] / len(questions):.3f}" for k in DEPTHS)
        shown = weight if weight is not None else "–"
        print(f"| {mode} | {shown} | {cells} | {first_doc / len(questions):.3f} |")


if __name__ == "__main__":
    main()
