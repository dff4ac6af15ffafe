"""answer(): retrieve passages, select evidence sentences, cite them, or abstain."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reviewqa.answer.compose import (
    ABSTAIN_TEXT,
    SupportFinder,
    answer_text,
    build_citations,
    gather_evidence,
)
from reviewqa.answer.evidence import (
    DEFAULT_SYNONYMS,
    CandidateSentence,
    CorpusStats,
    QuestionTerms,
    collect_candidates,
    confidence,
    score_candidates,
    select_mmr,
)
from reviewqa.answer.features import FEATURES, candidate_features
from reviewqa.answer.qtype import QuestionType, asked_plural, named_members, question_type
from reviewqa.answer.qtype import verdict as verdict_of
from reviewqa.answer.question import retrieval_question, validate_history, validate_question
from reviewqa.answer.ranker import (
    CONFIDENCE_INPUTS,
    ConfidenceModel,
    Ranker,
    load_confidence,
    load_ranker,
    logit,
)
from reviewqa.answer.stats import load_sentence_stats
from reviewqa.errors import QuestionError
from reviewqa.models import Answer, Passage, RetrievedPassage
from reviewqa.refs.support import find_support
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchHit, SearchIndex

logger = logging.getLogger(__name__)

History = Sequence[Mapping[str, str]]


@dataclass
class Considered:
    """A question's candidate answer sentences, their features and scores, before an answer is composed."""

    asked: str
    kind: QuestionType
    hits: list[SearchHit]
    terms: QuestionTerms
    candidates: list[CandidateSentence]
    features: np.ndarray  # one row of features.FEATURES per candidate
    learned: bool = False  # whether the candidates' relevance is the ranker's probability
    searched_at: float = 0.0  # perf_counter() when the passages were retrieved (the answer's timings)


@dataclass
class Draft:
    considered: Considered
    chosen: list[CandidateSentence]
    confidence: float  # calibrated probability that the answer is right (the support without a model)
    support: float  # how well the evidence covers the question's terms and meaning
    confidence_inputs: np.ndarray
    missing: list[str]  # question terms the corpus never uses


