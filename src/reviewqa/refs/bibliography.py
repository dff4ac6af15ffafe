"""The bibliography: `corpus/references.tsv`, one row per cited work."""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reviewqa.errors import ReviewqaError
from reviewqa.fileio import atomic_write_text
from reviewqa.models import CitedWork

logger = logging.getLogger(__name__)

COLUMNS = ["key", "authors", "year", "title", "journal", "doi", "pmid", "url"]
TRIAL_ID_RE = re.compile(r"^NCT\d{8}$")
TRIAL_URL = "https://clinicaltrials.gov/study/{}"


class BibliographyError(ReviewqaError):
    """The bibliography file cannot be read or written as asked."""


def load_bibliography(path: Path) -> dict[str, CitedWork]:
    """Rows keyed by citation key; an absent file is an empty bibliography."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BibliographyError(f"cannot read the bibliography {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    if reader.fieldnames is None or "key" not in reader.fieldnames:
        raise BibliographyError(f"{path} has no 'key' column; expected columns: {' '.join(COLUMNS)}")
    works: dict[str, CitedWork] = {}
    for row in reader:
        work = _work_from_row(row)
        if work is None:
            continue
        if work.key in works:
            logger.warning("%s: key %r appears more than once; the last row wins", path, work.key)
        works[work.key] = work
    return works


def _work_from_row(row: dict[str, str | None]) -> CitedWork | None:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    key = cell("key")
    if not key:
        return None
    year = cell("year")
    return CitedWork(
        key=key,
        authors=cell("authors"),
        year=int(year) if year.isdigit() else None,
        title=cell("title"),
        journal=cell("journal"),
        doi=cell("doi"),
        pmid=cell("pmid"),
        url=cell("url"),
    )


def parsed_references(documents: Iterable[dict[str, Any]]) -> dict[str, CitedWork]:
    """The entries of the reference lists the corpus stage parsed (``documents.json`` records), by key;
    the first document's entry wins where two share a key."""
    return parsed_bibliography(documents, {})[0]


def parsed_bibliography(
    documents: Iterable[dict[str, Any]], hand_made: dict[str, CitedWork]
) -> tuple[dict[str, CitedWork], dict[str, dict[str, CitedWork]]]:
    """The corpus-wide works: the entries of the parsed reference lists (the first document's entry wins
    where two share a key) under the bibliography file's rows (``hand_made``); and per document id, the
    entries of its own list that name another work than the corpus-wide entry of their key (two papers'
    "Wang et al. 2020" are often different works). A key of the bibliography file is one work everywhere."""
    entries = [(record.get("doc_id"), _document_entries(record)) for record in documents]
    works: dict[str, CitedWork] = {}
    for _, own in entries:
        for key, work in own.items():
            works.setdefault(key, work)
    works.update(hand_made)
    differing: dict[str, dict[str, CitedWork]] = {}
    for doc_id, own in entries:
        mine = {key: work for key, work in own.items() if key not in hand_made and works[key] != work}
        if mine and doc_id:
            differing[doc_id] = mine
    return works, differing


def _document_entries(record: dict[str, Any]) -> dict[str, CitedWork]:
    works: dict[str, CitedWork] = {}
    for entry in record.get("references") or []:
        if not isinstance(entry, dict) or not entry.get("key"):
            continue
        works.setdefault(
            entry["key"],
            CitedWork(
                key=entry["key"],
                authors=entry.get("authors", ""),
                year=entry.get("year"),
                title=entry.get("title", ""),
                doi=entry.get("doi", ""),
                pmid=entry.get("pmid", ""),
            ),
        )
    return works


def format_bibliography(works: Iterable[CitedWork]) -> str:
    """The TSV text of ``works`` in the order given, with the standard columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    for work in works:
        values = [getattr(work, column) for column in COLUMNS]
        writer.writerow(["" if value is None else _one_line(str(value)) for value in values])
    return buffer.getvalue()


def write_bibliography(path: Path, works: Iterable[CitedWork]) -> None:
    """Write the bibliography atomically (a reader never sees half a file)."""
    atomic_write_text(path, format_bibliography(works))


def _one_line(value: str) -> str:
    # A tab or newline inside a cell would shift columns for naive readers.
    return " ".join(value.split())


def registry_url(key: str) -> str:
    """The registry page of a trial id (NCT...), else an empty string."""
    return TRIAL_URL.format(key) if TRIAL_ID_RE.match(key) else ""


def slugify(text: str) -> str:
    """A file-name-safe form: "Gradishar et al. 2016" -> "gradishar-et-al-2016"."""
    text = re.sub(r"['’`]", "", text)  # O'Flanagan and O’Flanagan slug alike
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def short_slug(key: str) -> str:
    """The slug without "et al": "Gradishar et al. 2016" -> "gradishar-2016"."""
    return re.sub(r"-et-al(?=-|$)", "", slugify(key))
