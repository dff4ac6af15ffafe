"""Find section headings among text blocks and give each the section path it opens.

A heading is a short capitalised block without sentence-final punctuation ('?' allowed), standing between
a finished sentence and a capitalised start; it may wrap onto a second line or block. An outline from
documents.toml, when given, names headings explicitly and fixes their hierarchy; without one, a heading
directly followed by another heading is taken as the parent of the second.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reviewqa.corpus.sentences import ends_sentence

logger = logging.getLogger(__name__)

MAX_HEADING_CHARS = 120
MAX_HEADING_WORDS = 18
MAX_HEADING_LINES = 3
MAX_BLOCKS_PER_HEADING = 3
NUMBERING_RE = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.)\s+")
CITATION_YEAR_RE = re.compile(r"\(\D*\b1[5-9]\d\d|\(\D*\b20\d\d")


class BlockLike(Protocol):
    @property
    def lines(self) -> Sequence[object]: ...

    @property
    def first(self) -> str: ...

    @property
    def last(self) -> str: ...

    @property
    def continues(self) -> bool: ...


@dataclass
class HeadingCandidate:
    first_block: int
    end_block: int  # exclusive
    text: str
    label: bool = False  # a section label from outside the text (front matter): top level, no parent
    level: int = 0  # from a PDF's type: 1 for the largest headings, 2 the next, ...; 0 when unknown


def normalise_heading(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(":")


def find_headings(
    block_texts: Sequence[str],
    blocks: Sequence[BlockLike],
    outline: Sequence[tuple[str, ...]] | None,
    *,
    labels: set[int] | None = None,
    levels: dict[int, int] | None = None,
    text_rules: bool = True,
    captions: set[int] | None = None,
) -> list[HeadingCandidate]:
    """Headings among ``blocks`` (whose joined texts are ``block_texts``), in order; the blocks in
    ``labels`` are headings wherever they stand, those in ``captions`` (marked by the layout) never."""
    outline_names = {normalise_heading(path[-1]) for path in outline or ()}
    labels = labels or set()
    levels = levels or {}
    headings: list[HeadingCandidate] = []
    i = 0
    while i < len(blocks):
        if i in labels:
            headings.append(HeadingCandidate(i, i + 1, block_texts[i], label=True))
            i += 1
            continue
        if i in levels and looks_like_heading(block_texts[i]):  # the layout says so: a larger or bold type
            headings.append(HeadingCandidate(i, i + 1, block_texts[i], level=levels[i]))
            i += 1
            continue
        if not text_rules or i in (captions or ()):
            i += 1
            continue
        candidate = _heading_at(i, block_texts, blocks, outline_names, headings, labels)
        if candidate is None:
            i += 1
            continue
        headings.append(candidate)
        i = candidate.end_block
    return headings


def _heading_at(
    i: int,
    texts: Sequence[str],
    blocks: Sequence[BlockLike],
    outline_names: set[str],
    found: list[HeadingCandidate],
    labels: set[int],
) -> HeadingCandidate | None:
    last = min(i + MAX_BLOCKS_PER_HEADING, len(blocks))
    spans = [(i, end) for end in range(i + 1, last + 1) if not labels.intersection(range(i + 1, end))]
    for start, end in spans:  # an outline entry is a heading wherever it stands
        text = " ".join(texts[start:end])
        if normalise_heading(text) in outline_names:
            return HeadingCandidate(start, end, text)
    after_heading = bool(found) and found[-1].end_block == i
    previous = blocks[i - 1] if i else None
    if (
        previous is not None
        and not after_heading
        and (previous.continues or not ends_sentence(previous.last))
    ):
        return None
    for start, end in spans:
        if end not in labels and _is_heading_span(texts, blocks, start, end):
            return HeadingCandidate(start, end, " ".join(texts[start:end]))
    return None


def _is_heading_span(texts: Sequence[str], blocks: Sequence[BlockLike], start: int, end: int) -> bool:
    if end >= len(blocks):  # the last block of a document is text, not a heading of nothing
        return False
    if any(not blocks[k].first[:1].islower() for k in range(start + 1, end)):
        return False  # a heading wrapped onto a further block continues in lower case
    if sum(len(blocks[k].lines) for k in range(start, end)) > MAX_HEADING_LINES:
        return False
    text = " ".join(texts[start:end])
    if not looks_like_heading(text):
        return False
    following = blocks[end].first
    return not following[:1].islower()


def looks_like_heading(text: str) -> bool:
    """Short, capitalised, a word of three letters at least, no sentence-final punctuation except '?', no
    citation."""
    body = NUMBERING_RE.sub("", text.strip())
    if not body or len(body) > MAX_HEADING_CHARS or len(body.split()) > MAX_HEADING_WORDS:
        return False
    first = next((char for char in body if char.isalpha()), "")
    if not first or not first.isupper() or not re.search(r"[^\W\d_]{3}", body):
        return False  # figure panel labels ("A", "B", "XX") are no headings
    if body[-1] in ".,;:!-–—\"'“‘" or CITATION_YEAR_RE.search(body):
        return False
    return body.count("(") == body.count(")")


def assign_sections(
    headings: Sequence[HeadingCandidate], outline: Sequence[tuple[str, ...]] | None
) -> list[tuple[str, ...]]:
    """The section path each heading opens."""
    if outline:
        return _paths_from_outline(headings, outline)
    if any(heading.level for heading in headings):
        return _paths_from_levels(headings)
    paths: list[tuple[str, ...]] = []
    for k, heading in enumerate(headings):
        previous = headings[k - 1] if k else None
        parent_adjacent = (
            previous is not None and previous.end_block == heading.first_block and not previous.label
        )
        if heading.label:
            paths.append((heading.text,))
        else:
            paths.append((*paths[-1], heading.text) if parent_adjacent else (heading.text,))
    return paths


def _paths_from_levels(headings: Sequence[HeadingCandidate]) -> list[tuple[str, ...]]:
    """Paths from the headings' type levels: a heading is inside the last one of a larger type. Headings the
    text rules found (no level: the body's type, as Cell Press sets "INTRODUCTION") are siblings of one
    another, inside the last typed heading."""
    untyped = max(heading.level for heading in headings) + 1
    stack: list[tuple[int, str]] = []
    paths = []
    for heading in headings:
        level = heading.level or untyped
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading.text))
        paths.append(tuple(text for _, text in stack))
    return paths


def _paths_from_outline(
    headings: Sequence[HeadingCandidate], outline: Sequence[tuple[str, ...]]
) -> list[tuple[str, ...]]:
    by_name = {normalise_heading(path[-1]): path for path in outline}
    paths: list[tuple[str, ...]] = []
    for heading in headings:
        path = by_name.pop(normalise_heading(heading.text), None)
        if heading.label and path is None:
            paths.append((heading.text,))
            continue
        if path is None:
            logger.warning("heading %r is not in the document's outline; placing it after the previous one",
                           heading.text)  # fmt: skip
            parent = paths[-1][:-1] if paths else ()
            path = (*parent, heading.text)
        else:
            path = (*path[:-1], heading.text)
        paths.append(path)
    for missing in by_name.values():
        logger.warning("outline heading %r was not found in the document", missing[-1])
    return paths


# A run-in heading opens a paragraph and ends in a period: "2.6. Plaque Assay. MDCK cells were ...",
# "Statistical analysis. Differences between ...".
RUN_IN_RE = re.compile(
    r"^(?P<heading>(?P<number>\d+(?:\.\d+)*\.?\s+)?(?P<title>[A-Z][^.!?;:()\[\]=<>%]{1,80}?))\.\s+(?=[A-Z(])"
)
MAX_RUN_IN_WORDS = 8
MAX_UNNUMBERED_RUN_IN_WORDS = 6
MIN_WORDS_AFTER_RUN_IN = 6
MIN_RUN_INS = 2  # unnumbered ones count only where the document has several: then they are its style
# Words that make a short phrase a clause ("All patients recovered.", "This was done.") not a title.
CLAUSE_WORDS = frozenset(
    {"is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does", "did", "can",
     "could", "may", "might", "must", "shall", "should", "will", "would", "we", "i", "you", "he", "she",
     "it", "they", "this", "these", "those", "that", "there", "here", "our", "their", "its", "not", "no",
     "none", "all", "see", "thus", "however", "figure", "fig", "table"}
)  # fmt: skip


def run_in_heading(paragraph: str) -> tuple[str, bool] | None:
    """(heading text without its period, numbered) of a run-in heading opening ``paragraph``, or None."""
    match = RUN_IN_RE.match(paragraph)
    if match is None:
        return None
    title = match.group("title").strip()
    words = title.split()
    numbered = match.group("number") is not None
    limit = MAX_RUN_IN_WORDS if numbered else MAX_UNNUMBERED_RUN_IN_WORDS
    if len(words) > limit or any(word.casefold().strip(",") in CLAUSE_WORDS for word in words):
        return None
    if not numbered and words[-1].endswith("ed"):  # "All patients recovered": a verb ends a clause
        return None
    if len(paragraph[match.end() :].split()) < MIN_WORDS_AFTER_RUN_IN:
        return None
    return match.group("heading").strip(), numbered
