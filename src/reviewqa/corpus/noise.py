"""Lines that are no running text: running heads left in plain text, and the reference list.

Plain text converted from PDFs keeps running heads as lines of their own ("Frontiers in Microbiology |
www.frontiersin.org", "Page 28 of 35"); they are dropped when they stand alone between blank lines and
either look like one (a page number, a "|"-separated line with a web address).

The reference list (from a "References" / "Literature cited" / "Bibliography" line to the next section that
follows references, such as "Acknowledgements" or "Supplementary material", or to the end) is taken out of
the text: its entries go to the bibliography (``reviewqa.corpus.references``), never to sentences.

A document without such a heading (Wiley prints its list after the "Keywords" and "Received" matter, with no
heading) has its list found by its numbering: a run of at least ``MIN_UNHEADED_ENTRIES`` lines opening with
the numbers 1, 2, 3, ... ("[1] ...", "1. ..."), each entry at most ``MAX_ENTRY_LINES`` lines, most entries
holding a year and an author's name with initials (or a DOI), the run ending the document, a page or a
section. Numbered lists of the body (protocol steps, findings) lack the years and names or go on as text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from reviewqa.corpus.references import ends_entry, entry_number

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
RUNNING_LINE_DEPTH = 3  # how many lines at each end of a page may be a running head or foot
DIGITS_RE = re.compile(r"\d+")
# What reference entries hold: a year, a leading number, a page range, a DOI, "et al."
ENTRY_SIGN_RE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|^\s*\[?\d{1,3}[.)\]]?\s+\S|\b\d+\s*[-–]\s*\d+\b|\b10\.\d{4,}/|\bet al\b"
)
LIST_PROBE_LINES = 10  # a "References" line must be followed by lines that look like entries
# A list without a heading: its entries are numbered from 1, short, and mostly hold a year and a name.
MIN_UNHEADED_ENTRIES = 5
MAX_ENTRY_LINES = 6
MIN_ENTRY_SHARE = 0.8
ENTRY_YEAR_RE = re.compile(r"(?<!\d)(?:1[89]|20)\d\d[a-z]?(?!\d)")  # also glued: "Proteomics2011,"
ENTRY_NAME_RE = re.compile(
    r"\b[A-Z]\.\s?(?:-?\s?[A-Z]\.\s?)*(?:[a-z]{1,3}\s?)?[A-Z][^\W\d_]"  # "E. Ahrné", "H.Taymaz", "J. van Os"
    r"|\b[A-Z][^\W\d_]+(?:[ -][A-Z][^\W\d_]+)?,?\s[A-Z]{1,3}[,.]"  # "Frost WH.", "Smith AB,"
    r"|\b[A-Z][^\W\d_]+,\s[A-Z]\."  # "Smith, J."
    r"|\bet al\b"
)
ENTRY_DOI_RE = re.compile(r"\b10\.\d{4,}/")


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


def line_shape(text: str) -> str:
    """A line numbers and spacing aside ("OPEN ACCESSReport" on one page is "OPEN ACCESS Report" on the
    next, "944Diabetologia (2024)" in one extraction "944 Diabetologia (2024)" in another)."""
    return DIGITS_RE.sub("#", "".join(text.casefold().split()))


def _edge_positions(texts: Sequence[str]) -> list[int]:
    filled = [i for i, text in enumerate(texts) if text.strip()]
    return sorted(set(filled[:RUNNING_LINE_DEPTH] + filled[-RUNNING_LINE_DEPTH:]))


def running_shapes(pages: Sequence[Sequence[str]]) -> set[str]:
    """Shapes of the running heads and feet: lines among the top or bottom ``RUNNING_LINE_DEPTH`` of a page
    that recur on at least half of the pages (two at least)."""
    counts = Counter(s for texts in pages for s in {line_shape(texts[i]) for i in _edge_positions(texts)})
    needed = max(2, math.ceil(len(pages) / 2))
    return {s for s, count in counts.items() if count >= needed}


def running_lines(pages: Sequence[Sequence[str]]) -> list[list[int]]:
    """Per page, the positions of its running heads and feet (``running_shapes``)."""
    shapes = running_shapes(pages)
    return [[i for i in _edge_positions(texts) if line_shape(texts[i]) in shapes] for texts in pages]


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
    lists = [items for items in lists if any(line.text.strip() for line in items)]
    if not lists and (span := _unheaded_list(kept, is_heading)):
        start, end = span
        return kept[:start] + kept[end:], [kept[start:end]]
    return kept, lists


def _unheaded_list(lines: Sequence[L], is_heading: Callable[[L], bool] | None) -> tuple[int, int] | None:
    """(start, end) of the first run of numbered lines that reads as a reference list (module docstring)."""
    for first, line in enumerate(lines):
        if entry_number(line.text) != 1:
            continue
        entries, end, closed = _numbered_run(lines, first, is_heading)
        if closed and len(entries) >= MIN_UNHEADED_ENTRIES and _read_as_references(entries):
            return first, end
    return None


def _numbered_run(
    lines: Sequence[L], first: int, is_heading: Callable[[L], bool] | None
) -> tuple[list[list[str]], int, bool]:
    """The entries of the run numbered from ``lines[first]``, the index after its last line, and whether
    the run is closed: by the document's end, a section, or a page's end after its last entry."""
    entries = [[lines[first].text.strip()]]
    last = first  # the run's last line
    pending: list[int] = []  # lines after the last entry start, not yet known to belong to the entry
    for i in range(first + 1, len(lines)):
        text = lines[i].text.strip()
        if not text:
            continue
        if (
            REFERENCES_HEADING_RE.match(text)
            or AFTER_REFERENCES_RE.match(text)
            or (is_heading and is_heading(lines[i]))
        ):
            break
        if entry_number(text) == len(entries) + 1:
            entries[-1] += [lines[j].text.strip() for j in pending]
            entries.append([text])
            last, pending = i, []
            continue
        pending.append(i)
        if len(pending) > MAX_ENTRY_LINES:  # text goes on: the last entry takes its lines until it ends
            taken: list[int] = []
            while len(taken) < MAX_ENTRY_LINES and not ends_entry(lines[taken[-1] if taken else last].text):
                taken.append(pending[len(taken)])
            entries[-1] += [lines[j].text.strip() for j in taken]
            last = taken[-1] if taken else last
            after = getattr(lines[pending[len(taken)]], "page", None)
            return entries, last + 1, after is not None and after != getattr(lines[last], "page", None)
    entries[-1] += [lines[j].text.strip() for j in pending]
    return entries, (pending[-1] if pending else last) + 1, True


def _read_as_references(entries: list[list[str]]) -> bool:
    texts = [" ".join(entry) for entry in entries]
    alike = sum(
        1 for t in texts if ENTRY_YEAR_RE.search(t) and (ENTRY_NAME_RE.search(t) or ENTRY_DOI_RE.search(t))
    )
    return alike >= MIN_ENTRY_SHARE * len(texts)


def _entries_follow(lines: Sequence[LineLike], start: int) -> bool:
    """Whether a third of the next lines show signs of reference entries (entries wrap over several lines)."""
    following = [line.text for line in lines[start:] if line.text.strip()][:LIST_PROBE_LINES]
    return bool(following) and sum(bool(ENTRY_SIGN_RE.search(t)) for t in following) * 3 >= len(following)
