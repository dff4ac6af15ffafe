"""Clean PDF-extracted text into headings and paragraphs, keeping track of pages.

The output text has one heading or paragraph per block, blocks separated by a blank line, lines re-joined,
words split across lines re-joined (see ``hyphenation``), runs of spaces (also NO-BREAK SPACE) collapsed.
Every offset the later stages store points into ``CleanedText.text``.
"""

from __future__ import annotations

import itertools
import re
import statistics
import unicodedata
from dataclasses import dataclass, field

from reviewqa.corpus.headings import (
    MIN_RUN_INS,
    HeadingCandidate,
    assign_sections,
    find_headings,
    run_in_heading,
)
from reviewqa.corpus.hyphenation import WORD_RE, Vocabulary, keeps_hyphen
from reviewqa.corpus.noise import drop_standalone_running_lines, running_lines, split_off_references
from reviewqa.corpus.pdf_layout import CAPTION_START_RE, HintedLine
from reviewqa.corpus.sentences import ends_sentence

BLOCK_SEPARATOR = "\n\n"
LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
SPACES_RE = re.compile(r"[^\S\n]+")  # any whitespace but newline, NO-BREAK SPACE included
SOFT_HYPHEN = "\u00ad"
PAGE_NUMBER_RE = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?$", re.IGNORECASE)
MIN_LAYOUT_HEADINGS = 3  # with fewer headings found from a PDF's type, headings are found from the text
OPEN_END_SHARE = 0.8
MIN_LINES_FOR_CONVENTION = 10
# In PDFs without blank lines, a line this much shorter than usual that ends a sentence ends a paragraph.
SHORT_LINE_RATIO = 0.7


@dataclass
class Line:
    text: str
    page: int | None
    open_end: bool = False  # the raw line ended in whitespace
    label: bool = False  # a section label given outside the text (front matter), a heading wherever it stands
    hint: str = ""  # from a PDF's layout: "heading" (larger or bold type), "caption" (figure/table caption)
    level: int = 0  # of a "heading" line: 1 for the largest heading type of the document, 2 the next, ...


@dataclass
class Block:
    """Consecutive non-blank lines; a heading or (part of) a paragraph."""

    lines: list[Line]
    continues: bool = False  # its paragraph goes on after a blank line (page or column break)

    @property
    def first(self) -> str:
        return self.lines[0].text

    @property
    def last(self) -> str:
        return self.lines[-1].text

    @property
    def label(self) -> bool:
        return self.lines[0].label

    @property
    def hint(self) -> str:
        return self.lines[0].hint


@dataclass
class Heading:
    text: str
    path: tuple[str, ...]  # the section path this heading opens, outermost first
    start: int
    end: int


@dataclass
class Paragraph:
    start: int
    end: int
    section: tuple[str, ...]
    index: int  # position among the document's paragraphs
    kind: str = "text"  # "caption": a figure or table caption, kept apart from the running text


@dataclass
class CleanedText:
    text: str
    headings: list[Heading] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    pages: list[tuple[int, int, int]] = field(default_factory=list)  # (page number, start, end)
    # The lines of each reference list, taken out of the text (``reviewqa.corpus.references`` parses them)
    reference_lists: list[list[str]] = field(default_factory=list)

    @property
    def sections(self) -> list[tuple[str, ...]]:
        """Distinct section paths the headings open, in reading order."""
        seen: dict[tuple[str, ...], None] = {}
        for heading in self.headings:
            seen.setdefault(heading.path, None)
        return list(seen)


def clean_text(raw: str, *, outline: list[tuple[str, ...]] | None = None) -> CleanedText:
    """Clean one plain-text document (no page numbers)."""
    return clean_pages([raw], paged=False, outline=outline)


def clean_parts(parts: list[tuple[str, str]], *, outline: list[tuple[str, ...]] | None = None) -> CleanedText:
    """Clean a plain-text document given as labelled parts (front matter's "Abstract", "Main text"): each
    label is a top-level heading, the headings found inside a part are sections of their own."""
    lines: list[Line] = []
    for name, text in parts:
        lines += [Line(_normalise_line(name), None, label=True), Line("", None)]
        lines += _read_lines([text], paged=False)
        lines.append(Line("", None))
    return _clean_lines(lines, paged=False, outline=outline)


