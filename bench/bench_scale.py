"""Scale benchmark: FAISS flat vs HNSW (and IVF) on synthetic vectors, and embedding throughput here.

    .venv/bin/python bench/bench_scale.py                  # 10k, 100k, 1M (HNSW up to 100k, no IVF)
    .venv/bin/python bench/bench_scale.py --sizes 10000 --hnsw-max 10000 --queries 100
    .venv/bin/python bench/bench_scale.py --hnsw-max 1000000 --ivf-max 1000000 --nprobe 16 64

Vectors are 384-dimensional like all-MiniLM-L6-v2, drawn around 2,000 random centres (text embeddings
are clustered, and uniform random vectors are an unrealistically hard case for HNSW) and normalised;
queries are perturbed copies of random corpus vectors. Build and query use the project's own index code
(``reviewqa.index.dense``) with the default settings; queries are timed one at a time on one thread, as
a service worker runs them. Memory is the size of the serialised index (vectors, plus the graph for HNSW).

IVF (``IndexIVFFlat``, nlist = 4 * sqrt(n)) is not part of the project's index code; it is measured here as
the cheaper-to-build alternative to HNSW at large sizes. Its coarse quantizer is trained on at most
``--ivf-train-per-list`` vectors per list, and each ``--nprobe`` value gives one row from the same build.
Rows are logged as they finish (largest HNSW last), so a run stopped early still has the others.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reviewqa.index.dense import DenseParams, build_dense_index, search_dense
from reviewqa.index.embed import model_name
from reviewqa.settings import Settings

if TYPE_CHECKING:
    import faiss

log = logging.getLogger("bench_scale")
DIMENSION = 384
CENTRES = 2_000
K = 10


@dataclass
class Row:
    size: int
    kind: str
    build_s: float
    memory_mb: float
    query_p50_ms: float
    query_p95_ms: float
    recall_at_10: float | None


def synthetic_vectors(count: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((CENTRES, DIMENSION), dtype=np.float32)
    vectors = np.empty((count, DIMENSION), dtype=np.float32)
    step = 100_000
    for start in range(0, count, step):  # in blocks, to keep the temporary arrays small
        end = min(start + step, count)
        block = centres[rng.integers(0, CENTRES, end - start)]
        block += 0.7 * rng.standard_normal((end - start, DIMENSION), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        vectors[start:end] = block
    return vectors


def queries_near(vectors: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    queries = vectors[rng.integers(0, len(vectors), count)].copy()
    queries += 0.05 * rng.standard_normal(queries.shape, dtype=np.float32)
    return queries / np.linalg.norm(queries, axis=1, keepdims=True)


@dataclass(frozen=True)
class IvfParams:
    nprobes: tuple[int, ...]
    train_per_list: int


@dataclass
class Plan:
    """Which approximate indexes each size gets, beside the flat one."""

    hnsw_max: int
    ivf_max: int
    ivf: IvfParams


def timed_build(build: Callable[[], faiss.Index]) -> tuple[faiss.Index, float, float]:
    """(index, build seconds on all cores, serialised size in MB: vectors, plus graph or lists)."""
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    index = build()
    build_s = time.perf_counter() - started
    return index, build_s, faiss.serialize_index(index).nbytes / 2**20


def timed_queries(
    search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """(p50 ms, p95 ms, ids) searching one query at a time on one thread, as a service worker does."""
    import faiss

    faiss.omp_set_num_threads(1)
    latencies, found = [], []
    for query in queries:
        started = time.perf_counter()
        ids = search(query[None, :])
        latencies.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    p95 = statistics.quantiles(latencies, n=20)[-1]
    return statistics.median(latencies), p95, np.stack(found)


def recall_at_k(ids: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(ids, truth, strict=True)]))


def measure_dense(
    size: int, kind: str, vectors: np.ndarray, queries: np.ndarray, params: DenseParams
) -> tuple[Row, np.ndarray]:
    """A row for the project's own index code (flat or HNSW) and the ids it found."""
    index, build_s, memory_mb = timed_build(lambda: build_dense_index(vectors, params))
    p50, p95, ids = timed_queries(lambda query: search_dense(index, query, K)[1], queries)
    return Row(size, kind, build_s, memory_mb, p50, p95, None), ids


def build_ivf(vectors: np.ndarray, train_per_list: int) -> faiss.Index:
    import faiss

    count, dimension = vectors.shape
    nlist = max(1, round(4 * math.sqrt(count)))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    # k-means on all of 1M vectors would take longer than the rest of the build; a sample of
    # train_per_list vectors per list is within faiss's recommended 30-256.
    index.cp.max_points_per_centroid = train_per_list
    index.train(vectors)
    index.add(vectors)
    return index


