"""What a build embeds and how: the encoder for the configured backend, cached vectors reused by content,
the rest embedded in length-sorted chunks with a labelled progress bar, and the manifest's record of it.

Queries must be embedded in the vector space of the index: :func:`query_encoder` takes the backend from
the manifest, and an index of the ``onnx-int8`` backend carries its own copy of the int8 model
(``embed_model.onnx``, hard-linked from the export cache when it can be), so it never depends on what the
export cache holds later.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reviewqa.fileio import file_mode, file_sha256
from reviewqa.index.embed import Encoder, cores
from reviewqa.index.onnx_model import RECIPE, int8_model, max_seq_length
from reviewqa.index.vector_cache import VectorCache
from reviewqa.settings import Settings

log = logging.getLogger(__name__)

EMBED_MODEL = "embed_model.onnx"  # the int8 model inside an onnx-int8 index
CHUNK_TEXTS = 256  # texts per progress update and cache commit
POOL_MIN_TEXTS = 256  # fewer texts than this are embedded in-process (a pool takes a second to start)


def onnx_cache_dir(settings: Settings) -> Path:
    """Where exported int8 models are kept: in the environment (one export per install, shared by every
    index, test and benchmark), or in the index folder when the environment is read-only."""
    shared = Path(sys.prefix) / "share" / "reviewqa" / "onnx"
    with contextlib.suppress(OSError):
        shared.mkdir(parents=True, exist_ok=True)
    return shared if os.access(shared, os.W_OK) else settings.index_dir / "onnx-models"


def build_encoder(settings: Settings, threads: int = 0) -> Encoder:
    """The encoder of a build with the configured backend (the int8 model exported on first use);
    ``threads`` 0: ``embed_workers``, or every core."""
    threads = threads or settings.embed_workers or cores()
    onnx_path = None
    if settings.embed_backend == "onnx-int8":
        onnx_path = int8_model(settings.model_path, onnx_cache_dir(settings))
    return Encoder(
        settings.model_path,
        batch_size=settings.embed_batch_size,
        threads=threads,
        backend=settings.embed_backend,
        onnx_path=onnx_path,
    )


def built_backend(manifest: dict[str, Any]) -> str:
    """The backend an index was embedded with (indexes older than the setting used torch)."""
    embedding = manifest.get("embedding")
    return str(embedding.get("backend", "torch")) if isinstance(embedding, dict) else "torch"


def query_encoder(settings: Settings, directory: Path, manifest: dict[str, Any]) -> Encoder:
    """An encoder for queries in the vector space of the index in ``directory`` (``query_threads``)."""
    backend = built_backend(manifest)
    return Encoder(
        settings.model_path,
        batch_size=settings.embed_batch_size,
        threads=settings.query_threads,
        backend=backend,
        onnx_path=directory / EMBED_MODEL if backend == "onnx-int8" else None,
    )


def encoder_fits(encoder: Encoder, manifest: dict[str, Any]) -> bool:
    """Whether ``encoder`` (e.g. the previous build's, or another collection's, reused on reload) embeds in
    this index's space: the same backend and model, and for int8 the same exported file."""
    backend = built_backend(manifest)
    if encoder.backend != backend or encoder.model_path != (manifest.get("model") or {}).get("path"):
        return False
    if backend == "torch":
        return True
    try:
        return encoder.space == f"onnx-int8:{str(manifest['embedding'].get('model_sha256', ''))[:32]}"
    except OSError:  # its model file is gone (an old build removed): load this index's own
        return False


def embedding_change(settings: Settings, manifest: dict[str, Any]) -> str:
    """Why the index's vectors no longer fit the settings ("" if they do)."""
    built = built_backend(manifest)
    if built != settings.embed_backend:
        return f"it was embedded with the {built} backend and embed_backend is now {settings.embed_backend}"
    return ""


@dataclass
class EmbedCounts:
    """Texts to embed, and how many of them the encoder actually ran on (the rest came from the cache)."""

    total: dict[str, int] = field(default_factory=dict)
    embedded: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {what: {"texts": n, "embedded": self.embedded.get(what, 0)} for what, n in self.total.items()}


