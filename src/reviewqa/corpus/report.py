"""`reviewqa ingest --report`: how each PDF of the corpus was read, checked against what is independent of
the reader where possible.

Per PDF: pages; title and DOI found (and whether they agree with a MANIFEST.tsv beside the files, when
there is one: columns ``file``, ``title``, ``doi``); sections; running heads left in passages (edge lines
that recur on half the pages of pypdf's plain extraction, searched in the passage texts); line numbers left
(in documents whose plain extraction numbers most lines: passages holding two consecutive numbers a line
apart); reference entries parsed vs printed (printed: counted from the list's own numbering, or its entry
starts); citations linked vs found; caption passages; whether OCR read it.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewqa.corpus.noise import line_shape
from reviewqa.corpus.pdf_metadata import letters
from reviewqa.models import Passage

EDGE_LINES = 3
MIN_RUNNING_CHARS = 10
NUMBERED_LINE_RE = re.compile(r"\s(\d{1,4})\s*$")
NUMBER_TOKEN_RE = re.compile(r"^\d{1,4}$")
MIN_WORDS_BETWEEN, MAX_WORDS_BETWEEN = 3, 30  # words on one printed line
RUN_OF_NUMBERS = 4


@dataclass
class PdfRow:
    file: str
    pages: int
    title: str
    title_ok: bool | None  # None: no manifest row
    doi: str
    doi_ok: bool | None
    sections: int
    running_heads_left: int
    line_numbers_left: int | None  # None: the PDF has no line numbers
    references_parsed: int
    references_printed: int
    citations_linked: int
    citations_found: int
    captions: int
    ocr: bool


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """MANIFEST.tsv rows by file name; {} when absent."""
    if not path.exists():
        return {}
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t")
    return {row["file"]: row for row in rows if row.get("file")}


def title_matches(found: str, expected: str) -> bool:
    """Same letters, ignoring case, spacing and punctuation; a manifest's "(... derivative)" note aside."""
    expected = re.sub(r"\s*\([^()]*derivative[^()]*\)\s*$", "", expected)
    return bool(found) and letters(found) == letters(expected)


def pdf_rows(
    documents: list[dict[str, Any]],
    passages: list[Passage],
    documents_dir: Path,
    manifest: dict[str, dict[str, str]],
) -> list[PdfRow]:
    by_document: dict[str, list[Passage]] = {}
    for passage in passages:
        by_document.setdefault(passage.document, []).append(passage)
    rows = []
    for record in documents:
        if not record["path"].lower().endswith(".pdf"):
            continue
        name = Path(record["path"]).name
        expected = manifest.get(name)
        texts = [p.text for p in by_document.get(record["doc_id"], [])]
        plain_pages = _plain_pages(documents_dir / record["path"])
        citations = record.get("citations") or {}
        rows.append(
            PdfRow(
                file=name,
                pages=len(plain_pages),
                title=record["title"],
                title_ok=title_matches(record["title"], expected["title"]) if expected else None,
                doi=record.get("doi", ""),
                doi_ok=(record.get("doi", "").lower() == expected["doi"].lower()) if expected else None,
                sections=len(record["sections"]),
                running_heads_left=_running_heads_left(plain_pages, texts),
                line_numbers_left=_line_numbers_left(plain_pages, texts),
                references_parsed=len(record.get("references") or []),
                references_printed=record.get("references_printed", 0),
                citations_linked=citations.get("linked", 0),
                citations_found=citations.get("found", 0),
                captions=sum(1 for p in by_document.get(record["doc_id"], []) if p.kind == "caption"),
                ocr=bool((record.get("reading") or {}).get("ocr")),
            )
        )
    return rows


def format_rows(rows: list[PdfRow]) -> str:
    def mark(ok: bool | None) -> str:
        return "-" if ok is None else ("yes" if ok else "NO")

    header = (
        "| file | pages | title | DOI | sections | running heads left | line numbers left | references "
        "parsed / printed | citations linked / found | captions | OCR |"
    )
    lines = [header, "|" + "---|" * 11]
    for row in rows:
        numbers = "-" if row.line_numbers_left is None else str(row.line_numbers_left)
        lines.append(
            f"| {row.file} | {row.pages} | {mark(row.title_ok)} | {mark(row.doi_ok)} | {row.sections} "
            f"| "
            f"{row.running_heads_left} | {numbers} | {row.references_parsed} / {row.references_printed} | "
            f"{row.citations_linked} / {row.citations_found} | {row.captions} | {'yes' if row.ocr else 'no'} "
            "|"
        )
    return "\n".join(lines)


def _plain_pages(path: Path) -> list[list[str]]:
    """pypdf's plain extraction, line by line: the independent view the checks use."""
    import pypdf

    try:
        reader = pypdf.PdfReader(path)
        return [[line.strip() for line in (page.extract_text() or "").split("\n")] for page in reader.pages]
    except Exception:  # an unreadable file has nothing to check against
        return []


def running_heads(pages: list[list[str]]) -> set[str]:
    """Shapes of lines at the top or bottom of pages that recur on at least half of them."""
    counts: Counter[str] = Counter()
    for lines in pages:
        filled = [line for line in lines if line]
        edges = filled[:EDGE_LINES] + filled[-EDGE_LINES:]
        counts.update({line_shape(line) for line in edges if len(line) >= MIN_RUNNING_CHARS})
    needed = max(2, (len(pages) + 1) // 2)
    return {shape for shape, count in counts.items() if count >= needed and any(c.isalpha() for c in shape)}


def _running_heads_left(pages: list[list[str]], texts: list[str]) -> int:
    heads = running_heads(pages)
    return sum(1 for text in texts if any(head in line_shape(text) for head in heads))


def _line_numbers_left(pages: list[list[str]], texts: list[str]) -> int | None:
    lines = [line for page in pages for line in page if line]
    numbered = sum(1 for line in lines if NUMBERED_LINE_RE.search(line))
    if not lines or numbered < 0.5 * len(lines):
        return None
    return sum(1 for text in texts if _has_numbered_lines(text))


def _has_numbered_lines(text: str) -> bool:
    """Four numbers n ... n+3 standing alone a line's worth of words apart: left-over line numbers."""
    at: dict[int, int] = {}
    for position, word in enumerate(text.split()):
        if NUMBER_TOKEN_RE.match(word):
            at[int(word)] = position
    for number, position in at.items():
        positions = [position, *(at.get(number + step) for step in range(1, RUN_OF_NUMBERS))]
        if None in positions:
            continue
        gaps = [b - a for a, b in itertools.pairwise(positions)]  # type: ignore[operator]
        if all(MIN_WORDS_BETWEEN <= gap <= MAX_WORDS_BETWEEN for gap in gaps):
            return True
    return False
