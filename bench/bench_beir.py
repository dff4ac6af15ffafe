"""BEIR retrieval benchmark (SciFact): nDCG@10 and Recall@100 for dense, BM25 and hybrid search.

    .venv/bin/python bench/bench_beir.py ../shared/benchmarks/scifact-beir
    .venv/bin/python bench/bench_beir.py ../shared/benchmarks/scifact-beir --split train --sweep

The same as `reviewqa bench beir DATASET`; ``--sweep`` also scores hybrid search over a grid of fusion
settings (RRF k, dense weight), meant for the train split so that the test split stays unseen.
Document embeddings are cached in the system temp dir (``--cache-dir``) between runs.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from reviewqa.index.beir import build_beir_index, evaluate, format_table, load_beir, run_beir
from reviewqa.index.build_vectors import build_encoder
from reviewqa.settings import Settings

RRF_KS = (10, 30, 60, 100)
DENSE_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)


def sweep(settings: Settings, dataset_dir: Path, split: str, cache_dir: Path) -> str:
    dataset = load_beir(dataset_dir, split)
    encoder = build_encoder(settings)
    with tempfile.TemporaryDirectory(prefix="reviewqa-beir-") as index_dir:
        index, _ = build_beir_index(settings, dataset, cache_dir, Path(index_dir), encoder)
    index.query_cache.capacity = max(index.query_cache.capacity, len(dataset.queries))
    index.embed_queries([index.expand_query(q) for q in dataset.queries.values()])
    variants = [settings.replace(fusion="rrf", rrf_k=k) for k in RRF_KS]
    variants += [settings.replace(fusion="weighted", dense_weight=w) for w in DENSE_WEIGHTS]
    lines = [
        f"hybrid fusion sweep on {dataset.name} {split} ({len(dataset.queries)} queries)",
        "",
        "| fusion | nDCG@10 | Recall@100 |",
        "|---|---|---|",
    ]
    for variant in variants:
        index.settings = variant
        figures = evaluate(index, dataset, "hybrid")
        label = (
            f"rrf k={variant.rrf_k}"
            if variant.fusion == "rrf"
            else f"weighted w_dense={variant.dense_weight}"
        )
        lines.append(f"| {label} | {figures['ndcg@10']:.3f} | {figures['recall@100']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "dataset", type=Path, help="A BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/)."
    )
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "reviewqa-bench-cache"
    )
    parser.add_argument("--sweep", action="store_true", help="Score a grid of fusion settings instead.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.load()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    if args.sweep:
        print(sweep(settings, args.dataset, args.split, args.cache_dir))
    else:
        report = run_beir(
            settings, args.dataset, split=args.split, cache_dir=args.cache_dir, fusions=("rrf", "weighted")
        )
        print(format_table(report))


if __name__ == "__main__":
    main()
