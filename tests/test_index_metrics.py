"""Ranking metrics and rank fusion on hand-worked examples."""

from __future__ import annotations

import math

import pytest

from reviewqa.index.fusion import reciprocal_rank_fusion, top, weighted_fusion
from reviewqa.index.metrics import ndcg_at_k, recall_at_k


def test_ndcg_on_a_hand_example() -> None:
    # Relevant a (grade 2) and c (grade 1); ranking b, a, c.
    # DCG = 0/log2(2) + 2/log2(3) + 1/log2(4); IDCG = 2/log2(2) + 1/log2(3).
    expected = (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["b", "a", "c"], {"a": 2, "c": 1}, 10) == pytest.approx(expected)


def test_ndcg_is_one_for_the_ideal_ranking_and_zero_without_hits() -> None:
    assert ndcg_at_k(["a", "c", "b"], {"a": 2, "c": 1}, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], {"a": 1}, 10) == 0.0
    assert ndcg_at_k(["a"], {}, 10) == 0.0


def test_ndcg_ignores_hits_below_the_cutoff() -> None:
    assert ndcg_at_k(["x", "a"], {"a": 1}, 1) == 0.0


def test_recall_counts_relevant_documents_within_the_cutoff() -> None:
    assert recall_at_k(["a", "x", "b"], {"a": 1, "b": 1, "c": 1}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "x", "b"], {"a": 1, "b": 1, "c": 1}, 3) == pytest.approx(2 / 3)


def test_reciprocal_rank_fusion_on_a_hand_example() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert [doc for doc, _ in top(fused, 3)] == [1, 3, 2]


def test_weighted_fusion_scales_each_list_to_unit_range() -> None:
    fused = weighted_fusion({1: 0.9, 2: 0.5}, {2: 12.0, 3: 4.0}, dense_weight=0.5)
    assert fused[1] == pytest.approx(0.5)  # best dense, absent from BM25
    assert fused[2] == pytest.approx(0.5)  # worst dense, best BM25
    assert fused[3] == pytest.approx(0.0)
