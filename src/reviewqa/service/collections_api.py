"""The collections API: list the collections, add and remove documents, follow the jobs that index them."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from reviewqa.collections.jobs import Job, JobStore
from reviewqa.collections.registry import (
    UnknownCollectionError,
    collection_names,
    collection_settings,
    summarize,
)
from reviewqa.collections.uploads import (
    UploadError,
    create_collection,
    queue_delete,
    queue_upload,
    writable_reason,
)
from reviewqa.errors import StorageError
from reviewqa.service.api import service_state
from reviewqa.service.errors import ApiError, error_response
from reviewqa.service.uploads import check_write_access, upload_policy
from reviewqa.settings import Settings, SettingsError, check_collection_name

logger = logging.getLogger(__name__)

collections_api = Blueprint("collections_v1", __name__, url_prefix="/api/v1")

UPLOAD_ERROR_STATUS = {
    "invalid_file_name": 400,
    "empty_file": 400,
    "unsupported_file_type": 415,
    "file_too_large": 413,
    "duplicate_document": 409,
    "document_not_found": 404,
    "last_document": 409,
}
TRUE_WORDS = ("1", "true", "yes", "on")


@collections_api.get("/collections")
def list_collections() -> Response:
    """Every collection with its documents, passages, state and latest job; whether this client may upload."""
    state = service_state()
    policy = upload_policy(state.settings, request)
    return jsonify(
        {
            "default": state.settings.collection,
            "uploads": {
                "allowed": policy.allowed,
                "token_required": policy.token_required,
                "max_bytes": state.settings.upload_max_bytes,
                "reason": policy.reason,
            },
            "collections": [
                collection_view(collection_settings(state.settings, name))
                for name in collection_names(state.settings)
            ],
        }
    )


def collection_view(settings: Settings) -> dict[str, Any]:
    collections = service_state().collections
    served = collections.loaded(settings.collection)
    summary = summarize(settings, fingerprints=collections.fingerprints(settings.collection))
    latest = JobStore.of(settings).latest()
    build = served.index.current() if served is not None else None
    return {
        "name": summary.name,
        "title": summary.title,
        "state": summary.state,
        "documents": summary.documents,
        "indexed_documents": summary.indexed_documents,
        "passages": summary.passages,
        "build": summary.build,
        "served_build": build.build_id if build is not None else None,
        "job": job_view(settings, latest) if latest is not None else None,
    }


@collections_api.post("/collections/<name>/documents")
def upload_document(name: str) -> tuple[Response, int]:
    """Add a PDF or text file (multipart field ``file``; ``replace=true`` to replace one of the same name);
    202 with the job that indexes it."""
    state = service_state()
    check_write_access(state.settings, request)
    settings = _writable_collection(name)
    request.max_content_length = current_app.config["UPLOAD_MAX_CONTENT_LENGTH"]
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the file as multipart/form-data, field 'file'")
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, "missing_file", "send the document in the multipart field 'file'")
    replace = (request.form.get("replace") or request.args.get("replace", "")).lower() in TRUE_WORDS
    return _accepted(settings, queue_upload(settings, upload.stream, upload.filename or "", replace=replace))


@collections_api.delete("/collections/<name>/documents/<path:document>")
def delete_document(name: str, document: str) -> tuple[Response, int]:
    """Remove a document (its id or file name) and rebuild; 202 with the job."""
    check_write_access(service_state().settings, request)
    settings = _existing_collection(name)
    _check_writable(settings)
    return _accepted(settings, queue_delete(settings, document))


@collections_api.get("/collections/<name>/jobs/<job_id>")
def get_job(name: str, job_id: str) -> Response:
    """One job: its stage, how far it got (done of total, in its unit), its message."""
    settings = _existing_collection(name)
    job = JobStore.of(settings).get(job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id[:80]!r} in {name}")
    return jsonify(job_view(settings, job))


def job_view(settings: Settings, job: Job) -> dict[str, Any]:
    """The job, and whether the build it made is the one this worker serves (it loads new builds within
    ``reload_check_s`` of a request, then in the background)."""
    view = job.view()
    served = service_state().collections.loaded(settings.collection)
    if served is not None and job.stage == "done":
        served.index.refresh()
        build = served.index.current()
        view["served"] = build is not None and build.build_id == job.build
    else:
        view["served"] = job.stage == "done"  # loaded on this worker's first request for the collection
    return view


def _accepted(settings: Settings, job: Job) -> tuple[Response, int]:
    response = jsonify(job_view(settings, job))
    response.headers["Location"] = url_for("collections_v1.get_job", name=settings.collection, job_id=job.id)
    return response, 202


def _existing_collection(name: str) -> Settings:
    try:
        return collection_settings(service_state().settings, check_collection_name(name))
    except SettingsError as exc:
        raise ApiError(400, "invalid_collection", str(exc)) from None


def _writable_collection(name: str) -> Settings:
    """The collection to upload into: created if new and ``upload_create_collections`` allows it."""
    state = service_state()
    try:
        settings = _existing_collection(name)
    except UnknownCollectionError:
        if not state.settings.upload_create_collections:
            raise
        settings = state.settings.for_collection(name)
    if not settings.documents_dir.is_dir():
        create_collection(settings)
        logger.info("made the documents folder of collection %s", name)
    _check_writable(settings)
    return settings


def _check_writable(settings: Settings) -> None:
    reason = writable_reason(settings)
    if reason:
        raise ApiError(403, "collection_not_writable", reason)


@collections_api.errorhandler(UploadError)
def upload_refused(exc: UploadError) -> Response:
    return error_response(UPLOAD_ERROR_STATUS.get(exc.code, 400), exc.code, str(exc))


@collections_api.errorhandler(StorageError)
def no_room(exc: StorageError) -> Response:
    # An upload or its job record that could not be written: the disk is full or the folder read-only.
    return error_response(507, "insufficient_storage", str(exc))
