"""Building, persisting and checking the index: versioned builds under ``index/builds/``, ``index/current``.

A build writes every artifact into ``builds/.building-<id>/``, renames it to ``builds/<id>/`` once complete,
then points the symlink ``index/current`` at it by renaming a new link over the old one: a reader finds the
previous complete build or the new one, never nothing. The build ``current`` named before is kept until the
next build succeeds; readers resolve ``current`` once per load (so every file comes from the same build) and
fall back to the newest complete build if ``current`` is missing. The manifest records, for every artifact,
its size and sha256, so a truncated or altered file is detected on load instead of producing wrong answers.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from reviewqa import __version__
from reviewqa.errors import CorpusError, IndexNotReadyError
from reviewqa.fileio import (
    STAGING_PREFIX,
    exclusive_lock,
    file_sha256,
    fsync_tree,
    new_version_name,
    no_space_left,
    remove_temporary_links,
    remove_unfinished_versions,
    replace_symlink,
    storage_error,
    swap_in_version,
)
from reviewqa.index.abbreviations import mine_document_abbreviations
from reviewqa.index.build_vectors import (
    build_encoder,
    embed_for_index,
    embedding_change,
    embedding_manifest,
    install_model,
)
from reviewqa.index.dense import DenseParams, build_dense_index, index_kind, save_dense
from reviewqa.index.embed import Encoder, model_name
from reviewqa.index.lexical import Bm25Index
from reviewqa.index.tokenize import DEFAULT_TOKENIZER
from reviewqa.models import Passage
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.corpus import FingerprintMemo

# name -> (directory, passages, documents, settings) -> what the manifest records under derived.<name>
DerivedWriter = Callable[[Path, list[Passage], list[dict[str, Any]], Settings], dict[str, Any]]
DerivedWriters = Mapping[str, DerivedWriter]

log = logging.getLogger(__name__)

# 2: abbreviations scoped to the documents that define them (abbreviations.json: documents + query pairs)
FORMAT_VERSION = 2
CURRENT = "current"
BUILDS = "builds"
UNCHANGED = "the previous index is unchanged"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DOCUMENTS = "documents.json"
DENSE = "passages.faiss"
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_ROWS = "sentence_rows.npy"
SENTENCES = "sentences.jsonl"
ABBREVIATIONS = "abbreviations.json"
BM25_DIR = "bm25"
RUN_INDEX = "Run `reviewqa index` to build it."


# progress(stage, done, total) of a build: "ingesting" (documents), "embedding" (texts), "swapping".
BuildProgress = Callable[[str, int, int], None]

# Why an index is (not) usable: "corrupt" is damage to fix, the others are states to wait out or rebuild.
IndexState = Literal["ready", "missing", "stale", "corrupt", "unreadable_corpus"]


@dataclass(frozen=True)
class IndexStatus:
    state: IndexState
    reason: str
    manifest: dict[str, Any] | None
    directory: Path | None = None  # the build folder the status is about

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def build_id(self) -> str | None:
        """The build folder's name (a timestamp; "current" for an index built before builds/ existed)."""
        return self.directory.name if self.directory is not None else None


class IndexStateError(IndexNotReadyError):
    """IndexNotReadyError that says which state the index is in, for callers that act on it."""

    def __init__(self, message: str, state: IndexState) -> None:
        super().__init__(message)
        self.state: IndexState = state


def current_dir(settings: Settings) -> Path:
    """``index/current``: a symlink to the build in service (a folder, for an index built before builds/)."""
    return settings.index_dir / CURRENT


def builds_dir(settings: Settings) -> Path:
    return settings.index_dir / BUILDS


def current_build(settings: Settings) -> Path:
    """The folder of the build ``current`` names, resolved once so that a reader takes every file from the
    same build even if another is swapped in meanwhile; the newest complete build when ``current`` is missing
    or dangling (a crash while an old-style ``current/`` folder was being moved into builds/); ``current``
    itself (which does not exist) when there is no build at all."""
    link = current_dir(settings)
    if link.is_dir():
        return link.resolve()
    newest = newest_build(settings.index_dir)
    if newest is not None:
        log.debug("%s is missing; using the newest complete build %s", link, newest.name)
        return newest
    return link


