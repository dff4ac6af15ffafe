"""`reviewqa bench covidqa`: answer COVID-QA's expert questions over all its articles indexed together, and
score reviewqa beside simple baselines from the same run and index.

Measures (``../shared/benchmarks/covidqa/README.md``):
- doc@1: the answer's first citation is from the question's article;
- evidence@k: one of the top k retrieved passages (of the question's article) contains the gold span;
- contains: the answer contains the gold span under SQuAD normalisation (lower case, no punctuation or
  articles, single spaces) or covers at least 80% of its tokens; reported beside the answer's mean length
  in tokens, since a longer answer contains more by chance;
- false abstention (every question is answerable); latency p50/p95.
"""

from __future__ import annotations

import logging
import os
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reviewqa.eval import metrics as m
from reviewqa.eval.covidqa_corpus import CovidQuestion, build_corpus_index, load_questions
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchIndex

log = logging.getLogger(__name__)

COVERAGE_SHARE = 0.8
EVIDENCE_KS = (1, 5)
_MARKER = re.compile(r"\s*\[\d+\]")
_VERDICT = re.compile(r"^(?:Yes|No)\s+—\s+")
_PUNCTUATION = str.maketrans(dict.fromkeys(string.punctuation + "‘’“”–—", " "))
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def squad_tokens(text: str) -> list[str]:
    """SQuAD answer normalisation: lower case, punctuation and articles removed, split on whitespace."""
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split()


def answer_body(text: str) -> str:
    """The answer without its citation markers ("[1]") and verdict opener ("Yes — ")."""
    return _VERDICT.sub("", _MARKER.sub("", text))


def contains_gold(answer: str, gold: str) -> bool:
    """The answer holds the gold span (normalised), or at least 80% of its tokens."""
    answer_tokens, gold_tokens = squad_tokens(answer_body(answer)), squad_tokens(gold)
    if not gold_tokens:
        return False
    if f" {' '.join(gold_tokens)} " in f" {' '.join(answer_tokens)} ":
        return True
    common = sum((Counter(answer_tokens) & Counter(gold_tokens)).values())
    return common >= COVERAGE_SHARE * len(gold_tokens)


def answer_length(answer: str) -> int:
    return len(squad_tokens(answer_body(answer)))


@dataclass
class Outcome:
    """One system's answer to one question, as the measures need it."""

    document: str | None  # of the first citation (or top unit); None when abstained
    text: str  # the answer text ("" when abstained)
    evidence: list[tuple[str, str]]  # ranked (document, text) units: passages or sentences
    abstained: bool = False
    latency_ms: float = 0.0
    confidence: float | None = None


def score(question: CovidQuestion, outcome: Outcome) -> dict[str, Any]:
    gold = m.normalize(question.answer.strip())

    def holds(unit: tuple[str, str]) -> bool:
        return unit[0] == question.document and gold in m.normalize(unit[1])

    row: dict[str, Any] = {
        "doc@1": outcome.document == question.document,
        "contains": (not outcome.abstained) and contains_gold(outcome.text, question.answer),
        "tokens": answer_length(outcome.text) if not outcome.abstained else 0,
        "abstained": outcome.abstained,
        "latency_ms": outcome.latency_ms,
    }
    for k in EVIDENCE_KS:
        row[f"evidence@{k}"] = any(holds(unit) for unit in outcome.evidence[:k])
    if outcome.confidence is not None:
        row["confidence"] = outcome.confidence
    return row


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    answered = [r for r in rows if not r["abstained"]]
    latencies = [r["latency_ms"] for r in rows]
    summary: dict[str, float | None] = {
        "doc@1": _mean(r["doc@1"] for r in rows),
        **{f"evidence@{k}": _mean(r[f"evidence@{k}"] for r in rows) for k in EVIDENCE_KS},
        "contains": _mean(r["contains"] for r in rows),
        "answer_tokens": _mean(r["tokens"] for r in answered),
        "false_abstention": _mean(r["abstained"] for r in rows),
        "latency_p50_ms": m.percentile(latencies, 50),
        "latency_p95_ms": m.percentile(latencies, 95),
    }
    return summary


def _mean(values: Any) -> float | None:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), 4) if values else None


# ---------------------------------------------------------------- systems


def reviewqa_outcome(question: str, settings: Settings, index: SearchIndex) -> Outcome:
    from reviewqa.answer import answer

    result = answer(question, settings, index, top_k=max(EVIDENCE_KS))
    return Outcome(
        document=result.citations[0].document if result.citations else None,
        text="" if result.abstained else result.answer,
        evidence=[(p.document, p.text) for p in result.passages],
        abstained=result.abstained,
        latency_ms=result.timings_ms.get("total", 0.0),
        confidence=result.confidence,
    )


