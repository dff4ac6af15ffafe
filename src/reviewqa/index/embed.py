"""Sentence embeddings from a local sentence-transformers model directory (offline)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reviewqa.errors import ReviewqaError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


class ModelNotFoundError(ReviewqaError):
    """The configured embedding model directory cannot be loaded."""


def model_name(model_path: str) -> str:
    """A readable model name: the model directory's name, or its parent's for packaged models."""
    path = Path(model_path)
    return path.parent.name if path.name == "model" else path.name


@dataclass
class Encoder:
    """Encodes texts to L2-normalised float32 vectors; ``threads`` bounds torch's intra-op threads.

    One short query gains little from many threads, and the service runs one process per core, so
    query-time encoders use one thread; a build uses every core.
    """

    model_path: str
    batch_size: int = 64
    threads: int = 0  # 0: every core
    _model: SentenceTransformer | None = field(default=None, init=False, repr=False)

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self._model = load_model(self.model_path)
        return self._model

    @property
    def dimension(self) -> int:
        dim = self.model.get_sentence_embedding_dimension()
        if dim is None:  # pragma: no cover - every pooling model reports it
            dim = int(self.model.encode(["x"]).shape[1])
        return int(dim)

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._apply_threads()
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _apply_threads(self) -> None:
        import torch

        wanted = self.threads or os.cpu_count() or 1
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)


def load_model(model_path: str) -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory never needs the hub
    path = Path(model_path) if model_path else None
    if path is None or (not (path / "modules.json").exists() and not (path / "config.json").exists()):
        raise ModelNotFoundError(
            f"embedding model not found at {model_path!r}: set model_path to a local "
            "sentence-transformers model directory, then run `reviewqa index`"
        )
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # The weight-loading progress bar is noise on every CLI call and service start.
    transformers_logging.disable_progress_bar()
    log.info("loading embedding model %s", model_path)
    try:
        return SentenceTransformer(str(path), device="cpu")
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"cannot load embedding model at {model_path}: {exc}") from exc
