"""The evaluation's metric functions on hand-made examples with figures worked out by hand."""

from __future__ import annotations

import math

import pytest

from reviewqa.eval import metrics as m


def test_token_f1_worked_example() -> None:
    # prediction tokens: metformin 850 mg twice daily (5); reference: 850 mg po bid (4); common: 850, mg
    assert m.token_f1("Metformin 850 mg twice daily", "850 mg po BID") == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert m.token_f1("The IGF1R.", "igf1r") == 1.0  # case, articles and punctuation are ignored
    assert m.token_f1("exemestane", "fulvestrant") == 0.0
    assert m.token_f1("", "") == 1.0 and m.token_f1("", "x") == 0.0


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    assert m.token_f1("insr insr insr", "insr igf1r") == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))


def test_tokens_keep_biomedical_names_whole() -> None:
    assert m.tokens("BMS-754807 with CDK4/6 at 5.7% and ‘IGF1R-driven’") == [
        "bms-754807", "with", "cdk4/6", "at", "5.7%", "and", "igf1r-driven"
    ]  # fmt: skip


def test_key_terms_are_numbers_and_named_entities() -> None:
    assert m.key_terms("A hemoglobin A1C less than 5.7%.") == ["a1c", "5.7"]
    assert m.key_terms("0.60, with a confidence interval of 0.32–1.1.") == ["0.60", "0.32", "1.1"]
    assert m.key_terms("Letrozole, as reviewed by Pollak.") == ["letrozole", "pollak"]
    assert m.key_terms("The liver.") == []


def test_key_term_recall_compares_numbers_by_value() -> None:
    reference = "Hazard ratio 0.60 (CI 0.32–1.1) with figitumumab."
    assert m.key_term_recall("hazard ratio = 0.6, CI: 0.32-1.1, figitumumab", reference) == 1.0
    assert m.key_term_recall("hazard ratio 0.60 with figitumumab", reference) == pytest.approx(2 / 5)
    assert m.missing_key_terms("hazard ratio 0.60 with figitumumab", reference) == ["ci", "0.32", "1.1"]
    assert m.key_term_recall("anything", "The liver.") is None


def test_key_terms_match_parts_of_compounds() -> None:
    assert m.missing_key_terms("in tamoxifen-resistant cells", "Tamoxifen keeps suppressing it.") == []


def test_hits_and_reciprocal_rank() -> None:
    relevant = [False, False, True, False, True]
    assert not m.hit_at_k(relevant, 1) and not m.hit_at_k(relevant, 2) and m.hit_at_k(relevant, 3)
    assert m.reciprocal_rank(relevant) == pytest.approx(1 / 3)
    assert m.reciprocal_rank([False, False]) == 0.0


def test_ndcg_worked_example() -> None:
    # relevant at ranks 2 and 3, two relevant passages in the index: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3)
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k([False, True, True, False], total_relevant=2, k=10) == pytest.approx(expected)
    assert m.ndcg_at_k([True, True], total_relevant=2) == pytest.approx(1.0)
    assert m.ndcg_at_k([False] * 10, total_relevant=3) == 0.0
    assert m.ndcg_at_k([False, True], total_relevant=0) == 0.0
    # a relevant passage below the cut-off does not count
    assert m.ndcg_at_k([False, False, True], total_relevant=1, k=2) == 0.0


def test_relevance_ignores_case_spacing_and_typographic_quotes() -> None:
    passages = ["the ‘class  effect’ of\nIGF1R antibodies", "nothing here"]
    assert m.relevance(passages, ["The 'class effect' of IGF1R"]) == [True, False]


def test_citation_precision_worked_example() -> None:
    evidence = ["the major toxicity of this combination was hyperglycemia"]
    quotes = [
        "The major toxicity of this combination was hyperglycemia, and this toxicity might explain it.",
        "Overall survival was worse in the patients who received ganitumab.",
        "toxicity of this combination was hyperglycemia",  # part of the phrase: overlaps
    ]
    assert m.supported_quotes(quotes, evidence) == [True, False, True]
    assert m.citation_precision(quotes, evidence) == pytest.approx(2 / 3)
    assert m.citation_precision([], evidence) is None


