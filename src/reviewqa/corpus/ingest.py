"""``ingest``: read every document under corpus/documents/, clean, split, cite and chunk it, and write the
corpus artifacts the index stage reads.

Writes into ``settings.index_dir``: ``passages.jsonl`` (one ``Passage.to_dict()`` per line),
``documents.json`` (document metadata, no text), ``cited_works.json`` (sorted distinct keys cited by the
review documents), ``clean/<doc_id>.txt`` (the cleaned text all offsets index into) and ``ingest.json``
(the corpus fingerprint these artifacts were made from).

A document whose file, ``documents.toml`` entry, reader and chunk settings are those of the last ingest is
taken from the artifacts of that ingest instead of being read again (adding one PDF to a collection reads
that PDF alone); its record carries the key of what it was made from (``reuse_key``).

They are written together, as one transaction: into ``ingested/.building-<id>/``, which is renamed to
``ingested/<id>/`` and made current by replacing the symlink ``ingested/current`` in one rename. The five
names in ``index/`` are fixed symlinks into ``ingested/current/``, so they all change at once or not at
all; a failed run (disk full, permissions) leaves the previous artifacts as they were.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm import tqdm

from reviewqa.corpus.chunking import build_passages, document_sentences
from reviewqa.corpus.cleaning import CleanedText, clean_layout, clean_pages, clean_parts
from reviewqa.corpus.frontmatter import read_front_matter
from reviewqa.corpus.hygiene import name_reason, outside_reason
from reviewqa.corpus.metadata import DocumentMeta, document_meta, documents_toml_path, load_document_table
from reviewqa.corpus.publisher_pdf import prepare_pdf
from reviewqa.corpus.readers import READERS, RawDocument, Reader, UnreadableDocumentError, read_document
from reviewqa.corpus.references import CitationLinker, ReferenceList, parse_reference_lists
from reviewqa.errors import CorpusError
from reviewqa.fileio import (
    STAGING_PREFIX,
    exclusive_lock,
    file_sha256,
    fsync_tree,
    new_version_name,
    remove_temporary_links,
    remove_unfinished_versions,
    replace_symlink,
    storage_error,
    swap_in_version,
)
from reviewqa.logsafe import log_safe
from reviewqa.models import Document, Passage
from reviewqa.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

# Bump when cleaning, splitting, citation or chunking rules change, so built indexes count as stale.
CORPUS_FORMAT_VERSION = (
    "4"  # 4: front matter of plain-text articles read as metadata; doi, journal, licence, url
)
PASSAGES_FILE = "passages.jsonl"
DOCUMENTS_FILE = "documents.json"
CITED_WORKS_FILE = "cited_works.json"
INGEST_FILE = "ingest.json"
CLEAN_FOLDER = "clean"
INGESTED_FOLDER = "ingested"  # versions of the artifacts, and the symlink ``current`` to the one in use
# Every artifact, as a fixed link in index/ into ingested/current/; ingest.json last: when a run that moves
# an older index/ (plain files) to links is cut short, the old fingerprint makes the next build ingest again.
ARTIFACTS = (PASSAGES_FILE, DOCUMENTS_FILE, CITED_WORKS_FILE, CLEAN_FOLDER, INGEST_FILE)
UNCHANGED = "the previous corpus artifacts are unchanged"
PROGRESS_MIN_DOCUMENTS = 5
PROGRESS_MIN_PAGES = 20  # a shorter PDF is read in a second or two; a bar for it would only flicker


@dataclass
class SkippedDocument:
    path: str  # relative to corpus/documents/
    reason: str


@dataclass
class IngestResult:
    documents: list[dict[str, Any]]
    passages: int
    sentences: int
    sections: int
    pages: int
    cited_works: list[str]
    skipped: list[SkippedDocument] = field(default_factory=list)
    fingerprint: str = ""

    def summary(self) -> str:
        return (
            f"{len(self.documents)} documents, {self.pages} pages, {self.sections} sections, "
            f"{self.sentences} sentences, {self.passages} passages, {len(self.cited_works)} cited works"
        )


@dataclass
class _Ingested:
    document: Document
    cleaned: CleanedText
    passages: list[Passage]
    sentences: int
    references: ReferenceList
    linker: CitationLinker
    reading: dict[str, Any] = field(default_factory=dict)  # how the document was read, for the report


@dataclass
class _Written:
    """One document as the artifacts hold it: its record in documents.json, its passages, its clean text."""

    record: dict[str, Any]
    passages: list[Passage]
    text: str

    @classmethod
    def of(cls, item: _Ingested, reuse_key: str) -> _Written:
        return cls({**_document_record(item), "reuse_key": reuse_key}, item.passages, item.document.text)


def ingest(
    settings: Settings,
    *,
    progress: bool = False,
    readers: Mapping[str, Reader] | None = None,
    on_document: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Ingest the corpus of ``settings`` and write its artifacts; unreadable or empty files are skipped
    with a warning. Raises ``CorpusError`` when there is nothing to ingest. ``on_document(done, total)`` is
    called as documents are read (background jobs report it)."""
    readers = READERS if readers is None else readers
    documents_dir = settings.documents_dir
    files, refused = scan_documents(documents_dir, readers)
    skipped = [_skip(item.path, item.reason) for item in refused]
    if not files:
        raise CorpusError(f"no documents to ingest in {documents_dir} (expected .txt or .pdf files)")
    digests = {path: file_sha256(path) for path in files}  # for the fingerprint and the reuse keys
    fingerprint = corpus_fingerprint(settings, readers=readers, digests=digests)
    toml_path = documents_toml_path(settings.corpus_dir)
    table = load_document_table(toml_path)
    _warn_unmatched_entries(table, files, documents_dir, toml_path)
    count_tokens = token_counter(settings.encoding)
    earlier = _earlier_documents(settings)

    ingested: list[_Written] = []
    seen_ids: dict[str, str] = {}
    show_progress = progress and len(files) >= PROGRESS_MIN_DOCUMENTS
    for done, path in enumerate(tqdm(files, desc="ingest", unit="doc", disable=not show_progress)):
        if on_document is not None:
            on_document(done, len(files))
        relative = path.relative_to(documents_dir).as_posix()
        doc_id = document_id(relative)
        if doc_id in seen_ids:
            skipped.append(_skip(relative, f"same document id as {seen_ids[doc_id]}; rename one of them"))
            continue
        seen_ids[doc_id] = relative
        key = reuse_key(settings, readers, path, relative, table.get(relative), digests[path])
        reused = earlier[relative].reuse(settings, key) if relative in earlier else None
        if reused is not None:
            ingested.append(reused)
            continue
        meta = document_meta(relative, table.get(relative), toml_path)
        with _PageProgress(relative, enabled=progress) as pages:
            try:
                raw = read_document(path, readers, on_page=pages.update)
            except UnreadableDocumentError as exc:
                skipped.append(_skip(relative, str(exc)))
                continue
            pages.processing()
            result = _ingest_document(relative, raw, meta, settings, count_tokens)
        if result is None:
            skipped.append(_skip(relative, "empty document (no text to index)"))
            continue
        ingested.append(_Written.of(result, key))
    if not ingested:
        raise CorpusError(f"none of the {len(files)} files in {documents_dir} could be ingested")
    return _write_outputs(settings, ingested, skipped, fingerprint)


