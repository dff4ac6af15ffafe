"""Questions whose answer is a figure (a dose, a percentage, a year, a count) and whether a sentence
holds such a figure. "What dose of ganitumab...?" is not answered by a sentence giving metformin's dose,
nor by one that only names ganitumab."""

from __future__ import annotations

import re
from typing import Literal

FigureKind = Literal["identifier", "dose", "percent", "ratio", "year", "count", "measure"]

_YES_NO = re.compile(r"^\s*(?:did|does|do|is|are|was|were|can|could|has|have|had|will|would|should)\b", re.I)
_KINDS: tuple[tuple[FigureKind, re.Pattern[str]], ...] = (
    (
        "identifier",
        re.compile(
            r"\b(?:trial )?(?:registration|registry) (?:number|id|identifier)\b|\btrial (?:identifier|id)\b|"
            r"\bNCT (?:number|id|identifier)\b",
            re.I,
        ),
    ),
    ("dose", re.compile(r"\b(?:dose|doses|dosage|dosed)\b", re.I)),
    ("ratio", re.compile(r"\b(?:hazard|odds) ratio\b|\bHR\b", re.I)),
    ("percent", re.compile(r"\b(?:percent(?:age)?|proportion|what fraction|rate)\b", re.I)),
    ("year", re.compile(r"\b(?:what|which) year\b|\bwhen (?:was|were|did)\b", re.I)),
    ("count", re.compile(r"\bhow many\b|\bnumber of\b", re.I)),
    (
        "measure",
        re.compile(
            r"\bhow (?:long|often|old)\b|\bmedian\b|\bhalf-life\b|\bsize\b|\bduration\b|\bthreshold\b|"
            r"\bamount\b",
            re.I,
        ),
    ),
)
# Citations carry years that are not answers: "(Jones et al. 2015, Puzanov et al. 2015)", "(2016)".
_CITATION = re.compile(r"\([^()]*\b(?:19|20)\d{2}[a-z]?\s*\)")
# A figure standing on its own ("850", "5.7", "70-gene"), not a digit inside a name (IGF1R, CDK4/6).
_FIGURE = re.compile(r"(?<![\w/.-])\d+(?:[.,]\d+)?(?![\w/]*[A-Za-z]{2})")
# A whole number counting things: not a decimal, a percentage or a measure ("2.5 cm", "12 weeks").
_COUNT = re.compile(
    r"(?<![\w/.<>-])\d+(?![\d\w/]*[A-Za-z]{2}|\d|[.,]\d|\s*(?:cm|mm|mg|kg|weeks?|days?|months?|years?)\b)"
)
_NUMBER_WORD = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen)\b", re.I)
_DOSE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?\s*(?:mg|g|µg|mcg|mg/kg|mg/m2|units?|IU)\b")
_PERCENT = re.compile(r"\d\s*%|\bpercent\b", re.I)
_YEAR = re.compile(r"\b(?:1[89]|20)\d{2}\b")
# Clinical trial registry numbers: ClinicalTrials.gov, ISRCTN, ANZCTR, ChiCTR, DRKS, EudraCT.
_TRIAL_ID = re.compile(
    r"\b(?:NCT\d{8}|ISRCTN\d{8}|ACTRN\d{14}|ChiCTR[\w-]{6,}|DRKS\d{8}|\d{4}-\d{6}-\d{2})\b"
)
_WORD = re.compile(r"[A-Za-z][\w-]*")
DRUG_SUFFIXES = ("mab", "nib", "mib", "lib", "ciclib", "strant", "zole", "formin", "tide", "stat", "mus")


def looks_like_drug(word: str) -> bool:
    """An INN-style drug name (antibodies end in -mab, kinase inhibitors in -nib, ...)."""
    return len(word) > 6 and word.lower().endswith(DRUG_SUFFIXES)


