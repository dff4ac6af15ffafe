"""The COVID-QA benchmark's corpus and index: its articles written as a reviewqa corpus, ingested and indexed
by the project's own code, cached under a folder so that reruns reuse the index.

``articles.jsonl`` holds CORD-19 articles as distributed: title, URL, SHA, authors, date, DOI, licence, then
"Abstract: ..." and "Text: ...". Every article of the train and dev splits is indexed together (the test split
is withheld and never read), so retrieval must find the right article among all of them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def build_corpus_index(settings: Settings, directory: Path, cache_dir: Path, *, derived_writers=None):
    """The loaded index of the benchmark's articles (built unless an up-to-date one is cached)."""
    from reviewqa.index import build_index, load_index

    corpus = corpus_settings(settings, cache_dir)
    written = write_corpus(corpus, load_articles(directory))
    if written:
        log.info("%d article files written", written)
    # Embedded with the configured backend, as any index; the index folder's own vector cache
    # (``index/embed-cache``) makes a rebuild after a code change re-embed only the texts that changed.
    build_index(corpus, derived_writers=derived_writers)
    return corpus, load_index(corpus)
