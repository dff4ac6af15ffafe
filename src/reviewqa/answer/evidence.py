"""Sentence-level evidence: score the sentences of retrieved passages, pick a diverse few, and rate how
well the best of them answers the question (the confidence the abstain decision uses)."""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from reviewqa.answer.attribution import SentenceTable
from reviewqa.answer.figures import (
    FigureKind,
    about_subgroup,
    asked_figure,
    asks_for_member,
    asks_overall,
    drugs_named,
    holds_figure,
    looks_like_drug,
    names_member,
)
from reviewqa.answer.stats import (
    DEFAULT_SYNONYMS,
    FORM,
    StoredStats,
    compute_sentence_forms,
    compute_sentence_terms,
)
from reviewqa.answer.synonyms import Synonyms
from reviewqa.answer.text import (
    Tokenizer,
    content_terms,
    continues_discussion,
    needs_context,
    normalize_space,
    numbered_qualifiers,
)
from reviewqa.models import Passage, Sentence

# Relevance = weighted evidence features; the weights favour meaning (cosine) and the question's own
# terms in the sentence, with a little credit for the surrounding paragraph and the passage's rank.
W_COSINE = 0.4
W_COVERAGE = 0.4
W_CONTEXT = 0.12
W_RANK = 0.08
# "What dose...?" is answered by a sentence with a figure in it, not one that merely names the drug.
FIGURE_BONUS = 0.08
NO_FIGURE_PENALTY = 0.04
NO_FIGURE_FACTOR = 0.45  # confidence when a figure is asked for and the best evidence has none
SHORT_SENTENCE_WORDS = 6
SHORT_PENALTY = 0.1
# Sentences scoring below this share of the best one are not worth adding to the answer.
RELATIVE_CUTOFF = 0.85
NEAR_DUPLICATE_COSINE = 0.92
# Cosine of MiniLM between a question and an unrelated sentence sits near COSINE_FLOOR; a sentence that
# answers it typically reaches COSINE_FLOOR + COSINE_SPAN.
COSINE_FLOOR = 0.15
COSINE_SPAN = 0.5
# Confidence multipliers for question terms the corpus never uses (a drug it never discusses is the
# clearest sign that the documents cannot answer).
CARRIED_TERM_SCALE = 0.5
# A question term found only in what a sentence refers back to ("this combination" -> ganitumab).
REFERRED_TERM_SCALE = 0.5
MIN_SHARED_PREFIX = 6
MISSING_DRUG_FACTOR = 0.3
MISSING_NAMED_FACTOR = 0.6
MISSING_TERM_FACTOR = 0.8
# "Which CDK4/6 inhibitor...?" answered by evidence naming no drug of the class is as telling as a
# question naming a drug the corpus never mentions.
NO_MEMBER_FACTOR = MISSING_DRUG_FACTOR


