"""Collections: several corpora, each with its own index, served side by side; documents uploaded into
them and indexed in the background (docs/collections.md)."""

from reviewqa.collections.registry import (
    CollectionSummary,
    UnknownCollectionError,
    collection_names,
    collection_settings,
    summarize,
)

__all__ = [
    "CollectionSummary",
    "UnknownCollectionError",
    "collection_names",
    "collection_settings",
    "summarize",
]
