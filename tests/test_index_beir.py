"""The BEIR benchmark code on a tiny dataset in BEIR's format (the real run is in docs/benchmarks.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewqa.index.beir import BenchmarkDataError, format_table, load_beir, run_beir
from reviewqa.index.embed import Encoder, ModelNotFoundError
from reviewqa.settings import Settings

DOCS = {
    "d1": ("Insulin receptor isoforms", "INSR-A binds IGF2 with high affinity in breast cancer cells."),
    "d2": ("Growth hormone", "Growth hormone raises hepatic IGF1 production in adults."),
    "d3": ("Mammography", "Screening mammography detects tumours before metastatic spread."),
    "d4": ("Letrozole", "BMS-754807 was combined with letrozole in a phase II trial."),
}
QUERIES = {
    "q1": "Which isoform INSR-A binds IGF2?",
    "q2": "BMS-754807 with letrozole",
    "q9": "unjudged query",
}
QRELS = [("q1", "d1", 1), ("q2", "d4", 1)]


def write_beir(root: Path) -> Path:
    root.mkdir()
    (root / "qrels").mkdir()
    with (root / "corpus.jsonl").open("w") as fh:
        for doc_id, (title, text) in DOCS.items():
            fh.write(json.dumps({"_id": doc_id, "title": title, "text": text, "metadata": {}}) + "\n")
    with (root / "queries.jsonl").open("w") as fh:
        for query_id, text in QUERIES.items():
            fh.write(json.dumps({"_id": query_id, "text": text, "metadata": {}}) + "\n")
    rows = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{s}" for q, d, s in QRELS)]
    (root / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_loader_keeps_only_judged_queries(tmp_path: Path) -> None:
    dataset = load_beir(write_beir(tmp_path / "tiny"), "test")
    assert set(dataset.queries) == {"q1", "q2"} and len(dataset.corpus) == 4
    assert dataset.qrels["q1"] == {"d1": 1}


def test_missing_files_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkDataError, match=r"corpus\.jsonl"):
        load_beir(tmp_path, "test")


@pytest.mark.slow
def test_benchmark_scores_every_mode_and_caches_embeddings(tmp_path: Path) -> None:
    dataset = write_beir(tmp_path / "tiny")
    cache = tmp_path / "cache"
    settings = Settings.load(index_dir=tmp_path / "index")
    report = run_beir(settings, dataset, cache_dir=cache, fusions=("rrf",))
    assert set(report["results"]) == {"bm25", "dense", "hybrid (weighted)", "hybrid (rrf)"}
    assert report["results"]["bm25"]["ndcg@10"] == pytest.approx(1.0)  # exact drug and isoform codes
    assert all(0.0 <= r["ndcg@10"] <= 1.0 for r in report["results"].values())
    assert len(list(cache.glob("*.npy"))) == 1 and report["embed_seconds"] > 0
    again = run_beir(settings, dataset, cache_dir=cache)
    assert again["embed_seconds"] == 0.0  # document vectors came from the cache
    assert again["results"]["dense"] == report["results"]["dense"]
    assert "| bm25 | 1.000 |" in format_table(report)


def test_unknown_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="model_path"):
        Encoder(str(tmp_path / "no-model")).encode(["text"])