def check_document(
    settings: Settings, path: Path, relative: str, *, on_page: Callable[[int, int], None] | None = None
) -> int:
    """Read, clean and chunk the one file ``path`` as it would be ingested under the name ``relative``, and
    return how many passages it gives; CorpusError saying why when it gives none (unreadable, no text
    layer, empty). Nothing is written: a document is checked before it joins a corpus."""
    toml_path = documents_toml_path(settings.corpus_dir)
    meta = document_meta(relative, load_document_table(toml_path).get(relative), toml_path)
    try:
        raw = read_document(path, READERS, on_page=on_page)
    except UnreadableDocumentError as exc:
        raise CorpusError(str(exc).replace(str(path), relative)) from exc
    result = _ingest_document(relative, raw, meta, settings, token_counter(settings.encoding))
    if result is None or not result.passages:
        raise CorpusError(f"{relative} has no text to index (empty, or only front matter)")
    return len(result.passages)


class _PageProgress:
    """A page bar for one long document, opened at its first page once the page count is known, so short
    documents and plain text (one unnumbered page) print nothing."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.bar: tqdm | None = None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            if not self.enabled or total < PROGRESS_MIN_PAGES:
                return
            self.bar = tqdm(total=total, desc=self.label, unit="page", leave=False)
        self.bar.update(done - self.bar.n)

    def processing(self) -> None:
        if self.bar is not None:  # reading is done; cleaning and chunking take the rest of the time
            self.bar.set_postfix_str("cleaning, splitting, chunking")

    def __enter__(self) -> _PageProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.close()


def discover_documents(documents_dir: Path, readers: Mapping[str, Reader] | None = None) -> list[Path]:
    """Readable files under ``documents_dir`` (subfolders too), hidden ones left out, in a stable order;
    without the files ``scan_documents`` refuses."""
    return scan_documents(documents_dir, readers)[0]


def scan_documents(
    documents_dir: Path, readers: Mapping[str, Reader] | None = None
) -> tuple[list[Path], list[SkippedDocument]]:
    """The files to ingest and those refused, with the reason: symlinks that resolve outside
    ``documents_dir`` (a link to /etc/passwd must not become searchable) and names with control characters
    (a newline in a name gives passage ids the API cannot serve). Nothing is logged here: health probes
    scan the folder too; ``ingest`` warns about each refused file."""
    readers = READERS if readers is None else readers
    if not documents_dir.is_dir():
        raise CorpusError(f"the documents folder {documents_dir} does not exist")
    files: list[Path] = []
    refused: list[SkippedDocument] = []
    for path in sorted(documents_dir.rglob("*")):
        relative = path.relative_to(documents_dir).as_posix()
        if any(part.startswith(".") for part in path.relative_to(documents_dir).parts):
            continue
        is_document = path.is_file() and path.suffix.lower() in readers
        if path.is_symlink() and (is_document or path.is_dir()):
            reason = outside_reason(path, documents_dir)
            if reason:
                refused.append(SkippedDocument(log_safe(relative), reason))
                continue
        if not is_document:
            continue
        reason = name_reason(relative)
        if reason:
            refused.append(SkippedDocument(log_safe(relative), reason))
            continue
        files.append(path)
    return files, refused


def document_id(relative_path: str) -> str:
    """ "sources/gradishar-2016.pdf" -> "sources/gradishar-2016"."""
    return str(PurePosixPath(relative_path).with_suffix(""))


def _skip(relative: str, reason: str) -> SkippedDocument:
    logger.warning("skipping %s: %s", relative, reason)
    return SkippedDocument(relative, reason)


def _ingest_document(
    relative: str,
    raw: RawDocument,
    meta: DocumentMeta,
    settings: Settings,
    count_tokens: Callable[[str], int],
) -> _Ingested | None:
    if raw.is_empty:
        return None
    outline = meta.outline or None
    front = None if raw.paged else read_front_matter(raw.pages[0])
    reading: dict[str, Any] = {}
    if front is not None:
        cleaned = clean_parts(front.parts, outline=outline)
        found = {**front.fields, "year": str(front.year or ""), "doi": front.doi}
    elif raw.layout is not None:
        prepared = prepare_pdf(raw.layout, raw.metadata)
        cleaned = clean_layout(prepared.pages, outline=outline)
        found = prepared.metadata
        reading = {
            "line_numbers_removed": prepared.line_numbers_removed,
            "ocr": bool(raw.metadata.get("ocr")),
        }
    else:
        cleaned = clean_pages(raw.pages, paged=raw.paged, outline=outline)
        found = raw.metadata
    if not cleaned.paragraphs:
        return None
    year = found.get("year", "")
    document = Document(
        doc_id=document_id(relative),
        path=relative,
        text=cleaned.text,
        title=meta.title or found.get("title", "") or PurePosixPath(relative).stem,
        authors=meta.authors or found.get("authors", ""),
        year=meta.year or (int(year) if year.isdigit() else None),
        kind=meta.kind,
        key=meta.key,
        pages=cleaned.pages,
        doi=found.get("doi", ""),
        journal=found.get("journal", ""),
        licence=found.get("licence", ""),
        url=found.get("url", ""),
    )
    references = parse_reference_lists(cleaned.reference_lists)
    linker = CitationLinker.for_document(
        references, [cleaned.text[p.start : p.end] for p in cleaned.paragraphs]
    )
    sentences = document_sentences(cleaned, linker.cite)
    passages = build_passages(
        document, sentences, count_tokens, settings.chunk_tokens, settings.chunk_overlap_sentences
    )
    logger.info(
        "%s: %d sections, %d paragraphs, %d sentences, %d passages",
        relative, len(cleaned.sections), len(cleaned.paragraphs), len(sentences), len(passages),
    )  # fmt: skip
    return _Ingested(document, cleaned, passages, len(sentences), references, linker, reading)


@functools.lru_cache(maxsize=4)
def token_counter(encoding_name: str) -> Callable[[str], int]:
    """Counts tokens of the tiktoken encoding ``encoding_name`` (cached: loading an encoding takes a moment).

    Special-token text such as "<|endoftext|>" counts as plain text.
    """
    import tiktoken

    try:
        encoding = tiktoken.get_encoding(encoding_name)
    except (ValueError, KeyError) as exc:
        raise SettingsError(
            f"unknown tiktoken encoding {encoding_name!r} (setting 'encoding'): {exc}"
        ) from exc
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def _warn_unmatched_entries(
    table: dict[str, dict[str, Any]], files: list[Path], documents_dir: Path, toml_path: Path
) -> None:
    present = {path.relative_to(documents_dir).as_posix() for path in files}
    for name in sorted(set(table) - present):
        logger.warning("%s names %r, which is not in %s", toml_path, name, documents_dir)


def _document_record(item: _Ingested) -> dict[str, Any]:
    document = item.document
    return {
        "doc_id": document.doc_id,
        "path": document.path,
        "title": document.title,
        "authors": document.authors,
        "year": document.year,
        "kind": document.kind,
        "key": document.key,
        "doi": document.doi,
        "journal": document.journal,
        "licence": document.licence,
        "url": document.url,
        "pages": len(document.pages),
        "passages": len(item.passages),
        "sentences": item.sentences,
        "sections": [list(path) for path in item.cleaned.sections],
        "characters": len(document.text),
        "references": [entry.to_dict() for entry in item.references.entries],
        "references_printed": item.references.printed,
        "citations": {
            "found": item.linker.found,
            "linked": item.linker.linked,
            "unresolved": sorted(set(item.linker.unresolved)),
        },
        "reading": item.reading,
    }


def _write_outputs(
    settings: Settings, ingested: list[_Written], skipped: list[SkippedDocument], fingerprint: str
) -> IngestResult:
    """Write every artifact into a new version folder and swap it in; all of them or none."""
    versions = settings.index_dir / INGESTED_FOLDER
    staging: Path | None = None
    try:
        # One ingest writes at a time: it removes what it takes for an interrupted run's leftovers.
        with exclusive_lock(settings.index_dir / ".ingest.lock"):
            versions.mkdir(parents=True, exist_ok=True)
            remove_unfinished_versions(versions)
            remove_temporary_links(settings.index_dir)
            staging = versions / f"{STAGING_PREFIX}{new_version_name(versions)}"
            staging.mkdir()
            result = _write_artifacts(staging, ingested, skipped, fingerprint)
            fsync_tree(staging)
            swap_in_version(staging, versions / "current")
            _link_artifacts(settings.index_dir)
    except OSError as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise storage_error(exc, staging or versions, UNCHANGED) from exc
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _link_artifacts(index_dir: Path) -> None:
    """Make each artifact name in index/ a link into ingested/current/ (done once; an index/ written before
    ingested/ existed holds plain files, moved aside and removed)."""
    for name in ARTIFACTS:
        path = index_dir / name
        target = f"{INGESTED_FOLDER}/current/{name}"
        if path.is_symlink() and os.readlink(path) == target:
            continue
        old_folder = None
        if path.is_dir() and not path.is_symlink():  # clean/ of the old layout: a link cannot replace it
            old_folder = path.with_name(f".{name}-{new_version_name(index_dir)}.old")
            os.rename(path, old_folder)
        replace_symlink(path, target)
        if old_folder is not None:
            shutil.rmtree(old_folder, ignore_errors=True)


def _write_artifacts(
    directory: Path, ingested: list[_Written], skipped: list[SkippedDocument], fingerprint: str
) -> IngestResult:
    records = [item.record for item in ingested]
    cited = sorted(
        {
            key
            for item in ingested
            if item.record["kind"] == "review"
            for p in item.passages
            for key in p.cited_works
        }
    )
    clean_dir = directory / CLEAN_FOLDER
    for item in ingested:
        path = clean_dir / f"{item.record['doc_id']}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item.text, encoding="utf-8", newline="")
    lines = (json.dumps(p.to_dict(), ensure_ascii=False) for item in ingested for p in item.passages)
    (directory / PASSAGES_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    _write_json(directory / DOCUMENTS_FILE, records)
    _write_json(directory / CITED_WORKS_FILE, cited)
    result = IngestResult(
        documents=records,
        passages=sum(len(item.passages) for item in ingested),
        sentences=sum(record["sentences"] for record in records),
        sections=sum(len(record["sections"]) for record in records),
        pages=sum(record["pages"] for record in records),
        cited_works=cited,
        skipped=skipped,
        fingerprint=fingerprint,
    )
    manifest = {
        "fingerprint": fingerprint,
        "format_version": CORPUS_FORMAT_VERSION,
        "summary": result.summary(),
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
    }
    _write_json(directory / INGEST_FILE, manifest)
    return result


def reuse_key(
    settings: Settings,
    readers: Mapping[str, Reader],
    path: Path,
    relative: str,
    entry: dict[str, Any] | None,
    sha256: str,
) -> str:
    """What a document's artifacts are made from: its bytes (``sha256``), its documents.toml entry, the
    reader of its type and the chunk settings. The same key, the same artifacts."""
    reader = readers.get(path.suffix.lower())
    made_from = [
        *_chunking(settings),
        f"{getattr(reader, '__module__', '')}.{getattr(reader, '__qualname__', repr(reader))}",
        relative,
        entry,
        sha256,
    ]
    return hashlib.sha256(json.dumps(made_from, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class _Earlier:
    """A document of the last ingest: its record and passages (its clean text is read if it is reused)."""

    record: dict[str, Any]
    passages: list[Passage]

    def reuse(self, settings: Settings, key: str) -> _Written | None:
        """The document as written last time if it was made from ``key``; None if not, or if its clean
        text cannot be read (it is then read again)."""
        if self.record.get("reuse_key") != key:
            return None
        try:
            return _Written(self.record, self.passages, load_clean_text(settings, self.record["doc_id"]))
        except CorpusError:
            return None


def _earlier_documents(settings: Settings) -> dict[str, _Earlier]:
    """The documents of the last ingest that can be reused, by path; {} when there is none or it is
    unreadable (everything is then read again)."""
    try:
        records = load_documents(settings)
        passages = load_passages(settings)
    except CorpusError:
        return {}
    by_document: dict[str, list[Passage]] = {}
    for passage in passages:
        by_document.setdefault(passage.document, []).append(passage)
    return {
        record["path"]: _Earlier(record, by_document.get(record["doc_id"], []))
        for record in records
        if isinstance(record, dict) and record.get("reuse_key") and record.get("path")
    }


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _chunking(settings: Settings) -> list[object]:
    """What every document's artifacts depend on besides the document."""
    return [CORPUS_FORMAT_VERSION, settings.encoding, settings.chunk_tokens, settings.chunk_overlap_sentences]


