"""Question types, verdicts, front matter and the calibration measures: small hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from reviewqa.answer.qtype import question_type, verdict
from reviewqa.answer.text import looks_like_front_matter
from reviewqa.answer.train import fit_logistic, train_ranker
from reviewqa.eval.metrics import expected_calibration_error, reliability


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Did IGF1R inhibitors improve outcomes compared with conventional therapy?", "yes_no"),
        ("Is the virus transmitted by droplets or by contact?", "factoid"),
        ("Why did IGF1R antibodies fail?", "why"),
        ("How does ganitumab cause hyperglycemia?", "why"),
        ("How many patients were enrolled?", "factoid"),
        ("Which IGF1R antibodies are discussed?", "list"),
        ("Which trials combined IGF1R inhibitors with endocrine therapy?", "list"),
        ("What is hyperinsulinemia?", "definition"),
        ("What dose of metformin was given in I-SPY 2?", "factoid"),
    ],
)
def test_question_type(question: str, kind: str) -> None:
    assert question_type(question) == kind


def test_verdict_follows_the_evidence_negation() -> None:
    question = "Did IGF1R inhibitors improve outcomes?"
    assert verdict(question, "None of the attempts showed improved outcomes.") == "No"
    assert verdict(question, "The combination improved survival in two trials.") == "Yes"
    assert verdict("Is it not toxic?", "It is not toxic at this dose.") == "Yes"


@pytest.mark.parametrize(
    "line",
    [
        "https://doi.org/10.1002/cti2.1115",
        "SHA: facbfdfa7189ca9ff83dc30e5d241ab22e962dbf",
        "Authors: Heaton, Steven M",
        "License: cc-by",
        "Correspondence: jane.doe@example.org",
        "© 2020 The Authors. Published by Elsevier.",
        "Smith, J.; Jones, K.; Brown, L.; Green, M.",
    ],
)
def test_front_matter_is_recognised(line: str) -> None:
    assert looks_like_front_matter(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "The major toxicity of this combination was hyperglycemia.",
        "Patients were also given metformin (850 mg po BID) to manage glucose.",
        "Smith and colleagues reported 12 cases in 2019.",
    ],
)
def test_statements_are_not_front_matter(sentence: str) -> None:
    assert not looks_like_front_matter(sentence)


def test_expected_calibration_error() -> None:
    confidence = np.array([0.9, 0.9, 0.9, 0.9, 0.1, 0.1])
    assert expected_calibration_error(list(confidence), [1, 1, 1, 0, 0, 0]) == pytest.approx(
        (4 / 6) * 0.15 + (2 / 6) * 0.1, abs=1e-4
    )
    assert expected_calibration_error([0.75, 0.75, 0.75, 0.75], [1, 1, 1, 0]) == 0.0
    table = reliability(list(confidence), [1, 1, 1, 0, 0, 0])
    assert [row["answers"] for row in table if row["answers"]] == [2, 4]


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"])
def test_training_is_reproducible_from_its_seed(kind: str) -> None:
    rng = np.random.default_rng(7)
    from reviewqa.answer.features import FEATURES

    x = rng.normal(size=(600, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=600) > 0.8).astype(np.float32)
    first, second = train_ranker(x, y, kind, seed=3), train_ranker(x, y, kind, seed=3)
    assert first == second
    from reviewqa.answer.train import ranker_of

    scores = ranker_of(first).predict(x)
    assert scores[y == 1].mean() > scores[y == 0].mean() + 0.2  # it learned the signal


def test_logistic_fit_is_a_probability() -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0]] * 10)
    y = np.array([0, 0, 1, 1] * 10, dtype=float)
    p = fit_logistic(x, y, seed=0).predict(x)
    assert ((p > 0) & (p < 1)).all() and p[3] > 0.5 > p[0]


def test_each_gold_set_weighs_the_same_in_the_confidence_fit() -> None:
    from reviewqa.answer.train import fit_confidence, gold_set_weights

    sources = ["covidqa-train"] * 90 + ["review-dev"] * 10
    weights = gold_set_weights(sources)
    assert weights[:90].sum() == pytest.approx(weights[90:].sum())
    assert weights.sum() == pytest.approx(len(sources))
    # One input that says nothing: the fitted confidence is the mean of the two sets' shares right (0.5 and
    # 0.9 -> 0.7), not the share of all rows (0.54), which the larger set would dictate unweighted.
    right = np.array([1.0] * 45 + [0.0] * 45 + [1.0] * 9 + [0.0])
    inputs = np.zeros((100, 1))
    data = fit_confidence(inputs, right, sources, [f"q{i}" for i in range(100)], seed=0)
    from reviewqa.answer.train import confidence_model_of

    assert confidence_model_of(data).predict(np.zeros(1))[0] == pytest.approx(0.7, abs=0.01)
    assert set(data["info"]["calibration"]) == {"covidqa-train (cross-fitted)", "review-dev (cross-fitted)"}


def test_the_packaged_models_load_with_the_current_features_and_inputs() -> None:
    # A change of features or confidence inputs without `reviewqa train` would make these files unusable
    # (the loaders then fall back to the hand-weighted relevance and the support, silently but for a log).
    import hashlib

    from reviewqa.answer.ranker import (
        CONFIDENCE_FILE,
        CONFIDENCE_INPUTS,
        load_confidence,
        load_ranker,
        model_versions,
    )

    ranker, confidence = load_ranker(), load_confidence()
    assert ranker is not None and confidence is not None
    assert confidence.model.coef.shape == (len(CONFIDENCE_INPUTS),)
    assert {"covidqa-train (cross-fitted)", "review-dev (cross-fitted)", "covidqa-dev (held out)"} <= set(
        confidence.info["calibration"]
    )
    assert model_versions()["confidence"] == hashlib.sha256(CONFIDENCE_FILE.read_bytes()).hexdigest()
