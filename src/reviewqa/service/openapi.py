"""The OpenAPI 3.1 description of the JSON API, built from the same limits the handlers enforce."""

from __future__ import annotations

from typing import Any, get_args

from reviewqa import __version__
from reviewqa.collections.jobs import STAGES
from reviewqa.index.store import IndexState
from reviewqa.refs.export import FORMATS
from reviewqa.service.validation import (
    EXPORT_FORMATS,
    MAX_EXPORT_ITEMS,
    MAX_HISTORY_TURNS,
    MAX_ID_CHARS,
    MAX_QUERY_CHARS,
    MAX_TOP_K,
    MIN_TOP_K,
    SEARCH_MODES,
)
from reviewqa.settings import COLLECTION_NAME, Settings

Schema = dict[str, Any]

# limit_request_line in service/gunicorn.conf.py: gunicorn's largest limit short of none.
MAX_REQUEST_LINE_BYTES = 8190

NULLABLE_INT: Schema = {"type": ["integer", "null"]}
NULLABLE_STR: Schema = {"type": ["string", "null"]}
# A string with at least one non-blank character (patterns are unanchored in JSON Schema). "Blank" is
# Python's str.strip(), as the handlers use; the JSON Schema (ECMA-262) \s lacks U+001C-U+001F and U+0085,
# so they are named, else a question of "\x1d" would be valid by the spec and refused by the service.
NON_BLANK: Schema = {"type": "string", "minLength": 1, "pattern": r"[^\s\x1c-\x1f\x85]"}


