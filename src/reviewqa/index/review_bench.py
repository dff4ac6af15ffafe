"""Passage retrieval on the review, measured with the gold questions' evidence.

A passage is relevant to a gold question when it contains one of the question's evidence quotes
(whitespace and case ignored). Only answerable questions count.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewqa.errors import ReviewqaError
from reviewqa.index.metrics import mean, ndcg_at_k, recall_at_k
from reviewqa.index.search import SearchIndex

MODES = ("bm25", "dense", "hybrid")


class GoldSetError(ReviewqaError):
    """The gold question file is missing or unreadable."""


@dataclass(frozen=True)
class GoldQuestion:
    question: str
    relevant: dict[str, int]  # passage id -> 1


def _flat(text: str) -> str:
    return " ".join(text.lower().split())


def load_gold(path: Path, index: SearchIndex, split: str | None) -> list[GoldQuestion]:
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise GoldSetError(f"cannot read the gold questions {path}: {exc}") from exc
    passages = [(p.passage_id, _flat(p.text)) for p in index.passages]
    questions = []
    for row in rows:
        if not row.get("answerable") or (split and row.get("split") != split):
            continue
        quotes = [_flat(q) for q in row.get("evidence", []) if q.strip()]
        relevant = {pid: 1 for pid, text in passages if any(q in text for q in quotes)}
        if relevant:
            questions.append(GoldQuestion(row["question"], relevant))
    return questions


def evaluate_review(index: SearchIndex, questions: list[GoldQuestion], mode: str) -> dict[str, float]:
    ndcg, recall, first = [], [], []
    for gold in questions:
        ranked = [hit.passage.passage_id for hit in index.search(gold.question, k=10, mode=mode)]
        ndcg.append(ndcg_at_k(ranked, gold.relevant, 10))
        recall.append(recall_at_k(ranked, gold.relevant, 5))
        first.append(1.0 if ranked and ranked[0] in gold.relevant else 0.0)
    return {
        "ndcg@10": round(mean(ndcg), 4),
        "recall@5": round(mean(recall), 4),
        "top1": round(mean(first), 4),
    }


def run_review_bench(
    index: SearchIndex, gold_path: Path, split: str | None, fusions: tuple[str, ...] = ()
) -> dict[str, Any]:
    questions = load_gold(gold_path, index, split)
    if not questions:
        raise GoldSetError(f"no answerable questions with evidence found in the index for split {split!r}")
    base = index.settings
    results = {mode: evaluate_review(index, questions, mode) for mode in ("bm25", "dense")}
    for fusion in dict.fromkeys((base.fusion, *fusions)):
        index.settings = base.replace(fusion=fusion)
        results[f"hybrid ({fusion})"] = evaluate_review(index, questions, "hybrid")
    index.settings = base
    return {"split": split or "all", "questions": len(questions), "results": results}


def format_review_table(report: dict[str, Any]) -> str:
    lines = [
        f"review gold questions ({report['split']}: {report['questions']} answerable)",
        "",
        "| mode | nDCG@10 | Recall@5 | top-1 relevant |",
        "|---|---|---|---|",
    ]
    for mode, figures in report["results"].items():
        lines.append(
            f"| {mode} | {figures['ndcg@10']:.3f} | {figures['recall@5']:.3f} | {figures['top1']:.3f} |"
        )
    return "\n".join(lines)


def split_names(value: str) -> str | None:
    return None if re.fullmatch(r"all|", value) else value