def newest_build(index_dir: Path) -> Path | None:
    """The newest complete build folder (complete builds are the only ones without a leading dot)."""
    folder = index_dir / BUILDS
    complete = (
        sorted(p for p in folder.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file())
        if folder.is_dir()
        else []
    )
    return complete[-1] if complete else None


def retrieval_text(passage: Passage) -> str:
    """What is embedded and BM25-indexed for a passage: its innermost heading, then its text.

    Headings name the topic ("INSR is also a target in breast cancer") that the passage's own
    sentences may only imply, as titles do for abstracts in BEIR.
    """
    heading = passage.section[-1] if passage.section else ""
    return f"{heading}. {passage.text}" if heading else passage.text


# ---------------------------------------------------------------- building


def build_index(
    settings: Settings,
    *,
    force: bool = False,
    encoder: Encoder | None = None,
    derived_writers: DerivedWriters | None = None,
    progress: BuildProgress | None = None,
    ingest_corpus: Callable[[Settings], object] | None = None,
    on_up_to_date: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Build ``index/current`` unless it is up to date (then a no-op returning its manifest, after calling
    ``on_up_to_date()`` when given: the manifest alone does not say whether this call built it).

    Ingests the corpus first when its passages are missing or older than the corpus (with
    ``ingest_corpus(settings)`` when given: the command line's, which prints what it read).
    ``derived_writers`` are passed on to ``write_index``. ``progress(stage, done, total)`` hears how far it
    got: "ingesting" (documents), "embedding" (texts), "swapping".
    """
    from reviewqa.corpus import (
        corpus_fingerprint,
        ingest,
        ingested_fingerprint,
        load_documents,
        load_passages,
        warn_keyless_sources,
    )

    # One build at a time per index directory (a second waits for the first).
    with exclusive_lock(settings.index_dir / ".build.lock", UNCHANGED):
        if not force:
            # Checksums, not just sizes: a damaged file of the right size must be rebuilt, as the
            # "corrupt ... run `reviewqa index`" error promises.
            with contextlib.suppress(IndexNotReadyError):
                manifest = check_current(settings, checksums=True)
                stale = _stale_derived(manifest, derived_writers or {})
                if not stale:
                    log.info("index is up to date")
                    if on_up_to_date is not None:
                        on_up_to_date()
                    return manifest
                # The vectors come from the cache: this rebuild costs the derived artefacts, not embedding.
                log.info("the index's %s are missing or of another version: rebuilding", ", ".join(stale))
        fingerprint = corpus_fingerprint(settings)
        if ingested_fingerprint(settings) != fingerprint:
            log.info("passages are missing or stale: ingesting the corpus")
            if ingest_corpus is not None:
                ingest_corpus(settings)
            else:
                ingest(settings, on_document=None if progress is None else partial(progress, "ingesting"))
            fingerprint = ingested_fingerprint(settings) or fingerprint
        passages = load_passages(settings)
        documents = load_documents(settings)
        warn_keyless_sources(documents)
        return build_from_passages(
            settings,
            passages,
            documents,
            fingerprint,
            encoder=encoder,
            derived_writers=derived_writers,
            progress=progress,
        )


def _stale_derived(manifest: dict[str, Any], derived_writers: DerivedWriters) -> list[str]:
    """The derived artefacts the build should have and lacks, or has of another version than its writer's."""
    recorded = manifest.get("derived") or {}
    return [
        name
        for name, writer in derived_writers.items()
        if (recorded.get(name) or {}).get("version") != getattr(writer, "version", None)
    ]


def build_from_passages(
    settings: Settings,
    passages: list[Passage],
    documents: list[dict[str, Any]],
    fingerprint: str,
    *,
    encoder: Encoder | None = None,
    derived_writers: DerivedWriters | None = None,
    progress: BuildProgress | None = None,
) -> dict[str, Any]:
    """Write an index of ``passages`` into a new build folder and make it ``current``.

    A failed write (disk full, permissions) is a one-line StorageError naming the path and the cause; the
    unfinished build is removed and ``current`` still names the previous one."""
    if not passages:
        raise CorpusError(
            f"no passages to index: add .txt or .pdf documents to {settings.documents_dir} "
            "and run `reviewqa index`"
        )
    try:
        builds_dir(settings).mkdir(parents=True, exist_ok=True)
        _remove_leftovers(settings.index_dir)
        staging = builds_dir(settings) / f"{STAGING_PREFIX}{new_version_name(builds_dir(settings))}"
        staging.mkdir()
    except OSError as exc:
        raise storage_error(exc, builds_dir(settings), UNCHANGED) from exc
    try:
        manifest = write_index(
            staging,
            settings,
            passages,
            documents,
            fingerprint,
            encoder=encoder,
            derived_writers=derived_writers,
            progress=progress,
        )
        fsync_tree(staging)
        # The build current named before stays (readers fall back to it, and a service keeps serving it
        # while it loads the new one); older builds go.
        swap_in_version(staging, settings.index_dir / CURRENT)
    # A full disk is told apart before the half-written build is removed: removing it frees the space.
    except OSError as exc:
        error = storage_error(exc, staging, UNCHANGED)
        shutil.rmtree(staging, ignore_errors=True)
        raise error from exc
    except RuntimeError as exc:
        # faiss reports a failed write as RuntimeError ("fwrite ... failed"); a full disk is the usual cause.
        full = no_space_left(staging)
        shutil.rmtree(staging, ignore_errors=True)
        if full:
            raise storage_error(OSError(errno.ENOSPC, str(exc)), staging, UNCHANGED) from exc
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("index built: %d passages in %.1f s", len(passages), manifest["build_seconds"])
    return manifest


def write_index(
    directory: Path,
    settings: Settings,
    passages: list[Passage],
    documents: list[dict[str, Any]],
    fingerprint: str,
    *,
    encoder: Encoder | None = None,
    passage_vectors: np.ndarray | None = None,
    embed_sentences: bool = True,
    derived_writers: DerivedWriters | None = None,
    progress: BuildProgress | None = None,
) -> dict[str, Any]:
    """Write every artifact of an index into ``directory`` and return its manifest.

    ``passage_vectors`` skips embedding the passages (benchmarks cache them between runs);
    ``embed_sentences=False`` leaves the sentence vectors empty (benchmarks do not use them).
    ``derived_writers`` maps a name to a callable ``(directory, passages, documents, settings) -> dict``
    that writes artefacts a later stage computes from the corpus (the answer stage's statistics); its
    result is recorded in the manifest under ``derived.<name>``. The index stage never imports them: the
    command line passes them in.
    """
    started = time.perf_counter()
    encoder = encoder or build_encoder(settings)
    texts = [retrieval_text(p) for p in passages]
    sentence_keys, sentence_rows = _unique_sentences(passages)
    sentence_texts = [key[3] for key in sentence_keys] if embed_sentences else None
    on_embedded = None if progress is None else partial(progress, "embedding")
    vectors = embed_for_index(settings, encoder, texts, sentence_texts, passage_vectors, progress=on_embedded)
    if not embed_sentences:
        sentence_rows = np.zeros(0, dtype=np.int32)
    dimension = int(vectors.passages.shape[1])
    install_model(encoder, directory)
    if progress is not None:
        progress("swapping", 0, 0)

    params = DenseParams(
        settings.approx_threshold, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search
    )
    dense = build_dense_index(vectors.passages, params)
    save_dense(dense, directory / DENSE)

    np.save(directory / SENTENCE_VECTORS, vectors.sentences, allow_pickle=False)
    np.save(directory / SENTENCE_ROWS, sentence_rows, allow_pickle=False)
    _write_jsonl(
        directory / SENTENCES,
        ({"document": d, "start": s, "end": e, "text": t} for d, s, e, t in sentence_keys),
    )

    Bm25Index.build(texts, DEFAULT_TOKENIZER).save(directory / BM25_DIR)
    _write_jsonl(directory / PASSAGES, (p.to_dict() for p in passages))
    _write_json(directory / DOCUMENTS, documents)
    abbreviations = mine_document_abbreviations(_document_texts(passages))
    _write_json(directory / ABBREVIATIONS, abbreviations)
    derived = {
        name: writer(directory, passages, documents, settings)
        for name, writer in (derived_writers or {}).items()
    }

    manifest = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 2),
        "model": {
            "name": model_name(settings.model_path),
            "path": settings.model_path,
            "dimension": dimension,
        },
        "chunking": {
            "encoding": settings.encoding,
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap_sentences": settings.chunk_overlap_sentences,
        },
        "embedding": embedding_manifest(encoder, vectors.counts, vectors.sentence_method),
        "corpus_fingerprint": fingerprint,
        "dense": {
            "kind": index_kind(dense),
            "approx_threshold": settings.approx_threshold,
            "hnsw_m": settings.hnsw_m,
            "hnsw_ef_construction": settings.hnsw_ef_construction,
            "hnsw_ef_search": settings.hnsw_ef_search,
        },
        "retrieval_text": "innermost heading + passage text",
        "counts": {
            "documents": len({p.document for p in passages}),
            "passages": len(passages),
            "sentences": len(sentence_keys),
            "abbreviations": sum(len(found) for found in abbreviations["documents"].values()),
            "query_abbreviations": len(abbreviations["query"]),
        },
        "derived": derived,
        "files": _describe_files(directory),
    }
    _write_json(directory / MANIFEST, manifest)
    return manifest


