"""Front matter of plain-text articles: a block of ``Key: value`` header lines at the top, read as metadata.

The layout is recognised from the text, not from a file name: within the first lines, after an optional
title line and URL, at least ``MIN_HEADER_FIELDS`` short ``Key: value`` lines ("Authors: ...", "Date: ...",
"DOI: ...", "License: ..."), e.g. the CORD-19 exports. Labelled parts that follow ("Abstract: ...",
"Text: ...", or any label whose value is a paragraph) become sections of the document; the header lines
become metadata and never sentence text. A value written as "nan", "none" or "n/a" counts as absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEADER_LINE_RE = re.compile(
    r"^(?P<key>[A-Z][A-Za-z]*(?:[ -][A-Za-z]+){0,2})\s*:(?:[ \t]*(?P<value>(?!//).*))?$"
)
URL_RE = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
YEAR_RE = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
DOI_RE = re.compile(r"10\.\d{4,9}/\S+")
MISSING_VALUES = frozenset({"", "nan", "none", "null", "n/a", "na", "-"})
MAX_HEADER_LINES = 20  # the header sits in the first non-blank lines
MAX_TITLE_LINES = 3
MAX_PREAMBLE_LINES = 6  # title, URL, journal or author lines before the first field
MAX_FIELD_CHARS = 400  # a longer value under an unknown key is a paragraph: a labelled part, not a field
MIN_HEADER_FIELDS = 3
MIN_FIELDS_BEFORE_PART = 2  # fields followed by a labelled part ("Abstract: ...") are a header too
DATE_LINE_RE = re.compile(r"^(?:1[89]|20)\d\d(?:[-/.]\d{1,2}(?:[-/.]\d{1,2})?)?$")
PARAGRAPH_WORDS = 40
# Labels that open a part of the document rather than name a field, whatever their value's length.
PART_LABELS = {
    "abstract": "Abstract",
    "summary": "Summary",
    "background": "Background",
    "text": "Main text",
    "body": "Main text",
    "body text": "Main text",
    "main text": "Main text",
    "full text": "Main text",
}
FIELD_NAMES = {
    "author": "authors",
    "authors": "authors",
    "date": "date",
    "year": "date",
    "published": "date",
    "publication date": "date",
    "doi": "doi",
    "license": "licence",
    "licence": "licence",
    "url": "url",
    "link": "url",
    "title": "title",
    "journal": "journal",
    "source": "journal",
}


@dataclass
class FrontMatter:
    """The header's fields and the labelled parts of the document after it."""

    fields: dict[str, str] = field(default_factory=dict)  # title, authors, date, doi, licence, url, ...
    parts: list[tuple[str, str]] = field(default_factory=list)  # (section name, text), in order

    @property
    def year(self) -> int | None:
        """From the date, else from the first other field naming a date ("Received date", "Published")."""
        dated = [value for key, value in self.fields.items() if "date" in key or "published" in key]
        for value in [self.fields.get("date", ""), *dated]:
            match = YEAR_RE.search(value)
            if match:
                return int(match.group(1))
        return None

    @property
    def doi(self) -> str:
        match = DOI_RE.search(self.fields.get("doi", "")) or DOI_RE.search(self.fields.get("url", ""))
        return match.group(0).rstrip(".,;") if match else ""


def read_front_matter(text: str) -> FrontMatter | None:
    """The front matter of ``text``, or None when it does not open with a header block."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()][:MAX_HEADER_LINES]
    kinds = [_line_kind(lines[i].strip()) for i in filled]
    if kinds and kinds[0] == "field" and _key(lines[filled[0]]) not in FIELD_NAMES:
        kinds[0] = "text"  # "Viruses Causing Gastroenteritis: The Known, ...": a title with a colon
    header_end = next((k for k, kind in enumerate(kinds) if kind == "part"), None)
    if header_end is None:  # no labelled part: the header is the first run of fields
        runs = [k for k, kind in enumerate(kinds) if kind == "field"]
        if not runs:
            return None
        header_end = runs[0]
        while header_end < len(kinds) and kinds[header_end] == "field":
            header_end += 1
    field_lines = [k for k in range(header_end) if kinds[k] == "field"]
    enough = (
        MIN_FIELDS_BEFORE_PART
        if header_end < len(kinds) and kinds[header_end] == "part"
        else MIN_HEADER_FIELDS
    )
    if len(field_lines) < enough or field_lines[0] > MAX_PREAMBLE_LINES:
        return None
    fields: dict[str, str] = {}
    for k in field_lines:
        match = HEADER_LINE_RE.match(lines[filled[k]].strip())
        assert match is not None
        value = (match.group("value") or "").strip()
        if value.casefold() not in MISSING_VALUES:
            key = match.group("key").casefold()
            fields.setdefault(FIELD_NAMES.get(key, key), value)
    _read_unlabelled([lines[filled[k]].strip() for k in range(header_end) if kinds[k] != "field"], fields)
    body_line = filled[header_end] if header_end < len(filled) else len(lines)
    return FrontMatter(fields=fields, parts=_parts(lines[body_line:]))


def _key(line: str) -> str:
    match = HEADER_LINE_RE.match(line.strip())
    return match.group("key").casefold() if match else ""


def _line_kind(line: str) -> str:
    """ "field" (a short ``Key: value``), "part" (a label opening a part of the text) or "text"."""
    match = HEADER_LINE_RE.match(line)
    if match is None:
        return "text"
    if _opens_part(match):
        return "part"
    known = match.group("key").casefold() in FIELD_NAMES
    return "field" if known or len(match.group("value") or "") <= MAX_FIELD_CHARS else "text"


def _read_unlabelled(preamble: list[str], fields: dict[str, str]) -> None:
    """Unlabelled header lines: the title (up to the URL), the URL, a date, a list of authors."""
    title: list[str] = []
    title_done = False  # the title ends at the first URL or date line
    for line in preamble:
        if URL_RE.match(line):
            fields.setdefault("url", line)
            title_done = True
        elif DATE_LINE_RE.match(line):
            fields.setdefault("date", line)
            title_done = True
        elif not title_done and len(title) < MAX_TITLE_LINES:
            title.append(line)
        elif ("," in line or ";" in line) and "authors" not in fields:
            fields["authors"] = line
    if title:
        fields.setdefault("title", " ".join(title))


def _opens_part(match: re.Match[str]) -> bool:
    key = match.group("key").casefold()
    value = match.group("value") or ""
    return key in PART_LABELS or (key not in FIELD_NAMES and len(value.split()) >= PARAGRAPH_WORDS)


def _parts(lines: list[str]) -> list[tuple[str, str]]:
    """Split the lines after the header at labelled lines ("Abstract: ...", "Text: ...")."""
    parts: list[tuple[str, list[str]]] = []
    for line in lines:
        match = HEADER_LINE_RE.match(line.strip())
        if match and _opens_part(match):
            key = match.group("key")
            parts.append((PART_LABELS.get(key.casefold(), key), [match.group("value") or ""]))
        elif parts:
            parts[-1][1].append(line)
        elif line.strip():
            parts.append(("Main text", [line]))
    result = []
    for name, part_lines in parts:
        text = "\n".join(part_lines).strip()
        if text.casefold() not in MISSING_VALUES:
            result.append((name, text))
    return result