def clean_pages(
    pages: list[str], *, paged: bool = True, outline: list[tuple[str, ...]] | None = None
) -> CleanedText:
    """Clean a document given as page texts; ``paged`` keeps page numbers (1-based) in the result."""
    return _clean_lines(_read_lines(pages, paged), paged=paged, outline=outline)


def clean_layout(
    pages: list[list[HintedLine]], *, outline: list[tuple[str, ...]] | None = None
) -> CleanedText:
    """Clean a PDF read with its layout (``reviewqa.corpus.pdf_layout.hinted_pages``): the lines' hints
    mark headings (with their level) and captions."""
    texts = [
        [_normalise_line(_normalise_characters(line.text).replace("\n", " ")) for line in page]
        for page in pages
    ]
    texts = _drop_running_lines([_drop_page_numbers(page_texts) for page_texts in texts])
    lines: list[Line] = []
    for number, (page, page_texts) in enumerate(zip(pages, texts, strict=True), start=1):
        if lines:
            lines.append(Line("", None))
        for hinted, text in zip(page, page_texts, strict=True):
            lines.append(Line(text, number, hint=hinted.hint if text else "", level=hinted.level))
    return _clean_lines(lines, paged=True, outline=outline)


def _clean_lines(lines: list[Line], *, paged: bool, outline: list[tuple[str, ...]] | None) -> CleanedText:
    if not paged:
        lines = drop_standalone_running_lines(lines, lambda line: Line("", line.page))
    lines, reference_lists = split_off_references(lines, is_heading=lambda line: line.hint == "heading")
    vocabulary = Vocabulary.from_lines(line.text for line in lines)
    blocks = _blocks(lines, split_short_lines=paged)
    if _open_ends_mark_continuation(lines):
        for block in blocks:
            block.continues = block.lines[-1].open_end
    texts = [_joined(block.lines, vocabulary)[0] for block in blocks]
    levels = {i: block.lines[0].level for i, block in enumerate(blocks) if block.hint == "heading"}
    candidates = find_headings(
        texts,
        blocks,
        outline,
        labels={i for i, block in enumerate(blocks) if block.label},
        levels=levels,
        text_rules=len(levels) < MIN_LAYOUT_HEADINGS,
        captions={i for i, block in enumerate(blocks) if block.hint == "caption"},
    )
    cleaned = _assemble(blocks, candidates, vocabulary, outline)
    _add_run_in_headings(cleaned)
    cleaned.reference_lists = [[line.text for line in items if line.text] for items in reference_lists]
    return cleaned


def _read_lines(pages: list[str], paged: bool) -> list[Line]:
    """Normalised lines; a blank line between pages so a page break is a soft block break."""
    raw_pages = [_normalise_characters(page).split("\n") for page in pages]
    page_texts = [[_normalise_line(text) for text in raw_lines] for raw_lines in raw_pages]
    if paged:
        page_texts = _drop_running_lines([_drop_page_numbers(texts) for texts in page_texts])
    lines: list[Line] = []
    for number, (raw_lines, texts) in enumerate(zip(raw_pages, page_texts, strict=True), start=1):
        if lines:
            lines.append(Line("", None))
        page = number if paged else None
        lines.extend(Line(text, page, raw[-1:].isspace()) for raw, text in zip(raw_lines, texts, strict=True))
    return lines


def _open_ends_mark_continuation(lines: list[Line]) -> bool:
    """Whether this text ends wrapped lines with a space and paragraphs without one (as the review does):
    then a blank line after a line ending in a space is a page or column break inside a paragraph."""
    inner = [line.open_end for line, following in itertools.pairwise(lines) if line.text and following.text]
    return len(inner) >= MIN_LINES_FOR_CONVENTION and sum(inner) >= OPEN_END_SHARE * len(inner)