# Drug classes whose members carry INN names (antibodies -mab, kinase inhibitors -nib, analogs -tide...).
_CLASS_NOUN = r"(?:analog|analogue|antibody|antibodie|inhibitor)s?"
_WHICH_CLASS = re.compile(rf"\b(?:which|what)\s+((?:[\w/-]+\s+){{0,2}}?){_CLASS_NOUN}\b", re.I)
_NAME_OF_CLASS = re.compile(rf"\bname of\b[^?.]*?\b{_CLASS_NOUN}\b", re.I)
# Words that make "what ... inhibitor" something other than a request for a name ("what should the ...").
_NOT_MODIFIERS = frozenset(
    {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "should", "could", "would"}
    | {"can", "will", "may", "might", "the", "a", "an", "of", "to"}
)
# A class named specifically enough to answer "which inhibitors?": "CDK4/6 inhibitor", "3-kinase inhibitors".
_NAMED_CLASS = re.compile(rf"(?<![\w/-])([\w/-]*(?:\d|[A-Z][\w/-]*[A-Z])[\w/-]*)\s+{_CLASS_NOUN}\b")


def asks_for_member(question: str) -> bool:
    """True for a question asking which drug of a class ("Which GnRH analog...?", "the name of
    the antibody"): its answer names a drug or a specific subclass, not the class."""
    if _NAME_OF_CLASS.search(question):
        return True
    match = _WHICH_CLASS.search(question)
    return bool(match) and not any(w.lower() in _NOT_MODIFIERS for w in match.group(1).split())


def names_member(sentence: str, question_words: frozenset[str]) -> bool:
    """True when ``sentence`` names a drug, or a specific class ("CDK4/6 inhibitor"), that the question
    does not already name (lower-cased ``question_words``)."""
    text = without_citations(sentence)
    if any(looks_like_drug(w) and w.lower() not in question_words for w in _WORD.findall(text)):
        return True
    return any(m.group(1).lower() not in question_words for m in _NAMED_CLASS.finditer(text))


def figure_kind(question: str) -> FigureKind | None:
    """The kind of figure the question asks for; None for other questions (and yes/no questions)."""
    found = asked_figure(question)
    return found[0] if found else None


def asked_figure(question: str) -> tuple[FigureKind, str] | None:
    """The kind of figure the question asks for and the words that ask for it ("registration number")."""
    if _YES_NO.match(question):
        return None
    for kind, pattern in _KINDS:
        match = pattern.search(question)
        if match:
            return kind, match.group(0)
    return None


def drugs_named(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text) if looks_like_drug(w))


def without_citations(text: str) -> str:
    return _CITATION.sub(" ", text)


def holds_figure(sentence: str, kind: FigureKind, drugs: frozenset[str] = frozenset()) -> bool:
    """True when ``sentence`` states a figure of ``kind`` (for a dose: of one of ``drugs``, if any)."""
    text = without_citations(sentence)
    if kind == "identifier":
        return bool(_TRIAL_ID.search(text))
    if kind == "dose":
        return any(_dose_belongs(text, match.start(), drugs) for match in _DOSE.finditer(text))
    if kind == "percent":
        return bool(_PERCENT.search(text))
    if kind == "ratio":
        return "ratio" in text.lower() and bool(_FIGURE.search(text))
    if kind == "year":
        return bool(_YEAR.search(text))
    if kind == "count":  # "How many patients...?": a whole number, not a percentage or a measure
        counts = [m for m in _COUNT.finditer(text) if not text[m.end() :].lstrip().startswith("%")]
        return bool(counts or _NUMBER_WORD.search(text))
    return bool(_FIGURE.search(text) or _NUMBER_WORD.search(text))


_OVERALL = re.compile(r"\b(?:overall|whole|entire|all patients|all women)\b", re.I)
_SUBGROUP = re.compile(r"\b(?:subgroup|subpopulation|subset)s?\b", re.I)


def asks_overall(question: str) -> bool:
    """True when the question asks about a whole population ("in the overall population")."""
    return bool(_OVERALL.search(question))


def about_subgroup(sentence: str) -> bool:
    """True when the sentence reports on a subgroup, whose figure does not answer for everyone."""
    return bool(_SUBGROUP.search(without_citations(sentence)))


def _dose_belongs(text: str, position: int, drugs: frozenset[str]) -> bool:
    """A dose belongs to the nearest drug named before it ("given metformin (850 mg" is metformin's)."""
    if not drugs:
        return True
    named_before = [w.lower() for w in _WORD.findall(text[:position]) if looks_like_drug(w)]
    return bool(named_before) and named_before[-1] in drugs
