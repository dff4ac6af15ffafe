import numpy as np

from reviewqa.index.dense import DenseParams, build_dense_index, index_kind, search_dense


def _unit_vectors(count: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_hnsw_returns_k_results_beyond_ef_search_without_changing_the_index():
    vectors = _unit_vectors(600)
    index = build_dense_index(vectors, DenseParams(approx_threshold=10, hnsw_ef_search=16))
    assert index_kind(index) == "hnsw"
    _scores, ids = search_dense(index, vectors[:2], k=200)
    assert ids.shape == (2, 200)
    assert (ids >= 0).all()  # efSearch was raised for this call, so every slot is filled
    assert ids[0, 0] == 0 and ids[1, 0] == 1
    assert index.hnsw.efSearch == 16  # the shared index keeps its setting


def test_flat_search_is_exact():
    vectors = _unit_vectors(50)
    index = build_dense_index(vectors, DenseParams(approx_threshold=1000))
    _scores, ids = search_dense(index, vectors[:1], k=5)
    expected = np.argsort(-(vectors @ vectors[0]))[:5]
    assert list(ids[0]) == list(expected)