class AnswerEngine:
    """Answers questions over one loaded index; holds the per-index statistics the scoring needs."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        stored = load_sentence_stats(index.directory, index.manifest)
        self.stats = CorpusStats.build(
            index.passages, index.tokenize, index.expand_in_document, stored=stored
        )
        self._passages_by_document: dict[str, list[Passage]] = {}
        for passage in index.passages:
            self._passages_by_document.setdefault(passage.document, []).append(passage)

    def consider(
        self,
        asked: str,
        settings: Settings,
        *,
        history: History | None = None,
        ranker: Ranker | bool | None = True,
        depth: int | None = None,
    ) -> Considered:
        """Retrieve, collect and score the candidate sentences of a checked question. ``ranker`` True is
        the packaged ranker, False or None the hand-weighted relevance, else the given ranker."""
        query = retrieval_question(asked, history, self.index.tokenize)
        # Searched with the canonical form of any lay or undefined wording appended ("high blood sugar
        # (hyperglycemia)"). Mined abbreviations are not expanded here: on the review nearly every
        # question says IGF1R, and the appended long form pulled dense search towards the passages that
        # spell it out (dev split: evidence hit@1 0.808 -> 0.731; docs/answers.md). BM25 in search()
        # still matches either form where the corpus defines it unambiguously.
        search_text = DEFAULT_SYNONYMS.with_canonical_forms(query)
        query_vector = self.index.embed_queries([search_text])[0]
        hits = self.index.search(
            search_text,
            k=depth or settings.candidate_k,
            mode=settings.search_mode,
            query_vector=query_vector,
        )
        searched_at = time.perf_counter()
        carried = query[len(asked) :] if query.startswith(asked) else ""
        terms = QuestionTerms.of(asked, self.index.tokenize, carried)
        candidates = collect_candidates(
            [h.passage for h in hits], query_vector, self.index.sentence_vectors_for
        )
        score_candidates(candidates, terms, self.stats, settings.candidate_k)
        kind = question_type(asked)
        features = candidate_features(asked, kind, candidates, hits, terms, self.stats)
        if ranker is True:
            model = load_ranker() if settings.answer_ranker == "learned" else None
        else:
            model = ranker or None
        if model is not None:
            scores = model.predict(features)
        else:
            scores = np.array([c.relevance for c in candidates], dtype=np.float64)
        for candidate, value in zip(candidates, scores, strict=True):
            candidate.relevance = float(value)
        return Considered(
            asked, kind, hits, terms, candidates, features, learned=model is not None, searched_at=searched_at
        )

    def answer(
        self,
        question: str,
        settings: Settings,
        *,
        top_k: int | None = None,
        history: History | None = None,
        ranker: Ranker | bool | None = True,
        confidence_model: ConfidenceModel | bool | None = True,
    ) -> Answer:
        started = time.perf_counter()
        asked = validate_question(question, settings)
        validate_history(history)
        top_k = settings.top_k if top_k is None else top_k
        if top_k < 1:
            raise QuestionError(f"top_k must be at least 1, got {top_k}")
        draft = self.draft(
            asked,
            settings,
            history=history,
            ranker=ranker,
            confidence_model=confidence_model,
            depth=max(settings.candidate_k, top_k),
        )
        considered, chosen, score = draft.considered, draft.chosen, draft.confidence
        retrieved = considered.searched_at
        # Abstention asks whether the documents cover the question at all (the evidence's support, with
        # question terms the corpus never uses counting heavily), not whether the best sentence is the
        # right one: on the dev splits a threshold on the calibrated probability could not do both
        # (docs/answers.md, "Confidence and abstention").
        abstained = draft.support < settings.abstain_threshold or not chosen
        if abstained:
            # The model is calibrated on the answers given; an abstention's confidence never exceeds its
            # support, which says the documents do not cover the question.
            score = min(score, draft.support)
        citations = []
        text = ABSTAIN_TEXT
        verdict = None
        if not abstained:
            evidence = gather_evidence(chosen, self.stats.table, self._document_passages)
            citations = build_citations(
                evidence,
                self.stats.table,
                self.index.documents,
                self.index.cited_work,
                support_finder(self.index, settings.support_min_score),
            )
            if citations:
                text = answer_text(evidence)
                if considered.kind == "yes_no":
                    verdict = verdict_of(asked, evidence[0].quote)
                    text = f"{verdict} — {text}"
            else:
                abstained = True
        if draft.missing:
            logger.info("question terms absent from the corpus: %s", ", ".join(draft.missing))
        finished = time.perf_counter()
        return Answer(
            question=asked,
            answer=text,
            abstained=abstained,
            confidence=score,
            citations=citations,
            passages=[_retrieved(hit) for hit in ranked_passages(considered)[:top_k]],
            timings_ms={
                "retrieve": round((retrieved - started) * 1000, 2),
                "select": round((finished - retrieved) * 1000, 2),
                "total": round((finished - started) * 1000, 2),
            },
            question_type=considered.kind,
            verdict=verdict,
            support=draft.support,
        )

    def draft(
        self,
        asked: str,
        settings: Settings,
        *,
        history: History | None = None,
        ranker: Ranker | bool | None = True,
        confidence_model: ConfidenceModel | bool | None = True,
        depth: int | None = None,
    ) -> Draft:
        """The chosen sentences of a checked question and the confidence that they answer it."""
        considered = self.consider(asked, settings, history=history, ranker=ranker, depth=depth)
        chosen = select_answer(considered, settings, self.stats)
        heuristic, missing = confidence(chosen, considered.terms, self.stats)
        inputs = confidence_inputs(considered, chosen, heuristic, missing)
        model = load_confidence() if confidence_model is True else (confidence_model or None)
        score = round(float(model.predict(inputs)[0]), 4) if model is not None else heuristic
        return Draft(considered, chosen, score, heuristic, inputs, missing)

    def draft_text(self, draft: Draft) -> str:
        """The answer text the draft's sentences make (markers included, no verdict)."""
        return answer_text(gather_evidence(draft.chosen, self.stats.table, self._document_passages))

    def _document_passages(self, document: str) -> list[Passage]:
        return self._passages_by_document.get(document, [])


def answerable(candidate: CandidateSentence, stats: CorpusStats) -> bool:
    """Front matter (links, author lists, licences), questions, and sentences announcing points their
    paragraph does not hold ("As noted below, there are additional reasons...") are never quoted as an
    answer: none of them states one."""
    key = candidate.key
    if key in stats.dangling_announcements:
        return False
    return not stats.form(key, "question_mark") and not stats.form(key, "front_matter")


