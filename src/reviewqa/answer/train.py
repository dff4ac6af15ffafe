"""`reviewqa train`: the answer stage's ranker and confidence model, from train and dev splits only.

Ranker (candidate sentence -> probability it holds the answer), trained on
- COVID-QA train: a candidate is positive when it holds the gold span (or 80% of its tokens) and is from
  the question's article;
- the review's gold dev split: a candidate is positive when it holds or overlaps an evidence phrase.
Confidence model (a given answer -> probability it is right), fitted on the answers given (not abstained)
to the questions the ranker trains on: COVID-QA train (right = the answer contains the gold span) and the
review's dev split (right = every key term of the reference is in the answer, or, without key terms, a
quote covers the evidence; an answer to an out-of-scope question is wrong), each gold set weighing the
same. Their answers come from rankers trained without them (K folds over all of them), so the inputs are
those of unseen questions; the reported calibration error is cross-fitted over K folds, and COVID-QA dev,
never trained on, measures it held out. Everything is seeded and single-threaded, so a rerun writes the
same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reviewqa.answer.features import FEATURES, FEATURES_VERSION
from reviewqa.answer.ranker import (
    CONFIDENCE_FILE,
    CONFIDENCE_INPUTS,
    RANKER_FILE,
    ConfidenceModel,
    Logistic,
    Ranker,
    ranker_from_dict,
)
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.answer.pipeline import AnswerEngine

log = logging.getLogger(__name__)

FOLDS = 5
RANKER_KINDS = ("lightgbm", "logistic")
LIGHTGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbose": -1,
}
LIGHTGBM_ROUNDS = 300


@dataclass
class Examples:
    """Candidate rows of many questions: features, labels, and which question each row belongs to."""

    rows: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # question id per block
    source: list[str] = field(default_factory=list)  # "covidqa" | "review" per block

    def add(self, question_id: str, source: str, rows: np.ndarray, labels: np.ndarray) -> None:
        self.rows.append(rows)
        self.labels.append(labels)
        self.groups.append(question_id)
        self.source.append(source)

    def select(self, keep: Callable[[str, str], bool]) -> tuple[np.ndarray, np.ndarray]:
        chosen = [i for i, (g, s) in enumerate(zip(self.groups, self.source, strict=True)) if keep(g, s)]
        x = np.concatenate([self.rows[i] for i in chosen]) if chosen else np.zeros((0, len(FEATURES)))
        y = np.concatenate([self.labels[i] for i in chosen]) if chosen else np.zeros(0)
        return x.astype(np.float32), y.astype(np.float32)


def collect(
    engine: AnswerEngine,
    settings: Settings,
    questions: Sequence[tuple[str, str]],
    is_answer: Callable[[str, Any], bool],
    source: str,
    examples: Examples,
) -> None:
    """Add the candidates of each (id, question) with their labels (``is_answer(id, candidate)``)."""
    for question_id, question in questions:
        considered = engine.consider(question, settings, ranker=False)
        labels = np.array([is_answer(question_id, c) for c in considered.candidates], dtype=np.float32)
        examples.add(question_id, source, considered.features, labels)


def train_ranker(x: np.ndarray, y: np.ndarray, kind: str, seed: int) -> dict[str, Any]:
    """The ranker file's content (see ``ranker.ranker_from_dict``)."""
    if kind == "lightgbm":
        import lightgbm

        params = {**LIGHTGBM_PARAMS, "seed": seed}
        booster = lightgbm.train(params, lightgbm.Dataset(x, y, free_raw_data=False), LIGHTGBM_ROUNDS)
        model: Any = booster.model_to_string()
    elif kind == "logistic":
        model = fit_logistic(x, y, seed).to_dict()
    else:
        raise ValueError(f"unknown ranker kind {kind!r}")
    return {
        "kind": kind,
        "features": list(FEATURES),
        "features_version": FEATURES_VERSION,
        "seed": seed,
        "model": model,
        "info": {"rows": len(y), "positives": int(y.sum())},
    }


