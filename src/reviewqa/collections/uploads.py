"""Documents added to and removed from a collection: what is accepted, and the job that follows.

An upload is checked by its content, not its name: a PDF must begin with ``%PDF-``; a text file must pass the
corpus's own binary check (``corpus/hygiene.py``) and be UTF-8 or cp1252 text. Its name is made safe (one
path component, letters, digits, ``-``, ``_`` and ``.``; the suffix of its type). A name (or document id)
already in the collection is refused unless ``replace`` is asked; the same bytes under another name are
refused always. The file then waits, with its job record, until a runner adds it (``jobs.py``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reviewqa.collections.jobs import (
    INCOMING_FOLDER,
    Job,
    JobStore,
    discard_folder,
    incoming_dir,
    new_job_id,
    now,
    start_runner,
)
from reviewqa.corpus.hygiene import BINARY_PROBE_BYTES, binary_reason
from reviewqa.corpus.ingest import discover_documents, document_id
from reviewqa.errors import ReviewqaError
from reviewqa.fileio import file_sha256, storage_error
from reviewqa.settings import Settings

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
SUFFIXES = {"pdf": ".pdf", "text": ".txt"}
NAMED_KINDS = {"pdf": "pdf", "txt": "text", "text": "text"}  # file name suffix -> the content it claims
MAX_NAME_CHARS = 120
COPY_BLOCK = 1 << 20


class UploadError(ReviewqaError):
    """An upload or delete refused; ``code`` says which kind of refusal (the API maps it to a status)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StagedFile:
    path: Path
    bytes: int
    sha256: str


def safe_document_name(filename: str) -> tuple[str, str]:
    """(stem, suffix) of an uploaded file's name made safe: its last path component, NFC, runs of anything
    but letters, digits, '-', '_' and '.' as one '-', no leading dot; "" suffix when it has none."""
    name = re.split(r"[/\\]", unicodedata.normalize("NFC", filename or ""))[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE).strip(".-_")[:MAX_NAME_CHARS]
    stem = "".join(c for c in stem if unicodedata.category(c)[0] != "C")
    if not stem:
        raise UploadError("invalid_file_name", f"the file name {filename[:100]!r} has no usable characters")
    return stem, suffix.lower()


def file_kind(head: bytes, suffix: str) -> str:
    """ "pdf" or "text", from the file's first bytes; UploadError when it is neither, or when its name says
    another type."""
    if suffix and suffix not in NAMED_KINDS:
        raise UploadError(
            "unsupported_file_type", f"only .pdf and .txt files can be added, not .{suffix[:20]}"
        )
    if head.startswith(PDF_MAGIC):
        kind = "pdf"
    else:
        reason = binary_reason(head)
        if reason:
            raise UploadError(
                "unsupported_file_type",
                f"only PDF (beginning with %PDF-) and plain text files can be added; {reason}",
            )
        kind = "text"
    if suffix and NAMED_KINDS[suffix] != kind:
        raise UploadError("unsupported_file_type", f"the file is named .{suffix} but holds {kind}")
    return kind


def queue_upload(settings: Settings, stream: BinaryIO, filename: str, *, replace: bool = False) -> Job:
    """Check an uploaded file, put it in waiting and queue the job that adds it (a runner is started)."""
    stem, suffix = safe_document_name(filename)
    head = stream.read(BINARY_PROBE_BYTES)
    if not head:
        raise UploadError("empty_file", "the file is empty")
    name = stem + SUFFIXES[file_kind(head, suffix)]
    check_name_free(settings, name, replace=replace)
    job_id = new_job_id()
    staged = stage_file(incoming_dir(settings, job_id) / name, head, stream, settings.upload_max_bytes)
    try:
        check_content_new(settings, staged.sha256, name)
    except UploadError:
        discard_folder(staged.path.parent)
        raise
    job = Job(
        id=job_id,
        collection=settings.collection,
        action="add",
        document=name,
        replace=replace,
        created_at=now(),
        bytes=staged.bytes,
        sha256=staged.sha256,
        message=f"waiting to add {name}",
        settings=settings.snapshot(),
    )
    _queue(settings, job)
    return job


