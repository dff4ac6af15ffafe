"""Dense vector search with FAISS: exact inner product, or HNSW above a size threshold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss


@dataclass(frozen=True)
class DenseParams:
    approx_threshold: int
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128

    def kind_for(self, count: int) -> str:
        return "hnsw" if count > self.approx_threshold else "flat"


def build_dense_index(vectors: np.ndarray, params: DenseParams) -> faiss.Index:
    """Exact ``IndexFlatIP`` for small collections, ``IndexHNSWFlat`` (inner product) above the threshold."""
    import faiss

    count, dimension = vectors.shape
    if params.kind_for(count) == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.hnsw_ef_construction
        index.hnsw.efSearch = params.hnsw_ef_search
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def index_kind(index: faiss.Index) -> str:
    import faiss

    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


def set_ef_search(index: faiss.Index, ef_search: int) -> None:
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = max(ef_search, 1)


def search_dense(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of shape (n, k'); k' = min(k, size); missing results (HNSW) have id -1."""
    k = min(k, index.ntotal)
    if k <= 0:
        empty = np.zeros((len(queries), 0))
        return empty.astype(np.float32), empty.astype(np.int64)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if index_kind(index) == "hnsw":
        import faiss

        # HNSW returns at most efSearch results. A per-call parameter, not a change to the shared index,
        # which concurrent service threads are searching too.
        params = faiss.SearchParametersHNSW(efSearch=max(index.hnsw.efSearch, k))
        return index.search(queries, k, params=params)
    return index.search(queries, k)


def save_dense(index: faiss.Index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_dense(path: Path) -> faiss.Index:
    import faiss

    return faiss.read_index(str(path))


def reconstruct(index: faiss.Index, ids: np.ndarray) -> np.ndarray:
    """The stored vectors of ``ids`` (both index kinds keep full vectors)."""
    return index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