@contextlib.contextmanager
def vector_cache(settings: Settings, encoder: Encoder, dimension: int) -> Iterator[VectorCache | None]:
    """The index folder's vector cache (None when ``embed_cache_builds`` is 0), pruned after the build."""
    if settings.embed_cache_builds == 0:
        yield None
        return
    cache = VectorCache.for_index(settings.index_dir, encoder.space, dimension)
    try:
        yield cache
        cache.finish_build(settings.embed_cache_builds)
    finally:
        cache.close()


@dataclass
class _Texts:
    """Texts of one kind to vectorise: those the cache had (by position) and the distinct others."""

    what: str
    texts: list[str]
    found: dict[int, np.ndarray]
    missing: list[str]
    embedded: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def look_up(cls, what: str, texts: list[str], cache: VectorCache | None) -> _Texts:
        found = cache.get_many(texts) if cache is not None else {}
        missing = list(dict.fromkeys(text for i, text in enumerate(texts) if i not in found))
        missing.sort(key=len, reverse=True)  # length buckets; longest first keeps the ETA on the safe side
        return cls(what, texts, found, missing)

    def embed(
        self,
        encode: Callable[[list[str]], np.ndarray],
        cache: VectorCache | None,
        done: dict[str, np.ndarray],
        on_chunk: Callable[[int], None] | None = None,
    ) -> int:
        """Embed the missing texts not in ``done`` (embedded earlier in this build), in chunks committed
        to the cache as they finish (an interrupted build keeps its work), under a labelled progress
        bar; ``on_chunk(count)`` hears of each chunk; returns how many were embedded."""
        self.embedded.update({text: done[text] for text in self.missing if text in done})
        todo = [text for text in self.missing if text not in done]
        with _progress(len(todo), self.what, len(self.texts) - len(todo)) as bar:
            for start in range(0, len(todo), CHUNK_TEXTS):
                part = todo[start : start + CHUNK_TEXTS]
                vectors = encode(part)
                if cache is not None:
                    cache.put_many(part, vectors)
                self.embedded.update(zip(part, vectors, strict=True))
                bar.update(len(part))
                if on_chunk is not None:
                    on_chunk(len(part))
        return len(todo)

    def vectors(self, dimension: int) -> np.ndarray:
        if not self.texts:
            return np.zeros((0, dimension), dtype=np.float32)
        rows = (self.found[i] if i in self.found else self.embedded[t] for i, t in enumerate(self.texts))
        return np.stack(list(rows))


@contextlib.contextmanager
def _progress(total: int, what: str, reused: int) -> Iterator[Any]:
    from tqdm import tqdm

    label = f"embedding {total:,} {what}" + (f" ({reused:,} cached or repeated)" if reused else "")
    log.info("%s", label)
    with tqdm(total=total, desc=label, unit=what.rstrip("s") or "text", disable=total == 0) as bar:
        yield bar


def install_model(encoder: Encoder, directory: Path) -> None:
    """Put the int8 model the index was embedded with into the index folder: a hard link to the export
    cache's file, or when that is on another file system to a sibling build's identical copy, so one
    index folder holds one physical copy however many builds it keeps; copied only as a last resort."""
    if encoder.backend != "onnx-int8" or encoder.onnx_path is None:
        return
    target = directory / EMBED_MODEL
    mode = file_mode()  # what the build's other files get; a link keeps its source's mode
    with contextlib.suppress(OSError):
        if encoder.onnx_path.stat().st_mode & 0o777 == mode:
            os.link(encoder.onnx_path, target)
            return
    for sibling in sorted(directory.parent.glob(f"*/{EMBED_MODEL}")):
        with contextlib.suppress(OSError):
            # The mode first: it is a stat, the checksum reads the whole file.
            if (
                sibling.stat().st_mode & 0o777 == mode
                and encoder.space == f"onnx-int8:{file_sha256(sibling)[:32]}"
            ):
                os.link(sibling, target)
                return
    shutil.copyfile(encoder.onnx_path, target)


def embedding_manifest(encoder: Encoder, counts: EmbedCounts, sentence_vectors: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "backend": encoder.backend,
        "max_seq_length": max_seq_length(encoder.model_path),
        "batch_size": encoder.batch_size,
        "sentence_vectors": sentence_vectors,
        "counts": counts.to_dict(),
    }
    if encoder.backend == "onnx-int8" and encoder.onnx_path is not None:
        record.update(model_file=EMBED_MODEL, model_sha256=file_sha256(encoder.onnx_path), recipe=RECIPE)
    return record


