"""Words hyphenated across line breaks: re-join typesetting splits, keep real compounds.

The decision uses a vocabulary built from the document itself: a compound written with its hyphen elsewhere
("endocrine-resistant") keeps it; a word written whole elsewhere ("treatment") is re-joined; two whole words
("progression" + "free") keep the hyphen; a fragment that is no word ("cus" + "tomer") is re-joined.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

WORD_RE = re.compile(r"[^\W_](?:[\w’']*[^\W_])?")
COMPOUND_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
# Prefixes that form hyphenated compounds with a word ("micro-metastatic", "anti-tumor").
COMPOUND_PREFIXES = frozenset(
    {"anti", "co", "counter", "cross", "extra", "inter", "intra", "macro", "micro", "multi", "neo", "non",
     "over", "post", "pre", "pro", "pseudo", "self", "semi", "sub", "super", "trans", "ultra", "under"}
)  # fmt: skip

# Second parts that make compounds with a word before them ("progression-free", "IGF1R-driven"); a split
# ordinary word rarely ends in one after a head of four or more letters.
COMPOUND_SUFFIXES = frozenset(
    {"free", "like", "based", "related", "dependent", "independent", "specific", "driven", "resistant",
     "sensitive", "positive", "negative", "induced", "mediated", "targeted", "associated", "derived",
     "treated", "naive", "expressing", "binding", "activated", "enhanced", "deficient", "selective",
     "controlled", "matched", "adjusted", "term", "fold", "wide", "rich", "containing", "bound", "linked"}
)  # fmt: skip
MIN_COMPOUND_HEAD = 4


@dataclass
class Vocabulary:
    """Lower-cased words and hyphenated compounds seen in a document (outside line-break splits)."""

    words: set[str] = field(default_factory=set)
    compounds: set[str] = field(default_factory=set)

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Vocabulary:
        vocabulary = cls()
        previous_split = False
        for line in lines:
            text = line.strip()
            if not text:
                continue
            if previous_split:  # the first token of this line is the tail of a split word
                text = text.split(" ", 1)[1] if " " in text else ""
            split = text.endswith("-") and not text.endswith(" -")
            if split:  # the last token is the head of a split word
                text = text.rsplit(" ", 1)[0] if " " in text else ""
            vocabulary.add_text(text)
            previous_split = split
        return vocabulary

    def add_text(self, text: str) -> None:
        lowered = text.lower()
        self.words.update(WORD_RE.findall(lowered))
        for compound in COMPOUND_RE.findall(lowered):
            self.compounds.add(compound)
            self.words.update(compound.split("-"))


def keeps_hyphen(head: str, tail: str, vocabulary: Vocabulary) -> bool:
    """Whether ``head-`` at a line end followed by ``tail`` is a real hyphen (True) or a split word."""
    last = head.rsplit("-", 1)[-1]  # "anti-IGF1R-" + "specific": decide on "IGF1R" + "specific"
    first = tail.split("-", 1)[0]
    if not last or not first:
        return True
    if last[-1].isdigit() or first[0].isdigit() or first[0].isupper() or not first[0].isalpha():
        return True  # "BMS-754807", "anti-HER2", "INSR-A": hyphens of names and codes
    if f"{last}-{first}".lower() in vocabulary.compounds:
        return True
    if f"{last}{first}".lower() in vocabulary.words:
        return False
    if first.lower() in COMPOUND_SUFFIXES and len(last) >= MIN_COMPOUND_HEAD:
        return True
    last_is_word = last.lower() in vocabulary.words or last.lower() in COMPOUND_PREFIXES
    return last_is_word and len(last) > 1 and first.lower() in vocabulary.words