COLLECTION_NAME_SCHEMA: Schema = {"type": "string", "pattern": f"^{COLLECTION_NAME.pattern}$"}
COLLECTION_STATES = [*get_args(IndexState), "empty"]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _schemas(settings: Settings) -> dict[str, Schema]:
    top_k: Schema = {"type": "integer", "minimum": MIN_TOP_K, "maximum": MAX_TOP_K}
    return {
        "Error": _obj(
            {"error": _obj({"code": {"type": "string"}, "message": {"type": "string"}})},
        ),
        "Turn": _obj({"question": {"type": "string"}, "answer": {"type": "string"}}),
        "AskRequest": {
            **_obj(
                {
                    "question": {
                        **NON_BLANK,
                        "description": f"At most {settings.max_question_tokens} tokens.",
                    },
                    "top_k": {**top_k, "default": settings.top_k},
                    "history": {
                        "type": "array",
                        "items": _ref("Turn"),
                        "maxItems": MAX_HISTORY_TURNS,
                        "description": "Earlier turns, oldest first; a follow-up question can lean on them.",
                    },
                    "collection": {
                        **COLLECTION_NAME_SCHEMA,
                        "description": f"The collection to answer from (default: {settings.collection}).",
                    },
                },
                required=["question"],
            ),
        },
        "SourceSupport": _obj(
            {"passage_id": {"type": "string"}, "quote": {"type": "string"}, "score": {"type": "number"}}
        ),
        "CitedWorkRef": _obj(
            {
                "key": {"type": "string"},
                "doi": NULLABLE_STR,
                "pmid": NULLABLE_STR,
                "title": NULLABLE_STR,
                "url": NULLABLE_STR,
                "support": {"oneOf": [_ref("SourceSupport"), {"type": "null"}]},
                "source_indexed": {"type": "boolean"},
            }
        ),
        "Citation": _obj(
            {
                "marker": {"type": "integer"},
                "passage_id": {"type": "string"},
                "document": {"type": "string"},
                "title": {"type": "string"},
                "section": {"type": "string"},
                "page": NULLABLE_INT,
                "quote": {"type": "string"},
                "cited_works": {"type": "array", "items": _ref("CitedWorkRef")},
                "document_kind": {"type": "string", "enum": ["review", "source"]},
                "work_key": {**NULLABLE_STR, "description": "The cited work a source passage belongs to."},
            }
        ),
        "RetrievedPassage": _obj(
            {
                "passage_id": {"type": "string"},
                "document": {"type": "string"},
                "section": {"type": "string"},
                "page": NULLABLE_INT,
                "text": {"type": "string"},
                "score": {"type": "number"},
                "cited_works": {"type": "array", "items": {"type": "string"}},
                "work_key": {**NULLABLE_STR, "description": "The cited work a source passage belongs to."},
            }
        ),
        "Answer": _obj(
            {
                "question": {"type": "string"},
                "answer": {"type": "string", "description": "Sentences with inline [n] citation markers."},
                "abstained": {"type": "boolean"},
                "confidence": {"type": "number"},
                "citations": {"type": "array", "items": _ref("Citation")},
                "passages": {"type": "array", "items": _ref("RetrievedPassage")},
                "timings_ms": {"type": "object", "additionalProperties": {"type": "number"}},
            }
        ),
        "SearchHit": _obj(
            {
                "passage_id": {"type": "string"},
                "document": {"type": "string"},
                "section": {"type": "string"},
                "page": NULLABLE_INT,
                "text": {"type": "string"},
                "cited_works": {"type": "array", "items": {"type": "string"}},
                "work_key": {**NULLABLE_STR, "description": "The cited work a source passage belongs to."},
                "score": {"type": "number"},
                "dense_score": {"type": ["number", "null"]},
                "bm25_score": {"type": ["number", "null"]},
            }
        ),
        "SearchResults": _obj(
            {
                "query": {"type": "string"},
                "expanded": {
                    "type": "string",
                    "description": "The query with the other form (long/short) of each abbreviation it uses",
                },
                "k": {"type": "integer"},
                "mode": {"type": "string", "enum": list(SEARCH_MODES)},
                "results": {"type": "array", "items": _ref("SearchHit")},
            }
        ),
        "Link": _obj({"label": {"type": "string"}, "url": {"type": "string"}}),
        "CitedWork": _obj(
            {
                "key": {"type": "string"},
                "authors": {"type": "string"},
                "year": NULLABLE_INT,
                "title": {"type": "string"},
                "journal": {"type": "string"},
                "doi": {"type": "string"},
                "pmid": {"type": "string"},
                "url": {"type": "string"},
                "links": {"type": "array", "items": _ref("Link")},
            }
        ),
        "Document": _obj(
            {
                "doc_id": {"type": "string"},
                "path": {"type": "string"},
                "title": {"type": "string"},
                "authors": {"type": "string"},
                "year": NULLABLE_INT,
                "kind": {"type": "string", "enum": ["review", "source"]},
                "key": NULLABLE_STR,
                "passage_count": {"type": "integer", "minimum": 0},
                "label": {
                    "type": "string",
                    "description": 'How to cite it: "Yee 2018" from authors and year, else its key or title',
                },
            }
        ),
        "DocumentList": _obj({"documents": {"type": "array", "items": _ref("Document")}}),
        "CitedWorkList": _obj({"works": {"type": "array", "items": _ref("CitedWork")}}),
        "ExampleQuestion": _obj(
            {
                "question": {"type": "string"},
                "document": {
                    "type": "string",
                    "description": "The document whose heading or title it is from",
                },
                "section": {"type": "string"},
            }
        ),
        "ExampleList": _obj({"questions": {"type": "array", "items": _ref("ExampleQuestion")}}),
        "Sentence": _obj(
            {
                "start": {"type": "integer"},
                "end": {"type": "integer"},
                "text": {"type": "string"},
                "cited_works": {"type": "array", "items": {"type": "string"}},
            }
        ),
        "PassageDetail": _obj(
            {
                "passage_id": {"type": "string"},
                "document": {"type": "string"},
                "section": {"type": "string"},
                "section_path": {"type": "array", "items": {"type": "string"}},
                "page": NULLABLE_INT,
                "start": {"type": "integer"},
                "end": {"type": "integer"},
                "text": {"type": "string"},
                "sentences": {"type": "array", "items": _ref("Sentence")},
                "document_info": _ref("Document"),
                "neighbours": _obj({"previous": NULLABLE_STR, "next": NULLABLE_STR}),
                "cited_works": {"type": "array", "items": _ref("CitedWork")},
                "work_key": {**NULLABLE_STR, "description": "The cited work a source passage belongs to."},
            }
        ),
        "Job": _obj(
            {
                "id": {"type": "string"},
                "collection": {"type": "string"},
                "action": {"type": "string", "enum": ["add", "delete"]},
                "document": {"type": "string", "description": "Its path in the documents folder."},
                "stage": {"type": "string", "enum": list(STAGES)},
                "done": {"type": "integer", "minimum": 0},
                "total": {"type": "integer", "minimum": 0},
                "unit": {
                    "type": "string",
                    "enum": ["", "pages", "documents", "texts"],
                    "description": "What done and total count: pages read, documents read, texts embedded",
                },
                "message": {"type": "string"},
                "created_at": {"type": "string"},
                "started_at": NULLABLE_STR,
                "finished_at": NULLABLE_STR,
                "build": {**NULLABLE_STR, "description": "The build the job made current (when done)."},
                "served": {
                    "type": "boolean",
                    "description": "Done, and the worker that answered serves the job's build (workers load "
                    "a new build within seconds of their next request).",
                },
            }
        ),
        "Collection": _obj(
            {
                "name": {"type": "string"},
                "title": {"type": "string"},
                "state": {"type": "string", "enum": COLLECTION_STATES},
                "documents": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Files in its documents folder.",
                },
                "indexed_documents": {"type": "integer", "minimum": 0},
                "passages": {"type": "integer", "minimum": 0},
                "build": {**NULLABLE_STR, "description": "Its current build on disk."},
                "served_build": {
                    **NULLABLE_STR,
                    "description": "The build the answering worker serves (null if it has not loaded it).",
                },
                "job": {"oneOf": [_ref("Job"), {"type": "null"}], "description": "Its latest job."},
            }
        ),
        "CollectionList": _obj(
            {
                "default": {"type": "string"},
                "uploads": _obj(
                    {
                        "allowed": {
                            "type": "boolean",
                            "description": "Whether this client may add documents.",
                        },
                        "token_required": {"type": "boolean"},
                        "max_bytes": {"type": "integer"},
                        "reason": {"type": "string"},
                    }
                ),
                "collections": {"type": "array", "items": _ref("Collection")},
            }
        ),
        "Health": _obj(
            {
                "status": {"type": "string", "enum": ["ready", "not_ready"]},
                "ready": {"type": "boolean"},
                "reason": {"type": "string"},
                # "ready" whenever a build is in service (see warnings); otherwise why there is none.
                "state": {"type": "string", "enum": [*get_args(IndexState), "loading"]},
                "build": {
                    "type": ["object", "null"],
                    "description": "The build in service: its folder under index/builds/ (null if unknown).",
                    "properties": {
                        "id": {"type": ["string", "null"]},
                        "built_at": {"type": ["string", "null"]},
                        "passages": {"type": "integer"},
                    },
                    "required": ["id", "built_at", "passages"],
                },
                "warnings": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "What needs attention while serving: a newer build loading or refused, "
                    "a corpus changed since the build, files of the build damaged on disk since loaded.",
                },
                "manifest": {"type": ["object", "null"]},
            }
        ),
    }