def _normalise_characters(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = INVISIBLE_RE.sub("", text)
    for ligature, letters in LIGATURES.items():
        text = text.replace(ligature, letters)
    return unicodedata.normalize("NFC", text)


def _normalise_line(text: str) -> str:
    return SPACES_RE.sub(" ", text).strip()


def _drop_page_numbers(lines: list[str]) -> list[str]:
    """Page numbers standing alone as the first or last line of a page."""
    filled = [i for i, text in enumerate(lines) if text]
    for i in (filled[0], filled[-1]) if filled else ():
        if PAGE_NUMBER_RE.match(lines[i]):
            lines[i] = ""
    return lines


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Running heads and feet (``noise.running_lines``) blanked."""
    for texts, positions in zip(pages, running_lines(pages), strict=True):
        for i in positions:
            texts[i] = ""
    return pages


def _blocks(lines: list[Line], *, split_short_lines: bool) -> list[Block]:
    widths = [len(line.text) for line in lines if line.text]
    typical = statistics.median(widths) if widths else 0
    blocks: list[Block] = []
    current: list[Line] = []
    for line in lines:
        if not line.text:
            if current:
                blocks.append(Block(current))
            current = []
            continue
        labelled = line.label or (current and current[-1].label) or _hint_break(current, line)
        if current and (
            labelled or (split_short_lines and _starts_new_block(current[-1].text, line.text, typical))
        ):
            blocks.append(Block(current))
            current = []
        current.append(line)
    if current:
        blocks.append(Block(current))
    return blocks


def _hint_break(current: list[Line], line: Line) -> bool:
    """Layout hints split blocks: a heading stands alone (its wrapped lines together), a caption starts a
    block of its own and ends where the running text resumes."""
    if not current:
        return False
    previous = current[-1]
    if line.hint == "heading" or previous.hint == "heading":
        return not (line.hint == previous.hint == "heading" and line.level == previous.level)
    return line.hint != previous.hint or bool(line.hint == "caption" and CAPTION_START_RE.match(line.text))


def _starts_new_block(previous: str, line: str, typical: float) -> bool:
    """For PDF text without blank lines: a short sentence-final line ends a paragraph; a short line
    without final punctuation after a finished sentence is a heading candidate standing on its own."""
    if not starts_capitalised(line):
        return False
    previous_short = len(previous) < SHORT_LINE_RATIO * typical
    if previous_short and (ends_sentence(previous) or not _ends_with_punctuation(previous)):
        return True
    return len(line) < SHORT_LINE_RATIO * typical and ends_sentence(previous)


def _assemble(
    blocks: list[Block],
    candidates: list[HeadingCandidate],
    vocabulary: Vocabulary,
    outline: list[tuple[str, ...]] | None,
) -> CleanedText:
    """Lay out headings and paragraphs as text, recording offsets, sections and pages."""
    heading_at = {candidate.first_block: candidate for candidate in candidates}
    paths = assign_sections(candidates, outline)
    path_of = {candidate.first_block: path for candidate, path in zip(candidates, paths, strict=True)}

    writer = _Writer()
    cleaned = CleanedText(text="")
    section: tuple[str, ...] = ()
    paragraph_lines: list[Line] = []

    def flush_paragraph() -> None:
        if not paragraph_lines:
            return
        text, pieces = _joined(paragraph_lines, vocabulary)
        start = writer.write_block(pieces)
        kind = "caption" if paragraph_lines[0].hint == "caption" else "text"
        cleaned.paragraphs.append(Paragraph(start, start + len(text), section, len(cleaned.paragraphs), kind))
        paragraph_lines.clear()

    i = 0
    while i < len(blocks):
        candidate = heading_at.get(i)
        if candidate is not None:
            flush_paragraph()
            section = path_of[i]
            lines = [line for block in blocks[i : candidate.end_block] for line in block.lines]
            text, pieces = _joined(lines, vocabulary)
            start = writer.write_block(pieces)
            cleaned.headings.append(Heading(text, section, start, start + len(text)))
            i = candidate.end_block
            continue
        block = blocks[i]
        if paragraph_lines and (
            _starts_paragraph(blocks[i - 1], block)
            or block.hint == "caption"
            or blocks[i - 1].hint == "caption"
        ):
            flush_paragraph()
        paragraph_lines.extend(block.lines)
        i += 1
    flush_paragraph()
    cleaned.text = writer.text
    cleaned.pages = writer.page_ranges()
    return cleaned


def _add_run_in_headings(cleaned: CleanedText) -> None:
    """Headings that open paragraphs ("2.6. Plaque Assay. MDCK cells ..."): each becomes a sub-section of
    the section it stands in, for its paragraph and the next ones up to the next heading. Unnumbered ones
    count only where a document has several (then they are its style, not a short first sentence)."""
    found = [(p, run_in_heading(cleaned.text[p.start : p.end])) for p in cleaned.paragraphs]
    numbered_or_several = sum(1 for _, r in found if r) >= MIN_RUN_INS
    base: tuple[str, ...] | None = None
    current: tuple[str, ...] | None = None
    for paragraph, run_in in found:
        if paragraph.section != base:
            base, current = paragraph.section, None
        if run_in is not None and (run_in[1] or numbered_or_several):
            heading, _ = run_in
            current = (*paragraph.section, heading)
            cleaned.headings.append(
                Heading(heading, current, paragraph.start, paragraph.start + len(heading))
            )
            paragraph.start += len(heading) + 1
            while cleaned.text[paragraph.start].isspace():
                paragraph.start += 1
        if current is not None:
            paragraph.section = current
    cleaned.headings.sort(key=lambda heading: heading.start)


def _starts_paragraph(previous: Block, block: Block) -> bool:
    """A blank line is a paragraph break only between a finished sentence and a capitalised start."""
    if previous.continues:
        return False
    return ends_sentence(previous.last) and not block.first[:1].islower()


def _joined(lines: list[Line], vocabulary: Vocabulary) -> tuple[str, list[tuple[str, int | None]]]:
    """Join lines into running text: spaces between lines, split words re-joined. Returns the text and
    its pieces tagged with their page."""
    pieces: list[tuple[str, int | None]] = []
    for line in lines:
        text = line.text
        if pieces:
            previous, page = pieces[-1]
            joined_previous, separator = _line_join(previous, text, vocabulary)
            pieces[-1] = (joined_previous, page)
            text = separator + text
        pieces.append((text, line.page))
    return "".join(text for text, _ in pieces), pieces


def _line_join(previous: str, following: str, vocabulary: Vocabulary) -> tuple[str, str]:
    """How the end of ``previous`` meets the next line: returns (previous, separator)."""
    if previous.endswith(SOFT_HYPHEN):
        return previous[:-1], ""
    if previous.endswith("-") and not previous.endswith(" -") and len(previous) > 1:
        head = previous.rsplit(" ", 1)[-1][:-1].lstrip("([{‘“'\"")
        tail_match = WORD_RE.match(following)
        tail = tail_match.group(0) if tail_match else ""
        if keeps_hyphen(head, tail, vocabulary):
            return previous, ""
        return previous[:-1], ""
    return previous, " "


class _Writer:
    """Accumulates blocks separated by blank lines and remembers which page each character came from."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._page_marks: list[tuple[int, int]] = []  # (offset, page) where a new page starts

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def write_block(self, pieces: list[tuple[str, int | None]]) -> int:
        if self._length:
            self._append(BLOCK_SEPARATOR, None)
        start = self._length
        for text, page in pieces:
            self._append(text, page)
        return start

    def _append(self, text: str, page: int | None) -> None:
        if page is not None and (not self._page_marks or self._page_marks[-1][1] != page):
            self._page_marks.append((self._length, page))
        self._parts.append(text)
        self._length += len(text)

    def page_ranges(self) -> list[tuple[int, int, int]]:
        ranges = []
        for i, (offset, page) in enumerate(self._page_marks):
            end = self._page_marks[i + 1][0] if i + 1 < len(self._page_marks) else self._length
            start = 0 if i == 0 else offset
            ranges.append((page, start, end))
        return ranges


def _ends_with_punctuation(text: str) -> bool:
    return text[-1:] in ".,;:!?-)]\"'”’"


def starts_capitalised(text: str) -> bool:
    first = next((char for char in text if char.isalnum()), "")
    return bool(first) and (first.isupper() or first.isdigit())
