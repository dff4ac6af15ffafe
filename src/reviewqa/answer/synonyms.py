"""Equivalent wordings of common biomedical terms, so that a question and a sentence using different ones
still share terms.

The index mines only the abbreviations a document defines itself ("insulin-like growth factor receptor
(IGF1R)"). Readers also use abbreviations the documents never define (a review may write "pathologic
complete response" where a reader asks about "pCR"), lay words for clinical terms ("high blood sugar" for
hyperglycemia) and British spellings. This short, curated list covers such wordings for terms common in
clinical oncology and metabolism; it is general vocabulary, not tied to any question. Each group's first
entry is its canonical form: a sentence matching any entry also gets the canonical form's terms, and a
question's matches are replaced by it, so either side may use any wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

# Entries with two or more capitals are abbreviations and match case-sensitively ("OS" is not "os");
# the others match in any case. Plurals ("side effects", "moAbs") match too.
TERM_GROUPS: tuple[tuple[str, ...], ...] = (
    (
        "hyperglycemia",
        "hyperglycaemia",
        "high blood sugar",
        "high blood glucose",
        "elevated blood sugar",
        "elevated blood glucose",
        "raised blood sugar",
        "raised blood glucose",
    ),
    ("glucose", "blood sugar", "sugar"),
    ("hypoglycemia", "hypoglycaemia", "low blood sugar", "low blood glucose"),
    (
        "hyperinsulinemia",
        "hyperinsulinaemia",
        "high insulin levels",
        "high blood insulin",
        "elevated insulin levels",
        "raised insulin levels",
    ),
    (
        "hemoglobin A1C",
        "HbA1c",
        "Hb A1c",
        "haemoglobin A1c",
        "glycated hemoglobin",
        "glycated haemoglobin",
        "glycosylated hemoglobin",
        "A1C",
    ),
    ("pathologic complete response", "pCR", "pathological complete response"),
    ("overall survival", "OS"),
    ("progression-free survival", "PFS", "progression free survival"),
    ("disease-free survival", "DFS", "disease free survival"),
    ("objective response rate", "ORR"),
    ("maximum tolerated dose", "MTD"),
    # Lay wordings only: "adverse event" is a graded term of art (CTCAE), not a synonym of toxicity.
    ("toxicity", "side effect", "side-effect", "adverse effect"),
    ("triple-negative breast cancer", "TNBC", "triple negative breast cancer"),
    ("monoclonal antibody", "mAb", "moAb"),
    ("tumor", "tumour"),
    ("estrogen", "oestrogen"),
    ("hemoglobin", "haemoglobin"),
)


def _is_abbreviation(entry: str) -> bool:
    return " " not in entry and sum(c.isupper() for c in entry) >= 2


# Letters and digits may not touch a wording; a hyphen joining it to a word may ("low-HbA1c"), and is
# taken with it so that the replaced question reads "low hemoglobin A1C".
_WORD = re.compile(r"[a-z0-9]+")
_BEFORE = r"(?:(?<=[A-Za-z0-9])-|(?<![A-Za-z0-9-]))"
_AFTER = r"(?:-(?=[A-Za-z0-9])|(?![A-Za-z0-9-]))"


def _entry_pattern(entry: str) -> str:
    body = r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", entry)) + r"(?:e?s)?"
    if not _is_abbreviation(entry):
        body = f"(?i:{body})"
    return f"{_BEFORE}{body}{_AFTER}"


@dataclass(frozen=True)
class TermGroup:
    canonical: str
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, entries: tuple[str, ...]) -> TermGroup:
        ordered = sorted(entries, key=len, reverse=True)  # the longest wording wins
        return cls(entries[0], re.compile("|".join(_entry_pattern(e) for e in ordered)))


@dataclass(frozen=True)
class Synonyms:
    groups: tuple[TermGroup, ...]
    entries: tuple[tuple[str, ...], ...] = ()  # each group's wordings

    @classmethod
    def of(cls, groups: tuple[tuple[str, ...], ...] = TERM_GROUPS) -> Synonyms:
        return cls(tuple(TermGroup.of(group) for group in groups), groups)

    @cached_property
    def _groups_by_first_word(self) -> dict[str, list[TermGroup]]:
        """Each group under the first word of each of its wordings (lower case): a sentence is searched
        only for the groups whose first words it has, and most sentences have none."""
        table: dict[str, list[TermGroup]] = {}
        for group, entries in zip(self.groups, self.entries, strict=True):
            for entry in entries:
                first = _WORD.findall(entry.lower())[0]
                if group not in table.setdefault(first, []):
                    table[first].append(group)
        return table

    def _groups_in(self, text: str) -> list[TermGroup]:
        found: dict[int, TermGroup] = {}
        for word in set(_WORD.findall(text.lower())):
            for form in (word, word[:-1], word[:-2]):  # plurals: "tumours", "moabs", "sugares"
                for group in self._groups_by_first_word.get(form, ()):
                    found.setdefault(self.groups.index(group), group)
        return [found[i] for i in sorted(found)]

    def with_canonical_forms(self, sentence: str) -> str:
        """``sentence`` plus the canonical form of every group it mentions in another wording."""
        additions = [
            g.canonical
            for g in self._groups_in(sentence)
            if (match := g.pattern.search(sentence)) and not _same_wording(match.group(0), g.canonical)
        ]
        return f"{sentence} ({'; '.join(additions)})" if additions else sentence

    def canonicalize(self, question: str) -> str:
        """``question`` with each group's wordings replaced by the canonical form (for term matching)."""
        for group in self._groups_in(question):
            question = group.pattern.sub(f" {group.canonical} ", question)
        return re.sub(r"\s+", " ", question).strip()


def _same_wording(found: str, canonical: str) -> bool:
    def flat(text: str) -> str:
        return re.sub(r"[\s-]+", " ", text.strip("-")).lower().rstrip("s")

    return flat(found) == flat(canonical)
