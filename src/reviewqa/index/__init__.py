"""The index stage: embeddings (FAISS), BM25 and their fusion over the corpus passages.

Heavy libraries (torch, sentence-transformers, faiss) are imported only when an index is built or used, and
this package's names are imported on first use, so commands that never search (`reviewqa --help`, or `ask`
answered by a running service) do not import numpy, bm25s and scipy either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewqa.lazy import lazy_attributes

if TYPE_CHECKING:
    from reviewqa.index.search import (
        SEARCH_MODES,
        SearchHit,
        SearchIndex,
        SearchModeError,
        load_build,
        load_index,
        open_index,
    )
    from reviewqa.index.store import IndexStatus, build_from_passages, build_index, index_status

_HOMES = {
    **dict.fromkeys(
        (
            "SEARCH_MODES",
            "SearchHit",
            "SearchIndex",
            "SearchModeError",
            "load_build",
            "load_index",
            "open_index",
        ),
        "reviewqa.index.search",
    ),
    **dict.fromkeys(
        ("IndexStatus", "build_from_passages", "build_index", "index_status"), "reviewqa.index.store"
    ),
}
__all__ = [
    "SEARCH_MODES",
    "IndexStatus",
    "SearchHit",
    "SearchIndex",
    "SearchModeError",
    "build_from_passages",
    "build_index",
    "index_status",
    "load_build",
    "load_index",
    "open_index",
]


__getattr__ = lazy_attributes(__name__, _HOMES)