REQUEST_ID_HEADER: Schema = {
    "X-Request-ID": {
        "description": "The request's id: the client's own if it sent a plain one, else a new one.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
    }
}
ANSWER_CACHE_HEADER: Schema = {
    "X-Answer-Cache": {
        "description": "hit when the answer came from the worker's answer cache",
        "required": True,
        "schema": {"type": "string", "enum": ["hit", "miss"]},
    }
}


def _json(schema: str, description: str, headers: Schema | None = None) -> Schema:
    return {
        "description": description,
        "headers": {**REQUEST_ID_HEADER, **(headers or {})},
        "content": {"application/json": {"schema": _ref(schema)}},
    }


def _errors(*statuses: int) -> dict[str, Schema]:
    """Error responses for ``statuses``, plus 500, which any operation can answer."""
    descriptions = {
        400: "Invalid input",
        401: "The upload token is missing or wrong (WWW-Authenticate: Bearer)",
        403: "Uploads are not allowed for this client, or the collection's folder is not writable",
        404: "Not found (a collection, passage, document or job)",
        409: "The document is already in the collection (or is the last one)",
        413: "Request body too large",
        414: f"Request line (path and percent-encoded query) over {MAX_REQUEST_LINE_BYTES} bytes (gunicorn)",
        415: "Request body is not of the type expected",
        500: "Unexpected server error; the message quotes the request id, under which the log has details",
        503: "The index is not ready (run `reviewqa index`)",
        507: "No space left to keep the upload",
    }
    return {str(status): _json("Error", descriptions[status]) for status in (*statuses, 500)}