@dataclass
class CorpusStats:
    """Per-index facts the scoring needs, computed once: sentence terms, term rarity, the sentence table."""

    table: SentenceTable
    sentence_terms: dict[tuple[str, int], frozenset[str]]
    paragraph_terms: dict[tuple[str, int], frozenset[str]]
    idf: dict[str, float]
    max_idf: float
    # For a sentence that refers back ("The major toxicity of this combination..."), the terms of the
    # sentence before it in its paragraph, which says what it refers to.
    antecedent_terms: dict[tuple[str, int], frozenset[str]] = field(default_factory=dict)
    # Sentences announcing points their paragraph does not hold ("As noted below, there are additional
    # reasons..."): quoted alone they answer nothing. Fixed per corpus, so found once here.
    dangling_announcements: frozenset[tuple[str, int]] = frozenset()
    vocabulary: list[str] = field(default_factory=list)  # sorted, for inflection look-ups
    numbered: frozenset[str] = frozenset()  # "grade 2", "phase 1": numbered things the corpus names
    mean_terms: float = 1.0  # content terms per sentence, on average (for BM25's length norm)
    forms: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # stats.FORM per sentence

    def form(self, key: tuple[str, int], name: str) -> float:
        row = self.forms.get(key)
        return float(row[FORM.index(name)]) if row is not None else 0.0

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        tokenize: Tokenizer,
        expand: Callable[[str, str], str],
        synonyms: Synonyms = DEFAULT_SYNONYMS,
        stored: StoredStats | None = None,
    ) -> CorpusStats:
        """``expand(document, text)`` spells out the abbreviations ``document`` defines; ``stored`` are the
        terms and forms of every sentence as the index build stored them (``answer.stats``), computed here
        when not given."""
        table = SentenceTable(passages)
        if stored is None:
            sentence_terms = compute_sentence_terms(passages, tokenize, expand, synonyms)
            forms = {k: np.asarray(v, dtype=np.float32) for k, v in compute_sentence_forms(passages).items()}
        else:
            sentence_terms, forms = stored
        paragraph_sets: dict[tuple[str, int], set[str]] = {}
        numbered: set[str] = set()
        dangling: set[tuple[str, int]] = set()
        seen: set[tuple[str, int]] = set()
        for passage in passages:
            for sentence in passage.sentences:
                key = (passage.document, sentence.start)
                if key in seen:
                    continue
                seen.add(key)
                terms = sentence_terms.get(key, frozenset())
                numbered.update(numbered_qualifiers(sentence.text))
                if forms[key][FORM.index("announces")] and not table.following(*key, 1):
                    dangling.add(key)
                paragraph_sets.setdefault((passage.document, sentence.paragraph), set()).update(terms)
        _inherit_referred_context(table, paragraph_sets)
        antecedent_terms = _antecedent_terms(table, sentence_terms)
        frequency = Counter(term for terms in sentence_terms.values() for term in terms)
        total = max(len(sentence_terms), 1)
        idf = {term: math.log((total + 1) / (count + 0.5)) for term, count in frequency.items()}
        return cls(
            table=table,
            sentence_terms=sentence_terms,
            paragraph_terms={key: frozenset(terms) for key, terms in paragraph_sets.items()},
            idf=idf,
            max_idf=math.log(total + 2),
            antecedent_terms=antecedent_terms,
            dangling_announcements=frozenset(dangling),
            vocabulary=sorted(idf),
            numbered=frozenset(numbered),
            mean_terms=sum(map(len, sentence_terms.values())) / total,
            forms=forms,
        )

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.max_idf)

    def knows(self, term: str) -> bool:
        return term in self.idf

    def knows_stem(self, term: str) -> bool:
        """Known as is or as another inflection ("hyperinsulinemic" ~ "hyperinsulinemia")."""
        if term in self.idf:
            return True
        prefix = term[: max(MIN_SHARED_PREFIX, len(term) - 2)]
        if len(term) < MIN_SHARED_PREFIX:
            return False
        position = bisect.bisect_left(self.vocabulary, prefix)
        return position < len(self.vocabulary) and self.vocabulary[position].startswith(prefix)


def _inherit_referred_context(table: SentenceTable, paragraph_sets: dict[tuple[str, int], set[str]]) -> None:
    """A paragraph opening "In this trial, ..." is about what the paragraph before it named, so its
    context terms include that paragraph's (the I-SPY 2 dose sentence then matches "I-SPY 2")."""
    for document, opener, previous in table.paragraph_links():
        if continues_discussion(opener.text):
            inherited = paragraph_sets.get((document, previous), set())
            paragraph_sets.setdefault((document, opener.paragraph), set()).update(inherited)


def _antecedent_terms(
    table: SentenceTable, sentence_terms: dict[tuple[str, int], frozenset[str]]
) -> dict[tuple[str, int], frozenset[str]]:
    """Terms of the sentence before, in the same paragraph, for each sentence that refers back to it
    (only the one before: reaching further pulled "the overall population" into a subgroup's figure)."""
    antecedents: dict[tuple[str, int], frozenset[str]] = {}
    for document, sentences in table.documents():
        for before, sentence in itertools.pairwise(sentences):
            if before.paragraph != sentence.paragraph:
                continue
            if continues_discussion(sentence.text) or needs_context(sentence.text):
                own = sentence_terms.get((document, sentence.start), frozenset())
                previous = sentence_terms.get((document, before.start), frozenset())
                antecedents[(document, sentence.start)] = previous - own
    return antecedents


