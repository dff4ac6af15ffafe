"""The BM25 tokenizer: English words are lower-cased and stemmed; biomedical tokens stay whole.

Gene and drug names, trial ids and figures carry the meaning of a biomedical query, so a generic
word tokenizer that splits ``BMS-754807`` into ``bms`` and ``754807`` or ``5.7%`` into ``5`` and ``7``
loses exactly the terms that should match. Tokens here are maximal runs of letters and digits joined by
``-``, ``/`` or a decimal point, with an optional trailing ``%``; they are lower-cased (BM25 matching is
case-insensitive) but never split, so ``IGF1R``, ``BMS-754807``, ``INSR-A``, ``NCT03099174``, ``CDK4/6``
and ``5.7%`` are single tokens. A hyphenated compound of words (``insulin-like``, ``HER2-positive``) is
also emitted as its parts so it matches the same words written apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from bm25s.stopwords import STOPWORDS_EN

# A run of letters/digits, joined to further runs by "-", "/" or "." (the "." only between digits,
# so sentence full stops are not glued to words), then an optional "%".
TOKEN_PATTERN = re.compile(
    r"[^\W_]+(?:(?:[-/][^\W_]+)|(?:(?<=\d)[.,](?=\d)\d+))*%?",
)
WORD_PATTERN = re.compile(r"[^\W\d_]+")  # letters only: the tokens that get stemmed
STOPWORDS = frozenset(STOPWORDS_EN)


@dataclass(frozen=True)
class BiomedicalTokenizer:
    """Tokenizer shared by indexing and querying (they must agree for BM25 to match)."""

    stem: bool = True
    stopwords: frozenset[str] = field(default=STOPWORDS)

    @cached_property
    def _stemmer(self) -> object | None:
        if not self.stem:
            return None
        import Stemmer

        return Stemmer.Stemmer("english")

    def __call__(self, text: str) -> list[str]:
        tokens: list[str] = []
        for match in TOKEN_PATTERN.finditer(text):
            tokens.extend(self._expand(match.group(0).lower()))
        return [self._normalise(t) for t in tokens if t not in self.stopwords]

    def _expand(self, token: str) -> list[str]:
        """The token itself, plus its parts when it is a hyphenated compound of words."""
        if "-" not in token:
            return [token]
        parts = token.split("-")
        variants = [token]
        if all(len(p) > 1 and not p.isdigit() and "/" not in p for p in parts):
            variants.extend(parts)
        if any(c.isdigit() for c in token) and len(token) <= 8:
            variants.append(token.replace("-", ""))  # IGF-1R and IGF1R are the same receptor
        return variants

    def _normalise(self, token: str) -> str:
        if self._stemmer is None or not WORD_PATTERN.fullmatch(token):
            return token
        return self._stemmer.stemWord(token)  # type: ignore[attr-defined]


def tokenize(text: str) -> list[str]:
    """Tokenize with the default settings (what the index uses)."""
    return DEFAULT_TOKENIZER(text)


DEFAULT_TOKENIZER = BiomedicalTokenizer()
