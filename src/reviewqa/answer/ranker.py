"""The learned models of the answer stage: a ranker of candidate sentences and a confidence model.

Both are small JSON files under ``answer/models/`` made by ``reviewqa train`` from train splits (see
``answer.train``), reproducible bit for bit from their seed. The ranker is a LightGBM model (its text
form) or a logistic regression over ``features.FEATURES``; the confidence model is a logistic regression
over a few question-level figures, fitted on dev splits, whose output is the probability that the answer is
right.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reviewqa.answer.features import FEATURES, FEATURES_VERSION

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent / "models"
RANKER_FILE = MODELS_DIR / "ranker.json"
CONFIDENCE_FILE = MODELS_DIR / "confidence.json"

# The question-level figures the confidence model reads (see ``confidence_inputs``).
CONFIDENCE_INPUTS: tuple[str, ...] = (
    "top_logit",
    "margin_logit",
    "heuristic",
    "missing_factor",
    "top_cosine",
    "top_coverage",
    "top_front_matter",
    "top_announces",
    "document_share",
    # The answer as a whole: longer answers of more sentences hold a span more often, and a question of
    # many terms is harder to answer in one sentence.
    "sentences",
    "answer_characters_log",
    "question_words",
    "question_terms",
    "any_sentence_right",  # 1 - prod(1 - p) over the chosen sentences' probabilities
)


class ModelFileError(ValueError):
    """A model file that cannot be used with this version of the code."""


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Logistic:
    """A standardised logistic regression: sigmoid(((x - mean) / scale) . coef + intercept)."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = ((np.asarray(x, dtype=np.float64) - self.mean) / self.scale) @ self.coef + self.intercept
        return _sigmoid(z)

    def to_dict(self) -> dict[str, Any]:
        return {
            "coef": self.coef.tolist(),
            "intercept": float(self.intercept),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        return cls(
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
        )


@dataclass(frozen=True)
class Ranker:
    """Scores candidate sentences: the probability that each holds the answer."""

    kind: str  # "lightgbm" | "logistic"
    model: Any
    sha256: str
    info: dict[str, Any]

    def predict(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros(0)
        if self.kind == "lightgbm":
            return np.asarray(self.model.predict(rows, num_threads=1), dtype=np.float64)
        return self.model.predict(rows)


@dataclass(frozen=True)
class ConfidenceModel:
    model: Logistic
    sha256: str
    info: dict[str, Any]

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return self.model.predict(np.atleast_2d(inputs))


def ranker_from_dict(data: dict[str, Any], sha256: str = "") -> Ranker:
    if data.get("features") != list(FEATURES) or data.get("features_version") != FEATURES_VERSION:
        raise ModelFileError("the ranker was trained on other features: run `reviewqa train`")
    if data["kind"] == "lightgbm":
        import lightgbm

        model: Any = lightgbm.Booster(model_str=data["model"])
    elif data["kind"] == "logistic":
        model = Logistic.from_dict(data["model"])
    else:
        raise ModelFileError(f"unknown ranker kind {data['kind']!r}")
    return Ranker(data["kind"], model, sha256, data.get("info", {}))


def confidence_from_dict(data: dict[str, Any], sha256: str = "") -> ConfidenceModel:
    if data.get("inputs") != list(CONFIDENCE_INPUTS):
        raise ModelFileError("the confidence model reads other inputs: run `reviewqa train`")
    return ConfidenceModel(Logistic.from_dict(data["model"]), sha256, data.get("info", {}))


def _read(path: Path) -> tuple[dict[str, Any], str] | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def _load(path: Path, parse: Any, what: str) -> Any:
    found = _read(path)
    if found is None:
        return None
    try:
        return parse(*found)
    except (ModelFileError, KeyError, ValueError) as exc:
        log.warning("%s %s not used: %s", what, path, exc)
        return None


@functools.lru_cache(maxsize=8)
def load_ranker(path: Path = RANKER_FILE) -> Ranker | None:
    """The ranker in ``path``; None (the hand-weighted relevance is used) when absent or unusable."""
    return _load(path, ranker_from_dict, "ranker")


@functools.lru_cache(maxsize=8)
def load_confidence(path: Path = CONFIDENCE_FILE) -> ConfidenceModel | None:
    """The confidence model in ``path``; None (the support is the confidence) when absent or unusable."""
    return _load(path, confidence_from_dict, "confidence model")


def model_versions() -> dict[str, str | None]:
    """The sha256 of the models in use, for the index manifest and reports."""
    ranker, confidence = load_ranker(), load_confidence()
    return {
        "features_version": FEATURES_VERSION,
        "ranker": ranker.sha256 if ranker else None,
        "confidence": confidence.sha256 if confidence else None,
    }


def logit(p: float) -> float:
    return float(_logit(p))
