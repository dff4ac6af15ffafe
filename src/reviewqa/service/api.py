"""The JSON API, version 1: ask, search, passages, documents, health and the OpenAPI description."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, jsonify, request

from reviewqa.refs.export import FORMATS
from reviewqa.service.errors import ApiError
from reviewqa.service.examples import example_questions
from reviewqa.service.openapi import build_spec
from reviewqa.service.state import AnswerCache, CollectionState, LoadedBuild, ServiceState
from reviewqa.service.validation import json_body, parse_ask, parse_cited_works, parse_search
from reviewqa.service.views import (
    document_ids,
    documents_view,
    hit_view,
    passage_detail,
    work_view,
    works_to_export,
)
from reviewqa.settings import SettingsError, check_collection_name

if TYPE_CHECKING:
    from reviewqa.index.store import IndexStatus

logger = logging.getLogger(__name__)

api = Blueprint("api_v1", __name__, url_prefix="/api/v1")


def service_state() -> ServiceState:
    return current_app.extensions["reviewqa"]


def collection_state(body: dict[str, Any] | None = None) -> CollectionState:
    """The collection a request names (the JSON body's ``collection`` field, else the query parameter),
    loaded if this is its first use; the default collection when it names none. 400 for a name that cannot
    be one (null included: the spec says a string), 404 (UnknownCollectionError) for one that names no
    collection."""
    if body and "collection" in body:
        name = body["collection"]
        if not isinstance(name, str):
            raise ApiError(400, "invalid_collection", "'collection' must be a string")
    else:
        name = request.args.get("collection")
    if name is not None:
        try:
            check_collection_name(name)
        except SettingsError as exc:
            raise ApiError(400, "invalid_collection", str(exc)) from None
    return service_state().collections.get(name)


@api.post("/ask")
def ask() -> Response:
    from reviewqa.answer import answer

    state = service_state()
    body = json_body(request)
    collection = collection_state(body)
    ask_request = parse_ask(body, collection.settings.top_k)
    build = collection.index.build()  # this request finishes on this build even if another is swapped in
    key = AnswerCache.key(
        collection.name, build, ask_request.question, ask_request.top_k, ask_request.history
    )
    result = state.answers.get(key)
    cache_status = "hit"
    if result is None:
        cache_status = "miss"
        result = answer(
            ask_request.question,
            collection.settings,
            build.index,
            top_k=ask_request.top_k,
            history=ask_request.history or None,
        ).to_dict()
        state.answers.put(key, result)
    response = jsonify(result)
    response.headers["X-Answer-Cache"] = cache_status
    return response


@api.get("/search")
def search() -> Response:
    collection = collection_state()
    search_request = parse_search(request.args.to_dict(), collection.settings.search_mode)
    index = collection.index.get()
    hits = index.search(search_request.query, k=search_request.k, mode=search_request.mode)
    return jsonify(
        {
            "query": search_request.query,
            "expanded": index.expand_query(search_request.query),
            "k": search_request.k,
            "mode": search_request.mode,
            "results": [hit_view(hit) for hit in hits],
        }
    )


@api.get("/passages/<path:passage_id>")
def passage(passage_id: str) -> Response:
    index = collection_state().index.get()
    found = index.passage_by_id.get(passage_id)
    if found is None:
        raise ApiError(404, "passage_not_found", f"no passage with id {passage_id!r}")
    return jsonify(passage_detail(index, found))


@api.get("/documents")
def documents() -> Response:
    return jsonify({"documents": documents_view(collection_state().index.get())})


@api.route("/cited-works", methods=["GET", "POST"])
def cited_works() -> Response:
    """The works named by key, the documents named by id, and what the given passages cite, as JSON or as
    a BibTeX, RIS or CSV download; the whole bibliography when nothing is named. POST takes the same fields
    form-encoded, for selections longer than a URL may be (the chat page's export)."""
    if request.method == "POST" and request.mimetype != "application/x-www-form-urlencoded":
        raise ApiError(
            415, "unsupported_media_type", "send the fields form-encoded (application/x-www-form-urlencoded)"
        )
    export = parse_cited_works(request.form if request.method == "POST" else request.args)
    index = collection_state().index.get()
    for name, values, known in (
        ("key", export.keys, index.bibliography),
        ("doc_id", export.doc_ids, set(document_ids(index)) if export.doc_ids else set()),
        ("passage_id", export.passage_ids, index.passage_by_id),
    ):
        unknown = [value for value in values if value not in known]
        if unknown:
            raise ApiError(404, f"{name}_not_found", f"unknown {name}: " + ", ".join(map(repr, unknown[:5])))
    works = works_to_export(index, export.keys, export.doc_ids, export.passage_ids)
    if export.format == "json":
        return jsonify({"works": [work_view(work) for work in works]})
    render, media_type, extension = FORMATS[export.format]
    response = Response(render(works), content_type=f"{media_type}; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="reviewqa-cited-works.{extension}"'
    return response


@api.get("/examples")
def examples() -> Response:
    """Questions for a first visit, made from the documents' headings and titles and answered by them."""
    return jsonify({"questions": example_questions(collection_state().index.get())})


@api.get("/health")
def health() -> tuple[Response, int]:
    collection = collection_state()
    body = health_report(collection)
    status = 200 if body["ready"] else 503
    collection.health_log.record(status, body["state"], body["reason"], body["warnings"])
    return jsonify(body), status


def health_report(state: CollectionState) -> dict[str, Any]:
    """200 while a build of the collection's index is in service, whatever is on disk: ``warnings`` say
    what needs attention (a newer build loading or failing to load, a corpus changed since the build, files
    of the build damaged on disk since it was loaded); 503 only when there is nothing to serve."""
    from reviewqa.index import index_status

    holder = state.index
    holder.refresh()
    disk = index_status(state.settings, fingerprints=state.fingerprints)
    served = holder.current()
    if served is None:
        pending = holder.pending()
        return {
            "status": "not_ready",
            "ready": False,
            "reason": pending or disk.reason,
            "state": "loading" if holder.loading else _unloaded_state(disk),
            "build": None,
            "warnings": [],
            "manifest": public_manifest(disk.manifest),
        }
    return {
        "status": "ready",
        "ready": True,
        "reason": "ok",
        "state": "ready",
        "build": {
            "id": served.build_id,
            "built_at": served.index.manifest.get("built_at"),
            "passages": len(served.index.passages),
        },
        "warnings": health_warnings(served, disk, holder.pending()),
        "manifest": public_manifest(served.index.manifest),
    }


def _unloaded_state(disk: IndexStatus) -> str:
    # An index whose sizes are right but which would not load failed its checksums or contents.
    return "corrupt" if disk.ready else disk.state


def health_warnings(served: LoadedBuild, disk: IndexStatus, pending: str) -> list[str]:
    warnings: list[str] = []
    if disk.directory != served.directory and served.directory is not None:
        if pending:
            warnings.append(f"{pending}; serving build {served.build_id}")
        elif disk.directory is None:
            warnings.append(f"no index on disk ({disk.reason}); serving build {served.build_id} from memory")
    elif disk.state in ("stale", "unreadable_corpus"):
        warnings.append(disk.reason)
    if served.files is not None:
        warnings += [
            f"{problem}: build {served.build_id} on disk is damaged (the copy in memory is intact); "
            "run `reviewqa index`"
            for problem in served.files.damage()
        ]
    return warnings


def public_manifest(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The manifest without file listings and local paths, which are no business of HTTP clients."""
    if manifest is None:
        return None
    public = {key: value for key, value in manifest.items() if key != "files"}
    if isinstance(public.get("model"), dict):
        public["model"] = {key: value for key, value in public["model"].items() if key != "path"}
    return public


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(build_spec(service_state().settings))
