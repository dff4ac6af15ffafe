"""What kind of answer a question wants: a verdict (yes/no), a list, a reason, a definition, or a fact.

Read from the question's wording alone (its opening words and a few cue words), so it carries over to any
corpus; the ranker learns how much each kind's answer cues matter.
"""

from __future__ import annotations

import re
from typing import Literal

QuestionType = Literal["yes_no", "list", "why", "definition", "factoid"]
QUESTION_TYPES: tuple[QuestionType, ...] = ("yes_no", "list", "why", "definition", "factoid")

_YES_NO = re.compile(
    r"^\s*(?:is|are|was|were|does|do|did|can|could|has|have|had|will|would|should|may|might|must)\b", re.I
)
# "Is it X or Y?" asks which one, not yes or no.
_CHOICE = re.compile(r"\w \bor\b(?:\s+[^\s?]+){1,4}\s*\?*\s*$", re.I)
_WHY = re.compile(
    r"^\s*why\b|\bhow (?:does|do|did|can|could|might|would|is|are)\b(?! \w+ (?:much|many|long|often))|"
    r"\bmechanism|\breasons?\b|\bexplain|\bwhat (?:causes|caused|explains|drives|led to|leads to)\b",
    re.I,
)
_LIST = re.compile(
    r"\b(?:which|what) (?:\w+ ){0,3}?(?:are|were|have|include)\b(?=.*\b\w+s\b)|\blist\b|\bname (?:the|all)\b|"
    r"\bwhat (?:\w+ ){0,2}(?:types|kinds|classes|examples|drugs|trials|viruses|genes|biomarkers|factors|"
    r"symptoms|methods|strategies|agents|antibodies|inhibitors|components|features)\b|"
    r"\bwhich (?:\w+ ){0,2}(?:drugs|trials|viruses|genes|biomarkers|factors|symptoms|methods|agents|"
    r"antibodies|inhibitors|countries|species|proteins|studies)\b",
    re.I,
)
_DEFINITION = re.compile(
    r"^\s*(?:what (?:is|are|was|were) (?:a |an |the )?[\w-]+(?: [\w-]+){0,3}\s*\?\s*$|define\b|"
    r"what does [\w-]+ (?:mean|stand for)\b|what is meant by\b)",
    re.I,
)


def question_type(question: str) -> QuestionType:
    """The kind of answer ``question`` asks for (see the module's docstring)."""
    text = " ".join(question.split())
    if _YES_NO.match(text) and not _CHOICE.search(text):
        return "yes_no"
    if _WHY.search(text):
        return "why"
    if _DEFINITION.match(text):
        return "definition"
    if _LIST.search(text):
        return "list"
    return "factoid"


# Cues in a candidate sentence that fit a kind of question.
_REASON = re.compile(
    r"\b(?:because|due to|owing to|since|as a result|result(?:s|ed)? (?:in|from)|lead(?:s|ing)? to|led to|"
    r"caus(?:e|es|ed|ing)|thereby|therefore|thus|mechanism|reason|explain|attribut|driven by|respons(?:ible)|"
    r"so that|in order to|through|via|by (?:\w+ing)\b)",
    re.I,
)
_DEFINES = re.compile(
    r"\b(?:is|are) (?:a|an|the|defined as|known as|called|referred to as)\b|\brefers? to\b|\bdefined as\b|"
    r"\bknown as\b|\bconsists? of\b|\btermed\b|\bi\.e\.|\(\s*[A-Z][A-Za-z0-9-]{1,10}\s*\)",
)
_NEGATION = re.compile(
    r"\b(?:no|not|none|neither|nor|never|without|failed|fail|fails|lack(?:s|ed|ing)?|absence|unable|"
    r"cannot|can't|didn't|did not|does not|do not|is not|are not|was not|were not|no longer|"
    r"insufficient|unlikely|ineffective)\b",
    re.I,
)
_ENUMERATION = re.compile(r"(?:,[^,]+){2,}|\b(?:including|such as|namely|e\.g\.)\b|;|:\s", re.I)


def gives_reason(sentence: str) -> bool:
    return bool(_REASON.search(sentence))


def defines(sentence: str) -> bool:
    return bool(_DEFINES.search(sentence))


def enumerates_items(sentence: str) -> bool:
    return bool(_ENUMERATION.search(sentence))


def negated(text: str) -> int:
    """How many negation cues ``text`` holds."""
    return len(_NEGATION.findall(text))


def verdict(question: str, evidence: str) -> Literal["Yes", "No"]:
    """The verdict a yes/no question gets from its evidence sentence: "No" when the evidence negates
    (more negation cues than the question itself has), else "Yes"."""
    return "No" if negated(evidence) > negated(question) else "Yes"


_CITATION = re.compile(r"\([^()]*\b(?:19|20)\d{2}[a-z]?\s*\)|\b[A-Z][\w'-]+ et\s+al\.?")
_TOKEN = re.compile(r"[A-Za-z][\w/-]*")
_COMMON_CAPITALISED = frozenset(
    {"The", "This", "These", "That", "Those", "In", "A", "An", "It", "Its", "Their", "There", "However",
     "Further", "Furthermore", "Moreover", "Thus", "While", "When", "Although", "Both", "Also", "First",
     "Second", "Third", "Finally", "Similar", "Similarly", "Compared", "To", "For", "Of", "As", "By", "On",
     "With", "Because", "Since", "After", "Before", "Despite", "Overall", "Table", "Figure", "Fig"}
)  # fmt: skip


def named_members(sentence: str) -> set[str]:
    """Names a sentence mentions that could be members of a list: drug names (INN stems), names with digits
    or inner capitals (H1N1, IGF1R, I-SPY), and capitalised words inside the sentence (places, trials);
    citations ("(Yee et al. 2017)") are not names."""
    from reviewqa.answer.figures import looks_like_drug

    text = _CITATION.sub(" ", sentence)
    names = set()
    for position, match in enumerate(_TOKEN.finditer(text)):
        word = match.group(0).strip("-/")
        if len(word) < 3 or word in _COMMON_CAPITALISED:
            continue
        inner = any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word)
        proper = word[0].isupper() and position > 0
        if looks_like_drug(word) or inner or proper:
            names.add(word.lower())
    return names


_NOT_PLURAL = frozenset({"does", "this", "these", "those", "was", "has", "is", "its", "his", "thus"})
_ASKED_PLURAL = re.compile(r"\b(?:which|what)\s+(?:[\w/-]+\s+){0,3}?([a-z]+(?:ies|s))\b", re.I)


def asked_plural(question: str) -> str | None:
    """The stem of the plural noun a list question asks for ("Which IGF1R antibodies..." -> "antibod",
    "Which trials..." -> "trial"), or None."""
    match = _ASKED_PLURAL.search(question)
    if not match:
        return None
    word = match.group(1).lower()
    if len(word) < 4 or word in _NOT_PLURAL:
        return None
    return word[:-3] if word.endswith("ies") else word[:-1]
