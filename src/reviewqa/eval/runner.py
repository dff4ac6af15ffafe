"""Run the gold questions through the same ``answer`` code the service uses and score every answer."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewqa.eval import metrics as m
from reviewqa.eval.gold import (
    QUESTION_TYPES,
    GoldQuestion,
    GoldSetError,
    gold_path,
    load_gold,
    select_split,
)
from reviewqa.models import Answer
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchIndex

logger = logging.getLogger(__name__)

SEARCH_DEPTH = 10  # the deeper ranking nDCG and the hit@k curve are computed on
ANSWER_KS = (1, 3, 5)
WARM_UP_QUESTION = "What is IGF1R?"
# Settings that change answers; recorded with every run so that two reports can be told apart.
RECORDED_SETTINGS = (
    "top_k", "candidate_k", "max_answer_sentences", "abstain_threshold", "mmr_lambda", "search_mode",
    "fusion", "rrf_k", "dense_weight", "fusion_depth", "chunk_tokens", "chunk_overlap_sentences",
    "support_min_score", "model_path", "answer_ranker", "extra_sentence_share", "list_sentence_share",
    "second_sentence_below",
)  # fmt: skip


@dataclass
class QuestionResult:
    """One gold question, what came back, and its scores (None where a metric does not apply)."""

    id: str
    type: str
    split: str
    question: str
    answerable: bool
    reference: str
    evidence: list[str]
    expected_cited_works: list[str]
    answer: str
    abstained: bool
    confidence: float
    support: float | None
    citations: list[dict[str, Any]]
    passage_ids: list[str]
    search_ids: list[str]
    metrics: dict[str, float | bool | None]
    failures: list[str]
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalRun:
    split: str
    created: str
    settings: dict[str, Any]
    index_fingerprint: str
    results: list[QuestionResult]
    summary: dict[str, Any] = field(default_factory=dict)


def run_eval(
    settings: Settings,
    index: SearchIndex,
    split: str = "all",
    *,
    limit: int | None = None,
    gold_file: Path | None = None,
    questions: Sequence[GoldQuestion] | None = None,
    progress: bool = False,
) -> EvalRun:
    """Answer every gold question of ``split`` (at most ``limit``, spread over the types) and score it.

    ``questions`` is the gold set already read (else it is read from ``gold_file`` or eval/gold.jsonl).
    """
    from reviewqa.answer import answer

    if questions is None:
        questions = load_gold(gold_file or gold_path(settings.eval_dir))
    questions = select_split(questions, split)
    if limit is not None:
        questions = take_stratified(questions, limit)
    if not questions:
        raise GoldSetError(f"the gold set has no questions in split {split!r}")
    relevant_counts = _relevant_passage_counts(questions, index)
    answer(WARM_UP_QUESTION, settings, index)  # loads the model and builds the engine outside the timings
    results = [
        score_question(
            q,
            answer(q.question, settings, index),
            _search_ids(q, settings, index),
            index,
            relevant_counts[q.id],
        )
        for q in _progress(questions, progress)
    ]
    run = EvalRun(
        split=split,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        settings={name: getattr(settings, name) for name in RECORDED_SETTINGS},
        index_fingerprint=str(index.manifest.get("corpus_fingerprint", "")),
        results=results,
    )
    run.summary = summarize(results, settings.abstain_threshold)
    run.summary["split"] = split
    run.summary["settings"] = run.settings
    return run


def take_stratified(questions: Sequence[GoldQuestion], limit: int) -> list[GoldQuestion]:
    """The first ``limit`` questions taken in turn from each type, so a small slice still mixes types."""
    by_type: dict[str, list[GoldQuestion]] = defaultdict(list)
    for question in questions:
        by_type[question.type].append(question)
    queues = [by_type[t] for t in QUESTION_TYPES if by_type[t]]
    chosen: list[GoldQuestion] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(queue) for queue in queues):
        chosen.extend(queue[depth] for queue in queues if depth < len(queue))
        depth += 1
    chosen = chosen[:limit]
    order = {q.id: position for position, q in enumerate(questions)}
    return sorted(chosen, key=lambda q: order[q.id])


def _progress(questions: list[GoldQuestion], enabled: bool):
    if not enabled:
        return questions
    from tqdm import tqdm

    return tqdm(questions, desc="questions", unit="q")


def _search_ids(question: GoldQuestion, settings: Settings, index: SearchIndex) -> list[str]:
    hits = index.search(question.question, k=SEARCH_DEPTH, mode=settings.search_mode)
    return [hit.passage.passage_id for hit in hits]


def _relevant_passage_counts(questions: Sequence[GoldQuestion], index: SearchIndex) -> dict[str, int]:
    """How many indexed passages contain an evidence phrase of each question (the ideal ranking for nDCG)."""
    normal_texts = [m.normalize(p.text) for p in index.passages]
    counts: dict[str, int] = {}
    for question in questions:
        phrases = [m.normalize(phrase) for phrase in question.evidence]
        counts[question.id] = sum(any(p in text for p in phrases) for text in normal_texts)
    return counts


def score_question(
    question: GoldQuestion,
    answer: Answer,
    search_ids: list[str],
    index: SearchIndex,
    relevant_in_index: int,
) -> QuestionResult:
    """All metrics of one answer against its gold row."""
    quotes = [c.quote for c in answer.citations]
    cited_keys = list(dict.fromkeys(ref.key for c in answer.citations for ref in c.cited_works))
    scores: dict[str, float | bool | None] = {"abstained": answer.abstained}
    scores["abstention_correct"] = answer.abstained != question.answerable
    if question.answerable:
        answer_relevant = m.relevance([p.text for p in answer.passages], question.evidence)
        search_relevant = m.relevance([index.passage_by_id[i].text for i in search_ids], question.evidence)
        for k in ANSWER_KS:
            scores[f"hit@{k}"] = m.hit_at_k(answer_relevant, k)
        scores["rr"] = m.reciprocal_rank(answer_relevant)
        scores["ndcg@10"] = m.ndcg_at_k(search_relevant, relevant_in_index, SEARCH_DEPTH)
        scores["first_relevant_rank@10"] = next(
            (rank for rank, rel in enumerate(search_relevant, start=1) if rel), None
        )
        scores["token_f1"] = m.token_f1(answer.answer, question.answer)
        scores["key_term_recall"] = m.key_term_recall(answer.answer, question.answer)
        scores["citation_precision"] = m.citation_precision(quotes, question.evidence)
        scores["supported_quotes"] = sum(m.supported_quotes(quotes, question.evidence))
        scores["quotes"] = len(quotes)
        scores["evidence_coverage"] = m.evidence_coverage(quotes, question.evidence)
        scores["citation_covers_evidence"] = scores["evidence_coverage"] > 0
        scores["cited_work_recall"] = m.cited_work_recall(question.cited_works, cited_keys)
        scores["cited_work_precision"] = m.cited_work_precision(question.cited_works, cited_keys)
    return QuestionResult(
        id=question.id,
        type=question.type,
        split=question.split,
        question=question.question,
        answerable=question.answerable,
        reference=question.answer,
        evidence=list(question.evidence),
        expected_cited_works=list(question.cited_works),
        answer=answer.answer,
        abstained=answer.abstained,
        confidence=float(answer.confidence),
        support=answer.support,
        citations=[
            {
                "marker": c.marker,
                "passage_id": c.passage_id,
                "quote": c.quote,
                "cited_works": [r.key for r in c.cited_works],
            }
            for c in answer.citations
        ],
        passage_ids=[p.passage_id for p in answer.passages],
        search_ids=search_ids,
        metrics=scores,
        failures=failure_reasons(question, answer.answer, scores, cited_keys),
        latency_ms=float(answer.timings_ms.get("total", 0.0)),
    )


def failure_reasons(
    question: GoldQuestion, answer_text: str, scores: dict[str, float | bool | None], cited_keys: list[str]
) -> list[str]:
    """Why an answer counts as failed; empty when it passed every check that applies."""
    if not question.answerable:
        return [] if scores["abstained"] else ["answered an out-of-scope question"]
    if scores["abstained"]:
        return ["abstained on an answerable question"]
    reasons = []
    if not scores["hit@5"]:
        reasons.append("no evidence in the top 5 passages")
    missing_terms = m.missing_key_terms(answer_text, question.answer)
    if missing_terms:
        reasons.append(f"missing key terms: {', '.join(missing_terms)}")
    if not scores["citation_covers_evidence"]:
        reasons.append("no cited quote covers the evidence")
    work_recall = scores["cited_work_recall"]
    if work_recall is not None and work_recall < 1.0:
        absent = [key for key in question.cited_works if key not in cited_keys]
        reasons.append(f"cited works missing: {', '.join(absent)}")
    return reasons


# --- summary -------------------------------------------------------------------------------------------


def _share(values: Sequence[bool | float | None]) -> float | None:
    return m.mean(float(v) for v in values if v is not None)


def _metric(results: Sequence[QuestionResult], name: str) -> list[Any]:
    return [r.metrics.get(name) for r in results]


def summarize(results: Sequence[QuestionResult], abstain_threshold: float) -> dict[str, Any]:
    """Aggregate figures of a run (latency apart, a function of the answers only)."""
    answerable = [r for r in results if r.answerable]
    answered = [r for r in answerable if not r.abstained]
    with_key_terms = [r for r in answerable if r.metrics.get("key_term_recall") is not None]
    with_works = [r for r in answerable if r.metrics.get("cited_work_recall") is not None]
    total_quotes = sum(int(r.metrics.get("quotes") or 0) for r in answerable)
    supported = sum(int(r.metrics.get("supported_quotes") or 0) for r in answerable)
    latencies = [r.latency_ms for r in results]
    # Abstention is decided on the evidence's support (the confidence where an answer has none).
    support = [r.support if r.support is not None else r.confidence for r in results]
    sweep = m.sweep_thresholds(
        support,
        [r.abstained and s >= abstain_threshold for r, s in zip(results, support, strict=True)],
        [r.answerable for r in results],
        m.threshold_grid(),
    )
    abstention = m.abstention_scores([r.abstained for r in results], [r.answerable for r in results])
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "out_of_scope": len(results) - len(answerable),
        "retrieval": {
            **{f"hit@{k}": _share(_metric(answerable, f"hit@{k}")) for k in ANSWER_KS},
            "mrr": _share(_metric(answerable, "rr")),
            "ndcg@10": _share(_metric(answerable, "ndcg@10")),
            "hit_curve": hit_curve(answerable),
        },
        "answer": {
            "token_f1": _share(_metric(answerable, "token_f1")),
            "token_f1_answered": _share(_metric(answered, "token_f1")),
            "key_term_recall": _share(_metric(with_key_terms, "key_term_recall")),
            "key_term_accuracy": _share([r.metrics["key_term_recall"] == 1.0 for r in with_key_terms]),
            "questions_with_key_terms": len(with_key_terms),
        },
        "citations": {
            "precision": supported / total_quotes if total_quotes else None,
            "recall": _share(_metric(answerable, "citation_covers_evidence")),
            "evidence_coverage": _share(_metric(answerable, "evidence_coverage")),
            "cited_work_accuracy": _share([r.metrics["cited_work_recall"] == 1.0 for r in with_works]),
            "cited_work_recall": _share(_metric(with_works, "cited_work_recall")),
            "cited_work_precision": _share(
                _metric(
                    [r for r in with_works if r.metrics.get("cited_work_precision") is not None],
                    "cited_work_precision",
                )
            ),
            "questions_with_cited_works": len(with_works),
        },
        "abstention": {
            "threshold": abstain_threshold,
            **abstention.to_dict(),
            "recommended_threshold": m.recommend_threshold(sweep),
            "sweep": sweep,
        },
        "latency_ms": {
            "p50": m.percentile(latencies, 50),
            "p95": m.percentile(latencies, 95),
            "mean": m.mean(latencies),
            "max": max(latencies) if latencies else None,
        },
        "per_type": per_type(results),
        "calibration": calibration(results),
        "failed": sum(bool(r.failures) for r in results),
    }


def calibration(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """How well ``confidence`` (the probability that the answer is right) matches the share of answers that
    are right, over the answers given (abstentions show no answer)."""
    answered = [r for r in results if not r.abstained]
    confidence = [r.confidence for r in answered]
    right = [m.answer_right(r.answer, r.reference, r.evidence, r.answerable) for r in answered]
    return m.calibration_summary(confidence, right)


def hit_curve(answerable: Sequence[QuestionResult]) -> list[float | None]:
    """hit@k for k = 1..10 over the deeper search ranking."""
    ranks = [r.metrics.get("first_relevant_rank@10") for r in answerable]
    if not answerable:
        return []
    return [
        sum(rank is not None and rank <= k for rank in ranks) / len(ranks) for k in range(1, SEARCH_DEPTH + 1)
    ]


def per_type(results: Sequence[QuestionResult]) -> dict[str, dict[str, float | int | None]]:
    table: dict[str, dict[str, float | int | None]] = {}
    for question_type in QUESTION_TYPES:
        rows = [r for r in results if r.type == question_type]
        if not rows:
            continue
        with_terms = [r for r in rows if r.metrics.get("key_term_recall") is not None]
        table[question_type] = {
            "questions": len(rows),
            "abstention_correct": _share(_metric(rows, "abstention_correct")),
            "hit@5": _share(_metric(rows, "hit@5")),
            "token_f1": _share(_metric(rows, "token_f1")),
            "key_term_accuracy": _share([r.metrics["key_term_recall"] == 1.0 for r in with_terms]),
            "citation_recall": _share(_metric(rows, "citation_covers_evidence")),
            "passed": _share([not r.failures for r in rows]),
        }
    return table
