"""Building, persisting and checking the index under ``index/current/``.

A build writes every artifact into a fresh temporary directory next to ``current/`` and swaps it in
with renames, so ``current/`` is always either the previous complete index or the new one. The
manifest records, for every artifact, its size and sha256, so a truncated or altered file is detected
on load instead of producing wrong answers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from reviewqa import __version__
from reviewqa.errors import CorpusError, IndexNotReadyError
from reviewqa.index.abbreviations import mine_abbreviations
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

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "current"
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


# Why an index is (not) usable: "corrupt" is damage to fix, the others are states to wait out or rebuild.
IndexState = Literal["ready", "missing", "stale", "corrupt", "unreadable_corpus"]


@dataclass(frozen=True)
class IndexStatus:
    state: IndexState
    reason: str
    manifest: dict[str, Any] | None

    @property
    def ready(self) -> bool:
        return self.state == "ready"


class IndexStateError(IndexNotReadyError):
    """IndexNotReadyError that says which state the index is in, for callers that act on it."""

    def __init__(self, message: str, state: IndexState) -> None:
        super().__init__(message)
        self.state: IndexState = state


def current_dir(settings: Settings) -> Path:
    return settings.index_dir / CURRENT


def retrieval_text(passage: Passage) -> str:
    """What is embedded and BM25-indexed for a passage: its innermost heading, then its text.

    Headings name the topic ("INSR is also a target in breast cancer") that the passage's own
    sentences may only imply, as titles do for abstracts in BEIR.
    """
    heading = passage.section[-1] if passage.section else ""
    return f"{heading}. {passage.text}" if heading else passage.text


# ---------------------------------------------------------------- building


def build_index(settings: Settings, *, force: bool = False) -> dict[str, Any]:
    """Build ``index/current`` unless it is up to date (then a no-op returning its manifest).

    Ingests the corpus first when its passages are missing or older than the corpus.
    """
    from reviewqa.corpus import (
        corpus_fingerprint,
        ingest,
        ingested_fingerprint,
        load_documents,
        load_passages,
        warn_keyless_sources,
    )

    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(settings.index_dir):
        if not force:
            # Checksums, not just sizes: a damaged file of the right size must be rebuilt, as the
            # "corrupt ... run `reviewqa index`" error promises.
            with contextlib.suppress(IndexNotReadyError):
                manifest = check_current(settings, checksums=True)
                log.info("index is up to date")
                return manifest
        fingerprint = corpus_fingerprint(settings)
        if ingested_fingerprint(settings) != fingerprint:
            log.info("passages are missing or stale: ingesting the corpus")
            ingest(settings)
            fingerprint = ingested_fingerprint(settings) or fingerprint
        passages = load_passages(settings)
        documents = load_documents(settings)
        warn_keyless_sources(documents)
        return build_from_passages(settings, passages, documents, fingerprint)


def build_from_passages(
    settings: Settings,
    passages: list[Passage],
    documents: list[dict[str, Any]],
    fingerprint: str,
    *,
    encoder: Encoder | None = None,
) -> dict[str, Any]:
    """Write an index of ``passages`` into a temporary directory and swap it in as ``current``."""
    if not passages:
        raise CorpusError(
            f"no passages to index: add .txt or .pdf documents to {settings.documents_dir} "
            "and run `reviewqa index`"
        )
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(settings.index_dir)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=settings.index_dir))
    try:
        manifest = write_index(staging, settings, passages, documents, fingerprint, encoder=encoder)
        _swap_in(staging, current_dir(settings))
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
) -> dict[str, Any]:
    """Write every artifact of an index into ``directory`` and return its manifest.

    ``passage_vectors`` skips embedding the passages (benchmarks cache them between runs);
    ``embed_sentences=False`` leaves the sentence vectors empty (benchmarks do not use them).
    """
    started = time.perf_counter()
    encoder = encoder or build_encoder(settings)
    texts = [retrieval_text(p) for p in passages]
    sentence_keys, sentence_rows = _unique_sentences(passages)
    sentence_texts = [key[3] for key in sentence_keys] if embed_sentences else None
    vectors = embed_for_index(settings, encoder, texts, sentence_texts, passage_vectors)
    if not embed_sentences:
        sentence_rows = np.zeros(0, dtype=np.int32)
    dimension = int(vectors.passages.shape[1])
    install_model(encoder, directory)

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
    abbreviations = mine_abbreviations(_document_texts(passages))
    _write_json(directory / ABBREVIATIONS, abbreviations)

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
            "abbreviations": len(abbreviations),
        },
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


def _document_texts(passages: list[Passage]) -> list[str]:
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
    return [" ".join(sentences) for sentences in by_document.values()]


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with two renames; the old index is kept until the new one is in."""
    retired = None
    if target.exists():
        retired = target.with_name(f".retired-{time.time_ns()}")
        target.rename(retired)
    staging.rename(target)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def _remove_leftovers(index_dir: Path) -> None:
    """Remove what an interrupted build left behind; restore a retired index if ``current`` is gone."""
    retired = sorted(index_dir.glob(".retired-*"))
    target = index_dir / CURRENT
    if retired and not target.exists():
        retired[-1].rename(target)
        retired = retired[:-1]
    for leftover in [*index_dir.glob(".building-*"), *retired]:
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index directory (a second waits for the first)."""
    with (index_dir / ".build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _describe_files(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(directory).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        if path.stat().st_size != expected["bytes"] or (checksums and _sha256(path) != expected["sha256"]):
            raise IndexStateError(
                f"the index is corrupt: {path} has changed since the build. {RUN_INDEX}", "corrupt"
            )


def check_current(
    settings: Settings, *, checksums: bool, fingerprints: FingerprintMemo | None = None
) -> dict[str, Any]:
    """The manifest of ``index/current`` if it is complete and matches the corpus and model.

    ``fingerprints`` remembers the corpus fingerprint between calls (health probes), instead of
    hashing every document each time.
    """
    from reviewqa.corpus import corpus_fingerprint

    directory = current_dir(settings)
    manifest = read_manifest(directory)
    verify_files(directory, manifest, checksums=checksums)
    if manifest["model"].get("name") != model_name(settings.model_path):
        raise IndexStateError(
            f"the index was built with the model {manifest['model'].get('name')!r}, "
            f"but model_path is now {settings.model_path}. {RUN_INDEX}",
            "stale",
        )
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
    """Ready or not, why, and the manifest: a cheap check (sizes, not checksums) for health endpoints."""
    try:
        manifest = check_current(settings, checksums=False, fingerprints=fingerprints)
    except IndexNotReadyError as exc:
        manifest = _manifest_or_none(current_dir(settings))
        state: IndexState = exc.state if isinstance(exc, IndexStateError) else "corrupt"
        return IndexStatus(state, str(exc), manifest)
    return IndexStatus("ready", "ready", manifest)


def _manifest_or_none(directory: Path) -> dict[str, Any] | None:
    try:
        return read_manifest(directory)
    except IndexNotReadyError:
        return None
