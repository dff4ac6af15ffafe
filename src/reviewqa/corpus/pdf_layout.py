"""The layout of PDF text as pypdf extracts it: lines with their position, font size and weight.

pypdf's ``extract_text(visitor_text=...)`` reports each piece of text with its text matrix and font; pieces
are joined into lines here (a line ends where pypdf puts a newline), each line keeping the position and the
largest font size of its pieces and whether its font is bold. Positions are in PDF points from the
bottom-left corner of the page.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from reviewqa.corpus.noise import REFERENCES_HEADING_RE, line_shape, running_shapes

BOLD_FONT_RE = re.compile(r"bold|black|heavy|semibold|demi|[-,+]b(?:d|x)?$|\.b$", re.IGNORECASE)


@dataclass
class LayoutLine:
    text: str
    x: float = 0.0
    y: float = 0.0
    size: float = 0.0  # the largest font size on the line, in points
    bold: bool = False  # most of its characters are set in a bold font


@dataclass
class LayoutPage:
    number: int  # 1-based
    width: float
    height: float
    lines: list[LayoutLine] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class _Piece:
    text: str
    x: float
    y: float
    size: float
    bold: bool


def page_layout(page: object, number: int) -> LayoutPage:
    """The lines of one pypdf page with their layout."""
    pieces: list[_Piece] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, font_size: float) -> None:
        if not text:
            return
        scale_y = (tm[3] if tm[3] else tm[0]) * (cm[3] if cm[3] else 1.0)
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        name = str(font.get("/BaseFont", "")) if isinstance(font, dict) else ""
        pieces.append(_Piece(text, x, y, abs(scale_y * font_size), bool(BOLD_FONT_RE.search(name))))

    page.extract_text(visitor_text=visit)  # type: ignore[attr-defined]
    box = page.mediabox  # type: ignore[attr-defined]
    layout = LayoutPage(number, float(box.width), float(box.height))
    layout.lines = _lines(pieces)
    return layout


def _lines(pieces: list[_Piece]) -> list[LayoutLine]:
    lines: list[LayoutLine] = []
    current: list[_Piece] = []
    text = ""

    def finish() -> None:
        nonlocal current, text
        visible = [piece for piece in current if piece.text.strip()]
        if visible or text:
            sizes = [piece.size for piece in visible] or [0.0]
            bold_chars = sum(len(p.text.strip()) for p in visible if p.bold)
            all_chars = sum(len(p.text.strip()) for p in visible)
            first = visible[0] if visible else None
            lines.append(
                LayoutLine(
                    text,
                    x=first.x if first else 0.0,
                    y=first.y if first else 0.0,
                    size=round(max(sizes), 1),
                    bold=all_chars > 0 and bold_chars * 2 > all_chars,
                )
            )
        current, text = [], ""

    for piece in pieces:
        parts = piece.text.split("\n")
        for k, part in enumerate(parts):
            if k:
                finish()
            if part:
                current.append(_Piece(part, piece.x, piece.y, piece.size, piece.bold))
                text += part
    finish()
    return lines


def body_font_size(pages: list[LayoutPage]) -> float:
    """The font size most characters are set in."""
    counts: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            counts[line.size] += len(line.text.strip())
    return counts.most_common(1)[0][0] if counts else 0.0


def median_line_width(pages: list[LayoutPage]) -> float:
    widths = [len(line.text) for page in pages for line in page.lines if line.text.strip()]
    return statistics.median(widths) if widths else 0.0


# ---------------------------------------------------------------- reading a publisher PDF's layout

LINE_NUMBER_RE = re.compile(r"^(?P<text>.*?)\s*(?<![\d.,])(?P<number>\d{1,4})\s*$")
LEADING_NUMBER_RE = re.compile(r"^\s*(?P<number>\d{1,4})\s+(?P<text>\S.*)$")
MIN_NUMBERED_SHARE = 0.6  # of a page's lines carrying a line number, for the page to count as numbered
DOT_LEADER_RE = re.compile(r"(?:\.\s*){4,}\d+\s*$|(?:\s\.){3,}")
CAPTION_START_RE = re.compile(
    r"^(?:supplementary |extended data )?(?:figure|fig\.?|table|scheme|box)\s*S?\d+[A-Za-z]?"
    r"\s*(?:[.:|]|\s[A-Z(])",
    re.IGNORECASE,
)
STAMP_RE = re.compile(
    r"^downloaded from\b|\bby guest on\b|^vol\.?:?\.?\(1234567890\)|^1234567890", re.IGNORECASE
)
FRONT_LINE_RE = re.compile(
    r"^(?:citation|academic editors?|received|revised|accepted|published(?: online)?|publisher[’']s note"
    r"|copyright|licensee|correspondence|corresponding authors?|e-?mail|tel\.?|keywords?|orcid|edited by"
    r"|reviewed by|handling editor|advance access)\b|©|creative\s*commons|open access article"
    r"|distributed under the terms|creativecommons\.org|permits unrestricted|original work is properly cited",
    re.IGNORECASE,
)
SMALL_SHARE = 0.85  # lines in a font this much smaller than the body are tables, footnotes, sidebars
HEADING_SHARE = 1.12  # and this much larger (or bold, in a regular body) are headings
MAX_HEADING_WORDS = 16
MAX_HEADING_LINES = 3  # a longer run of lines in a heading's style is text set larger (an abstract)
MIN_TITLE_WORDS = 3
PROSE_WORDS = 6


@dataclass
class HintedLine:
    """A line of a PDF page as the cleaner gets it: text, and what the layout says it is."""

    text: str
    hint: str = ""  # "heading" (larger or bold), "caption" (a figure/table caption), "" running text
    level: int = 0  # for headings: 1 for the largest heading size of the document, 2 for the next, ...


def strip_line_numbers(pages: list[LayoutPage]) -> int:
    """Remove the line numbers of preprints ("... motif on the MAP kinase 45"): a number ending (or
    opening) most lines of a page, rising from line to line. Returns how many were removed."""
    removed = 0
    for page in pages:
        for pattern in (LINE_NUMBER_RE, LEADING_NUMBER_RE):
            matches = [pattern.match(line.text.strip()) for line in page.lines]
            numbers = [int(m.group("number")) if m else None for m in matches]
            filled = [line for line in page.lines if line.text.strip()]
            found = [n for n in numbers if n is not None]
            rising = sum(1 for a, b in itertools.pairwise(found) if 0 < b - a <= 3)
            if not filled or len(found) < MIN_NUMBERED_SHARE * len(filled) or rising < 0.8 * (len(found) - 1):
                continue
            for line, match in zip(page.lines, matches, strict=True):
                if match:
                    line.text = match.group("text")
                    removed += 1
            break
    return removed


def find_title(page: LayoutPage, body: float) -> tuple[str, int, int] | None:
    """(title, first line, end line) on a first page: the longest run of lines in the largest font (and one
    weight) that holds at least three words; a journal's logo in a larger font is passed over. A title is set
    larger than the body text (``body``, the document's body type size)."""
    sizes = {line.size for line in page.lines if line.text.strip() and line.size >= HEADING_SHARE * body}
    for size in sorted(sizes, reverse=True):
        runs = [run for run in _style_runs(page.lines) if abs(page.lines[run[0]].size - size) < 0.6]
        if not runs:
            continue
        first, end = max(runs, key=lambda run: sum(len(page.lines[k].text) for k in range(*run)))
        title = " ".join(page.lines[k].text.strip() for k in range(first, end))
        if len(title.split()) >= MIN_TITLE_WORDS:
            return title, first, end
    return None


def _style_runs(lines: list[LayoutLine]) -> list[tuple[int, int]]:
    """(first, end) of runs of consecutive non-blank lines in one font size and weight."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    style: tuple[float, bool] | None = None
    for i, line in enumerate([*lines, LayoutLine("")]):
        if not line.text.strip():
            continue
        current = (line.size, line.bold)
        if (
            start is not None
            and style is not None
            and (abs(current[0] - style[0]) >= 0.6 or current[1] != style[1])
        ):
            runs.append((start, i))
            start = None
        if start is None:
            start, style = i, current
    if start is not None:
        runs.append((start, len(lines)))
    return runs


def hinted_pages(pages: list[LayoutPage]) -> list[list[HintedLine]]:
    """The lines the cleaner should read, with hints: page-1 front matter (everything up to the title,
    the title, then author, affiliation and licence lines up to the first heading or prose), small-font
    lines (tables, footnotes, sidebars) other than captions and reference lists, download stamps and
    table-of-contents lines dropped; headings and captions marked."""
    body = body_font_size(pages)
    # a running head in large type ("OPEN ACCESS Report") is no heading: it must not end a reference list;
    # a line that opens with a running head's text is the article's own citation line ("Experimental &
    # Molecular Medicine (2023) 55:2116–2126; https://doi...", after the abstract): dropped
    shapes = {
        s for s in running_shapes([[line.text for line in page.lines] for page in pages]) if len(s) >= 12
    }
    running = {
        id(line) for page in pages for line in page.lines if line_shape(line.text).startswith(tuple(shapes))
    }
    headings = {
        id(line) for page in pages for line in _heading_lines(page.lines, body) if id(line) not in running
    }
    heading_sizes = sorted(
        {line.size for page in pages for line in page.lines if id(line) in headings}, reverse=True
    )
    result = []
    in_references = False
    for page in pages:
        lines: list[HintedLine] = []
        skip_until = _front_matter_end(page, body) if page.number == 1 else 0
        caption_size: float | None = None
        for i, line in enumerate(page.lines):
            text = line.text.strip()
            if (
                i < skip_until
                or not text
                or id(line) in running
                or STAMP_RE.search(text)
                or DOT_LEADER_RE.search(text)
            ):
                lines.append(HintedLine(""))
                continue
            if _is_references_heading(text):
                in_references = True
            elif id(line) in headings:
                in_references = False
            if CAPTION_START_RE.match(text):
                caption_size = line.size
                lines.append(HintedLine(text, "caption"))
                continue
            if caption_size is not None and abs(line.size - caption_size) < 0.3 and not line.bold:
                lines.append(HintedLine(text, "caption"))
                continue
            caption_size = None
            small = body and line.size and line.size < SMALL_SHARE * body
            if (small and not in_references) or (page.number == 1 and FRONT_LINE_RE.search(text)):
                lines.append(HintedLine(""))
                continue
            if id(line) in headings:
                lines.append(HintedLine(text, "heading", heading_sizes.index(line.size) + 1))
            else:
                lines.append(HintedLine(text))
        result.append(lines)
    return result


def _is_references_heading(text: str) -> bool:
    return bool(REFERENCES_HEADING_RE.match(text))


def _heading_lines(lines: list[LayoutLine], body: float) -> list[LayoutLine]:
    """Lines in a heading's style (larger, or bold) in runs of at most ``MAX_HEADING_LINES``."""
    found = []
    for first, end in _style_runs(lines):
        run = [line for line in lines[first:end] if line.text.strip()]
        if len(run) <= MAX_HEADING_LINES and all(_looks_like_heading_line(line, body) for line in run):
            found.extend(run)
    return found


def _looks_like_heading_line(line: LayoutLine, body: float) -> bool:
    text = line.text.strip()
    if not text or not body or len(text.split()) > MAX_HEADING_WORDS or text[-1] in ".,;":
        return False
    if not (text[0].isupper() or text[0].isdigit()) or not re.search(r"[^\W\d_]{3}", text):
        return False  # figure panel labels ("a Wild-type", "B", "XX") are no headings
    return line.size >= HEADING_SHARE * body or (line.bold and line.size >= body - 0.6)


def _front_matter_end(page: LayoutPage, body: float) -> int:
    """Index of the first line after the first page's front matter: the title, what precedes it, and the
    author/affiliation lines after it, up to the first abstract heading or run of prose."""
    title = find_title(page, body)
    if title is None:
        return 0
    _, _, end = title
    lines = page.lines
    for i in range(end, len(lines)):
        text = lines[i].text.strip()
        if not text:
            continue
        if _is_abstract_label(text) or (lines[i].bold and len(text.split()) <= 3 and i > end + 1):
            return i
        if _is_prose(text) and i + 1 < len(lines) and _is_prose(lines[i + 1].text.strip()):
            return i
    return end


def _is_abstract_label(text: str) -> bool:
    return bool(re.match(r"^(?:abstract|summary|simple summary|background)\b", text, re.IGNORECASE))


def _is_prose(text: str) -> bool:
    words = [word for word in text.split() if word[:1].isalpha()]
    if len(words) < PROSE_WORDS or FRONT_LINE_RE.search(text):
        return False
    return sum(word[0].islower() for word in words) * 2 >= len(words)
