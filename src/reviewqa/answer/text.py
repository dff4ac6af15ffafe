"""Small text helpers for the answer stage: content terms, sentence cleaning, discourse cues."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from reviewqa.answer.figures import looks_like_drug

Tokenizer = Callable[[str], list[str]]

# Function words and question scaffolding that carry no topic; kept short and explicit on purpose.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not now of off on once only or other our ours out over own same she should so some such
    than that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours shown
    show showed shows describe described tell explain according review paper document documents
    study studies give given known many much
    plus besides happen happened happens name named roughly around approximately mainly main try tried
    see seen lead leads act acts long quoted quote define defines defined feature features
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Words that open an elliptical follow-up ("what about its toxicity?", "and in ER- tumours?").
FOLLOW_UP_OPENERS = ("what about", "how about", "and ", "also ", "what of", "same for")
PRONOUNS = frozenset({"it", "its", "they", "their", "them", "this", "that", "these", "those", "he", "she"})

# Connectives that dangle once a sentence is lifted out of its paragraph.
_LEADING_CONNECTIVE = re.compile(
    r"^(?:further(?:more)?|thus|therefore|moreover|however|indeed|in addition|additionally|also|hence|"
    r"consequently|briefly|finally|first|second|third|similarly|in contrast|certainly|taken together|"
    r"as noted earlier|as mentioned|as discussed earlier|in this regard|importantly|notably|"
    r"unfortunately|as shown by [^,]{1,60}),\s+",
    re.IGNORECASE,
)

# A sentence that continues the discussion of a work named earlier ("These authors showed...").
_CONTINUATION = re.compile(
    r"\b(?:these authors|the authors|this (?:trial|study|work|report|analysis|combination|drug|agent|"
    r"observation|finding|antibody|cohort|model|subgroup|subpopulation|arm)|these (?:data|results|"
    r"findings|studies|trials|patients|observations|cell lines)|in this (?:trial|study|work|analysis|model)|"
    r"in that (?:trial|study)|"
    r"they|their (?:trial|study|data|work)|the same (?:trial|study)|coworkers|colleagues)\b",
    re.IGNORECASE,
)
# Conclusions and remarks the review makes itself ("Unfortunately, this drug is no longer being
# pursued."); these are not attributed to the work discussed before them.
_OWN_CONCLUSION = re.compile(
    r"^(?:thus|therefore|taken together|certainly|in summary|overall|unfortunately|fortunately),",
    re.IGNORECASE,
)
# "First, ... Second, ...": the points of the sentence before, when they follow it directly.
_ENUMERATION = re.compile(r"^(?:first|second|third|fourth|finally|next|lastly),\s", re.IGNORECASE)
# Sentences whose opening only makes sense with the sentence before ("This trial...", "These authors...").
_NEEDS_CONTEXT = re.compile(
    r"^(?:(?:in )?(?:this|these|that|those|such)\b|the authors\b|they\b|it\b|both\b|the latter\b|"
    r"the former\b|here\b)",
    re.IGNORECASE,
)

# Sentences that announce what the next ones say ("...harmful for two reasons.", "...there were surgical
# methods to suppress..."): alone they answer nothing, so the points that follow are quoted with them.
_ANNOUNCES = re.compile(
    r"\b(?:two|three|four|several|additional|following|multiple|various) (?:\w+ ){0,2}(?:reasons|ways|"
    r"methods|strategies|factors|lessons|points|flaws|explanations|steps|problems|issues)\b|"
    r"\bthere (?:were|are) (?:\w+ ){0,2}(?:methods|ways|reasons|strategies)\b|:\s*$|\bas follows\b",
    re.IGNORECASE,
)

_WHITESPACE = re.compile(r"\s+")
# "Gradishar and coworkers (2016)", "Drury et al. 2011", "Gradishar and colleagues"
_AUTHOR_MENTION = re.compile(
    r"\b([A-Z][A-Za-z'\-]+)\s+(?:and\s+(?:coworkers|co-workers|colleagues)|et\s+al\.?)\s*\(?\s*((?:19|20)\d{2})?"
)
_DIGIT = re.compile(r"\d")
# A word numbered by a small integer or roman numeral ("grade 3", "phase II", "I-SPY 2"); not a figure
# such as "than 5.7%" or a year.
_NUMBERED = re.compile(r"(?<![\w-])([A-Za-z][A-Za-z-]*)\s+(\d{1,2}|IV|I{1,3})(?![\w%/-]|[.,]\d)")
_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4"}


def normalize_space(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def stem(token: str) -> str:
    """A deliberately light stemmer so that "binds" meets "binding" and "trials" meets "trial"."""
    for suffix, min_len in (("ies", 6), ("ing", 7), ("ed", 6), ("es", 6), ("s", 5)):
        if token.endswith(suffix) and len(token) >= min_len and not token[-len(suffix) - 1].isdigit():
            base = token[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return token


def content_terms(text: str, tokenize: Tokenizer) -> list[str]:
    """Distinct stemmed, lower-cased topic terms of ``text`` in order of appearance."""
    seen: dict[str, None] = {}
    kept_words = [w for w in text.split() if w.strip(".,;:()[]'\"?!").lower() not in STOPWORDS]
    for token in tokenize(" ".join(kept_words)):
        lowered = token.lower().strip(".,;:()[]'\"?!")
        if len(lowered) < 2 or lowered in STOPWORDS:
            continue
        seen.setdefault(stem(lowered), None)
    return list(seen)


def numbered_qualifiers(text: str) -> list[str]:
    """Lower-cased "word number" pairs of ``text`` with roman numerals as digits ("phase II" -> "phase 2"),
    skipping function words ("or 4", "than 5")."""
    pairs = []
    for match in _NUMBERED.finditer(normalize_space(text)):
        word, number = match.group(1).lower(), match.group(2)
        if word not in STOPWORDS:
            pairs.append(f"{word} {_ROMAN.get(number, number)}")
    return pairs


def is_named_term(term: str) -> bool:
    """A term that names something (drug, gene, trial id) rather than a common word."""
    return bool(_DIGIT.search(term)) or "-" in term or looks_like_drug(term)


def strip_leading_connective(sentence: str) -> str:
    """Drop a dangling "Further," / "Thus," opener and re-capitalise what remains."""
    stripped = _LEADING_CONNECTIVE.sub("", sentence, count=1)
    if stripped and stripped != sentence and stripped[0].islower():
        stripped = stripped[0].upper() + stripped[1:]
    return stripped


def clean_sentence(text: str) -> str:
    """Whitespace-normalised, connective-free sentence for the answer text."""
    return strip_leading_connective(normalize_space(text))


def add_marker(sentence: str, marker: int) -> str:
    """Place ``[n]`` before the sentence's final punctuation: "... IGF2 [1]."."""
    body = sentence.rstrip()
    if body and body[-1] in ".!?":
        return f"{body[:-1]} [{marker}]{body[-1]}"
    return f"{body} [{marker}]."