def _responses() -> dict[str, Schema]:
    """Responses no operation lists: a method a path does not offer gets 405 (OpenAPI has no place to
    describe methods a path lacks, so it is declared here and in the description)."""
    return {
        "MethodNotAllowed": {
            "description": "The path does not offer this method; Allow lists the ones it does",
            "headers": {
                **REQUEST_ID_HEADER,
                "Allow": {
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "e.g. POST, OPTIONS",
                },
            },
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    }


def _id_list() -> Schema:
    item = {**NON_BLANK, "maxLength": MAX_ID_CHARS}
    return {"type": "array", "items": item, "maxItems": MAX_EXPORT_ITEMS}


EXPORT_LISTS = (
    ("key", 'Bibliography keys, e.g. "Gradishar et al. 2016" (repeat the field)'),
    ("doc_id", "Document ids, e.g. igf1r-review"),
    ("passage_id", "Passage ids, e.g. igf1r-review:3"),
)


def _cited_works_operation(settings: Settings, method: str) -> Schema:
    """GET takes the fields as query parameters; POST takes the same fields form-encoded, for selections
    longer than a request line may be."""
    export_format = {"type": "string", "enum": list(EXPORT_FORMATS), "default": "json"}
    format_description = "json, or a download: bibtex, ris or csv"
    operation: Schema = {
        "operationId": "citedWorks" if method == "get" else "citedWorksPost",
        "summary": "Cited works as JSON, or as a BibTeX, RIS or CSV file for a reference manager",
        "description": (
            "The works named by bibliography key (as the named documents' own reference lists give them, "
            "else the bibliography's), the documents named by id, and for each passage id its document and "
            "the works it cites: in that order, each once. With none of them, the whole bibliography."
        ),
        "responses": {
            "200": {
                "description": "The works",
                "headers": REQUEST_ID_HEADER,
                "content": {
                    "application/json": {"schema": _ref("CitedWorkList")},
                    **{media: {"schema": {"type": "string"}} for _, media, _ in FORMATS.values()},
                },
            },
            **(_errors(400, 404, 414, 503) if method == "get" else _errors(400, 404, 413, 415, 503)),
        },
    }
    if method == "get":
        operation["parameters"] = [
            _query("format", export_format, format_description),
            *(
                {**_query(name, _id_list(), text), "style": "form", "explode": True}
                for name, text in EXPORT_LISTS
            ),
            _collection_query(settings),
        ]
        return operation
    operation["parameters"] = [_collection_query(settings)]
    fields = {"format": {**export_format, "description": format_description}}
    fields |= {name: {**_id_list(), "description": text} for name, text in EXPORT_LISTS}
    operation["requestBody"] = {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": fields},
                "encoding": {name: {"style": "form", "explode": True} for name, _ in EXPORT_LISTS},
            }
        },
    }
    return operation


def _query(name: str, schema: Schema, description: str, required: bool = False) -> Schema:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _collection_query(settings: Settings) -> Schema:
    return _query("collection", COLLECTION_NAME_SCHEMA, f"The collection (default: {settings.collection})")


def _path_parameter(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


LOCATION: Schema = {
    "Location": {"description": "The job's URL", "required": True, "schema": {"type": "string"}}
}
UPLOAD_SECURITY = [{"uploadToken": []}, {}]  # the token when one is configured (see uploads in the settings)


def _collection_paths(settings: Settings) -> dict[str, Schema]:
    name = _path_parameter("name", COLLECTION_NAME_SCHEMA, "The collection")
    return {
        "/collections": {
            "get": {
                "operationId": "listCollections",
                "summary": "The collections, their state and latest job, and whether this client may upload",
                "responses": {"200": _json("CollectionList", "The collections"), **_errors()},
            }
        },
        "/collections/{name}/documents": {
            "post": {
                "operationId": "addDocument",
                "summary": "Add a PDF or text file to a collection (created if new); it is indexed in the "
                "background by the job returned",
                "security": UPLOAD_SECURITY,
                "parameters": [name],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": _obj(
                                {
                                    "file": {
                                        "type": "string",
                                        "format": "binary",
                                        "description": "A PDF (beginning with %PDF-) or a plain text file, "
                                        f"at most {settings.upload_max_bytes} bytes.",
                                    },
                                    "replace": {
                                        "type": "string",
                                        "enum": ["true", "false"],
                                        "description": "Replace a document of the same name.",
                                    },
                                },
                                required=["file"],
                            )
                        }
                    },
                },
                "responses": {
                    "202": _json("Job", "Accepted: the job that adds and indexes the document", LOCATION),
                    **_errors(400, 401, 403, 404, 409, 413, 415, 507),
                },
            }
        },
        "/collections/{name}/documents/{document}": {
            "delete": {
                "operationId": "deleteDocument",
                "summary": "Remove a document from a collection; the index is rebuilt in the background",
                "security": UPLOAD_SECURITY,
                "parameters": [
                    name,
                    _path_parameter(
                        "document", {"type": "string"}, "Its doc_id or its path in the documents folder"
                    ),
                ],
                "responses": {
                    "202": _json("Job", "Accepted: the job that removes the document", LOCATION),
                    **_errors(400, 401, 403, 404, 409, 507),
                },
            }
        },
        "/collections/{name}/jobs/{job_id}": {
            "get": {
                "operationId": "getJob",
                "summary": "A job's stage and progress (queued, reading, ingesting, embedding, swapping, "
                "done, failed)",
                "parameters": [name, _path_parameter("job_id", {"type": "string"}, "The job's id")],
                "responses": {"200": _json("Job", "The job"), **_errors(400, 404)},
            }
        },
    }