class Baselines:
    """Simple systems over the same index: BM25 over sentences, BM25 over passages, dense over sentences."""

    def __init__(self, index: SearchIndex) -> None:
        from reviewqa.index.lexical import Bm25Index

        self.index = index
        self.sentences: list[tuple[str, str]] = []  # (document, text) of each distinct sentence
        self.rows_of_passage: list[list[int]] = []
        row_of: dict[tuple[str, int], int] = {}
        for passage in index.passages:
            rows = []
            for sentence in passage.sentences:
                key = (passage.document, sentence.start)
                if key not in row_of:
                    row_of[key] = len(self.sentences)
                    self.sentences.append((passage.document, sentence.text))
                rows.append(row_of[key])
            self.rows_of_passage.append(rows)
        self.sentence_bm25 = Bm25Index.build([t for _, t in self.sentences], index.bm25.tokenizer)
        self.sentence_vectors = np.zeros((len(self.sentences), index.dimension), dtype=np.float32)
        for position, passage in enumerate(index.passages):
            self.sentence_vectors[self.rows_of_passage[position]] = index.sentence_vectors_for(passage)

    def systems(self) -> dict[str, Callable[[str], Outcome]]:
        return {
            "BM25 sentences, top 1": lambda q: self._sentences(q, 1),
            "BM25 sentences, top 3": lambda q: self._sentences(q, 3),
            "BM25 passages, best sentence": lambda q: self._passages(q, whole=False),
            "BM25 passages, whole passage": lambda q: self._passages(q, whole=True),
            "dense sentences, top 1": self._dense,
        }

    def _timed(self, run: Callable[[], Outcome]) -> Outcome:
        started = time.perf_counter()
        outcome = run()
        outcome.latency_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _sentences(self, question: str, count: int) -> Outcome:
        def run() -> Outcome:
            order = _ranked(self.sentence_bm25.scores(question), 10)
            units = [self.sentences[i] for i in order]
            return Outcome(units[0][0] if units else None, " ".join(t for _, t in units[:count]), units)

        return self._timed(run)

    def _passages(self, question: str, *, whole: bool) -> Outcome:
        def run() -> Outcome:
            order = _ranked(self.index.bm25.scores(question), 10)
            passages = [self.index.passages[i] for i in order]
            units = [(p.document, p.text) for p in passages]
            if not passages:
                return Outcome(None, "", units)
            if whole:
                return Outcome(passages[0].document, passages[0].text, units)
            rows = self.rows_of_passage[order[0]]
            scores = self.sentence_bm25.scores(question)[rows]
            best = rows[int(np.argmax(scores))]
            return Outcome(passages[0].document, self.sentences[best][1], units)

        return self._timed(run)

    def _dense(self, question: str) -> Outcome:
        def run() -> Outcome:
            vector = self.index.embed_queries([question])[0]
            order = np.argsort(-(self.sentence_vectors @ vector), kind="stable")[:10]
            units = [self.sentences[i] for i in order]
            return Outcome(units[0][0], units[0][1], units)

        return self._timed(run)


def _ranked(scores: np.ndarray, depth: int) -> list[int]:
    order = np.argsort(-scores, kind="stable")[:depth]
    return [int(i) for i in order if scores[i] > 0]


# ---------------------------------------------------------------- the run


def run_covidqa(
    settings: Settings,
    directory: Path,
    *,
    split: str = "dev",
    cache_dir: Path,
    limit: int | None = None,
    baselines: bool = True,
    derived_writers: Any = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Build (or reuse) the index of all train+dev articles, answer every question of ``split``."""
    questions = load_questions(directory, split)
    if limit is not None:
        questions = questions[:limit]
    corpus_settings, index = build_corpus_index(
        settings, directory, cache_dir, derived_writers=derived_writers
    )
    settings = settings.replace(corpus_dir=corpus_settings.corpus_dir, index_dir=corpus_settings.index_dir)
    load_before = os.getloadavg()
    systems: dict[str, Callable[[str], Outcome]] = {
        "reviewqa": lambda q: reviewqa_outcome(q, settings, index)
    }
    if baselines:
        systems.update(Baselines(index).systems())
    systems["reviewqa"]("What is a coronavirus?")  # warm-up: model, engine statistics
    results: dict[str, Any] = {}
    per_question: dict[str, list[dict[str, Any]]] = {}
    for name, system in systems.items():
        rows = []
        for question in _progress(questions, progress, name):
            row = score(question, system(question.question))
            row["id"] = question.id
            rows.append(row)
        per_question[name] = rows
        results[name] = summarise(rows)
    return {
        "benchmark": "COVID-QA",
        "calibration": calibration(per_question["reviewqa"], split),
        "split": split,
        "questions": len(questions),
        "articles_indexed": len({p.document for p in index.passages}),
        "passages": len(index.passages),
        "load_average": [round(x, 2) for x in load_before],
        "results": results,
        "per_question": per_question,
    }


def calibration(rows: Sequence[dict[str, Any]], split: str) -> dict[str, Any]:
    """The calibration of reviewqa's answers (rows of ``score``; abstentions show no answer), right meaning
    the answer contains the gold span."""
    answered = [r for r in rows if not r["abstained"]]
    return {
        "how": "confidence model fitted on COVID-QA train and the review's dev split; "
        + f"split {split} held out",
        **m.calibration_summary([r["confidence"] for r in answered], [r["contains"] for r in answered]),
    }


def _progress(questions: list[CovidQuestion], enabled: bool, label: str):
    if not enabled:
        return questions
    from tqdm import tqdm

    return tqdm(questions, desc=label, unit="q", leave=False)


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"COVID-QA {report['split']}: {report['questions']} questions, {report['articles_indexed']} articles "
        f"({report['passages']} passages) indexed together; load average {report['load_average']}",
        "",
        "| system | doc@1 | evidence@1 | evidence@5 | contains | answer tokens | false abstention "
        "| p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["results"].items():
        cells = [r["doc@1"], r["evidence@1"], r["evidence@5"], r["contains"], r["answer_tokens"]]
        cells += [r["false_abstention"], r["latency_p50_ms"], r["latency_p95_ms"]]
        lines.append(f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |")
    calibration = report.get("calibration")
    if calibration:
        lines.append("")
        lines.append(
            f"calibration ({calibration['how']}): ECE {calibration['ece']:.3f}; "
            f"{calibration['wrong_above_0.9']} answers above 0.9 without the gold span"
        )
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}"
