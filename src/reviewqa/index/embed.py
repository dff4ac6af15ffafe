"""Sentence embeddings from a local sentence-transformers model directory (offline), with torch or
onnxruntime (int8)."""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reviewqa.errors import ReviewqaError
from reviewqa.fileio import file_sha256
from reviewqa.index.onnx_model import mean_pool

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from reviewqa.index.onnx_model import OnnxEmbedder

log = logging.getLogger(__name__)


class ModelNotFoundError(ReviewqaError):
    """The configured embedding model directory cannot be loaded."""


def model_name(model_path: str) -> str:
    """A readable model name: the model directory's name, or its parent's for packaged models."""
    path = Path(model_path)
    return path.parent.name if path.name == "model" else path.name


EMBED_BACKENDS = ("torch", "onnx-int8")


def cores() -> int:
    """The cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class Encoder:
    """Encodes texts to L2-normalised float32 vectors with the ``torch`` (sentence-transformers, fp32)
    or ``onnx-int8`` backend (:mod:`reviewqa.index.onnx_model`, the int8 file at ``onnx_path``).

    ``threads`` bounds the backend's intra-op threads (0: every core). One short query gains little from
    many threads, and the service runs one process per core, so query-time encoders use one thread; a
    build uses every core.
    """

    model_path: str
    batch_size: int = 64
    threads: int = 0  # 0: every core
    backend: str = "torch"
    onnx_path: Path | None = None
    _model: SentenceTransformer | None = field(default=None, init=False, repr=False)
    _onnx: OnnxEmbedder | None = field(default=None, init=False, repr=False)
    _space: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.backend not in EMBED_BACKENDS:
            raise ValueError(f"unknown embedding backend {self.backend!r}: use {' or '.join(EMBED_BACKENDS)}")
        if self.backend == "onnx-int8" and self.onnx_path is None:
            raise ValueError("the onnx-int8 backend needs the path of its int8 model")

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self._model = load_model(self.model_path)
        return self._model

    @property
    def onnx(self) -> OnnxEmbedder:
        if self._onnx is None:
            from reviewqa.index.onnx_model import OnnxEmbedder

            check_model_dir(self.model_path)
            assert self.onnx_path is not None
            self._onnx = OnnxEmbedder(self.onnx_path, self.model_path, self.threads or cores())
        return self._onnx

    @property
    def dimension(self) -> int:
        if self.backend == "onnx-int8":
            return self.onnx.dimension
        model = self.model
        # sentence-transformers 6 renamed the method (the old name warns).
        dimension_of = (
            getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        )
        dim = dimension_of()
        if dim is None:  # pragma: no cover - every pooling model reports it
            dim = int(self.model.encode(["x"]).shape[1])
        return int(dim)

    @property
    def space(self) -> str:
        """Names the vector space: equal for two encoders exactly when they give the same vectors
        (backend, and the digest of the weights they run); the key of cached vectors."""
        if self._space is None:
            if self.backend == "onnx-int8":
                assert self.onnx_path is not None
                self._space = f"onnx-int8:{file_sha256(self.onnx_path)[:32]}"
            else:
                weights = sorted(Path(self.model_path).glob("*.safetensors")) or sorted(
                    Path(self.model_path).glob("*.bin")
                )
                digest = ",".join(file_sha256(path)[:32] for path in weights) or model_name(self.model_path)
                self._space = f"torch:{digest}"
        return self._space

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend == "onnx-int8":
            return self._encode_onnx(texts, progress)
        self._apply_threads()
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_onnx(self, texts: list[str], progress: bool) -> np.ndarray:
        """One text per run. Dynamic int8 quantisation scales activations per tensor, so in a batch a
        text's vector would depend on its batch-mates (cosine 0.987 to the text alone at batch 64);
        alone, a text always gets the same vector, needs no padding, and ran fastest here too
        (docs/indexing.md)."""
        encodings = self.onnx.tokenize(texts)
        rows = range(len(texts))
        if progress:
            from tqdm import tqdm

            rows = tqdm(rows, desc="Texts", unit="text")
        vectors = [mean_pool(*self.onnx.token_vectors([encodings[i]]))[0] for i in rows]
        return np.stack(vectors)

    def _apply_threads(self) -> None:
        import torch

        wanted = self.threads or cores()
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)


@dataclass
class _QueryRequest:
    """One caller's texts, and what the batch that encoded them produced."""

    texts: list[str]
    vectors: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


