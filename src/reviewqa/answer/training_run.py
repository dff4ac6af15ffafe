"""The steps of `reviewqa train` (see ``answer.train`` for what is learned from which split)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from reviewqa.answer.train import (
    CONFIDENCE_FILE,
    FOLDS,
    RANKER_FILE,
    Examples,
    calibration_report,
    collect,
    confidence_model_of,
    fit_confidence,
    folds_of,
    ranker_of,
    top1_accuracy,
    train_ranker,
    write_model,
)
from reviewqa.settings import Settings

log = logging.getLogger(__name__)


def run_training(
    settings: Settings,
    covidqa_dir: Path,
    cache_dir: Path,
    *,
    kind: str = "lightgbm",
    seed: int = 0,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    from reviewqa.answer.pipeline import engine_for
    from reviewqa.answer.stats import DERIVED_WRITERS
    from reviewqa.eval import metrics as m
    from reviewqa.eval.covidqa import contains_gold
    from reviewqa.eval.covidqa_corpus import build_corpus_index, load_questions
    from reviewqa.eval.gold import gold_path, load_gold, select_split
    from reviewqa.index import build_index, load_index

    started = time.perf_counter()
    covid_settings, covid_index = build_corpus_index(
        settings, covidqa_dir, cache_dir, derived_writers=DERIVED_WRITERS
    )
    covid_engine = engine_for(covid_index)
    build_index(settings, derived_writers=DERIVED_WRITERS)
    review_engine = engine_for(load_index(settings))

    covid_train = load_questions(covidqa_dir, "train")
    covid_dev = load_questions(covidqa_dir, "dev")
    covid_gold = {q.id: q for q in [*covid_train, *covid_dev]}
    review_dev = select_split(load_gold(gold_path(settings.eval_dir)), "dev")
    review_gold = {q.id: q for q in review_dev}

    def covid_answer(question_id: str, candidate: Any) -> bool:
        gold = covid_gold[question_id]
        return candidate.passage.document == gold.document and contains_gold(
            candidate.sentence.text, gold.answer
        )

    def review_answer(question_id: str, candidate: Any) -> bool:
        return any(m.quote_supports(candidate.sentence.text, p) for p in review_gold[question_id].evidence)

    def fold_of(question_id: str) -> int:
        return folds_of([question_id])[question_id]

    examples = Examples()
    log.info("candidates of %d COVID-QA train questions", len(covid_train))
    collect(
        covid_engine,
        covid_settings,
        [(q.id, q.question) for q in covid_train],
        covid_answer,
        "covidqa",
        examples,
    )
    answerable_dev = [q for q in review_dev if q.answerable]
    collect(
        review_engine,
        settings,
        [(q.id, q.question) for q in answerable_dev],
        review_answer,
        "review",
        examples,
    )
    measured = Examples()  # COVID-QA dev: measured, never trained on
    collect(
        covid_engine,
        covid_settings,
        [(q.id, q.question) for q in covid_dev],
        covid_answer,
        "covidqa-dev",
        measured,
    )

    x, y = examples.select(lambda _g, _s: True)
    ranker_data = train_ranker(x, y, kind, seed)
    ranker = ranker_of(ranker_data)
    # Every training question answered by a ranker that never saw it (K folds over all of them), so the
    # confidence model learns from inputs like those of new questions.
    fold_rankers = {}
    for k in range(FOLDS):
        fx, fy = examples.select(lambda g, _s, k=k: fold_of(g) != k)
        fold_rankers[k] = ranker_of(train_ranker(fx, fy, kind, seed))

    confidence_rows: list[tuple[np.ndarray, bool, str, str]] = []
    # Only answers the pipeline gives (support at or above the abstain threshold) are calibrated: the
    # confidence is the probability that a shown answer is right. (Fitted on every draft, it was worse
    # calibrated on the answers shown: review dev ECE 0.107 against 0.075, cross-fitted.)

    def answered(engine: Any, question: str, run_settings: Settings, model: Any) -> tuple[Any, str] | None:
        draft = engine.draft(question, run_settings, ranker=model, confidence_model=None)
        if draft.support < settings.abstain_threshold:
            return None
        return draft, engine.draft_text(draft) if draft.chosen else ""

    for q in covid_train:
        if found := answered(covid_engine, q.question, covid_settings, fold_rankers[fold_of(q.id)]):
            draft, text = found
            right = bool(text) and contains_gold(text, q.answer)
            confidence_rows.append((draft.confidence_inputs, right, "covidqa-train", f"covidqa:{q.id}"))
    for q in review_dev:
        if found := answered(review_engine, q.question, settings, fold_rankers[fold_of(q.id)]):
            draft, text = found
            right = bool(text) and m.answer_right(text, q.answer, q.evidence, q.answerable)
            confidence_rows.append((draft.confidence_inputs, right, "review-dev", f"review:{q.id}"))
    inputs, rights, sources, ids = zip(*confidence_rows, strict=True)
    confidence_data = fit_confidence(np.array(inputs), np.array(rights, dtype=np.float64), sources, ids, seed)
    confidence = confidence_model_of(confidence_data)  # loads as the answer stage will
    # COVID-QA dev, never trained on: the packaged ranker answers, the fitted model gives the confidence.
    held_out = [
        (float(confidence.predict(draft.confidence_inputs)[0]), contains_gold(text, q.answer))
        for q in covid_dev
        if (found := answered(covid_engine, q.question, covid_settings, ranker))
        for draft, text in [found]
    ]
    confidence_data["info"]["calibration"]["covidqa-dev (held out)"] = calibration_report(
        [c for c, _ in held_out], [r for _, r in held_out]
    )

    accuracy = {
        "covidqa_train": top1_accuracy(ranker, examples, lambda _g, s: s == "covidqa"),
        "review_dev_in_sample": top1_accuracy(ranker, examples, lambda _g, s: s == "review"),
        "covidqa_dev": top1_accuracy(ranker, measured, lambda _g, _s: True),
    }
    ranker_data["info"]["top1_accuracy"] = accuracy
    out_dir = out_dir or RANKER_FILE.parent
    ranker_sha = write_model(out_dir / RANKER_FILE.name, ranker_data)
    confidence_sha = write_model(out_dir / CONFIDENCE_FILE.name, confidence_data)
    from reviewqa.answer.ranker import load_confidence, load_ranker

    load_ranker.cache_clear()
    load_confidence.cache_clear()
    return {
        "ranker": {"kind": kind, "seed": seed, "sha256": ranker_sha, **ranker_data["info"]},
        "confidence": {"sha256": confidence_sha, **confidence_data["info"]},
        "seconds": round(time.perf_counter() - started, 1),
    }
