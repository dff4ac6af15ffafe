"""Update `corpus/documents.toml` without clobbering entries other tools or the user wrote.

Reading it (and its path) belongs to the corpus stage: `reviewqa.corpus.metadata`.

Updates take an exclusive lock, re-read the file, merge, and replace it atomically, so two refs commands
running at once cannot lose each other's entries and the corpus stage never reads half a file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w

from reviewqa.errors import ReviewqaError
from reviewqa.fileio import atomic_write_text

logger = logging.getLogger(__name__)

HEADER = "# Metadata per document, keyed by its path relative to corpus/documents/ (see corpus/README.md).\n"


class DocumentTableError(ReviewqaError):
    """documents.toml cannot be read or updated."""


def update_document_entries(path: Path, updates: Mapping[str, Mapping[str, Any]]) -> None:
    """Merge ``updates`` field by field into the entries of ``path``; other entries and fields are kept."""
    if not updates:
        return
    with _locked(path):
        data = _read(path)
        documents = data.setdefault("documents", {})
        if not isinstance(documents, dict):
            raise DocumentTableError(f"{path}: 'documents' must be a table of tables")
        new_tables: dict[str, dict[str, Any]] = {}
        for name, fields in updates.items():
            clean = {field: value for field, value in fields.items() if value not in (None, "")}
            if name not in documents:
                new_tables[name] = clean
            entry = documents.setdefault(name, {})
            if not isinstance(entry, dict):
                raise DocumentTableError(f"{path}: documents.{name!r} must be a table")
            entry.update(clean)
        atomic_write_text(path, _merged_text(path, data, new_tables))


def _merged_text(path: Path, merged: dict[str, Any], new_tables: dict[str, dict[str, Any]]) -> str:
    """The new file text: the old text with the new tables appended when that gives the merged data
    (keeping the user's comments and layout), else the whole table rewritten."""
    old_text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if new_tables:
        appended = old_text.rstrip("\n") + "\n\n" + tomli_w.dumps({"documents": new_tables})
        try:
            if tomllib.loads(appended) == merged:
                return appended
        except tomllib.TOMLDecodeError:
            logger.debug("appending to %s would not parse; rewriting it", path)
    elif tomllib.loads(old_text) == merged:
        return old_text
    return HEADER + "\n" + tomli_w.dumps(merged)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        # Never overwrite a file we cannot parse: the user's entries would be lost.
        raise DocumentTableError(f"{path} is not valid TOML ({exc}); fix it before running this") from exc
    except OSError as exc:
        raise DocumentTableError(f"cannot read {path}: {exc}") from exc


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the folder holding ``path`` (the file itself is replaced, so cannot hold it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(folder, fcntl.LOCK_UN)
        os.close(folder)
