"""Embedding throughput and quality: torch fp32 vs onnx int8, same texts, same process.

    .venv/bin/python bench/bench_embed.py                      # speed on 512 COVID-QA passages
    .venv/bin/python bench/bench_embed.py --pool               # + process pool vs onnxruntime threads
    .venv/bin/python bench/bench_embed.py --quality            # + SciFact, review and COVID-QA deltas

Speed: each backend encodes the same passages ("heading. text", as indexed) one after the other, three
rounds interleaved, best round kept: on one thread, passages per CPU-second of this process (per-core
throughput, what the goal of >= 1.5x is about) and on every core, passages per wall second. The machine
is shared, so the load average is printed beside the figures, and CPU-time ratios are the ones to trust.

``--pool``: onnx int8 on every core as one process with onnxruntime's intra-op threads, against a
process pool of one single-threaded session per core (wall, and CPU of the parent and the children).

``--quality``: retrieval with each backend, everything else equal: BEIR SciFact test nDCG@10 (dense and
hybrid), the review's evidence hit@5 from ``reviewqa eval`` (answer passages, all gold questions, and
dev), COVID-QA dev evidence@5 (hybrid search over an index of the train+dev articles; sentence vectors
are not built, retrieval does not use them). Vectors are cached in ``--work-dir`` between runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from corpora import covidqa_project, evidence_at_k, load_questions, review_project
from measure import load_average

from reviewqa.index.build_vectors import build_encoder
from reviewqa.index.embed import Encoder, cores
from reviewqa.index.store import retrieval_text
from reviewqa.settings import PROJECT_ROOT, Settings

log = logging.getLogger("bench_embed")
BACKENDS = ("torch", "onnx-int8")
SCIFACT = PROJECT_ROOT.parent / "shared" / "benchmarks" / "scifact-beir"


def sample_texts(work_dir: Path, count: int) -> list[str]:
    """``count`` COVID-QA passages spread over the corpus, as the index embeds them."""
    from reviewqa.corpus import ingest, ingested_fingerprint, load_passages

    settings = covidqa_project(work_dir / "covidqa")
    if ingested_fingerprint(settings) is None:
        ingest(settings)
    passages = load_passages(settings)
    step = max(1, len(passages) // count)
    return [retrieval_text(p) for p in passages[::step][:count]]


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its reaped children)."""

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    wall, before = time.perf_counter(), cpu()
    run()
    return time.perf_counter() - wall, cpu() - before


def speed(settings: Settings, texts: list[str], rounds: int) -> list[str]:
    encoders = {
        (backend, threads): build_encoder(settings.replace(embed_backend=backend), threads=threads)
        for backend in BACKENDS
        for threads in (1, cores())
    }
    vectors = {key: encoder.encode(texts) for key, encoder in encoders.items()}  # warm-up, and parity
    best: dict[tuple[str, int], tuple[float, float]] = {}
    for _ in range(rounds):
        for key, encoder in encoders.items():
            wall, cpu = timed(lambda encoder=encoder: encoder.encode(texts))
            if key not in best or cpu < best[key][1]:
                best[key] = (wall, cpu)
    n = len(texts)
    torch_1, onnx_1 = best[("torch", 1)], best[("onnx-int8", 1)]
    torch_n, onnx_n = best[("torch", cores())], best[("onnx-int8", cores())]
    cosines = np.sum(vectors[("torch", 1)] * vectors[("onnx-int8", 1)], axis=1)
    rows = [
        f"{n} COVID-QA passages, batch {settings.embed_batch_size}, best of {rounds} rounds; "
        f"load average {load_average()}",
        "",
        "| measure | torch fp32 | onnx int8 | int8 / fp32 |",
        "|---|---|---|---|",
        f"| passages per CPU-second, 1 thread (per core) | {n / torch_1[1]:.1f} | {n / onnx_1[1]:.1f} "
        f"| {torch_1[1] / onnx_1[1]:.2f}x |",
        f"| CPU ms per passage, 1 thread | {1000 * torch_1[1] / n:.1f} | {1000 * onnx_1[1] / n:.1f} | |",
        f"| passages per wall second, 1 thread | {n / torch_1[0]:.1f} | {n / onnx_1[0]:.1f} "
        f"| {torch_1[0] / onnx_1[0]:.2f}x |",
        f"| passages per wall second, {cores()} threads | {n / torch_n[0]:.1f} | {n / onnx_n[0]:.1f} "
        f"| {torch_n[0] / onnx_n[0]:.2f}x |",
        f"| CPU ms per passage, {cores()} threads | {1000 * torch_n[1] / n:.1f} "
        f"| {1000 * onnx_n[1] / n:.1f} | |",
        "",
        f"cosine int8 to fp32 per passage: min {cosines.min():.4f}, mean {cosines.mean():.4f}, "
        f"share >= 0.98: {np.mean(cosines >= 0.98):.3f}",
    ]
    return rows


_POOL_ENCODER: Encoder | None = None


def _pool_init(model_path: str, onnx_path: str, batch_size: int) -> None:
    global _POOL_ENCODER
    _POOL_ENCODER = Encoder(model_path, batch_size, threads=1, backend="onnx-int8", onnx_path=Path(onnx_path))
    _POOL_ENCODER.encode(["warm-up"])