@dataclass
class IndexVectors:
    passages: np.ndarray
    sentences: np.ndarray
    counts: EmbedCounts
    sentence_method: str


def embed_for_index(
    settings: Settings,
    encoder: Encoder,
    passage_texts: list[str],
    sentence_texts: list[str] | None,
    passage_vectors: np.ndarray | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> IndexVectors:
    """The vectors of a build: passages (unless given) and distinct sentences (unless None), through
    the vector cache; ``progress(done, total)`` hears how many of the texts to embed are done."""
    counts = EmbedCounts()
    dimension = int(passage_vectors.shape[1]) if passage_vectors is not None else encoder.dimension
    if passage_vectors is not None and sentence_texts is None:  # nothing to embed (benchmarks)
        return IndexVectors(passage_vectors, np.zeros((0, dimension), np.float32), counts, "none")
    with vector_cache(settings, encoder, dimension) as cache:
        wanted = {"passages": passage_texts if passage_vectors is None else None, "sentences": sentence_texts}
        jobs = [_Texts.look_up(what, texts, cache) for what, texts in wanted.items() if texts is not None]
        done: dict[str, np.ndarray] = {}
        to_embed = len({text for job in jobs for text in job.missing})  # a text of both kinds: once
        on_chunk = _progress_counter(progress, to_embed)
        with embedding_runner(encoder, sum(len(job.missing) for job in jobs)) as encode:
            for job in jobs:
                counts.total[job.what] = len(job.texts)
                counts.embedded[job.what] = job.embed(encode, cache, done, on_chunk)
                done.update(job.embedded)
    vectors = {job.what: job.vectors(dimension) for job in jobs}
    return IndexVectors(
        vectors.get("passages", passage_vectors),
        vectors.get("sentences", np.zeros((0, dimension), dtype=np.float32)),
        counts,
        "embedded alone",
    )


def _progress_counter(
    progress: Callable[[int, int], None] | None, total: int
) -> Callable[[int], None] | None:
    """``progress(done, total)`` told at once (0 done) and then after each chunk, from chunk sizes."""
    if progress is None:
        return None
    done = 0

    def on_chunk(count: int) -> None:
        nonlocal done
        done += count
        progress(done, total)

    progress(0, total)
    return on_chunk


@contextlib.contextmanager
def embedding_runner(encoder: Encoder, texts: int) -> Iterator[Callable[[list[str]], np.ndarray]]:
    """How a build runs the encoder: for onnx-int8 with several cores and enough texts, a pool of
    single-threaded processes, one per core (on 2 cores: 1.3x the throughput of one process with 2
    onnxruntime threads, for 0.6x its CPU time; docs/indexing.md); otherwise the encoder itself, torch
    with one intra-op thread per core."""
    workers = encoder.threads or cores()
    if encoder.backend != "onnx-int8" or workers < 2 or texts < POOL_MIN_TEXTS:
        yield encoder.encode
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    arguments = (encoder.model_path, str(encoder.onnx_path))
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=arguments
    ) as pool:

        def encode(texts: list[str]) -> np.ndarray:
            # Texts arrive sorted by length: dealt round-robin, each worker gets as many tokens.
            shares = [texts[i::workers] for i in range(workers)]
            results = list(pool.map(_worker_encode, shares))
            vectors = np.empty((len(texts), results[0].shape[1]), dtype=np.float32)
            for i, result in enumerate(results):
                vectors[i::workers] = result
            return vectors

        yield encode


_WORKER_ENCODER: Encoder | None = None  # one per pool worker process


def _start_worker(model_path: str, onnx_path: str) -> None:
    global _WORKER_ENCODER
    _exit_with_parent()
    _WORKER_ENCODER = Encoder(model_path, threads=1, backend="onnx-int8", onnx_path=Path(onnx_path))


def _exit_with_parent() -> None:
    """Stop this worker once the build process is gone (a killed build must not leave workers embedding
    its queued chunks): a daemon thread watches for the worker being re-parented."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _worker_encode(texts: list[str]) -> np.ndarray:
    assert _WORKER_ENCODER is not None
    return _WORKER_ENCODER.encode(texts)