@dataclass
class QuestionTerms:
    terms: list[str]  # stemmed content terms of the question as asked
    figure: FigureKind | None  # the kind of figure asked for (dose, percentage, year...), if any
    drugs: frozenset[str]  # drug names in the question (a dose must be theirs)
    abbreviations: frozenset[str] = frozenset()  # terms written in capitals or with digits (HbA1c, CTCAE)
    scale: dict[str, float] = field(default_factory=dict)  # weight multipliers (terms carried from history)
    numbered: tuple[str, ...] = ()  # "grade 3": a numbered thing the question asks about
    member_of_class: bool = False  # asks which drug of a class ("Which PI3K inhibitor...?")
    words: frozenset[str] = frozenset()  # the question's words, lower-cased
    overall: bool = False  # asks about a whole population, which a subgroup's figure does not answer

    @classmethod
    def of(
        cls, question: str, tokenize: Tokenizer, carried: str = "", synonyms: Synonyms = DEFAULT_SYNONYMS
    ) -> QuestionTerms:
        """The terms of ``question``, plus those ``carried`` over from the previous question of a
        follow-up, which count for half: they set the topic, the question's own words ask the thing.
        Wordings with a canonical form ("pCR", "high blood sugar") count as that form."""
        raw_question = question
        question, carried = synonyms.canonicalize(question), synonyms.canonicalize(carried)
        abbreviations = {
            term
            for word in question.split()
            if sum(c.isupper() for c in word) >= 2 or any(c.isdigit() for c in word)
            for term in content_terms(word, tokenize)
        }
        figure = asked_figure(raw_question)
        # Words asking for an identifier ("registration number") are not topic: the answer states the
        # identifier (NCT03099174), not these words, so they are neither matched nor missed.
        naming = content_terms(figure[1], tokenize) if figure and figure[0] == "identifier" else []
        own = [t for t in content_terms(question, tokenize) if t not in naming]
        extra = [t for t in content_terms(carried, tokenize) if t not in own]
        return cls(
            terms=own + extra,
            figure=figure[0] if figure else None,
            drugs=drugs_named(question) or drugs_named(carried),
            abbreviations=frozenset(abbreviations),
            scale=dict.fromkeys(extra, CARRIED_TERM_SCALE),
            numbered=tuple(numbered_qualifiers(question)),
            member_of_class=asks_for_member(raw_question),
            words=frozenset(w.strip("?.,!;:()'\"").lower() for w in f"{raw_question} {carried}".split()),
            overall=asks_overall(raw_question),
        )

    def names_asked_member(self, sentence: str) -> bool:
        """False when the question asks which drug of a class and ``sentence`` names none."""
        return not self.member_of_class or names_member(sentence, self.words)

    def answered_by(self, sentence: str) -> bool:
        """False when the question asks for a figure that ``sentence`` does not give (or gives only for a
        subgroup when the whole population was asked about)."""
        if self.figure is None:
            return True
        if self.overall and about_subgroup(sentence):
            return False
        return holds_figure(sentence, self.figure, self.drugs)

    def missing_terms(self, stats: CorpusStats) -> list[str]:
        """Question terms the corpus never uses, in any inflection. A hyphenated compound counts through
        its parts ("er-positive" is known when "er" and "positive" are; "low-hba1c" is missing "hba1c").
        A numbered thing counts as a whole: a corpus reporting "grade 2" toxicity does not know "grade 3"."""
        absent = [t for t in self.terms if "-" not in t and not stats.knows_stem(t)]
        return absent + [n for n in self.numbered if n not in stats.numbered]

    def missing_factor(self, term: str) -> float:
        """How much an absent question term lowers confidence: a drug name the corpus never mentions
        ("dalotuzumab") most, an abbreviation less (it may be spelled out), a common word least."""
        if looks_like_drug(term):
            return MISSING_DRUG_FACTOR
        named = term in self.abbreviations or "-" in term or term in self.numbered
        return MISSING_NAMED_FACTOR if named else MISSING_TERM_FACTOR


# Compared by identity: it holds a vector, and MMR removes the very candidate it picked.
@dataclass(eq=False)
class CandidateSentence:
    passage: Passage
    passage_rank: int
    sentence: Sentence
    vector: np.ndarray
    cosine: float
    coverage: float = 0.0
    context_coverage: float = 0.0
    relevance: float = 0.0
    matched: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        return (self.passage.document, self.sentence.start)


def coverage(
    terms: Iterable[str],
    present: frozenset[str],
    stats: CorpusStats,
    scale: Mapping[str, float] | None = None,
    referred: frozenset[str] = frozenset(),
) -> tuple[float, list[str]]:
    """IDF-weighted share of ``terms`` found in ``present`` (each weight times ``scale[term]``, default 1),
    and which were found. Terms found only in ``referred`` (what the sentence refers back to) count
    ``REFERRED_TERM_SCALE``."""
    terms = list(terms)
    scale = scale or {}
    weights = {t: stats.weight(t) * scale.get(t, 1.0) for t in terms}
    total = sum(weights.values())
    if total <= 0:
        return 0.0, []
    found = [t for t in terms if t in present]
    via_referent = [t for t in terms if t not in present and t in referred]
    covered = sum(weights[t] for t in found) + REFERRED_TERM_SCALE * sum(weights[t] for t in via_referent)
    return covered / total, found


def collect_candidates(
    passages: Sequence[Passage],
    question_vector: np.ndarray,
    sentence_vectors: Callable[[Passage], np.ndarray],
) -> list[CandidateSentence]:
    """One candidate per distinct sentence (overlapping passages repeat sentences; the better-ranked
    passage keeps it)."""
    seen: set[tuple[str, int]] = set()
    candidates: list[CandidateSentence] = []
    for rank, passage in enumerate(passages):
        if not passage.sentences:
            continue
        vectors = sentence_vectors(passage)
        cosines = vectors @ question_vector
        for sentence, vector, cosine in zip(passage.sentences, vectors, cosines, strict=False):
            key = (passage.document, sentence.start)
            if key in seen:
                continue
            seen.add(key)
            candidates.append(CandidateSentence(passage, rank, sentence, vector, float(cosine)))
    return candidates


