"""Question checks and follow-up handling: what the answer stage accepts and what it searches for."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from reviewqa.answer.figures import looks_like_drug
from reviewqa.answer.text import FOLLOW_UP_OPENERS, PRONOUNS, Tokenizer, content_terms, normalize_space
from reviewqa.corpus import token_counter
from reviewqa.errors import QuestionError
from reviewqa.settings import Settings

logger = logging.getLogger(__name__)

# A follow-up with at most this many content terms is treated as elliptical even without a pronoun.
ELLIPTICAL_MAX_TERMS = 2
ELLIPTICAL_MAX_WORDS = 8


def _lone_surrogate_at(text: str) -> int | None:
    """Position of the first lone surrogate ("\\ud800"): Python strings (and JSON) can hold one, but it
    is not Unicode text and the model's tokenizer rejects it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def validate_question(question: object, settings: Settings) -> str:
    """The question, stripped, or ``QuestionError`` when it is not a usable question."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    bad = _lone_surrogate_at(question)
    if bad is not None:
        raise QuestionError(
            f"the question is not valid Unicode text (a lone surrogate {question[bad]!r} at character {bad})"
        )
    stripped = question.strip()
    if not stripped:
        raise QuestionError("the question is empty")
    tokens = token_counter(settings.encoding)(stripped)
    if tokens > settings.max_question_tokens:
        raise QuestionError(
            f"the question is too long ({tokens} tokens; the limit is {settings.max_question_tokens})"
        )
    return stripped


def validate_history(history: Sequence[Mapping[str, str]] | None) -> None:
    """``QuestionError`` when a turn of the conversation is not a mapping or its question is not valid
    Unicode text (its words may be carried into the search)."""
    for number, turn in enumerate(history or [], start=1):
        if not isinstance(turn, Mapping):
            raise QuestionError(f"history turn {number} must be a mapping with a 'question'")
        asked = turn.get("question")
        if isinstance(asked, str) and _lone_surrogate_at(asked) is not None:
            raise QuestionError(f"history turn {number}: the question is not valid Unicode text")


def is_elliptical(question: str, tokenize: Tokenizer) -> bool:
    """A short follow-up that leans on the previous question ("what about its toxicity?")."""
    flat = normalize_space(question).lower()
    words = [w.strip("?.,!;:'\"") for w in flat.split()]
    if len(words) > ELLIPTICAL_MAX_WORDS:
        return False
    if flat.startswith(FOLLOW_UP_OPENERS) or any(w in PRONOUNS for w in words):
        return True
    return len(content_terms(question, tokenize)) <= ELLIPTICAL_MAX_TERMS and len(words) <= 4


def _key_terms(question: str, tokenize: Tokenizer, limit: int = 3) -> list[str]:
    """The previous question's topic words, as written: named ones (capitals, digits, hyphens, drug
    names) first, then its other content words."""
    wanted = set(content_terms(question, tokenize))
    words: dict[str, None] = {}
    for raw in normalize_space(question).split():
        word = raw.strip("?.,!;:()'\"")
        if word and content_terms(word, tokenize) and set(content_terms(word, tokenize)) & wanted:
            words.setdefault(word, None)
    named = [w for w in words if any(c.isupper() or c.isdigit() for c in w) or "-" in w or looks_like_drug(w)]
    return [*named, *(w for w in words if w not in named)][:limit]


def retrieval_question(
    question: str, history: Sequence[Mapping[str, str]] | None, tokenize: Tokenizer
) -> str:
    """The text to search with: the question itself, or for an elliptical follow-up the question plus
    the key terms of the conversation's previous (effective) question."""
    previous: str | None = None
    for turn in history or []:
        asked = str(turn.get("question", "") or "").strip()
        if not asked:
            continue
        previous = (
            asked if previous is None else retrieval_question(asked, [{"question": previous}], tokenize)
        )
    if previous is None or not is_elliptical(question, tokenize):
        return question
    carried = [t for t in _key_terms(previous, tokenize) if t.lower() not in question.lower()]
    if not carried:
        return question
    effective = f"{question} {' '.join(carried)}"
    logger.debug("follow-up %r searched as %r", question, effective)
    return effective
