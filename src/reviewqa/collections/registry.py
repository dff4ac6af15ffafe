"""Which collections there are, and the state of each on disk (cheap: a manifest and a folder listing).

A collection exists when it is the base collection ("review"), has a ``[collections.<name>]`` table in the
settings, has a folder under ``corpus/collections/``, or is the folder given with ``--corpus``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from reviewqa.errors import ReviewqaError
from reviewqa.settings import (
    BASE_COLLECTION,
    COLLECTION_NAME,
    COLLECTIONS_FOLDER,
    Settings,
    check_collection_name,
)

if TYPE_CHECKING:
    from reviewqa.corpus.ingest import FingerprintMemo


class UnknownCollectionError(ReviewqaError):
    """A collection name that names no collection (the service answers 404)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no collection named {name!r}; `reviewqa collections` lists them")
        self.name = name


def collection_names(settings: Settings) -> list[str]:
    """Every collection's name: the default first, then the others in alphabetical order; a collection
    given with ``--corpus`` (``settings`` being its own) is among them."""
    base = settings.base()
    names = {BASE_COLLECTION, *base.collections, settings.collection}
    folder = base.corpus_dir / COLLECTIONS_FOLDER
    if folder.is_dir():
        names |= {p.name for p in folder.iterdir() if p.is_dir() and COLLECTION_NAME.fullmatch(p.name)}
    return sorted(names, key=lambda name: (name != base.default_collection, name))


def collection_settings(settings: Settings, name: str) -> Settings:
    """The settings of the existing collection ``name`` (``settings`` itself when it is that collection, so
    one given with ``--corpus`` keeps its folder); UnknownCollectionError if there is none of that name."""
    check_collection_name(name)
    if name == settings.collection:
        return settings
    if name not in collection_names(settings):
        raise UnknownCollectionError(name)
    return settings.for_collection(name)


@dataclass(frozen=True)
class CollectionSummary:
    """One collection as ``reviewqa collections`` and ``GET /api/v1/collections`` show it."""

    name: str
    title: str
    state: str  # "empty" (no documents) or an index state: ready, missing, stale, corrupt, unreadable_corpus
    reason: str
    documents: int  # files in its documents folder
    indexed_documents: int  # documents in its current build
    passages: int  # passages in its current build
    build: str | None  # the current build's folder name
    built_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(settings: Settings, *, fingerprints: FingerprintMemo | None = None) -> CollectionSummary:
    """The collection of ``settings`` on disk: its documents, its current build and whether that is up to
    date (``fingerprints`` spares re-hashing an unchanged corpus)."""
    from reviewqa.corpus.ingest import discover_documents
    from reviewqa.index.store import index_status

    documents = len(discover_documents(settings.documents_dir)) if settings.documents_dir.is_dir() else 0
    status = index_status(settings, fingerprints=fingerprints)
    counts = (status.manifest or {}).get("counts", {})
    state, reason = status.state, status.reason
    if documents == 0 and status.manifest is None:
        state, reason = "empty", f"no documents yet: add PDF or text files to {settings.documents_dir}"
    return CollectionSummary(
        name=settings.collection,
        title=settings.collection_title(),
        state=state,
        reason=reason,
        documents=documents,
        indexed_documents=int(counts.get("documents", 0)),
        passages=int(counts.get("passages", 0)),
        build=status.build_id if status.manifest is not None else None,
        built_at=(status.manifest or {}).get("built_at"),
    )
