"""answer(): retrieve passages, select evidence sentences, cite them, or abstain."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from reviewqa.answer.compose import (
    ABSTAIN_TEXT,
    SupportFinder,
    answer_text,
    build_citations,
    gather_evidence,
)
from reviewqa.answer.evidence import (
    DEFAULT_SYNONYMS,
    CorpusStats,
    QuestionTerms,
    collect_candidates,
    confidence,
    score_candidates,
    select_mmr,
)
from reviewqa.answer.question import retrieval_question, validate_history, validate_question
from reviewqa.errors import QuestionError
from reviewqa.models import Answer, Passage, RetrievedPassage
from reviewqa.refs.support import find_support
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchHit, SearchIndex

logger = logging.getLogger(__name__)

History = Sequence[Mapping[str, str]]


class AnswerEngine:
    """Answers questions over one loaded index; holds the per-index statistics the scoring needs."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.stats = CorpusStats.build(index.passages, index.tokenize, index.expand_query)
        self._passages_by_document: dict[str, list[Passage]] = {}
        for passage in index.passages:
            self._passages_by_document.setdefault(passage.document, []).append(passage)

    def answer(
        self,
        question: str,
        settings: Settings,
        *,
        top_k: int | None = None,
        history: History | None = None,
    ) -> Answer:
        started = time.perf_counter()
        asked = validate_question(question, settings)
        validate_history(history)
        top_k = settings.top_k if top_k is None else top_k
        if top_k < 1:
            raise QuestionError(f"top_k must be at least 1, got {top_k}")

        query = retrieval_question(asked, history, self.index.tokenize)
        # Searched with the canonical form of any lay or undefined wording appended ("high blood sugar
        # (hyperglycemia)"). Mined abbreviations are not expanded here: on this review nearly every
        # question says IGF1R, and the appended long form pulled dense search towards the passages that
        # spell it out (dev split: evidence hit@1 0.808 -> 0.731; docs/design.md, "Answers"). BM25 in search()
        # still matches either form.
        search_text = DEFAULT_SYNONYMS.with_canonical_forms(query)
        query_vector = self.index.embed_queries([search_text])[0]
        hits = self.index.search(
            search_text,
            k=max(settings.candidate_k, top_k),
            mode=settings.search_mode,
            query_vector=query_vector,
        )
        retrieved = time.perf_counter()

        carried = query[len(asked) :] if query.startswith(asked) else ""
        terms = QuestionTerms.of(asked, self.index.tokenize, carried)
        candidates = collect_candidates(
            [h.passage for h in hits], query_vector, self.index.sentence_vectors_for
        )
        score_candidates(candidates, terms, self.stats, settings.candidate_k)
        chosen = select_mmr(candidates, settings.max_answer_sentences, settings.mmr_lambda)
        score, missing = confidence(chosen, terms, self.stats)
        abstained = score < settings.abstain_threshold
        citations = []
        text = ABSTAIN_TEXT
        if not abstained:
            evidence = gather_evidence(chosen, self.stats.table, self._document_passages)
            citations = build_citations(
                evidence,
                self.stats.table,
                self.index.documents,
                self.index.bibliography,
                support_finder(self.index, settings.support_min_score),
            )
            if citations:
                text = answer_text(evidence)
            else:
                abstained = True
        if missing:
            logger.info("question terms absent from the corpus: %s", ", ".join(missing))
        finished = time.perf_counter()
        return Answer(
            question=asked,
            answer=text,
            abstained=abstained,
            confidence=score,
            citations=citations,
            passages=[_retrieved(hit) for hit in hits[:top_k]],
            timings_ms={
                "retrieve": round((retrieved - started) * 1000, 2),
                "select": round((finished - retrieved) * 1000, 2),
                "total": round((finished - started) * 1000, 2),
            },
        )

    def _document_passages(self, document: str) -> list[Passage]:
        return self._passages_by_document.get(document, [])


def answer(
    question: str,
    settings: Settings,
    index: SearchIndex | None = None,
    *,
    top_k: int | None = None,
    history: History | None = None,
) -> Answer:
    """Answer ``question`` from the indexed documents (loading the index when none is given)."""
    if index is None:
        validate_question(question, settings)  # reject bad input before the slow index load
        from reviewqa.index import load_index

        index = load_index(settings)
    return engine_for(index).answer(question, settings, top_k=top_k, history=history)


def engine_for(index: SearchIndex) -> AnswerEngine:
    """The answer engine of a loaded index, built once per index (its statistics take a moment)."""
    return index.derived("answer_engine", AnswerEngine)


def _retrieved(hit: SearchHit) -> RetrievedPassage:
    passage = hit.passage
    return RetrievedPassage(
        passage_id=passage.passage_id,
        document=passage.document,
        section=passage.section_label,
        page=passage.page,
        text=passage.text,
        score=round(float(hit.score), 6),
        cited_works=list(passage.cited_works),
        work_key=passage.work_key,
    )


def support_finder(index: SearchIndex, min_score: float) -> SupportFinder:
    """Where a cited source supports a quote: its best sentence scoring at least ``min_score``."""
    return lambda key, quote: find_support(index, key, quote, min_score=min_score)