def queue_delete(settings: Settings, document: str) -> Job:
    """Queue the job that removes ``document`` (a document id or its path in the documents folder)."""
    files = _documents(settings)
    found = next((path for path in files if document in (path, document_id(path))), None)
    if found is None:
        raise UploadError("document_not_found", f"no document {document[:200]!r} in {settings.collection}")
    if len(files) == 1:
        raise UploadError(
            "last_document", f"{found} is the only document of {settings.collection}; a collection keeps one"
        )
    job = Job(
        id=new_job_id(),
        collection=settings.collection,
        action="delete",
        document=found,
        created_at=now(),
        message=f"waiting to remove {found}",
        settings=settings.snapshot(),
    )
    _queue(settings, job)
    return job


def _queue(settings: Settings, job: Job) -> None:
    try:
        JobStore.of(settings).save(job)
    except OSError as exc:
        discard_folder(incoming_dir(settings, job.id))
        raise storage_error(exc, settings.index_dir, "nothing was queued") from exc
    log.info("queued job %s: %s %s in %s", job.id, job.action, job.document, job.collection)
    if settings.job_runner == "process":
        start_runner(settings)


def _documents(settings: Settings) -> list[str]:
    """The documents of the collection, as paths relative to its documents folder."""
    folder = settings.documents_dir
    return [p.relative_to(folder).as_posix() for p in discover_documents(folder)] if folder.is_dir() else []


def check_name_free(settings: Settings, name: str, *, replace: bool) -> None:
    """UploadError when ``name`` (or its document id) is taken: by a document (unless ``replace`` and the
    same name), or by a job still to run."""
    new_id = document_id(name)
    for existing in _documents(settings):
        if existing == name and replace:
            continue
        if existing == name or document_id(existing) == new_id:
            hint = "" if existing != name else "; send replace=true to replace it"
            raise UploadError("duplicate_document", f"{existing} is already in {settings.collection}{hint}")
    for job in JobStore.of(settings).active():
        if job.action == "add" and document_id(job.document) == new_id:
            raise UploadError("duplicate_document", f"{job.document} is being added already (job {job.id})")


def check_content_new(settings: Settings, sha256: str, name: str) -> None:
    """UploadError when a document of the collection (other than ``name``, which may be replaced) has
    exactly these bytes."""
    folder = settings.documents_dir
    for existing in _documents(settings):
        if existing != name and file_sha256(folder / existing) == sha256:
            raise UploadError(
                "duplicate_document", f"the same file is already in {settings.collection} as {existing}"
            )


def stage_file(target: Path, head: bytes, stream: BinaryIO, limit: int) -> StagedFile:
    """Write ``head`` and the rest of ``stream`` to ``target``, at most ``limit`` bytes; UploadError
    (file_too_large) beyond, StorageError when the disk is full. Nothing is left behind on failure."""
    digest = hashlib.sha256()
    size = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("xb") as out:
            block = head
            while block:
                size += len(block)
                if size > limit:
                    raise UploadError("file_too_large", f"the file is over the limit of {limit} bytes")
                digest.update(block)
                out.write(block)
                block = stream.read(COPY_BLOCK)
    except (UploadError, OSError) as exc:
        discard_folder(target.parent)
        if isinstance(exc, OSError):
            raise storage_error(exc, target, "the upload was not kept") from exc
        raise
    return StagedFile(target, size, digest.hexdigest())


def create_collection(settings: Settings) -> None:
    """Make the documents folder of a new collection (uploads may create collections)."""
    try:
        settings.documents_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, settings.documents_dir, "the collection was not created") from exc


def writable_reason(settings: Settings) -> str:
    """Why documents cannot be added to the collection's folder ("" when they can)."""
    for folder, what in (
        (settings.documents_dir, "documents folder"),
        (settings.documents_dir / INCOMING_FOLDER, "uploads folder"),
        (settings.index_dir, "index folder"),
    ):
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"the {what} of {settings.collection} is not writable by the service"
    return ""
