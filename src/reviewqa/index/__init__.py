"""The index stage: embeddings (FAISS), BM25 and their fusion over the corpus passages.

Heavy libraries (torch, sentence-transformers, faiss) are imported only when an index is built or used.
"""

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
