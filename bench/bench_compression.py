"""Approximate indexes on real all-MiniLM-L6-v2 vectors: recall@10 against exact search, bytes per vector.

    .venv/bin/python bench/bench_compression.py [--work-dir DIR]

``bench_scale.py`` measures speed up to 1M vectors, but on synthetic clustered vectors, which flatter
every approximate index (recall 1.000). This one measures what compression costs on real vectors: the
passages and sentences of the COVID-QA index that ``bench_build.py`` leaves in ``--work-dir`` (about
26,000 vectors), searched with the COVID-QA train+dev questions embedded the same way. Small: IVF list
counts scale with sqrt(n), so probe *fractions*, not counts, carry over to 1M+; product-quantisation
error is per vector and carries over as is. Figures are for docs/scale.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from corpora import covidqa_project, load_questions

K = 10


def real_vectors(work_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    from reviewqa.index import build_index, load_index
    from reviewqa.index.store import SENTENCE_VECTORS, current_dir

    settings = covidqa_project(work_dir / "covidqa")
    build_index(settings)
    index = load_index(settings)
    passages = index.dense.reconstruct_n(0, index.dense.ntotal)
    sentences = np.load(current_dir(settings) / SENTENCE_VECTORS)
    questions = [q.question for split in ("train", "dev") for q in load_questions(split)]
    return np.vstack([passages, sentences]).astype(np.float32), index.encoder.encode(questions)


def candidates(dimension: int, count: int) -> dict[str, Callable[[], object]]:
    import faiss

    nlist = max(16, round(4 * math.sqrt(count)))
    ip = faiss.METRIC_INNER_PRODUCT

    def ivf(spec: str) -> Callable[[], object]:
        return lambda: faiss.index_factory(dimension, spec, ip)

    def hnsw() -> object:
        index = faiss.IndexHNSWFlat(dimension, 32, ip)
        index.hnsw.efConstruction, index.hnsw.efSearch = 200, 128
        return index

    return {
        "HNSW M=32 (fp32, the project's)": hnsw,
        f"IVF{nlist},Flat": ivf(f"IVF{nlist},Flat"),
        f"IVF{nlist},SQ8": ivf(f"IVF{nlist},SQ8"),
        f"IVF{nlist},PQ48": ivf(f"IVF{nlist},PQ48"),
        f"IVF{nlist},PQ96": ivf(f"IVF{nlist},PQ96"),
        f"OPQ48,IVF{nlist},PQ48 + exact re-rank of 4k": ivf(f"OPQ48,IVF{nlist},PQ48,Refine(Flat)"),
    }


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, truth, strict=True)]))


def main() -> None:
    import faiss

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "reviewqa-bench-build")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    vectors, queries = real_vectors(args.work_dir)
    print(f"{len(vectors)} vectors, {len(queries)} queries", file=sys.stderr, flush=True)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, K)
    rows = [
        f"{len(vectors):,} real vectors (COVID-QA passages and sentences), {len(queries):,} real questions, "
        f"k={K}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        "| index | bytes per vector | build s | probe | recall@10 |",
        "|---|---|---|---|---|",
        f"| flat (exact) | {vectors.shape[1] * 4} | – | – | 1 |",
    ]
    for name, make in candidates(vectors.shape[1], len(vectors)).items():
        index = make()
        started = time.perf_counter()
        index.train(vectors)
        index.add(vectors)
        build_s = time.perf_counter() - started
        per_vector = faiss.serialize_index(index).nbytes / len(vectors)
        ivf = faiss.try_extract_index_ivf(index) if "IVF" in name else None
        probes = [ivf.nlist // 64, ivf.nlist // 16, ivf.nlist // 4] if ivf is not None else [None]
        for nprobe in probes:
            if ivf is not None:
                ivf.nprobe = max(1, nprobe)
                if "Refine" in type(index).__name__:
                    index.k_factor = 4
            _, found = index.search(queries, K)
            probe = f"nprobe {max(1, nprobe)} of {ivf.nlist}" if ivf is not None else "efSearch 128"
            figures = f"{per_vector:,.0f} | {build_s:.1f} | {probe} | {recall(found, truth):.3f}"
            rows.append(f"| {name} | {figures} |")
            print(rows[-1], file=sys.stderr, flush=True)  # progress
    print("\n".join(rows))


if __name__ == "__main__":
    main()
