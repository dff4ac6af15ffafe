"""Features of each candidate answer sentence, for the learned ranker and the confidence model.

Every feature is corpus-general: similarities and term overlaps with the question, each also relative to the
best candidate of the same question (so the scale of one corpus does not carry into another), the
retrieval of the passage and document holding it, the sentence's neighbours (the answer often follows the
sentence that words the question), its form (length, front matter, an announcement of points that follow)
and cues that fit the kind of question (a reason for "why", a definition for "what is", a figure for "how
many"). Nothing here names a topic.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from reviewqa.answer.qtype import (
    QUESTION_TYPES,
    QuestionType,
    negated,
)
from reviewqa.answer.text import STOPWORDS

if TYPE_CHECKING:
    from reviewqa.answer.evidence import CandidateSentence, CorpusStats, QuestionTerms
    from reviewqa.index import SearchHit

FEATURES_VERSION = "1"
BM25_K1 = 1.2
BM25_B = 0.75
_WORD = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")

FEATURES: tuple[str, ...] = (
    "cosine",
    "cosine_gap",  # to the best candidate's
    "cosine_rank",
    "coverage",
    "coverage_gap",
    "context_coverage",
    "previous_coverage",
    "next_coverage",
    "bm25",
    "bm25_gap",
    "bigrams",
    "bigrams_gap",
    "matched_share",
    "passage_rank",
    "passage_score",
    "passage_dense",
    "passage_bm25",
    "document_share",
    "document_best_rank",
    "document_passages",
    "length",
    "question_mark",
    "front_matter",
    "announces",
    "dangling",
    "needs_context",
    "paragraph_start",
    "document_position",
    "has_number",
    "figure_match",
    "reason",
    "definition",
    "enumeration",
    "negation",
    "previous_is_question_like",
    *(f"type_{t}" for t in QUESTION_TYPES),
)


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def _bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words))


def candidate_features(
    question: str,
    kind: QuestionType,
    candidates: Sequence[CandidateSentence],
    hits: Sequence[SearchHit],
    terms: QuestionTerms,
    stats: CorpusStats,
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate (coverage and cosine already filled in by scoring)."""
    from reviewqa.answer.evidence import coverage

    n = len(candidates)
    rows = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return rows
    question_bigrams = _bigrams(_words(question))
    hit_of = {hit.passage.passage_id: (rank, hit) for rank, hit in enumerate(hits)}
    best_passage = max((h.score for h in hits), default=1.0) or 1.0
    best_bm25 = max((h.bm25_score or 0.0 for h in hits), default=0.0) or 1.0
    document_score: dict[str, float] = {}
    document_rank: dict[str, int] = {}
    document_count: dict[str, int] = {}
    for rank, hit in enumerate(hits):
        doc = hit.passage.document
        document_score[doc] = document_score.get(doc, 0.0) + max(hit.score, 0.0)
        document_rank.setdefault(doc, rank)
        document_count[doc] = document_count.get(doc, 0) + 1
    total_score = sum(document_score.values()) or 1.0
    cosine_order = np.argsort(-np.array([c.cosine for c in candidates]), kind="stable")
    cosine_rank = np.empty(n)
    cosine_rank[cosine_order] = np.arange(n)
    q_terms = terms.terms
    wanted = len(q_terms) or 1
    question_negations = negated(question)

    for i, c in enumerate(candidates):
        doc, sentence = c.passage.document, c.sentence
        key = c.key
        own = stats.sentence_terms.get(key, frozenset())
        previous = stats.table.previous(doc, sentence.start)
        following = stats.table.following(doc, sentence.start, 1)
        prev_terms = stats.sentence_terms.get((doc, previous.start), frozenset()) if previous else frozenset()
        next_terms = (
            stats.sentence_terms.get((doc, following[0].start), frozenset()) if following else frozenset()
        )
        text = sentence.text
        rank, hit = hit_of.get(c.passage.passage_id, (len(hits), None))
        position = stats.table.position(doc, sentence.start) or 0
        r = rows[i]
        r[0] = c.cosine
        r[2] = cosine_rank[i] / max(n - 1, 1)
        r[3] = c.coverage
        r[5] = c.context_coverage
        r[6] = coverage(q_terms, prev_terms, stats, terms.scale)[0]
        r[7] = coverage(q_terms, next_terms, stats, terms.scale)[0]
        r[8] = _bm25(q_terms, own, stats)
        r[10] = len(question_bigrams & _bigrams(_words(text))) / max(len(question_bigrams), 1)
        r[12] = len(c.matched) / wanted
        r[13] = 1.0 / (1.0 + rank)
        if hit is not None:
            r[14] = hit.score / best_passage
            r[15] = hit.dense_score or 0.0
            r[16] = (hit.bm25_score or 0.0) / best_bm25
        r[17] = document_score.get(doc, 0.0) / total_score
        r[18] = 1.0 / (1.0 + document_rank.get(doc, len(hits)))
        r[19] = document_count.get(doc, 0) / max(len(hits), 1)
        form = stats.forms.get(key)
        if form is not None:
            r[20:24] = form[:4]  # length, question mark, front matter, announces
            r[25] = form[4]  # needs context
            r[28] = form[5]  # has a number
            r[30:33] = form[6:9]  # reason, definition, enumeration
            r[33] = form[9] > question_negations
        r[24] = key in stats.dangling_announcements
        r[26] = previous is None
        r[27] = position / max(stats.table.count(doc), 1)
        r[29] = terms.answered_by(text) if terms.figure is not None else 0.0
        # The sentence before covers the question better: this one may be the answer it introduces.
        r[34] = r[6] - r[3]
        r[35 + QUESTION_TYPES.index(kind)] = 1.0
    for column, gap in ((0, 1), (3, 4), (8, 9), (10, 11)):
        rows[:, gap] = rows[:, column] - rows[:, column].max()
    return rows


def _bm25(question_terms: Sequence[str], sentence_terms: frozenset[str], stats: CorpusStats) -> float:
    """BM25 of the sentence's term set for the question's terms (term frequency 1: sentences are short)."""
    length_norm = 1 - BM25_B + BM25_B * len(sentence_terms) / max(stats.mean_terms, 1.0)
    saturation = (BM25_K1 + 1) / (1 + BM25_K1 * length_norm)
    return sum(stats.weight(t) for t in question_terms if t in sentence_terms) * saturation
