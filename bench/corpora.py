"""Corpora for the indexing benchmarks (not a benchmark itself): the review as shipped, and COVID-QA.

For COVID-QA it writes the train and dev articles as .txt documents into a corpus folder, so the normal
``reviewqa index`` path indexes them, and scores passage retrieval: evidence@k is the share of questions
for which one of the top k passages contains the gold answer span (case and whitespace ignored).
The articles and questions are read as ``reviewqa bench covidqa`` (the answer stage's benchmark) reads
them; the indexing benchmarks only need retrieval and sentence choice.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reviewqa.eval import covidqa_corpus
from reviewqa.eval.covidqa_corpus import CovidQuestion
from reviewqa.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchIndex

COVIDQA_DIR = PROJECT_ROOT.parent / "shared" / "benchmarks" / "covidqa"


def flat(text: str) -> str:
    return " ".join(text.lower().split())


def write_corpus(settings: Settings) -> int:
    """Write each train and dev article as ``<document>.txt`` into the project's documents folder, as
    `reviewqa bench covidqa` does; returns the number written."""
    return covidqa_corpus.write_corpus(settings, covidqa_corpus.load_articles(COVIDQA_DIR))


def covidqa_project(root: Path, **changes: object) -> Settings:
    """Settings of a project under ``root`` whose corpus holds the train and dev articles."""
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", **changes)
    if not settings.documents_dir.is_dir():
        write_corpus(settings)
    return settings


def review_project(root: Path, **changes: object) -> Settings:
    """Settings of a project under ``root`` holding the review, its metadata and bibliography as shipped
    (the gold questions are read from the project's eval folder)."""
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", **changes)
    if not settings.documents_dir.is_dir():
        shipped = PROJECT_ROOT / "corpus"
        settings.documents_dir.mkdir(parents=True)
        shutil.copy(shipped / "documents" / "igf1r-review.txt", settings.documents_dir)
        for name in ("documents.toml", "references.tsv"):
            shutil.copy(shipped / name, settings.corpus_dir / name)
    return settings


def load_questions(split: str = "dev") -> list[CovidQuestion]:
    """The questions of ``split`` that have an answer span."""
    return [q for q in covidqa_corpus.load_questions(COVIDQA_DIR, split) if q.answer.strip()]


def evidence_at_k(index: SearchIndex, questions: Sequence[CovidQuestion], k: int = 5) -> float:
    """Share of questions with the gold span inside one of the top ``k`` passages (hybrid search)."""
    hits = 0
    for question in questions:
        answer = flat(question.answer)
        ranked = index.search(question.question, k=k, mode=index.settings.search_mode)
        hits += any(answer in flat(hit.passage.text) for hit in ranked)
    return hits / len(questions) if questions else 0.0
