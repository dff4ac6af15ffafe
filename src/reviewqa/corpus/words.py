"""Words that PDF extraction broke: run together without spaces ("AbsoluteQuantificationofProteins") or
split by stray spaces ("t o degr adation", "ha v e").

Both repairs are decided by the words the document itself uses (spelled whole, on lines that extracted
well) and by an English word list with frequencies (``wordfreq``, when installed): a run-together token is
split only where every piece is a known word, and pieces are joined only when one of them is no word and
the joined form is one. Lines that extracted well are left alone.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable

TOKEN_RE = re.compile(r"\S+")
ALPHA_RUN_RE = re.compile(r"[^\W\d_]+")
# A line averaging this many characters per space has lost its spaces.
STARVED_CHARS_PER_SPACE = 11.0
MIN_STARVED_TOKEN = 12
MIN_KNOWN_ZIPF = 3.0  # a piece counts as an English word from this frequency (per billion words: 1,000)
MIN_JOINED_ZIPF = 2.0
SHORT_WORDS = frozenset(
    {"a", "i", "an", "as", "at", "be", "by", "do", "he", "if", "in", "is", "it", "me", "my", "no", "of", "on",
     "or", "so", "to", "up", "us", "we"}
)  # fmt: skip
PUNCT_SPACE_RE = re.compile(r"(?<=[a-z]{2}[.,;:])(?=[A-Za-z]{2})|(?<=[a-z]\))(?=[a-z])|(?<=[a-z])(?=\([a-z])")


def english_zipf() -> Callable[[str], float]:
    """Zipf frequency of an English word (0 when unknown); always 0 without ``wordfreq``."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # optional: the document's own vocabulary still decides
        return lambda word: 0.0
    return functools.lru_cache(maxsize=65536)(lambda word: zipf_frequency(word, "en"))


class WordRepair:
    """Splits and joins tokens using the document's vocabulary and English word frequencies."""

    def __init__(self, lines: Iterable[str], zipf: Callable[[str], float] | None = None) -> None:
        self.zipf = zipf or english_zipf()
        self.counts: Counter[str] = Counter()
        for line in lines:
            if not is_starved(line):
                self.counts.update(word.casefold() for word in ALPHA_RUN_RE.findall(line))

    def known(self, word: str) -> bool:
        lowered = word.casefold()
        if len(lowered) <= 2:
            return lowered in SHORT_WORDS
        return self.counts[lowered] >= 2 or self.zipf(lowered) >= MIN_KNOWN_ZIPF

    def cost(self, word: str) -> float | None:
        """How unlikely ``word`` is as a piece (lower is better); None when it is no word."""
        if not self.known(word):
            return None
        frequency = max(self.zipf(word.casefold()), 1.0 + math.log10(1 + self.counts[word.casefold()]))
        return 10.0 - frequency

    def repair_line(self, line: str) -> str:
        if is_starved(line):
            line = PUNCT_SPACE_RE.sub(" ", line)
            line = TOKEN_RE.sub(lambda m: self._split_token(m.group(0)), line)
        return self._join_fragments(line)

    def _split_token(self, token: str) -> str:
        if len(token) < MIN_STARVED_TOKEN:
            return token
        return ALPHA_RUN_RE.sub(lambda m: self._split_run(m.group(0)), token)

    def _split_run(self, run: str) -> str:
        if len(run) < MIN_STARVED_TOKEN or self.known(run):
            return run
        best: list[tuple[float, int] | None] = [None] * (len(run) + 1)
        best[0] = (0.0, 0)
        for end in range(1, len(run) + 1):
            for start in range(max(0, end - 24), end):
                if best[start] is None:
                    continue
                piece_cost = self.cost(run[start:end])
                if piece_cost is None:
                    continue
                total = best[start][0] + piece_cost  # type: ignore[index]
                if best[end] is None or total < best[end][0]:  # type: ignore[index]
                    best[end] = (total, start)
        if best[-1] is None:
            return run
        pieces = []
        end = len(run)
        while end > 0:
            start = best[end][1]  # type: ignore[index]
            pieces.append(run[start:end])
            end = start
        return " ".join(reversed(pieces))

    def _join_fragments(self, line: str) -> str:
        """ "t o degr adation" -> "to degradation": join runs of up to four tokens when one of them is no
        word and the joined form is one."""
        tokens = line.split(" ")
        out: list[str] = []
        i = 0
        while i < len(tokens):
            joined = None
            for width in (4, 3, 2):
                group = tokens[i : i + width]
                if len(group) < width:
                    continue
                tail = group[-1].rstrip(".,;:)")  # "Moreo v er," -> "Moreover,"
                words = [*group[:-1], tail]
                if not all(t.isalpha() for t in words) or all(self.known(t) for t in words):
                    continue
                word = "".join(words)
                if self.counts[word.casefold()] >= 1 or self.zipf(word.casefold()) >= MIN_JOINED_ZIPF:
                    joined = word + group[-1][len(tail) :]
                    i += width
                    break
            if joined is None:
                out.append(tokens[i])
                i += 1
            else:
                out.append(joined)
        return " ".join(out)


def is_starved(line: str) -> bool:
    """A line that lost its spaces: long tokens on average."""
    text = line.strip()
    return len(text) >= 2 * MIN_STARVED_TOKEN and len(text) / (text.count(" ") + 1) >= STARVED_CHARS_PER_SPACE