def score_candidates(
    candidates: list[CandidateSentence], question: QuestionTerms, stats: CorpusStats, candidate_k: int
) -> None:
    """Fill in coverage and relevance of each candidate, in place."""
    for candidate in candidates:
        terms = stats.sentence_terms.get(candidate.key, frozenset())
        referred = stats.antecedent_terms.get(candidate.key, frozenset())
        candidate.coverage, candidate.matched = coverage(
            question.terms, terms, stats, question.scale, referred
        )
        paragraph = stats.paragraph_terms.get(
            (candidate.passage.document, candidate.sentence.paragraph), terms
        )
        candidate.context_coverage, _ = coverage(question.terms, paragraph, stats, question.scale)
        rank_prior = 1.0 - candidate.passage_rank / max(candidate_k, 1)
        relevance = (
            W_COSINE * candidate.cosine
            + W_COVERAGE * candidate.coverage
            + W_CONTEXT * candidate.context_coverage
            + W_RANK * rank_prior
        )
        text = normalize_space(candidate.sentence.text)
        if question.figure is not None:
            relevance += FIGURE_BONUS if question.answered_by(text) else -NO_FIGURE_PENALTY
        too_short = len(text.split()) < SHORT_SENTENCE_WORDS or text.endswith("?")
        if too_short or candidate.key in stats.dangling_announcements:
            relevance -= SHORT_PENALTY
        candidate.relevance = relevance


def select_mmr(
    candidates: Sequence[CandidateSentence],
    limit: int,
    mmr_lambda: float,
    relative_cutoff: float = RELATIVE_CUTOFF,
) -> list[CandidateSentence]:
    """Maximal marginal relevance: relevant sentences that do not repeat each other, best first.

    Stops early once the remaining sentences fall well below the best one, to keep the answer short.
    """
    if not candidates or limit <= 0:
        return []
    pool = sorted(candidates, key=lambda c: c.relevance, reverse=True)
    best = pool[0].relevance
    chosen: list[CandidateSentence] = [pool.pop(0)]
    while pool and len(chosen) < limit:
        chosen_vectors = np.stack([c.vector for c in chosen])
        scored = []
        for candidate in pool:
            redundancy = float(np.max(chosen_vectors @ candidate.vector))
            scored.append(
                (mmr_lambda * candidate.relevance - (1 - mmr_lambda) * redundancy, redundancy, candidate)
            )
        _, redundancy, pick = max(scored, key=lambda item: item[0])
        pool.remove(pick)
        if redundancy >= NEAR_DUPLICATE_COSINE:
            continue
        if pick.relevance < relative_cutoff * best:
            break
        chosen.append(pick)
    return chosen


def confidence(
    chosen: Sequence[CandidateSentence], question: QuestionTerms, stats: CorpusStats
) -> tuple[float, list[str]]:
    """0-1 confidence that the evidence answers the question, and the question terms the corpus lacks.

    Meaning (the best sentence's cosine, rescaled) and wording (the question's terms in that sentence or
    its paragraph) count equally; each question term absent from the whole corpus then scales it down,
    a drug name much more than a common word, and so does a question asking for a figure that the
    evidence does not contain (or holds only in a sentence about something else), or asking which drug
    of a class when the evidence names none.
    """
    missing = question.missing_terms(stats)
    if not chosen:
        return 0.0, missing
    best = chosen[0]
    wording = max(best.coverage, 0.5 * best.coverage + 0.5 * best.context_coverage)
    value = 0.5 * _meaning(best) + 0.5 * wording
    for term in missing:
        value *= question.missing_factor(term)
    holding_figure = [c for c in chosen[:2] if question.answered_by(c.sentence.text)]
    if not holding_figure:
        value *= NO_FIGURE_FACTOR
    elif question.figure is not None and holding_figure[0] is not best:
        # A figure found beside the best sentence answers only if its own sentence is about what was
        # asked: a paragraph about all patients may hold only a subgroup's figure.
        figure_sentence = holding_figure[0]
        value = min(value, 0.5 * _meaning(figure_sentence) + 0.5 * figure_sentence.coverage)
    if not any(question.names_asked_member(c.sentence.text) for c in chosen[:2]):
        value *= NO_MEMBER_FACTOR
    return round(min(max(value, 0.0), 1.0), 4), missing


def _meaning(candidate: CandidateSentence) -> float:
    """The sentence's cosine to the question, rescaled to 0-1 between unrelated and answering."""
    return min(max((candidate.cosine - COSINE_FLOOR) / COSINE_SPAN, 0.0), 1.0)
