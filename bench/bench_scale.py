"""Scale benchmark: FAISS flat vs HNSW on synthetic vectors, and embedding throughput on this machine.

    .venv/bin/python bench/bench_scale.py                  # 10k, 100k, 1M (HNSW up to 100k)
    .venv/bin/python bench/bench_scale.py --sizes 10000 --hnsw-max 10000 --queries 100

Vectors are 384-dimensional like all-MiniLM-L6-v2, drawn around 2,000 random centres (text embeddings
are clustered, and uniform random vectors are an unrealistically hard case for HNSW) and normalised;
queries are perturbed copies of random corpus vectors. Build and query use the project's own index code
(``reviewqa.index.dense``) with the default settings; queries are timed one at a time on one thread, as
a service worker runs them. Memory is the size of the serialised index (vectors, plus the graph for HNSW).
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import time
from dataclasses import dataclass

import numpy as np

from reviewqa.index.dense import DenseParams, build_dense_index, search_dense
from reviewqa.index.embed import model_name
from reviewqa.settings import Settings

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


def measure(vectors: np.ndarray, queries: np.ndarray, params: DenseParams, truth: np.ndarray | None):
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    index = build_dense_index(vectors, params)
    build_s = time.perf_counter() - started
    memory_mb = faiss.serialize_index(index).nbytes / 2**20  # what the index holds: vectors (+ graph)
    faiss.omp_set_num_threads(1)
    latencies, found = [], []
    for query in queries:
        started = time.perf_counter()
        _, ids = search_dense(index, query[None, :], K)
        latencies.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    ids = np.stack(found)
    recall = None
    if truth is not None:
        recall = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(ids, truth, strict=True)]))
    del index
    p95 = statistics.quantiles(latencies, n=20)[-1]
    return build_s, memory_mb, statistics.median(latencies), p95, recall, ids


def bench_size(size: int, query_count: int, settings: Settings, with_hnsw: bool, seed: int) -> list[Row]:
    rng = np.random.default_rng(seed)
    vectors = synthetic_vectors(size, rng)
    queries = queries_near(vectors, query_count, rng)
    flat = DenseParams(approx_threshold=size + 1)
    build_s, memory_mb, p50, p95, _, truth = measure(vectors, queries, flat, None)
    rows = [Row(size, "flat", build_s, memory_mb, p50, p95, None)]
    log.info("%s", rows[-1])
    if with_hnsw:
        hnsw = DenseParams(0, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search)
        build_s, memory_mb, p50, p95, recall, _ = measure(vectors, queries, hnsw, truth)
        rows.append(Row(size, "hnsw", build_s, memory_mb, p50, p95, recall))
        log.info("%s", rows[-1])
    return rows


def embedding_throughput(settings: Settings, count: int) -> tuple[float, float]:
    """(passages per second in batches, median ms for one query) with the configured model."""
    from reviewqa.index.embed import Encoder

    text = (
        "Early preclinical and population data suggested a role for the type I insulin-like growth "
        "factor receptor (IGF1R) in the regulation of breast cancer growth and survival. To target this "
        "pathway, multiple monoclonal antibodies and tyrosine kinase inhibitors were developed and tested "
        "in clinical trials, but none showed improved outcomes compared with conventional therapy."
    )  # about 70 words: the size of a passage of 160 tiktoken tokens is about 120 words; a fair floor
    passages = [f"{i}. {text} {text}" for i in range(count)]
    encoder = Encoder(settings.model_path, batch_size=settings.embed_batch_size)
    encoder.encode(passages[:8])  # load and warm up
    started = time.perf_counter()
    encoder.encode(passages)
    per_second = count / (time.perf_counter() - started)
    query_encoder = Encoder(settings.model_path, threads=settings.query_threads)
    query_encoder._model = encoder.model
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
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--embed-passages", type=int, default=256, help="0 skips the embedding benchmark.")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.load()
    rows: list[Row] = []
    for size in args.sizes:
        rows.extend(bench_size(size, args.queries, settings, size <= args.hnsw_max, args.seed))
    print(
        f"dim {DIMENSION}, {args.queries} queries, k={K}, HNSW M={settings.hnsw_m} "
        f"efConstruction={settings.hnsw_ef_construction} efSearch={settings.hnsw_ef_search}, "
        f"{os.cpu_count()} cores\n"
    )
    print(format_rows(rows))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the benchmark process: {peak_mb:,.0f} MB")
    if args.embed_passages:
        per_second, query_ms = embedding_throughput(settings, args.embed_passages)
        print(
            f"\nembedding ({model_name(settings.model_path)}): {per_second:.0f} passages/s "
            f"(batch {settings.embed_batch_size}, all cores); one query {query_ms:.1f} ms p50 "
            f"({settings.query_threads} thread)"
        )


if __name__ == "__main__":
    main()