def continues_discussion(sentence: str) -> bool:
    """True when the sentence refers back to a work discussed earlier (and is not the review's own
    conclusion)."""
    flat = normalize_space(sentence)
    return bool(_CONTINUATION.search(flat)) and not _OWN_CONCLUSION.match(flat)


def is_own_remark(sentence: str) -> bool:
    """True for the review's own conclusion or evaluation ("Thus, ...", "Unfortunately, ...")."""
    return bool(_OWN_CONCLUSION.match(normalize_space(sentence)))


def enumerates(sentence: str) -> bool:
    """True for a sentence that is one point of a list ("First, ...", "Second, ...")."""
    return bool(_ENUMERATION.match(normalize_space(sentence)))


def announces(sentence: str) -> bool:
    """True when the sentence announces points that the following sentences make."""
    return bool(_ANNOUNCES.search(normalize_space(sentence)))


def needs_context(sentence: str) -> bool:
    """True when the sentence opens with a reference that only the previous sentence resolves."""
    return bool(_NEEDS_CONTEXT.match(strip_leading_connective(normalize_space(sentence))))


def author_mentions(text: str) -> list[tuple[str, int | None]]:
    """(surname, year or None) for narrative citations such as "Gradishar and coworkers (2016)"."""
    return [(m.group(1), int(m.group(2)) if m.group(2) else None) for m in _AUTHOR_MENTION.finditer(text)]


def resolve_author_mention(surname: str, year: int | None, known_keys: Iterable[str]) -> str | None:
    """The one known key by ``surname`` (and ``year`` when given); None when absent or ambiguous.

    Only keys the corpus stage found are ever returned, so attribution cannot invent a work.
    """
    candidates = [
        key
        for key in known_keys
        if key.split()[0].rstrip(",") == surname and (year is None or key.endswith(str(year)))
    ]
    return candidates[0] if len(candidates) == 1 else None


# Article front matter and back matter that is not a finding: links, identifiers, author lists,
# affiliations, licences, correspondence, dates of receipt.
_FRONT_MATTER = re.compile(
    r"https?://|\bwww\.|\bdoi\s*:|\b10\.\d{4,9}/|\bSHA\s*:|\b[0-9a-f]{32,}\b|^\s*(?:authors?|date|license|"
    r"licence|keywords?|correspondence|received|accepted|published|citation|copyright|edited by|"
    r"reviewed by|abbreviations|funding|competing interests|author contributions)\s*:|©|\bcopyright\b|"
    r"\bcc[- ]by\b|creative commons|@[\w-]+\.\w|\borcid\b|\bE-?mail\b|"
    r"\b(?:department|university|institute|school) of\b.*\b(?:university|hospital|institute|china|usa)\b",
    re.IGNORECASE,
)
_NAME_LIST = re.compile(r"^(?:[A-Z][\w'-]+,? (?:[A-Z]\.? ?){1,3}[;,] ?){3,}")


def looks_like_front_matter(sentence: str) -> bool:
    """True for a header or footer line of an article (link, DOI, author list, licence, affiliation,
    correspondence) rather than a statement: never an answer."""
    flat = normalize_space(sentence)
    return bool(_FRONT_MATTER.search(flat) or _NAME_LIST.match(flat))
