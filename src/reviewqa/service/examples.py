"""Example questions for the chat page's first visit, made from the corpus itself.

Headings name what a document discusses, so each specific heading becomes a question ("Monoclonal
antibodies" -> "What is known about monoclonal antibodies?"; a heading that is a question already stays
one). Headings every paper has ("Introduction", "Methods") say nothing about this corpus and are skipped;
document titles stand in when there are too few headings. The candidates are then answered, and those the
documents answer come first, so a visitor's first click shows an answer rather than an abstention.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewqa.index import SearchIndex

log = logging.getLogger(__name__)

EXAMPLE_COUNT = 3
CANDIDATES = 9  # answered to find EXAMPLE_COUNT that get an answer: ~20 ms each once the model is loaded
MIN_WORDS, MAX_WORDS = 2, 10
# Section names of scientific writing in general (IMRaD and the back matter), not of any one corpus.
GENERIC_HEADINGS = frozenset(
    (
        "abstract", "introduction", "background", "summary", "conclusion", "conclusions", "discussion",
        "methods", "results", "references", "acknowledgements", "acknowledgments", "funding", "keywords",
        "abbreviations", "appendix", "limitations", "overview", "materials and methods",
        "methods and materials", "results and discussion", "conflict of interest", "conflicts of interest",
        "competing interests", "declaration of interest", "author contributions", "data availability",
        "supplementary material", "supplementary materials", "ethics statement", "future directions",
        "concluding remarks", "summary and conclusions", "case report",
    )
)  # fmt: skip
# A heading with one of these is a statement ("INSR is also a target..."), which "What is known about"
# cannot take; plain English grammar, like the list above.
FINITE_VERBS = frozenset(
    ("is", "are", "was", "were", "be", "been", "should", "can", "could", "may", "might", "will", "would",
     "must", "has", "have")
)  # fmt: skip
NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*|[IVXivx]+|[A-Z])[.)]?\s+")


@dataclass(frozen=True)
class Candidate:
    question: str
    document: str
    section: str
    top_section: str  # examples come from different parts of the corpus where they can
    preference: tuple[int, int, int]  # lower is better


@dataclass
class _Examples:
    lock: threading.Lock = field(default_factory=threading.Lock)
    questions: list[dict[str, Any]] | None = None


def example_questions(index: SearchIndex) -> list[dict[str, Any]]:
    """Up to EXAMPLE_COUNT questions, built once per loaded index. (Not built inside ``index.derived``,
    whose lock the answer engine needs while the candidates are answered.)"""
    examples = index.derived("service.examples", lambda _: _Examples())
    with examples.lock:
        if examples.questions is None:
            examples.questions = _build(index)
        return examples.questions


def _build(index: SearchIndex) -> list[dict[str, Any]]:
    from reviewqa.answer import answer
    from reviewqa.errors import ReviewqaError

    candidates = _spread(_heading_candidates(index) or _title_candidates(index), CANDIDATES)
    answered, abstained = [], []
    for candidate in candidates:
        try:
            result = answer(candidate.question, index.settings, index)
        except ReviewqaError as exc:  # a heading too long for a question, say: not an example
            log.info("example %r skipped: %s", candidate.question, exc)
            continue
        (abstained if result.abstained else answered).append(candidate)
        if len(answered) == EXAMPLE_COUNT:
            break
    chosen = (answered + abstained)[:EXAMPLE_COUNT]
    return [{"question": c.question, "document": c.document, "section": c.section} for c in chosen]


def heading_question(heading: str) -> str | None:
    """The question a heading suggests, or None for a heading that names nothing specific."""
    text = " ".join(NUMBERING.sub("", heading).split()).rstrip(".:;")
    words = text.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS and not (len(words) == 1 and _is_term(words[0])):
        return None
    if text.casefold() in GENERIC_HEADINGS or not any(ch.isalpha() for ch in text):
        return None
    if text.endswith("?"):
        return text
    if any(word.casefold() in FINITE_VERBS for word in words[1:]):
        return None
    first = words[0]
    # Lower-case an ordinary first word ("Monoclonal antibodies"), not a name or a term ("IGF1R", "HER2").
    if not _is_term(first):
        text = first[0].lower() + text[1:]
    return f"What is known about {text}?"


def _is_term(word: str) -> bool:
    """An acronym, gene or drug name: a capital or a digit after the first character ("IGF1R", "mTOR")."""
    return any(ch.isupper() or ch.isdigit() for ch in word[1:])


def _heading_candidates(index: SearchIndex) -> list[Candidate]:
    counts: dict[tuple[str, tuple[str, ...]], int] = {}
    for passage in index.passages:
        if passage.section:
            key = (passage.document, tuple(passage.section))
            counts[key] = counts.get(key, 0) + 1
    candidates = []
    for (document, path), passages in counts.items():
        question = heading_question(path[-1])
        if question is None:
            continue
        is_question = 0 if path[-1].rstrip().endswith("?") else 1
        preference = (is_question, len(question.split()) // 4, -passages)
        candidates.append(Candidate(question, document, " > ".join(path), path[0], preference))
    return candidates


def _title_candidates(index: SearchIndex) -> list[Candidate]:
    candidates = []
    for doc_id, meta in index.documents.items():
        title = " ".join(str(meta.get("title") or "").split()).rstrip(".")
        if title and title != doc_id:
            question = f"What does “{title}” report?"
            candidates.append(Candidate(question, doc_id, "", doc_id, (1, len(title.split()) // 4, 0)))
    return candidates


def _spread(candidates: list[Candidate], count: int) -> list[Candidate]:
    """The ``count`` best candidates, taking one per document and top-level section before any second."""
    ordered = sorted(candidates, key=lambda c: (c.preference, c.question))
    chosen: list[Candidate] = []
    used: set[tuple[str, str]] = set()
    for rounds in range(2):
        for candidate in ordered:
            if len(chosen) == count:
                return chosen
            part = (candidate.document, candidate.top_section)
            if candidate in chosen or (rounds == 0 and part in used):
                continue
            chosen.append(candidate)
            used.add(part)
    return chosen
