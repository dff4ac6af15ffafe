"""Lines that are no running text: running heads left in plain text, and the reference list.

Plain text converted from PDFs keeps running heads as lines of their own ("Frontiers in Microbiology |
www.frontiersin.org", "Page 28 of 35"); they are dropped when they stand alone between blank lines and
either look like one (a page number, a "|"-separated line with a web address).

The reference list (from a "References" / "Literature cited" / "Bibliography" line to the next section that
follows references, such as "Acknowledgements" or "Supplementary material", or to the end) is taken out of
the text: its entries go to the bibliography (``reviewqa.corpus.references``), never to sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

NUMBERING = r"(?:\d+(?:\.\d+)*\.?\s*|[IVX]+\.\s*)?"
REFERENCES_HEADING_RE = re.compile(
    rf"^{NUMBERING}(?:references?(?: and notes| cited)?|literature cited|bibliography|works cited"
    r"|cited literature)\s*:?$",
    re.IGNORECASE,
)
# Sections that follow a reference list in articles: the list ends where one of them starts.
AFTER_REFERENCES_RE = re.compile(
    rf"^{NUMBERING}(?:acknowledge?ments?|appendi(?:x|ces)\b.*|supplementary\b.*|supporting information"
    r"|figure legends?|figures?(?: and tables)?|tables?|star ?★? ?methods|methods|key resources table"
    r"|author contributions?|funding\b.*|conflicts? of interest|competing interests?|declarations?"
    r"|abbreviations|footnotes|notes|data availability.*|ethics.*|extended data.*)\s*:?$",
    re.IGNORECASE,
)
# In plain text a bare number on its own line may be data; "Page 28 of 35" is a page number.
PAGE_LINE_RE = re.compile(r"^page\s+\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?$", re.IGNORECASE)
WEB_RE = re.compile(r"https?://|www\.|doi\.org|\bdoi:", re.IGNORECASE)
MAX_RUNNING_LINE_CHARS = 120
# What reference entries hold: a year, a leading number, a page range, a DOI, "et al."
ENTRY_SIGN_RE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|^\s*\[?\d{1,3}[.)\]]?\s+\S|\b\d+\s*[-–]\s*\d+\b|\b10\.\d{4,}/|\bet al\b"
)
LIST_PROBE_LINES = 10  # a "References" line must be followed by lines that look like entries


class LineLike(Protocol):
    text: str


L = TypeVar("L", bound=LineLike)


def drop_standalone_running_lines(lines: Sequence[L], blank: Callable[[L], L]) -> list[L]:
    """Lines standing alone between blank lines that are page numbers or "|"-separated heads with a web
    address, replaced by ``blank(line)``. Lines that merely recur are kept: in plain text they are as often
    table cells, or the headings of a structured abstract and of the body."""
    alone = [
        i
        for i, line in enumerate(lines)
        if line.text
        and len(line.text) <= MAX_RUNNING_LINE_CHARS
        and (i == 0 or not lines[i - 1].text)
        and (i + 1 == len(lines) or not lines[i + 1].text)
    ]
    result = list(lines)
    for i in alone:
        text = lines[i].text
        if PAGE_LINE_RE.match(text) or ("|" in text and WEB_RE.search(text)):
            result[i] = blank(lines[i])
    return result


def split_off_references(
    lines: Sequence[L], is_heading: Callable[[L], bool] | None = None
) -> tuple[list[L], list[list[L]]]:
    """(lines without the reference lists, the lines of each reference list). A list runs from its heading
    line to a line naming a section that follows references (or one ``is_heading`` marks), or the end."""
    kept: list[L] = []
    lists: list[list[L]] = []
    inside = False
    for i, line in enumerate(lines):
        text = line.text.strip()
        if REFERENCES_HEADING_RE.match(text) and _entries_follow(lines, i + 1):
            inside = True
            lists.append([])
            continue
        if inside and text and (AFTER_REFERENCES_RE.match(text) or (is_heading and is_heading(line))):
            inside = False
        if inside:
            lists[-1].append(line)
        else:
            kept.append(line)
    return kept, [items for items in lists if any(line.text.strip() for line in items)]


def _entries_follow(lines: Sequence[LineLike], start: int) -> bool:
    """Whether a third of the next lines show signs of reference entries (entries wrap over several lines)."""
    following = [line.text for line in lines[start:] if line.text.strip()][:LIST_PROBE_LINES]
    return bool(following) and sum(bool(ENTRY_SIGN_RE.search(t)) for t in following) * 3 >= len(following)