def test_short_overlap_does_not_count_as_support() -> None:
    evidence = ["the level of INSR far exceeded the level of IGF1R"]
    assert not m.quote_supports("The level of IGF1R was low.", evidence[0])  # 4 shared tokens < 5
    assert m.quote_supports("INSR far exceeded the level of IGF1R", evidence[0])


def test_evidence_coverage_and_cited_work_recall() -> None:
    evidence = [
        "no biomarkers were used to stratify patients",
        "patients were enrolled with limited expression",
    ]
    assert m.evidence_coverage(["Sadly, no biomarkers were used to stratify patients."], evidence) == 0.5
    assert m.cited_work_recall(["Chan et al. 2016", "Chan et al. 2017"], ["chan et al. 2016"]) == 0.5
    assert m.cited_work_recall([], ["Yee 2015"]) is None


def test_abstention_scores_worked_example() -> None:
    # 3 out-of-scope (answerable False), 4 answerable; abstained on 2 out-of-scope and 1 answerable
    abstained = [True, True, False, True, False, False, False]
    answerable = [False, False, False, True, True, True, True]
    scores = m.abstention_scores(abstained, answerable)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.false_abstention_rate == pytest.approx(1 / 4)
    assert scores.balanced_accuracy == pytest.approx((2 / 3 + 3 / 4) / 2)
    assert m.abstention_scores([False, False], [True, True]).precision is None


def test_threshold_sweep_and_recommendation() -> None:
    confidences = [0.1, 0.2, 0.6, 0.7, 0.9]
    answerable = [False, False, True, True, True]
    sweep = m.sweep_thresholds(confidences, [False] * 5, answerable, [0.0, 0.15, 0.3, 0.5, 0.65, 0.8])
    recalls = [row["recall"] for row in sweep]
    false_rates = [row["false_abstention_rate"] for row in sweep]
    assert recalls == [0.0, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert false_rates == [0.0, 0.0, 0.0, 0.0, pytest.approx(1 / 3), pytest.approx(2 / 3)]
    # 0.3 and 0.5 both separate perfectly; the middle of that plateau is the first of the two
    assert m.recommend_threshold(sweep) == 0.3


def test_sweep_keeps_abstentions_made_for_other_reasons() -> None:
    sweep = m.sweep_thresholds([0.9], [True], [False], [0.0])
    assert sweep[0]["recall"] == 1.0


def test_percentile() -> None:
    assert m.percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert m.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert m.percentile([], 50) is None


def test_calibration_summary_worked_example() -> None:
    summary = m.calibration_summary([0.95, 0.95, 0.5, 0.2], [True, False, True, False])
    assert set(summary) == {"answers", "right", "ece", "reliability", "wrong_above_0.9"}
    assert summary["answers"] == 4 and summary["right"] == 0.5 and summary["wrong_above_0.9"] == 1
    # Bins 0.2-0.3 (one wrong at 0.2), 0.5-0.6 (one right at 0.5), 0.9-1.0 (two at 0.95, half right).
    assert [row["answers"] for row in summary["reliability"] if row["answers"]] == [1, 1, 2]
    assert summary["ece"] == pytest.approx(1 / 4 * 0.2 + 1 / 4 * 0.5 + 2 / 4 * 0.45)
    assert m.calibration_summary([], [])["ece"] is None


def test_covidqa_calibration_is_the_eval_summary_over_the_answers_given() -> None:
    from reviewqa.eval.covidqa import calibration

    rows = [
        {"abstained": False, "confidence": 0.95, "contains": True},
        {"abstained": False, "confidence": 0.92, "contains": False},
        {"abstained": True, "confidence": 0.1, "contains": False},
    ]
    report = calibration(rows, "dev")
    assert report.pop("how").endswith("split dev held out")
    assert report == m.calibration_summary([0.95, 0.92], [True, False])
    assert report["answers"] == 2 and report["wrong_above_0.9"] == 1
