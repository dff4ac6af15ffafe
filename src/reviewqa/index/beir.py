"""Retrieval quality on a BEIR dataset (SciFact), with the same index code as the review.

Each BEIR document becomes one passage, title as its heading, so the index embeds and BM25-indexes
"title. text" exactly as it does "heading. passage" for the review. Whole abstracts (not chunks) keep the
figures comparable with the published ones, which embed whole documents (truncated at the model's
256 word pieces). Document embeddings are cached on disk between runs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reviewqa.errors import ReviewqaError
from reviewqa.index.build_vectors import build_encoder
from reviewqa.index.embed import Encoder, model_name
from reviewqa.index.metrics import mean, ndcg_at_k, recall_at_k
from reviewqa.index.search import SearchIndex, open_index
from reviewqa.index.store import retrieval_text, write_index
from reviewqa.models import Passage, Sentence
from reviewqa.settings import Settings

log = logging.getLogger(__name__)

PUBLISHED_NDCG10 = {"bm25": 0.665, "dense": 0.645}  # BEIR paper Table 2 (BM25); MTEB (all-MiniLM-L6-v2)
CUTOFF_NDCG = 10
CUTOFF_RECALL = 100


class BenchmarkDataError(ReviewqaError):
    """A BEIR dataset folder that lacks or garbles its files."""


@dataclass
class BeirDataset:
    name: str
    corpus: list[dict[str, str]]  # {"_id", "title", "text"}
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade
    corpus_path: Path


def load_beir(directory: Path, split: str) -> BeirDataset:
    corpus_path = directory / "corpus.jsonl"
    qrels_path = directory / "qrels" / f"{split}.tsv"
    for path in (corpus_path, directory / "queries.jsonl", qrels_path):
        if not path.is_file():
            raise BenchmarkDataError(f"{path} not found: is {directory} a BEIR dataset folder?")
    try:
        corpus = [json.loads(line) for line in corpus_path.open(encoding="utf-8") if line.strip()]
        all_queries = [json.loads(line) for line in (directory / "queries.jsonl").open(encoding="utf-8")]
        qrels: dict[str, dict[str, int]] = {}
        with qrels_path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    except (json.JSONDecodeError, KeyError, ValueError) as exc:
        raise BenchmarkDataError(f"cannot read the BEIR dataset in {directory}: {exc}") from exc
    queries = {q["_id"]: q["text"] for q in all_queries if q["_id"] in qrels}
    return BeirDataset(directory.name, corpus, queries, qrels, corpus_path)


def beir_passages(corpus: list[dict[str, str]]) -> list[Passage]:
    passages = []
    for doc in corpus:
        text = doc.get("text") or ""
        title = (doc.get("title") or "").strip()
        passages.append(
            Passage(
                passage_id=doc["_id"],
                document=doc["_id"],
                section=[title] if title else [],
                page=None,
                start=0,
                end=len(text),
                text=text,
                sentences=[Sentence(0, len(text), text)],
                cited_works=[],
            )
        )
    return passages


def build_beir_index(
    settings: Settings, dataset: BeirDataset, cache_dir: Path, index_dir: Path, encoder: Encoder
) -> tuple[SearchIndex, float]:
    """The index of the dataset in ``index_dir`` and the seconds spent embedding documents (0 if cached).

    Only the document vectors are cached: the rest of the index is rebuilt each run in seconds.
    """
    passages = beir_passages(dataset.corpus)
    vectors_path = cache_dir / f"{dataset.name}-{_cache_key(encoder, dataset)}.npy"
    embed_seconds = 0.0
    if vectors_path.exists():
        vectors = np.load(vectors_path, allow_pickle=False)
        log.info("document embeddings from cache %s", vectors_path)
    else:
        started = time.perf_counter()
        vectors = encoder.encode([retrieval_text(p) for p in passages], progress=True)
        embed_seconds = time.perf_counter() - started
        np.save(vectors_path, vectors, allow_pickle=False)
    # Every document of SciFact fits the exact index; the dense kind follows the settings as usual.
    write_index(
        index_dir,
        settings,
        passages,
        [],
        dataset.name,
        encoder=encoder,
        passage_vectors=vectors,
        embed_sentences=False,
    )
    index = open_index(index_dir, settings)
    index.encoder = encoder
    return index, embed_seconds


def _cache_key(encoder: Encoder, dataset: BeirDataset) -> str:
    stat = dataset.corpus_path.stat()
    text = f"{encoder.space}|{stat.st_size}|{stat.st_mtime_ns}|heading+text|v1"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def evaluate(index: SearchIndex, dataset: BeirDataset, mode: str) -> dict[str, float]:
    ndcgs, recalls = [], []
    for query_id, text in dataset.queries.items():
        hits = index.search(text, k=CUTOFF_RECALL, mode=mode)
        ranked = [hit.passage.passage_id for hit in hits]
        ndcgs.append(ndcg_at_k(ranked, dataset.qrels[query_id], CUTOFF_NDCG))
        recalls.append(recall_at_k(ranked, dataset.qrels[query_id], CUTOFF_RECALL))
    return {"ndcg@10": round(mean(ndcgs), 4), "recall@100": round(mean(recalls), 4)}


def run_beir(
    settings: Settings,
    directory: Path,
    *,
    split: str = "test",
    cache_dir: Path | None = None,
    fusions: Sequence[str] = (),
) -> dict[str, Any]:
    """nDCG@10 and Recall@100 for dense, BM25 and hybrid (the configured fusion, plus ``fusions``)."""
    dataset = load_beir(directory, split)
    cache_dir = cache_dir or Path(tempfile.gettempdir()) / "reviewqa-bench-cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    encoder = build_encoder(settings)
    with tempfile.TemporaryDirectory(prefix="reviewqa-beir-") as index_dir:
        index, embed_seconds = build_beir_index(settings, dataset, cache_dir, Path(index_dir), encoder)
    # Embed all (expanded) queries in one batch; search() then finds them in the index's query cache.
    index.query_cache.capacity = max(index.query_cache.capacity, len(dataset.queries))
    index.embed_queries([index.expand_query(q) for q in dataset.queries.values()])

    rows: dict[str, dict[str, float]] = {}
    for mode in ("bm25", "dense", "hybrid"):
        started = time.perf_counter()
        rows[f"{mode} ({settings.fusion})" if mode == "hybrid" else mode] = evaluate(index, dataset, mode)
        log.info("%s evaluated in %.1f s", mode, time.perf_counter() - started)
    for fusion in fusions:
        if fusion == settings.fusion:
            continue
        index.settings = settings.replace(fusion=fusion)
        rows[f"hybrid ({fusion})"] = evaluate(index, dataset, "hybrid")
    index.settings = settings
    return {
        "dataset": dataset.name,
        "split": split,
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "model": f"{model_name(settings.model_path)} ({settings.embed_backend})",
        "settings": {
            "fusion": settings.fusion,
            "rrf_k": settings.rrf_k,
            "dense_weight": settings.dense_weight,
            "fusion_depth": settings.fusion_depth,
        },
        "embed_seconds": round(embed_seconds, 1),
        "results": rows,
        "published_ndcg@10": PUBLISHED_NDCG10,
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['dataset']} ({report['split']}: {report['queries']} queries, "
        f"{report['documents']} documents), model {report['model']}",
        "",
        "| mode | nDCG@10 | Recall@100 | published nDCG@10 |",
        "|---|---|---|---|",
    ]
    for mode, figures in report["results"].items():
        published = report["published_ndcg@10"].get(mode.split(" ")[0])
        shown = f"{published:.3f}" if published is not None and not mode.startswith("hybrid") else "–"
        lines.append(f"| {mode} | {figures['ndcg@10']:.3f} | {figures['recall@100']:.3f} | {shown} |")
    return "\n".join(lines)
