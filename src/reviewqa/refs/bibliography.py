"""The bibliography: `corpus/references.tsv`, one row per cited work."""

from __future__ import annotations

import csv
from pathlib import Path

from reviewqa.models import CitedWork

COLUMNS = ["key", "authors", "year", "title", "journal", "doi", "pmid", "url"]


def load_bibliography(path: Path) -> dict[str, CitedWork]:
    """Rows keyed by citation key; an absent file is an empty bibliography."""
    if not path.exists():
        return {}
    works: dict[str, CitedWork] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            key = (row.get("key") or "").strip()
            if not key:
                continue
            year = (row.get("year") or "").strip()
            works[key] = CitedWork(
                key=key,
                authors=(row.get("authors") or "").strip(),
                year=int(year) if year.isdigit() else None,
                title=(row.get("title") or "").strip(),
                journal=(row.get("journal") or "").strip(),
                doi=(row.get("doi") or "").strip(),
                pmid=(row.get("pmid") or "").strip(),
                url=(row.get("url") or "").strip(),
            )
    return works
