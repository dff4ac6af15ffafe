"""The COVID-QA benchmark's corpus and index: its articles written as a reviewqa corpus, ingested and indexed
by the project's own code, cached under a folder so that reruns reuse the index.

``articles.jsonl`` holds CORD-19 articles as distributed: title, URL, SHA, authors, date, DOI, licence, then
"Abstract: ..." and "Text: ...". Every article of the train and dev splits is indexed together (the test split
is withheld and never read), so retrieval must find the right article among all of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reviewqa.errors import ReviewqaError
from reviewqa.settings import Settings

log = logging.getLogger(__name__)

ARTICLES = "articles.jsonl"
QUESTIONS = "questions.jsonl"
INDEXED_SPLITS = ("train", "dev")  # never "test": it is withheld


class BenchmarkDataError(ReviewqaError):
    """A benchmark folder that lacks or garbles its files."""


@dataclass(frozen=True)
class CovidQuestion:
    id: str
    split: str
    document: str
    question: str
    answer: str
    answer_start: int


def load_articles(directory: Path) -> list[dict[str, Any]]:
    rows = _read_jsonl(directory / ARTICLES)
    return [row for row in rows if row.get("split") in INDEXED_SPLITS]


def load_questions(directory: Path, split: str) -> list[CovidQuestion]:
    """The questions of ``split`` (train or dev; the test split is withheld and refused)."""
    if split not in INDEXED_SPLITS:
        raise BenchmarkDataError(f"split must be one of {', '.join(INDEXED_SPLITS)}, not {split!r}")
    rows = _read_jsonl(directory / QUESTIONS)
    try:
        return [
            CovidQuestion(
                str(r["id"]), r["split"], r["document"], r["question"], r["answer"], int(r["answer_start"])
            )
            for r in rows
            if r.get("split") == split
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise BenchmarkDataError(f"{directory / QUESTIONS}: a row lacks a field ({exc})") from exc


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BenchmarkDataError(f"{path} not found: is {path.parent} the COVID-QA benchmark folder?")
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise BenchmarkDataError(f"{path} is not JSON lines: {exc}") from exc


def corpus_settings(settings: Settings, cache_dir: Path) -> Settings:
    """Settings whose corpus and index live in ``cache_dir`` (the same chunking and model as configured)."""
    root = cache_dir / "covidqa"
    return settings.replace(corpus_dir=root / "corpus", index_dir=root / "index")


def write_corpus(settings: Settings, articles: list[dict[str, Any]]) -> int:
    """Write each article as ``<document>.txt``; files whose text is unchanged are left alone (so the
    corpus fingerprint, and with it the built index, stays valid). Returns how many files were written."""
    documents = settings.documents_dir
    documents.mkdir(parents=True, exist_ok=True)
    # As distributed: ingest reads the CORD-19 header (URL, SHA, authors, date, DOI, licence) as document
    # metadata, never as text, and the "Abstract:"/"Text:" parts as sections.
    wanted = {f"{a['document']}.txt": a["text"] for a in articles}
    written = 0
    for name, text in wanted.items():
        path = documents / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written += 1
    for stale in documents.glob("*.txt"):
        if stale.name not in wanted:
            stale.unlink()
    return written


SAVE_EVERY = 2048


class CachedEncoder:
    """An encoder that remembers vectors by text (sha256), on disk, so a rebuild after a change to a few
    passages or sentences embeds only those. Same interface as ``Encoder``."""

    def __init__(self, encoder: Any, cache_file: Path) -> None:
        self.encoder = encoder
        self.cache_file = cache_file
        self._vectors: dict[str, np.ndarray] = {}
        if cache_file.exists():
            data = np.load(cache_file, allow_pickle=False)
            self._vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items())
        if missing:
            log.info("embedding %d of %d texts (the rest cached)", len(missing), len(texts))
        for begin in range(0, len(missing), SAVE_EVERY):  # saved as it goes: a long build may be stopped
            chunk = missing[begin : begin + SAVE_EVERY]
            vectors = self.encoder.encode([t for _, t in chunk], progress=progress)
            self._vectors.update(zip((k for k, _ in chunk), vectors, strict=True))
            self._save()
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)

    def _save(self) -> None:
        keys = np.array(list(self._vectors))
        vectors = np.stack(list(self._vectors.values()))
        partial = self.cache_file.with_suffix(".partial.npz")
        np.savez(partial, keys=keys, vectors=vectors)
        partial.replace(self.cache_file)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)


def build_corpus_index(settings: Settings, directory: Path, cache_dir: Path, *, derived_writers=None):
    """The loaded index of the benchmark's articles (built unless an up-to-date one is cached)."""
    from reviewqa.index import build_index, load_index
    from reviewqa.index.embed import Encoder, model_name

    corpus = corpus_settings(settings, cache_dir)
    written = write_corpus(corpus, load_articles(directory))
    if written:
        log.info("%d article files written", written)
    cache_name = re.sub(r"\W+", "-", model_name(settings.model_path)) + "-vectors.npz"
    encoder = CachedEncoder(
        Encoder(settings.model_path, batch_size=settings.embed_batch_size), cache_dir / cache_name
    )
    manifest = build_index(corpus, encoder=encoder, derived_writers=derived_writers)
    if derived_writers and any(
        (manifest.get("derived") or {}).get(name, {}).get("version") != getattr(writer, "version", None)
        for name, writer in derived_writers.items()
    ):
        # The corpus is unchanged but the derived statistics are of an older version: rebuild (the vectors
        # come from the cache, so this takes a minute, not the half hour of embedding).
        build_index(corpus, force=True, encoder=encoder, derived_writers=derived_writers)
    return corpus, load_index(corpus)
