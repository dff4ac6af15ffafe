"""Compare the bibliography with the works the review actually cites."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from reviewqa.errors import ReviewqaError
from reviewqa.refs.bibliography import load_bibliography, parsed_references
from reviewqa.settings import Settings

logger = logging.getLogger(__name__)

CITED_WORKS_FILE = "cited_works.json"


class CitedWorksMissingError(ReviewqaError):
    """The corpus stage's list of cited works is absent or unreadable."""


@dataclass
class CheckReport:
    cited: list[str]
    missing_from_bibliography: list[str]  # cited in the text, no row (nor entry of a parsed reference list)
    never_cited: list[str]  # a row, never cited
    # Per document with a parsed reference list: citations found in its text that no entry resolves
    unresolved_by_document: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing_from_bibliography and not self.never_cited and not self.unresolved_by_document


def load_cited_works(settings: Settings) -> list[str]:
    """Keys the corpus stage found in the documents (`index/cited_works.json`)."""
    path = settings.index_dir / CITED_WORKS_FILE
    if not path.exists():
        raise CitedWorksMissingError(
            f"{path} not found: run `reviewqa ingest` first (or `refs check --ingest`)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CitedWorksMissingError(f"{path} is unreadable ({exc}): run `reviewqa ingest` again") from exc
    if isinstance(data, dict):  # tolerate {"cited_works": [...]} as well as a bare list
        data = data.get("cited_works", data.get("keys", []))
    keys = [item if isinstance(item, str) else item.get("key", "") for item in data]
    return sorted({k for k in keys if k})


def current_cited_works(settings: Settings, *, ingest_first: bool = False) -> list[str]:
    """The keys the corpus cites, ingesting first when the list is missing or stale (ingesting reads text
    only, it is quick)."""
    if ingest_first or _cited_works_outdated(settings):
        from reviewqa.corpus import ingest

        logger.info("ingesting the corpus to list its cited works")
        ingest(settings)
    return load_cited_works(settings)


def check_bibliography(settings: Settings, *, ingest_first: bool = False) -> CheckReport:
    """Cited keys without a row and rows never cited."""
    cited = current_cited_works(settings, ingest_first=ingest_first)
    rows = load_bibliography(settings.references_path)
    documents = _documents(settings)
    parsed = parsed_references(documents)
    unresolved = {
        record["doc_id"]: list(record["citations"]["unresolved"])
        for record in documents
        if isinstance(record.get("citations"), dict) and record["citations"].get("unresolved")
    }
    return CheckReport(
        cited=cited,
        missing_from_bibliography=[k for k in cited if k not in rows and k not in parsed],
        never_cited=sorted(k for k in rows if k not in set(cited)),
        unresolved_by_document=unresolved,
    )


def _documents(settings: Settings) -> list[dict[str, Any]]:
    from reviewqa.corpus import load_documents
    from reviewqa.errors import CorpusError

    try:
        return load_documents(settings)
    except CorpusError:
        return []


def _cited_works_outdated(settings: Settings) -> bool:
    if not (settings.index_dir / CITED_WORKS_FILE).exists():
        return True
    from reviewqa.corpus import corpus_fingerprint, ingested_fingerprint

    made_from = ingested_fingerprint(settings)
    return made_from is not None and made_from != corpus_fingerprint(settings)