def corpus_fingerprint(
    settings: Settings,
    *,
    readers: Mapping[str, Reader] | None = None,
    digests: Mapping[Path, str] | None = None,
) -> str:
    """sha256 over the documents (paths and bytes), documents.toml and the chunk settings; ``digests``:
    the files' sha256 where the caller has them already."""
    digest = hashlib.sha256()
    digest.update(json.dumps(_chunking(settings)).encode())
    toml_path = documents_toml_path(settings.corpus_dir)
    digest.update(b"documents.toml\0" + (toml_path.read_bytes() if toml_path.exists() else b"<absent>"))
    documents_dir = settings.documents_dir
    files = discover_documents(documents_dir, readers) if documents_dir.is_dir() else []
    for path in files:
        digest.update(b"\0" + path.relative_to(documents_dir).as_posix().encode() + b"\0")
        known = (digests or {}).get(path)
        digest.update(bytes.fromhex(known) if known else hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


FileSignature = tuple[str, int, int]


class FingerprintMemo:
    """``corpus_fingerprint`` remembered per (path, size, mtime_ns) of the corpus files and the chunk
    settings, so a health probe stats the files instead of hashing them all when nothing changed."""

    def __init__(self) -> None:
        self._signature: tuple[object, ...] | None = None
        self._fingerprint = ""
        self._lock = threading.Lock()

    def fingerprint(self, settings: Settings) -> str:
        signature = _corpus_signature(settings)
        with self._lock:
            if signature != self._signature:
                self._fingerprint = corpus_fingerprint(settings)
                self._signature = signature
            return self._fingerprint


def _corpus_signature(settings: Settings) -> tuple[object, ...]:
    documents_dir = settings.documents_dir
    toml_path = documents_toml_path(settings.corpus_dir)
    paths = [toml_path] if toml_path.exists() else []
    if documents_dir.is_dir():
        paths += discover_documents(documents_dir)
    files: list[FileSignature] = []
    for path in paths:
        stat = path.stat()
        files.append((str(path), stat.st_size, stat.st_mtime_ns))
    chunking = (settings.encoding, settings.chunk_tokens, settings.chunk_overlap_sentences)
    return (chunking, str(documents_dir), tuple(files))


def ingested_fingerprint(settings: Settings) -> str | None:
    """The fingerprint the current artifacts in ``index_dir`` were made from; None if absent or unreadable."""
    try:
        manifest = json.loads((settings.index_dir / INGEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fingerprint = manifest.get("fingerprint") if isinstance(manifest, dict) else None
    return fingerprint if isinstance(fingerprint, str) else None


def load_passages(settings: Settings) -> list[Passage]:
    """The passages ``ingest`` wrote; ``CorpusError`` telling to run `reviewqa ingest` if missing or bad."""
    path = settings.index_dir / PASSAGES_FILE
    try:
        return read_passages(path)
    except FileNotFoundError as exc:
        raise CorpusError(f"{path} not found: run `reviewqa ingest` first") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"{path} is unreadable ({exc}): run `reviewqa ingest` again") from exc


def read_passages(path: Path) -> list[Passage]:
    """The passages of a passages.jsonl file; OSError, ValueError, KeyError or TypeError if it is bad."""
    with path.open(encoding="utf-8") as fh:
        return [Passage.from_dict(json.loads(line)) for line in fh if line.strip()]


def load_documents(settings: Settings) -> list[dict[str, Any]]:
    """The document metadata ``ingest`` wrote."""
    path = settings.index_dir / DOCUMENTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorpusError(f"{path} not found: run `reviewqa ingest` first") from exc
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{path} is unreadable ({exc}): run `reviewqa ingest` again") from exc
    if not isinstance(data, list):
        raise CorpusError(f"{path} does not hold a list of documents: run `reviewqa ingest` again")
    return data


def warn_keyless_sources(documents: list[dict[str, Any]]) -> None:
    """One warning per source document without a bibliography key (records as in documents.json).

    Such a file is still indexed (the user put it there), but its passages cannot name their work. The
    ingest and index commands call this, not ``ingest`` itself, so `reviewqa index` warns once per build
    whether or not it had to ingest again.
    """
    for record in documents:
        if record.get("kind") == "source" and not record.get("key"):
            logger.warning("%s has no bibliography key: run `reviewqa refs match`", record.get("path"))


def load_clean_text(settings: Settings, doc_id: str) -> str:
    """The cleaned text of one document, which passage and sentence offsets index into."""
    path = settings.index_dir / CLEAN_FOLDER / f"{doc_id}.txt"
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return fh.read()
    except OSError as exc:
        raise CorpusError(f"cannot read {path} ({exc}): run `reviewqa ingest` again") from exc