def _unique_sentences(passages: list[Passage]) -> tuple[list[tuple[str, int, int, str]], np.ndarray]:
    """Distinct sentences (overlapping passages share some) and, per passage in order, their rows."""
    row_of: dict[tuple[str, int, int], int] = {}
    keys: list[tuple[str, int, int, str]] = []
    rows: list[int] = []
    for passage in passages:
        for sentence in passage.sentences:
            key = (passage.document, sentence.start, sentence.end)
            if key not in row_of:
                row_of[key] = len(keys)
                keys.append((*key, sentence.text))
            rows.append(row_of[key])
    return keys, np.asarray(rows, dtype=np.int32)


def _document_texts(passages: list[Passage]) -> dict[str, str]:
    """Each document's distinct sentences in order (overlaps removed), for abbreviation mining."""
    seen: set[tuple[str, int]] = set()
    by_document: dict[str, list[str]] = {}
    for passage in passages:
        for sentence in passage.sentences:
            if (passage.document, sentence.start) not in seen:
                seen.add((passage.document, sentence.start))
                by_document.setdefault(passage.document, []).append(sentence.text)
        if not passage.sentences:
            by_document.setdefault(passage.document, []).append(passage.text)
    return {document: " ".join(sentences) for document, sentences in by_document.items()}


