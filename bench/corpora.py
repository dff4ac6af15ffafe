"""Corpora for the indexing benchmarks (not a benchmark itself): the review as shipped, and COVID-QA.

For COVID-QA it writes the articles of the chosen splits as .txt documents into a corpus folder, so the normal
``reviewqa index`` path indexes them, and scores passage retrieval: evidence@k is the share of questions
for which one of the top k passages contains the gold answer span (case and whitespace ignored).
The fuller COVID-QA benchmark of the answer stage (``reviewqa bench covidqa``) is the ``answers``
branch's; this one only needs retrieval and sentence choice.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewqa.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchIndex

COVIDQA_DIR = PROJECT_ROOT.parent / "shared" / "benchmarks" / "covidqa"


@dataclass(frozen=True)
class CovidQuestion:
    id: str
    document: str
    question: str
    answer: str


def flat(text: str) -> str:
    return " ".join(text.lower().split())


def write_corpus(documents_dir: Path, splits: Sequence[str] = ("train", "dev")) -> int:
    """Write each article of ``splits`` as ``<document>.txt``; returns the number written."""
    documents_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    with (COVIDQA_DIR / "articles.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            article = json.loads(line)
            if article["split"] in splits:
                (documents_dir / f"{article['document']}.txt").write_text(article["text"], encoding="utf-8")
                written += 1
    return written


def covidqa_project(root: Path, **changes: object) -> Settings:
    """Settings of a project under ``root`` whose corpus holds the train and dev articles."""
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", **changes)
    if not settings.documents_dir.is_dir():
        write_corpus(settings.documents_dir)
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
    questions = []
    with (COVIDQA_DIR / "questions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["split"] == split and row["answer"].strip():
                questions.append(CovidQuestion(row["id"], row["document"], row["question"], row["answer"]))
    return questions


def evidence_at_k(index: SearchIndex, questions: Sequence[CovidQuestion], k: int = 5) -> float:
    """Share of questions with the gold span inside one of the top ``k`` passages (hybrid search)."""
    hits = 0
    for question in questions:
        answer = flat(question.answer)
        ranked = index.search(question.question, k=k, mode=index.settings.search_mode)
        hits += any(answer in flat(hit.passage.text) for hit in ranked)
    return hits / len(questions) if questions else 0.0