def select_answer(considered: Considered, settings: Settings, stats: CorpusStats) -> list[CandidateSentence]:
    """The best candidate, and the further ones scoring at least a share of it: for list and why
    questions (which gather members and reasons across passages) a lower share than for the others. A
    list question also gathers sentences naming members not named yet, each with its own citation."""
    pool = [c for c in considered.candidates if answerable(c, stats)]
    gathers = considered.kind in ("list", "why")
    share = settings.list_sentence_share if gathers else settings.extra_sentence_share
    chosen = select_mmr(pool, settings.max_answer_sentences, settings.mmr_lambda, relative_cutoff=share)
    if considered.learned and len(chosen) == 1 and chosen[0].relevance < settings.second_sentence_below:
        # The best sentence is unsure to hold the answer: the next best joins it (measured on the dev
        # splits: the shortest answer that is likely complete; docs/answers.md).
        runner_up = next((c for c in sorted(pool, key=lambda c: -c.relevance) if c is not chosen[0]), None)
        if runner_up is not None:
            chosen.append(runner_up)
    if considered.kind == "list" and chosen:
        chosen = _gather_members(considered, pool, chosen, settings)
    return chosen


# A sentence naming new members joins a list answer if it scores at least this share of the best one and
# names the kind of thing asked for ("antibodies" -> "antibody").
LIST_MEMBER_SHARE = 0.1


def _gather_members(
    considered: Considered, pool: list[CandidateSentence], chosen: list[CandidateSentence], settings: Settings
) -> list[CandidateSentence]:
    asked = named_members(considered.asked)
    named = set().union(*(named_members(c.sentence.text) for c in chosen)) | asked
    kind_of_member = asked_plural(considered.asked)
    best = chosen[0].relevance
    gathered = list(chosen)
    for candidate in sorted(pool, key=lambda c: -c.relevance):
        if len(gathered) >= settings.max_answer_sentences or candidate.relevance < LIST_MEMBER_SHARE * best:
            break
        if candidate in gathered:
            continue
        new = named_members(candidate.sentence.text) - named
        if new and (kind_of_member is None or kind_of_member in candidate.sentence.text.lower()):
            gathered.append(candidate)
            named |= new
    return gathered


def ranked_passages(considered: Considered) -> list[SearchHit]:
    """The retrieved passages ordered by their best candidate sentence's score (ties: retrieval order),
    each scored by it when the scores are the ranker's probabilities."""
    best: dict[str, float] = {}
    for candidate in considered.candidates:
        pid = candidate.passage.passage_id
        best[pid] = max(best.get(pid, 0.0), candidate.relevance)
    order = sorted(
        range(len(considered.hits)),
        key=lambda i: (-best.get(considered.hits[i].passage.passage_id, 0.0), i),
    )
    hits = [considered.hits[i] for i in order]
    if not considered.learned:
        return hits
    return [dataclasses.replace(hit, score=best.get(hit.passage.passage_id, 0.0)) for hit in hits]


def confidence_inputs(
    considered: Considered, chosen: list[CandidateSentence], heuristic: float, missing_terms: list[str]
) -> np.ndarray:
    """The figures ``ranker.CONFIDENCE_INPUTS`` names, for the chosen answer (``missing_terms``: the
    question's terms the corpus never uses)."""
    if not chosen:
        return np.zeros(len(CONFIDENCE_INPUTS))
    top = chosen[0]
    position = next(i for i, c in enumerate(considered.candidates) if c is top)
    row = considered.features[position]
    others = [c.relevance for c in considered.candidates if c is not top]
    top_logit = logit(top.relevance)  # logit clips to (1e-6, 1 - 1e-6)
    second = logit(max(others, default=1e-6))
    missing = 1.0
    for term in missing_terms:
        missing *= considered.terms.missing_factor(term)
    column = FEATURES.index
    return np.array(
        [
            top_logit,
            top_logit - second,
            heuristic,
            missing,
            row[column("cosine")],
            row[column("coverage")],
            row[column("front_matter")],
            row[column("announces")],
            row[column("document_share")],
            len(chosen),
            np.log1p(sum(len(c.sentence.text) for c in chosen)),
            len(considered.asked.split()),
            len(considered.terms.terms),
            1.0 - float(np.prod([1.0 - min(max(c.relevance, 0.0), 0.999) for c in chosen])),
        ]
    )


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