def _remove_leftovers(index_dir: Path) -> None:
    """Finish or undo what an interrupted build left behind, and move an old-style ``current/`` folder into
    builds/ (then ``current`` becomes a link to it): unfinished builds, builds being removed and temporary
    links are deleted; a missing ``current`` is pointed at the newest complete build."""
    builds = index_dir / BUILDS
    builds.mkdir(exist_ok=True)
    link = index_dir / CURRENT
    retired = sorted(index_dir.glob(".retired-*"))  # from the two-rename swap of earlier versions
    legacy = link if link.is_dir() and not link.is_symlink() else None
    if legacy is None and not link.is_dir() and retired:
        legacy = retired.pop()  # that swap crashed between its renames: its retired index is the last good
    if legacy is not None:
        target = builds / _migrated_build_id(legacy, builds)
        os.rename(legacy, target)  # until the link exists, readers fall back to the newest build: this one
        replace_symlink(link, f"{BUILDS}/{target.name}")
    elif not link.is_dir():
        newest = newest_build(index_dir)
        if newest is not None:
            replace_symlink(link, f"{BUILDS}/{newest.name}")
    remove_unfinished_versions(builds)
    remove_temporary_links(index_dir)
    for leftover in [*index_dir.glob(".building-*"), *retired]:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _migrated_build_id(folder: Path, builds: Path) -> str:
    """A build name for an old-style index folder: its build time, so it sorts before newer builds."""
    with contextlib.suppress(IndexNotReadyError, ValueError):
        built_at = datetime.fromisoformat(read_manifest(folder)["built_at"])
        name = built_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        if not (builds / name).exists():
            return name
    return datetime.fromtimestamp(folder.stat().st_mtime, UTC).strftime(f"%Y%m%dT%H%M%S%fZ-{os.getpid()}")