class QueryBatcher:
    """Encodes the queries of concurrent callers together, in one ``encode`` call.

    Encoding a batch of 4-8 short queries costs about half as much per query as encoding each alone, and
    a service thread answering a question spends most of its time there. Callers queue their texts; when
    no batch is being encoded, the first caller to notice becomes the leader: it takes every waiting
    request (up to ``max_batch`` texts), encodes them, hands each caller its rows and wakes them. Callers
    that arrive meanwhile wait for that batch to end and form the next one. A lone caller therefore
    encodes at once (no window, no sleep); batches form only when callers would have queued anyway.

    One batch is encoded at a time per batcher, i.e. per loaded index (per service worker process).
    An error raised while encoding reaches every caller of that batch, and the batcher stays usable.
    """

    def __init__(self, encode: Callable[[list[str]], np.ndarray], max_batch: int = 16) -> None:
        self._encode = encode
        self.max_batch = max(1, max_batch)
        self._changed = threading.Condition()  # guards everything below
        self._waiting: deque[_QueryRequest] = deque()
        self._encoding = False
        self.batches = 0  # encode calls made (for tests and benchmarks)
        self.texts_encoded = 0

    @property
    def waiting(self) -> int:
        """Requests queued and not yet taken into a batch."""
        with self._changed:
            return len(self._waiting)

    def encode(self, texts: list[str]) -> np.ndarray:
        """The vectors of ``texts`` (rows in order), possibly encoded in a batch with other callers'."""
        if len(texts) >= self.max_batch:  # already a full batch: nothing to gain by waiting
            return self._encode(list(texts))
        request = _QueryRequest(list(texts))
        with self._changed:
            self._waiting.append(request)
            while True:
                while self._encoding and not request.done:
                    self._changed.wait()
                if request.done:
                    break
                # No batch is running and ours is still queued: lead the next one (it includes ours
                # unless max_batch texts queued before it; then we lead or join the one after).
                batch = self._take_batch()
                self._encoding = True
                self._changed.release()
                try:
                    self._encode_batch(batch)
                finally:
                    self._changed.acquire()
        if request.error is not None:
            raise _own_copy(request.error)
        assert request.vectors is not None
        return request.vectors

    def _take_batch(self) -> list[_QueryRequest]:
        """Waiting requests in arrival order, up to max_batch texts (at least one request)."""
        batch = [self._waiting.popleft()]
        size = len(batch[0].texts)
        while self._waiting and size + len(self._waiting[0].texts) <= self.max_batch:
            size += len(self._waiting[0].texts)
            batch.append(self._waiting.popleft())
        return batch

    def _encode_batch(self, batch: list[_QueryRequest]) -> None:
        """Encode ``batch`` without holding the lock, then publish rows or the error and wake everyone."""
        texts = [text for request in batch for text in request.texts]
        rows: list[np.ndarray] = []
        error: BaseException | None = None
        try:
            vectors = self._encode(texts)
            if len(vectors) != len(texts):
                raise RuntimeError(f"the encoder returned {len(vectors)} vectors for {len(texts)} texts")
            start = 0
            for request in batch:
                end = start + len(request.texts)
                rows.append(np.array(vectors[start:end], dtype=np.float32))  # each caller owns its rows
                start = end
        except BaseException as exc:  # every waiting caller must hear of any failure, or it waits forever
            error = exc
        with self._changed:
            for position, request in enumerate(batch):
                request.vectors = rows[position] if error is None else None
                request.error = error
                request.done = True
            self._encoding = False
            self.batches += 1
            self.texts_encoded += len(texts)
            self._changed.notify_all()


def _own_copy(error: BaseException) -> BaseException:
    """A copy of ``error`` for one caller: threads re-raising one object would rewrite its traceback."""
    try:
        twin = copy.copy(error)
    except Exception:
        return error
    return twin.with_traceback(error.__traceback__)


def check_model_dir(model_path: str) -> Path:
    """``model_path`` as a Path if it holds a model; ModelNotFoundError (saying what to do) if not."""
    path = Path(model_path) if model_path else None
    if path is None or (not (path / "modules.json").exists() and not (path / "config.json").exists()):
        raise ModelNotFoundError(
            f"embedding model not found at {model_path!r}: set model_path to a local "
            "sentence-transformers model directory, then run `reviewqa index`"
        )
    return path


def load_model(model_path: str) -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory never needs the hub
    path = check_model_dir(model_path)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # The weight-loading progress bar is noise on every CLI call and service start.
    transformers_logging.disable_progress_bar()
    log.info("loading embedding model %s", model_path)
    try:
        return SentenceTransformer(str(path), device="cpu")
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"cannot load embedding model at {model_path}: {exc}") from exc