def _paths(settings: Settings) -> dict[str, Schema]:
    return {
        "/ask": {
            "post": {
                "operationId": "ask",
                "summary": "Answer a question from the documents, with citations",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("AskRequest")}},
                },
                "responses": {
                    "200": _json("Answer", "The answer (or an abstention)", ANSWER_CACHE_HEADER),
                    **_errors(400, 404, 413, 415, 503),
                },
            }
        },
        "/search": {
            "get": {
                "operationId": "search",
                "summary": "Rank passages for a query",
                "parameters": [
                    _query(
                        "q",
                        {**NON_BLANK, "maxLength": MAX_QUERY_CHARS},
                        f"The query, at most {MAX_QUERY_CHARS} characters. Under gunicorn the request line"
                        f" (path and percent-encoded query) must also fit in {MAX_REQUEST_LINE_BYTES} bytes:"
                        f" {MAX_QUERY_CHARS} characters of any script up to U+07FF do.",
                        required=True,
                    ),
                    _query(
                        "k",
                        {"type": "integer", "minimum": MIN_TOP_K, "maximum": MAX_TOP_K, "default": 10},
                        "How many passages",
                    ),
                    _query(
                        "mode",
                        {"type": "string", "enum": list(SEARCH_MODES), "default": settings.search_mode},
                        "Dense vectors, BM25 or both fused",
                    ),
                    _collection_query(settings),
                ],
                "responses": {
                    "200": _json("SearchResults", "Ranked passages"),
                    **_errors(400, 404, 414, 503),
                },
            }
        },
        "/passages/{passage_id}": {
            "get": {
                "operationId": "getPassage",
                "summary": "One passage with its document, neighbours and cited works",
                "parameters": [
                    {
                        "name": "passage_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": 'E.g. "igf1r-review:3"; may contain "/".',
                    },
                    _collection_query(settings),
                ],
                "responses": {"200": _json("PassageDetail", "The passage"), **_errors(400, 404, 503)},
            }
        },
        "/documents": {
            "get": {
                "operationId": "listDocuments",
                "summary": "The indexed documents with their metadata and passage counts",
                "parameters": [_collection_query(settings)],
                "responses": {"200": _json("DocumentList", "The documents"), **_errors(400, 404, 503)},
            }
        },
        "/cited-works": {
            "get": _cited_works_operation(settings, "get"),
            "post": _cited_works_operation(settings, "post"),
        },
        "/examples": {
            "get": {
                "operationId": "exampleQuestions",
                "summary": "Up to three questions for a first visit, made from the documents' headings",
                "parameters": [_collection_query(settings)],
                "responses": {"200": _json("ExampleList", "The questions"), **_errors(400, 404, 503)},
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Whether the service can answer (from a collection), with the index manifest",
                "parameters": [_collection_query(settings)],
                "responses": {
                    "200": _json("Health", "A build of the index is in service (warnings may say more)"),
                    "503": _json("Health", "Nothing to serve: the index is missing, loading or unusable"),
                    **_errors(400, 404),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "headers": REQUEST_ID_HEADER,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(),
                },
            }
        },
    }


def build_spec(settings: Settings) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "reviewqa",
            "version": __version__,
            "description": (
                "Literature-grounded question answering over a review article and the papers it cites. "
                'Every error is JSON: {"error": {"code": ..., "message": ...}}; every response carries an '
                "X-Request-ID header. A method a path does not offer gets 405 with an Allow header "
                "(components/responses/MethodNotAllowed)."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {**_paths(settings), **_collection_paths(settings)},
        "components": {
            "schemas": _schemas(settings),
            "responses": _responses(),
            "securitySchemes": {
                "uploadToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The upload_token setting; adding and removing documents need it when "
                    "it is set.",
                }
            },
        },
    }