def measure_ivf(
    size: int, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, params: IvfParams
) -> list[Row]:
    """One row per nprobe, all from one IVF build."""
    import faiss

    index, build_s, memory_mb = timed_build(lambda: build_ivf(vectors, params.train_per_list))
    rows = []
    for nprobe in params.nprobes:
        search_params = faiss.SearchParametersIVF(nprobe=nprobe)
        p50, p95, ids = timed_queries(
            lambda query, sp=search_params: index.search(query, K, params=sp)[1], queries
        )
        kind = f"IVF nlist={index.nlist} nprobe={nprobe}"
        rows.append(Row(size, kind, build_s, memory_mb, p50, p95, recall_at_k(ids, truth)))
        log.info("%s", rows[-1])
    return rows


def bench_size(size: int, query_count: int, settings: Settings, plan: Plan, seed: int) -> list[Row]:
    rng = np.random.default_rng(seed)
    vectors = synthetic_vectors(size, rng)
    queries = queries_near(vectors, query_count, rng)
    row, truth = measure_dense(size, "flat", vectors, queries, DenseParams(approx_threshold=size + 1))
    rows = [row]
    log.info("%s", row)
    if size <= plan.ivf_max:
        rows.extend(measure_ivf(size, vectors, queries, truth, plan.ivf))
    if size <= plan.hnsw_max:
        hnsw = DenseParams(0, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search)
        row, ids = measure_dense(size, "HNSW", vectors, queries, hnsw)
        row.recall_at_10 = recall_at_k(ids, truth)
        rows.append(row)
        log.info("%s", row)
    return rows


def embedding_throughput(settings: Settings, count: int) -> tuple[float, float]:
    """(passages per second in batches, median ms for one query) with the configured model."""
    from reviewqa.index.build_vectors import build_encoder

    text = (
        "Early preclinical and population data suggested a role for the type I insulin-like growth "
        "factor receptor (IGF1R) in the regulation of breast cancer growth and survival. To target this "
        "pathway, multiple monoclonal antibodies and tyrosine kinase inhibitors were developed and tested "
        "in clinical trials, but none showed improved outcomes compared with conventional therapy."
    )  # about 70 words: the size of a passage of 160 tiktoken tokens is about 120 words; a fair floor
    passages = [f"{i}. {text} {text}" for i in range(count)]
    encoder = build_encoder(settings)  # the configured backend, every core
    encoder.encode(passages[:8])  # load and warm up
    started = time.perf_counter()
    encoder.encode(passages)
    per_second = count / (time.perf_counter() - started)
    query_encoder = build_encoder(settings, threads=settings.query_threads or 1)
    latencies = []
    for i in range(50):
        started = time.perf_counter()
        query_encoder.encode([f"Is the insulin receptor a target in breast cancer? ({i})"])
        latencies.append((time.perf_counter() - started) * 1000)
    return per_second, statistics.median(latencies)


def format_rows(rows: list[Row]) -> str:
    lines = [
        "| vectors | index | build (s) | memory (MB) | query p50 (ms) | query p95 (ms) | recall@10 vs flat |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        recall = f"{row.recall_at_10:.3f}" if row.recall_at_10 is not None else "1 (exact)"
        lines.append(
            f"| {row.size:,} | {row.kind} | {row.build_s:.1f} | {row.memory_mb:.0f} | "
            f"{row.query_p50_ms:.2f} | {row.query_p95_ms:.2f} | {recall} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="Largest size that also builds HNSW.")
    parser.add_argument("--ivf-max", type=int, default=0, help="Largest size that also builds IVF.")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[16, 64], help="IVF lists searched.")
    parser.add_argument("--ivf-train-per-list", type=int, default=64)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--embed-passages", type=int, default=256, help="0 skips the embedding benchmark.")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.load()
    embedding = None
    if args.embed_passages:  # first, so a run stopped during the largest build still has it
        embedding = embedding_throughput(settings, args.embed_passages)
        log.info("embedding: %.0f passages/s, one query %.1f ms p50", *embedding)
    plan = Plan(args.hnsw_max, args.ivf_max, IvfParams(tuple(args.nprobe), args.ivf_train_per_list))
    rows: list[Row] = []
    for size in sorted(args.sizes):
        rows.extend(bench_size(size, args.queries, settings, plan, args.seed))
    print(
        f"dim {DIMENSION}, {args.queries} queries, k={K}, HNSW M={settings.hnsw_m} "
        f"efConstruction={settings.hnsw_ef_construction} efSearch={settings.hnsw_ef_search}, "
        f"{os.cpu_count()} cores\n"
    )
    print(format_rows(rows))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the benchmark process: {peak_mb:,.0f} MB")
    if embedding:
        per_second, query_ms = embedding
        print(
            f"\nembedding ({model_name(settings.model_path)}, {settings.embed_backend}): "
            f"{per_second:.0f} passages/s "
            f"(batch {settings.embed_batch_size}, all cores); one query {query_ms:.1f} ms p50 "
            f"({settings.query_threads} thread)"
        )


if __name__ == "__main__":
    main()