def _pool_encode(texts: list[str]) -> np.ndarray:
    assert _POOL_ENCODER is not None
    return _POOL_ENCODER.encode(texts)


def pool(settings: Settings, texts: list[str]) -> list[str]:
    """One process with intra-op threads vs a pool of single-threaded processes, same texts."""
    threaded = build_encoder(settings.replace(embed_backend="onnx-int8"), threads=cores())
    threaded.encode(texts[:8])
    wall_t, cpu_t = timed(lambda: threaded.encode(texts))
    ordered = sorted(texts, key=len, reverse=True)
    chunks = [
        ordered[i : i + settings.embed_batch_size] for i in range(0, len(ordered), settings.embed_batch_size)
    ]
    args = (settings.model_path, str(threaded.onnx_path), settings.embed_batch_size)

    def run_pool() -> None:
        with ProcessPoolExecutor(cores(), initializer=_pool_init, initargs=args) as executor:
            list(executor.map(_pool_encode, chunks))

    wall_p, cpu_p = timed(run_pool)
    n = len(texts)
    return [
        f"onnx int8 on {cores()} cores, {n} passages; load average {load_average()}",
        "",
        "| how | wall s | passages per wall s | CPU s (incl. children) |",
        "|---|---|---|---|",
        f"| 1 process, {cores()} intra-op threads | {wall_t:.2f} | {n / wall_t:.1f} | {cpu_t:.2f} |",
        f"| pool of {cores()} processes x 1 thread (incl. start-up) | {wall_p:.2f} | {n / wall_p:.1f} "
        f"| {cpu_p:.2f} |",
    ]


def quality(settings: Settings, work_dir: Path) -> list[str]:
    rows = [
        "| benchmark | torch fp32 | onnx int8 | delta |",
        "|---|---|---|---|",
    ]
    figures = {backend: quality_of(settings.replace(embed_backend=backend), work_dir) for backend in BACKENDS}
    for name in figures["torch"]:
        fp32, int8 = figures["torch"][name], figures["onnx-int8"][name]
        rows.append(f"| {name} | {fp32:.4f} | {int8:.4f} | {int8 - fp32:+.4f} |")
    return [f"retrieval quality per backend; load average {load_average()}", "", *rows]


def quality_of(settings: Settings, work_dir: Path) -> dict[str, float]:
    from reviewqa.index.beir import run_beir

    log.info("quality with the %s backend", settings.embed_backend)
    figures: dict[str, float] = {}
    scifact = run_beir(settings, SCIFACT, split="test", cache_dir=work_dir / "scifact")
    figures["SciFact test nDCG@10, dense"] = scifact["results"]["dense"]["ndcg@10"]
    figures["SciFact test nDCG@10, hybrid"] = scifact["results"][f"hybrid ({settings.fusion})"]["ndcg@10"]
    figures.update(review_evidence(settings, work_dir))
    figures["COVID-QA dev evidence@5, hybrid"] = covidqa_evidence(settings, work_dir)
    return figures


def review_evidence(settings: Settings, work_dir: Path) -> dict[str, float]:
    from reviewqa.eval.gold import gold_path, load_gold
    from reviewqa.eval.runner import run_eval
    from reviewqa.index import build_index, load_index

    review = review_project(work_dir / f"review-{settings.embed_backend}", eval_dir=settings.eval_dir)
    build_index(review)
    index = load_index(review)
    questions = load_gold(gold_path(settings.eval_dir))
    figures = {}
    for split in ("dev", "all"):
        run = run_eval(review, index, split, questions=questions, progress=False)
        figures[f"review evidence hit@5 (reviewqa eval, {split})"] = run.summary["retrieval"]["hit@5"]
    return figures


def covidqa_evidence(settings: Settings, work_dir: Path) -> float:
    """Hybrid evidence@5 on dev questions over an index of train+dev articles (passages only)."""
    from reviewqa.corpus import (
        corpus_fingerprint,
        ingest,
        ingested_fingerprint,
        load_documents,
        load_passages,
    )
    from reviewqa.index.search import open_index
    from reviewqa.index.store import write_index

    project = covidqa_project(work_dir / "covidqa", embed_backend=settings.embed_backend)
    if ingested_fingerprint(project) != corpus_fingerprint(project):
        ingest(project)
    passages, documents = load_passages(project), load_documents(project)
    # Its own index folder, so its vector cache does not prune the full index's sentence vectors.
    retrieval = project.replace(index_dir=work_dir / "covidqa-retrieval")
    directory = retrieval.index_dir / settings.embed_backend
    directory.mkdir(parents=True, exist_ok=True)
    write_index(directory, retrieval, passages, documents, "bench", embed_sentences=False)
    return evidence_at_k(open_index(directory, retrieval), load_questions("dev"), k=5)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=512, help="COVID-QA passages to embed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool", action="store_true", help="also compare a process pool")
    parser.add_argument("--quality", action="store_true", help="also compute the retrieval quality deltas")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "reviewqa-bench-embed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings.load()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    texts = sample_texts(args.work_dir, args.texts)
    sections = [speed(settings, texts, args.rounds)]
    if args.pool:
        sections.append(pool(settings, texts))
    if args.quality:
        sections.append(quality(settings, args.work_dir))
    print("\n\n".join("\n".join(section) for section in sections))


if __name__ == "__main__":
    main()
