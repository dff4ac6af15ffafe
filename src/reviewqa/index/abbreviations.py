"""Abbreviations mined from the corpus, used to expand queries both ways (INSR <-> insulin receptor).

Two sources, both from the corpus text itself:

* explicit definitions, ``long form (SF)``: the long form is found by walking back from the
  parenthesis and matching the short form's letters right to left, the first letter at a word start
  (the idea of Schwartz & Hearst 2003; digits in the short form may be absent from the long form, as in
  "insulin-like growth factor receptor (IGF1R)");
* undefined acronyms used in the text (``TKI``) whose letters are the initials of a phrase the corpus
  uses at least twice ("tyrosine kinase inhibitor").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from reviewqa.index.tokenize import STOPWORDS

PARENTHESIS = re.compile(r"\(([^()\s]{2,12})\)")
# A candidate short form: starts with a letter, mostly capitals, e.g. IGF1R, INSR, GH, IGFBPs, HER2.
SHORT_FORM = re.compile(r"[A-Za-z][A-Za-z0-9\-/α-ω]{1,11}")
# A whole token only: "BMS" in the drug code "BMS-754807" is no acronym to expand.
ACRONYM_IN_TEXT = re.compile(r"(?<![\w\-/])([A-Z]{3,6})(s?)(?![\w\-/])")
MAX_PRECEDING_CHARS = 160
MIN_IMPLICIT_OCCURRENCES = 2


def is_short_form(candidate: str) -> bool:
    if not SHORT_FORM.fullmatch(candidate):
        return False
    letters = [c for c in candidate if c.isalpha()]
    digits = sum(c.isdigit() for c in candidate)
    capitals = sum(c.isupper() for c in letters)
    # Trial ids (NCT03099174) and mostly-numeric codes are identifiers, not abbreviations.
    return capitals >= 2 and capitals * 2 >= len(letters) and digits <= len(letters)


def _singular(short_form: str) -> str:
    return short_form[:-1] if short_form.endswith("s") and short_form[:-1].isupper() else short_form


def match_long_form(short_form: str, preceding: str) -> str | None:
    """The shortest tail of ``preceding`` whose letters spell ``short_form`` (right to left)."""
    preceding = " ".join(preceding.split())
    letters = [c.lower() for c in _singular(short_form) if c.isalnum()]
    position = len(preceding) - 1
    for index in range(len(letters) - 1, -1, -1):
        char = letters[index]
        is_first = index == 0
        found = _find_back(preceding, char, position, at_word_start=is_first)
        if found < 0:
            if char.isdigit():
                continue  # "IGF1R" is defined as "insulin-like growth factor receptor"
            return None
        position = found - 1
    start = position + 1
    long_form = preceding[start:].strip(" ,;:")
    words = long_form.split()
    max_words = min(len(letters) + 5, 2 * len(letters))
    if not words or len(words) > max_words or short_form.lower() in long_form.lower():
        return None
    return long_form


def _find_back(text: str, char: str, position: int, *, at_word_start: bool) -> int:
    while position >= 0:
        if text[position].lower() == char and (
            not at_word_start or position == 0 or not text[position - 1].isalnum()
        ):
            return position
        position -= 1
    return -1


def mine_defined(text: str) -> dict[str, set[str]]:
    """Short form -> long forms from ``long form (SF)`` definitions."""
    flat = _join_broken_hyphens(" ".join(text.split()))
    found: dict[str, set[str]] = defaultdict(set)
    for match in PARENTHESIS.finditer(flat):
        short_form = match.group(1)
        if not is_short_form(short_form):
            continue
        preceding = flat[max(0, match.start() - MAX_PRECEDING_CHARS) : match.start()]
        # Only the current clause can hold the definition.
        preceding = re.split(r"[.;:()\[\]]\s", preceding)[-1]
        long_form = match_long_form(short_form, preceding)
        if long_form:
            found[_singular(short_form)].add(long_form.lower())
    return found


def _join_broken_hyphens(text: str) -> str:
    # PDF line breaks leave "insulin- like"; the compound is "insulin-like".
    return re.sub(r"(?<=[a-z])- (?=[a-z])", "-", text)


def _phrases(words: list[str], length: int) -> Iterable[tuple[str, ...]]:
    for i in range(len(words) - length + 1):
        yield tuple(words[i : i + length])


def mine_implicit(text: str, known: Iterable[str]) -> dict[str, set[str]]:
    """Undefined acronyms -> the phrase of matching initials the corpus uses most (at least twice)."""
    known_set = set(known)
    acronyms = {m.group(1).lower() for m in ACRONYM_IN_TEXT.finditer(text)} - {k.lower() for k in known_set}
    if not acronyms:
        return {}
    lengths = {len(a) for a in acronyms}
    lowered = _join_broken_hyphens(" ".join(text.lower().split()))
    # Words as written (hyphenated compounds whole) and with compounds split: "insulin-like growth
    # factor" gives IGF in the first reading and ILGF in the second.
    readings = [re.findall(r"[a-z][a-z\-]*[a-z]", lowered), re.findall(r"[a-z]+", lowered)]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for words in readings:
        reading_counts: dict[str, Counter[str]] = defaultdict(Counter)
        for length in lengths:
            for phrase in _phrases(words, length):
                initials = "".join(w[0] for w in phrase)
                if initials in acronyms and not any(w in STOPWORDS for w in phrase):
                    reading_counts[initials][_singular_phrase(" ".join(phrase))] += 1
        for initials, phrases in reading_counts.items():
            counts[initials] |= phrases  # the larger count of the two readings, not their sum
    found: dict[str, set[str]] = {}
    for acronym in sorted(m.group(1) for m in ACRONYM_IN_TEXT.finditer(text)):
        ranked = [*counts.get(acronym.lower(), Counter()).most_common(2), ("", 0), ("", 0)]
        (best, count), (_, runner_up) = ranked[0], ranked[1]
        if acronym not in known_set and count >= MIN_IMPLICIT_OCCURRENCES and count > runner_up:
            found[acronym] = {best}
    return found


def _singular_phrase(phrase: str) -> str:
    return phrase[:-1] if phrase.endswith("s") and not phrase.endswith("ss") else phrase


def mine_abbreviations(texts: Iterable[str]) -> dict[str, list[str]]:
    """Short form -> sorted long forms, over all the given document texts taken as one."""
    text = "\n".join(texts)
    merged: dict[str, set[str]] = defaultdict(set)
    for short_form, long_forms in mine_defined(text).items():
        merged[short_form] |= long_forms
    for short_form, long_forms in mine_implicit(text, merged).items():
        merged[short_form] |= long_forms
    return {short: sorted(longs) for short, longs in sorted(merged.items())}


# A short form is expanded in queries when at least this share of the documents using it define it
# (all alike): "RNA" used in 100 articles and defined by one as "reduction neutralization assay" is not.
MIN_DEFINING_SHARE = 0.5


def mine_document_abbreviations(documents: Mapping[str, str]) -> dict[str, Any]:
    """Abbreviations scoped to the document that defines them, and the pairs a query may use.

    ``{"documents": {doc_id: {short form: [long forms]}}, "query": {short form: [long form]}}``: a
    document's own definitions apply to its own text only; a pair enters ``query`` when every document
    defining the short form gives it the same long form, no other short form has that long form, and at
    least ``MIN_DEFINING_SHARE`` of the documents using the short form define it.
    """
    per_document = {doc: mine_abbreviations([text]) for doc, text in documents.items()}
    long_forms: dict[str, set[str]] = defaultdict(set)  # normalised
    spellings: dict[str, set[str]] = defaultdict(set)  # as written
    defining: Counter[str] = Counter()
    for abbreviations in per_document.values():
        for short_form, longs in abbreviations.items():
            long_forms[short_form] |= {_normalise(_core(lf)) for lf in longs}
            spellings[short_form].update(longs)
            defining[short_form] += 1
    shorts_of_long: dict[str, set[str]] = defaultdict(set)
    for short_form, longs in long_forms.items():
        for long_form in longs:
            shorts_of_long[long_form].add(short_form)
    users = _documents_using(documents, set(long_forms))
    query: dict[str, list[str]] = {}
    for short_form, longs in sorted(long_forms.items()):
        if len(longs) != 1 or len(shorts_of_long[next(iter(longs))]) != 1:
            continue
        if defining[short_form] < MIN_DEFINING_SHARE * max(users[short_form], 1):
            continue
        query[short_form] = [min(spellings[short_form])]
    return {"documents": per_document, "query": query}


def _documents_using(documents: Mapping[str, str], short_forms: set[str]) -> Counter[str]:
    """How many documents use each short form as a whole token (plural "s" allowed)."""
    counts: Counter[str] = Counter()
    for text in documents.values():
        tokens = set(re.findall(r"[\w/]+", text))
        counts.update(sf for sf in short_forms if sf in tokens or f"{sf}s" in tokens)
    return counts


def _normalise(text: str) -> str:
    """Lower case, hyphens as spaces, single spaces, padded: phrases are then matched as substrings."""
    return " " + " ".join(re.sub(r"[^\w\s]|_", " ", text.lower().replace("-", " ")).split()) + " "


def _core(long_form: str) -> str:
    # A short suffix ("receptor-α", "receptor-2") may be left out: "estrogen receptor" is meant.
    return re.sub(r"-\w{1,2}$", "", long_form)


@dataclass(frozen=True)
class Mention:
    """A form of an abbreviation pair that a query uses, and the other forms it stands for."""

    present: str
    others: tuple[str, ...]


@dataclass(frozen=True)
class QueryExpander:
    """Finds the abbreviations and long forms a query mentions, and adds their other forms.

    Short forms are matched case-sensitively as whole tokens (ER is not "er"), long forms as
    whole-word phrases ignoring case and hyphens, with an optional plural "s".
    """

    abbreviations: dict[str, list[str]]

    @cached_property
    def _long_forms_by_first_word(self) -> dict[str, list[tuple[str, str, str]]]:
        """(pattern, long form, short form) of every long form, under its first word (plural-free too),
        so a text is checked only against the long forms that start with one of its words."""
        table: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for short_form, long_forms in self.abbreviations.items():
            for long_form in long_forms:
                pattern = _normalise(_core(long_form))
                words = pattern.split()
                if not words:
                    continue
                entry = (pattern, _core(long_form), short_form)
                for key in {words[0], _plural_free(words[0])}:
                    table[key].append(entry)
        return table

    def mentions(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        # Whole tokens, and their hyphen-separated parts ("ER-positive" mentions ER).
        tokens = set(re.findall(r"[\w\-/]+", text)) | set(re.findall(r"[\w/]+", text))
        for token in sorted(tokens):
            short_form = token if token in self.abbreviations else token[:-1]
            if short_form in self.abbreviations and (token == short_form or token.endswith("s")):
                found.append(Mention(short_form, tuple(self.abbreviations[short_form])))
        normalised = _normalise(text)
        plural_free = normalised.replace("s ", " ")
        candidates: dict[tuple[str, str, str], None] = {}
        for word in dict.fromkeys(normalised.split()):
            for key in (word, _plural_free(word)):
                candidates.update(dict.fromkeys(self._long_forms_by_first_word.get(key, ())))
        for pattern, long_form, short_form in sorted(candidates):
            if pattern in normalised or pattern.replace("s ", " ") in plural_free:
                found.append(Mention(long_form, (short_form,)))
        return found

    def __call__(self, text: str) -> str:
        normalised = _normalise(text)
        additions = {other for mention in self.mentions(text) for other in mention.others}
        unique = sorted(a for a in additions if _normalise(a) not in normalised)
        return f"{text} ({'; '.join(unique)})" if unique else text


def _plural_free(word: str) -> str:
    return word[:-1] if word.endswith("s") else word


def expand_query(text: str, abbreviations: dict[str, list[str]]) -> str:
    """The query plus the other form of every abbreviation or long form it mentions."""
    return QueryExpander(abbreviations)(text)