def fit_logistic(
    x: np.ndarray, y: np.ndarray, seed: int, c: float = 1.0, weights: np.ndarray | None = None
) -> Logistic:
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    fitted = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(
        (x - mean) / scale, y, sample_weight=weights
    )
    return Logistic(fitted.coef_[0].astype(np.float64), float(fitted.intercept_[0]), mean, scale)


def top1_accuracy(ranker: Ranker, examples: Examples, keep: Callable[[str, str], bool]) -> float | None:
    """Share of questions whose best-scored candidate is a positive."""
    hits = []
    for rows, labels, group, source in zip(
        examples.rows, examples.labels, examples.groups, examples.source, strict=True
    ):
        if keep(group, source) and len(rows):
            hits.append(bool(labels[int(np.argmax(ranker.predict(rows)))]))
    return round(float(np.mean(hits)), 4) if hits else None


def folds_of(ids: Sequence[str], folds: int = FOLDS) -> dict[str, int]:
    """A fixed fold per id (by hash, not order)."""
    return {i: int(hashlib.sha256(i.encode()).hexdigest(), 16) % folds for i in ids}


def gold_set_weights(sources: Sequence[str]) -> np.ndarray:
    """Row weights giving each gold set (a source's name up to its "-": "covidqa-train" and "covidqa-dev"
    are one) the same total weight, so COVID-QA's ~1,600 answers do not drown the review's ~80."""
    gold_sets = [s.split("-")[0] for s in sources]
    counts = {g: gold_sets.count(g) for g in set(gold_sets)}
    return np.array([len(gold_sets) / (len(counts) * counts[g]) for g in gold_sets])


def fit_confidence(
    inputs: np.ndarray, right: np.ndarray, sources: Sequence[str], ids: Sequence[str], seed: int
) -> dict[str, Any]:
    """The confidence file's content. Each gold set weighs the same; the calibration the file reports is
    cross-fitted (each answer's confidence from a model fit without its fold)."""
    weights = gold_set_weights(sources)
    folds = folds_of(list(ids))
    crossed = np.zeros(len(right))
    fold_of = np.array([folds[i] for i in ids])
    for k in range(FOLDS):
        held = fold_of == k
        if held.any() and (~held).any():
            fold_model = fit_logistic(inputs[~held], right[~held], seed, weights=weights[~held])
            crossed[held] = fold_model.predict(inputs[held])
    model = fit_logistic(inputs, right, seed, weights=weights)
    report = {
        f"{source} (cross-fitted)": calibration_report(crossed[mine].tolist(), right[mine].tolist())
        for source in sorted(set(sources))
        if (mine := np.array([s == source for s in sources])).any()
    }
    return {
        "inputs": list(CONFIDENCE_INPUTS),
        "seed": seed,
        "model": model.to_dict(),
        "info": {"folds": FOLDS, "weights": "each gold set the same total weight", "calibration": report},
    }


def calibration_report(confidence: Sequence[float], right: Sequence[bool]) -> dict[str, Any]:
    """Answers, share right, expected calibration error and the reliability table."""
    from reviewqa.eval.metrics import expected_calibration_error, reliability

    return {
        "answers": len(right),
        "right": round(float(np.mean(right)), 4) if len(right) else None,
        "ece": round(expected_calibration_error(list(confidence), list(right)) or 0.0, 4),
        "reliability": reliability(list(confidence), list(right)),
    }


def write_model(path: Path, data: dict[str, Any]) -> str:
    """Write ``data`` as canonical JSON (sorted keys, fixed float form) and return its sha256."""
    text = json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ranker_of(data: dict[str, Any]) -> Ranker:
    return ranker_from_dict(json.loads(json.dumps(data)))


def confidence_model_of(data: dict[str, Any]) -> ConfidenceModel:
    from reviewqa.answer.ranker import confidence_from_dict

    return confidence_from_dict(json.loads(json.dumps(data)))


__all__ = [
    "CONFIDENCE_FILE",
    "RANKER_FILE",
    "RANKER_KINDS",
    "Examples",
    "calibration_report",
    "collect",
    "fit_confidence",
    "top1_accuracy",
    "train_ranker",
    "write_model",
]