def _describe_files(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(directory).as_posix(): {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- checking


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of the index in ``directory``; IndexNotReadyError if missing or unreadable."""
    path = directory / MANIFEST
    if not path.exists():
        raise IndexStateError(f"no index found at {directory}. {RUN_INDEX}", "missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexStateError(
            f"the index manifest {path} is corrupt ({exc}). {RUN_INDEX}", "corrupt"
        ) from exc
    if not _manifest_is_well_formed(manifest):
        raise IndexStateError(f"the index manifest {path} is incomplete or corrupt. {RUN_INDEX}", "corrupt")
    if manifest["format_version"] != FORMAT_VERSION:
        raise IndexStateError(
            f"the index at {directory} was built by another version of reviewqa. {RUN_INDEX}", "stale"
        )
    return manifest


def _manifest_is_well_formed(manifest: object) -> bool:
    """The fields the checks below read, with the types they expect (a hand-edited or damaged
    manifest must be "corrupt", not an AttributeError)."""
    if not isinstance(manifest, dict):
        return False
    model, counts, files, dense = (manifest.get(k) for k in ("model", "counts", "files", "dense"))
    return (
        "format_version" in manifest
        and isinstance(manifest.get("corpus_fingerprint"), str)
        and isinstance(model, dict)
        and isinstance(counts, dict)
        and isinstance(counts.get("passages"), int)
        and isinstance(dense, dict)
        and isinstance(files, dict)
        and all(
            isinstance(entry, dict)
            and isinstance(entry.get("bytes"), int)
            and isinstance(entry.get("sha256"), str)
            for entry in files.values()
        )
    )


def verify_files(directory: Path, manifest: dict[str, Any], *, checksums: bool) -> None:
    """Every artifact the manifest lists exists with its size (and, if asked, its sha256)."""
    for name, expected in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise IndexStateError(f"the index is corrupt: {path} is missing. {RUN_INDEX}", "corrupt")
        if path.stat().st_size != expected["bytes"] or (
            checksums and file_sha256(path) != expected["sha256"]
        ):
            raise IndexStateError(
                f"the index is corrupt: {path} has changed since the build. {RUN_INDEX}", "corrupt"
            )


def check_current(
    settings: Settings, *, checksums: bool, fingerprints: FingerprintMemo | None = None
) -> dict[str, Any]:
    """The manifest of the build ``index/current`` names if it is complete and matches the corpus and model.

    ``fingerprints`` remembers the corpus fingerprint between calls (health probes), instead of
    hashing every document each time.
    """
    return check_build(settings, current_build(settings), checksums=checksums, fingerprints=fingerprints)


def check_build(
    settings: Settings,
    directory: Path,
    *,
    checksums: bool,
    fingerprints: FingerprintMemo | None = None,
    up_to_date: bool = True,
) -> dict[str, Any]:
    """The manifest of the build in ``directory`` if it is complete (sizes, and sha256 if ``checksums``) and
    made with the configured model; with ``up_to_date``, also built from the corpus and dense-index settings
    as they are now. A service may serve a build that is intact but out of date (with a warning), never one
    that is damaged or made with another model."""
    from reviewqa.corpus import corpus_fingerprint

    manifest = read_manifest(directory)
    verify_files(directory, manifest, checksums=checksums)
    if manifest["model"].get("name") != model_name(settings.model_path):
        raise IndexStateError(
            f"the index was built with the model {manifest['model'].get('name')!r}, "
            f"but model_path is now {settings.model_path}. {RUN_INDEX}",
            "stale",
        )
    if not up_to_date:
        return manifest
    dense_change = _dense_settings_change(settings, manifest)
    if dense_change:
        raise IndexStateError(f"the index is stale: {dense_change} since it was built. {RUN_INDEX}", "stale")
    vector_change = embedding_change(settings, manifest)
    if vector_change:
        raise IndexStateError(f"the index is stale: {vector_change}. {RUN_INDEX}", "stale")
    try:
        fingerprint = (
            fingerprints.fingerprint(settings) if fingerprints is not None else corpus_fingerprint(settings)
        )
    except (CorpusError, OSError) as exc:
        raise IndexStateError(
            f"cannot check the index against the corpus: {exc}", "unreadable_corpus"
        ) from exc
    if fingerprint != manifest["corpus_fingerprint"]:
        raise IndexStateError(
            f"the index is stale: the corpus or chunk settings changed since it was built. {RUN_INDEX}",
            "stale",
        )
    return manifest


def _dense_settings_change(settings: Settings, manifest: dict[str, Any]) -> str:
    """Which dense-index setting now asks for another index than the one built; "" if none.

    ``hnsw_ef_search`` is not among them: it is applied per search, not baked into the index."""
    built = manifest["dense"]
    wanted = DenseParams(settings.approx_threshold, settings.hnsw_m, settings.hnsw_ef_construction)
    kind = wanted.kind_for(manifest["counts"]["passages"])
    if built.get("kind") != kind:
        return f"approx_threshold asks for a {kind} dense index, not {built.get('kind')}"
    if kind == "hnsw" and (built.get("hnsw_m"), built.get("hnsw_ef_construction")) != (
        settings.hnsw_m,
        settings.hnsw_ef_construction,
    ):
        return "hnsw_m or hnsw_ef_construction changed"
    return ""


def index_status(settings: Settings, *, fingerprints: FingerprintMemo | None = None) -> IndexStatus:
    """Ready or not, why, and the manifest of the build ``current`` names: a cheap check (sizes, not
    checksums) for health endpoints."""
    directory = current_build(settings)
    try:
        manifest = check_build(settings, directory, checksums=False, fingerprints=fingerprints)
    except IndexNotReadyError as exc:
        state: IndexState = exc.state if isinstance(exc, IndexStateError) else "corrupt"
        found = directory if directory.is_dir() else None
        return IndexStatus(state, str(exc), _manifest_or_none(directory), found)
    return IndexStatus("ready", "ready", manifest, directory)


def _manifest_or_none(directory: Path) -> dict[str, Any] | None:
    try:
        return read_manifest(directory)
    except IndexNotReadyError:
        return None


FileSignature = tuple[int, int, int]  # size, mtime_ns, inode


class LoadedFiles:
    """The files of a build as they were when it was loaded (their checksums verified), so a health probe
    can tell whether they were damaged since: it stats every file and re-hashes only one whose size, mtime
    or inode changed. The loaded copy in memory is unaffected; the damage matters for the next load."""

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        self.directory = directory
        self._expected: dict[str, dict[str, Any]] = manifest["files"]
        self._seen: dict[str, FileSignature | None] = {
            name: _signature(directory / name) for name in self._expected
        }
        self._lock = threading.Lock()

    def damage(self) -> list[str]:
        """One line per file that is missing or no longer matches its checksum; [] when intact."""
        with self._lock:
            return [problem for name in self._expected if (problem := self._check(name))]

    def _check(self, name: str) -> str:
        path = self.directory / name
        signature = _signature(path)
        if signature is None:
            return f"{path} is missing"
        if signature == self._seen[name]:
            return ""
        expected = self._expected[name]
        if signature[0] != expected["bytes"] or file_sha256(path) != expected["sha256"]:
            return f"{path} has changed since it was loaded"
        self._seen[name] = signature  # touched, same content
        return ""


def _signature(path: Path) -> FileSignature | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)
