"""Fusing the dense and BM25 rankings into one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Cormack et al. 2009: each list adds 1 / (k + rank) to the documents it ranks (rank from 1)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def weighted_fusion(
    dense: dict[int, float], lexical: dict[int, float], dense_weight: float
) -> dict[int, float]:
    """A weighted sum of scores, each list scaled to [0, 1] by its maximum (BM25 is unbounded).

    A document missing from a list counts as that list's minimum.
    """
    dense_scaled = _scale(dense)
    lexical_scaled = _scale(lexical)
    docs = set(dense) | set(lexical)
    return {
        d: dense_weight * dense_scaled.get(d, 0.0) + (1.0 - dense_weight) * lexical_scaled.get(d, 0.0)
        for d in docs
    }


def _scale(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    values = np.fromiter(scores.values(), dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    span = high - low
    if span <= 0:
        return dict.fromkeys(scores, 1.0)
    return {d: (s - low) / span for d, s in scores.items()}


def top(scores: dict[int, float], k: int) -> list[tuple[int, float]]:
    """The k best (doc, score), ties broken by doc id for a stable order."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
