"""BM25 over the biomedical tokenizer, with the maintained ``bm25s`` library."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reviewqa.index.tokenize import BiomedicalTokenizer

log = logging.getLogger(__name__)


@dataclass
class Bm25Index:
    retriever: object  # bm25s.BM25
    tokenizer: BiomedicalTokenizer

    @classmethod
    def build(cls, texts: list[str], tokenizer: BiomedicalTokenizer) -> Bm25Index:
        import bm25s

        # bm25s sets its own logger to DEBUG; its per-build messages are noise on the command line.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        retriever = bm25s.BM25()
        # Every document gets at least one token so bm25s keeps document ids aligned with ours.
        corpus_tokens = [tokenizer(text) or [""] for text in texts]
        retriever.index(corpus_tokens, show_progress=False)
        return cls(retriever, tokenizer)

    @classmethod
    def load(cls, directory: Path, tokenizer: BiomedicalTokenizer) -> Bm25Index:
        import bm25s

        retriever = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        return cls(retriever, tokenizer)

    def save(self, directory: Path) -> None:
        self.retriever.save(str(directory), show_progress=False)  # type: ignore[attr-defined]

    @property
    def size(self) -> int:
        return int(self.retriever.scores["num_docs"])  # type: ignore[attr-defined]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (zeros when no query token is indexed)."""
        vocab: dict[str, int] = self.retriever.vocab_dict  # type: ignore[attr-defined]
        ids = [vocab[t] for t in self.tokenizer(query) if t in vocab and t]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores_from_ids(ids), dtype=np.float32)  # type: ignore[attr-defined]
