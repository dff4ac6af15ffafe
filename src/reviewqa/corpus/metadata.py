"""``corpus/documents.toml``: optional metadata per document (title, authors, year, kind, key, outline)."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from reviewqa.errors import CorpusError
from reviewqa.models import SECTION_SEPARATOR, DocumentKind

logger = logging.getLogger(__name__)

KINDS: tuple[DocumentKind, ...] = ("review", "source")
SOURCES_FOLDER = "sources"
KNOWN_FIELDS = {"title", "authors", "year", "kind", "key", "outline"}


@dataclass
class DocumentMeta:
    """Metadata of one document; the outline lists section paths ("Parent > Child") in reading order."""

    title: str = ""
    authors: str = ""
    year: int | None = None
    kind: DocumentKind = "review"
    key: str | None = None
    outline: list[tuple[str, ...]] = field(default_factory=list)


def documents_toml_path(corpus_dir: Path) -> Path:
    return corpus_dir / "documents.toml"


def load_document_table(path: Path) -> dict[str, dict[str, Any]]:
    """The ``[documents."<relative path>"]`` tables; {} when the file is absent."""
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CorpusError(f"{path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc}") from exc
    documents = data.get("documents", {})
    if not isinstance(documents, dict) or not all(isinstance(v, dict) for v in documents.values()):
        raise CorpusError(f'{path}: expected tables like [documents."igf1r-review.txt"]')
    return documents


def document_meta(relative_path: str, entry: dict[str, Any] | None, toml_path: Path) -> DocumentMeta:
    """Metadata for ``relative_path`` (posix, relative to documents/), defaults filled in."""
    entry = entry or {}
    where = f'{toml_path} [documents."{relative_path}"]'
    unknown = set(entry) - KNOWN_FIELDS
    if unknown:
        logger.warning("%s: ignoring unknown fields %s", where, ", ".join(sorted(unknown)))
    kind = entry.get("kind", default_kind(relative_path))
    if kind not in KINDS:
        raise CorpusError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    year = entry.get("year")
    if year is not None and not isinstance(year, int):
        try:
            year = int(str(year))
        except ValueError as exc:
            raise CorpusError(f"{where}: year must be a number, got {year!r}") from exc
    key = entry.get("key")
    return DocumentMeta(
        title=_text_field(entry, "title", where),
        authors=_text_field(entry, "authors", where),
        year=year,
        kind=kind,
        key=str(key).strip() if key else None,
        outline=_outline(entry.get("outline", []), where),
    )


def default_kind(relative_path: str) -> DocumentKind:
    parts = PurePosixPath(relative_path).parts
    return "source" if len(parts) > 1 and parts[0] == SOURCES_FOLDER else "review"


def _text_field(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry.get(name, "")
    if isinstance(value, list):  # authors may be given as a list of names
        value = ", ".join(str(v) for v in value)
    if not isinstance(value, str | int):
        raise CorpusError(f"{where}: {name} must be text, got {value!r}")
    return str(value).strip()


def _outline(raw: Any, where: str) -> list[tuple[str, ...]]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise CorpusError(f'{where}: outline must be a list of section paths like "Parent > Child"')
    paths = []
    for item in raw:
        path = tuple(part.strip() for part in " ".join(item.split()).split(SECTION_SEPARATOR) if part.strip())
        if path:
            paths.append(path)
    return paths
