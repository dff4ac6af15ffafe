"""An ingest reads again only the documents that changed since the last one (file, documents.toml entry,
chunk settings); the others come from the last ingest's artifacts, the same as if they had been read."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from reviewqa.corpus.ingest import DOCUMENTS_FILE, PASSAGES_FILE, ingest
from reviewqa.settings import Settings

ingest_module = importlib.import_module("reviewqa.corpus.ingest")

ARTICLE = (
    "Section {n}\n\nThe trial number {n} enrolled {n}0 patients. Its primary end point was met in {n} arms.\n"
)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files ingest reads (the documents not taken from the last ingest)."""
    names: list[str] = []
    read_document = ingest_module.read_document

    def counting(path: Path, *args: object, **kwargs: object):
        names.append(path.name)
        return read_document(path, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "read_document", counting)
    return names


def test_only_changed_documents_are_read_again(empty_settings: Settings, reads: list[str]) -> None:
    settings = empty_settings
    for n in (1, 2, 3):
        (settings.documents_dir / f"a{n}.txt").write_text(ARTICLE.format(n=n), encoding="utf-8")
    first = ingest(settings)
    passages = (settings.index_dir / PASSAGES_FILE).read_bytes()
    documents = (settings.index_dir / DOCUMENTS_FILE).read_bytes()
    assert sorted(reads) == ["a1.txt", "a2.txt", "a3.txt"]

    reads.clear()
    again = ingest(settings)
    assert reads == []
    assert again.summary() == first.summary()
    assert (settings.index_dir / PASSAGES_FILE).read_bytes() == passages
    assert (settings.index_dir / DOCUMENTS_FILE).read_bytes() == documents

    (settings.documents_dir / "a2.txt").write_text(ARTICLE.format(n=7), encoding="utf-8")
    (settings.documents_dir / "a4.txt").write_text(ARTICLE.format(n=4), encoding="utf-8")
    (settings.documents_dir / "a3.txt").unlink()
    ingest(settings)
    assert sorted(reads) == ["a2.txt", "a4.txt"]
    text = (settings.index_dir / PASSAGES_FILE).read_text(encoding="utf-8")
    assert "trial number 7" in text and "trial number 3" not in text

    reads.clear()
    (settings.corpus_dir / "documents.toml").write_text('[documents."a1.txt"]\ntitle = "First"\n')
    ingest(settings)
    assert reads == ["a1.txt"]

    reads.clear()
    ingest(settings.replace(chunk_tokens=100))
    assert sorted(reads) == ["a1.txt", "a2.txt", "a4.txt"]
