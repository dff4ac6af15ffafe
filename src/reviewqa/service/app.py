"""The Flask application factory: JSON API, chat page, JSON errors, request ids and security headers."""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from reviewqa.collections.registry import UnknownCollectionError
from reviewqa.errors import IndexNotReadyError, QuestionError, ReviewqaError
from reviewqa.logsafe import log_safe
from reviewqa.service.api import api
from reviewqa.service.collections_api import collections_api
from reviewqa.service.errors import HTTP_ERROR_CODES, ApiError, error_response
from reviewqa.service.pages import pages
from reviewqa.service.state import AnswerCache, ServedCollections, ServiceState
from reviewqa.service.uploads import upload_body_limit
from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.index import SearchIndex

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A client-sent id is echoed back only when it is short and plain, so it is safe in logs and headers.
CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Everything is served from this origin: no CDN, no inline script, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def create_app(settings: Settings | None = None, index: SearchIndex | None = None) -> Flask:
    """The app; it starts even without an index (health and ask then answer 503 until one is built)."""
    if settings is None:
        settings = index.settings if index is not None else Settings.load()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    # The body of an upload may be larger (read by the worker too, which takes only this path's bodies up
    # to it); None when uploads are off.
    app.config["UPLOAD_MAX_CONTENT_LENGTH"] = upload_body_limit(settings)
    # Read by the gunicorn worker (service/worker.py), which reads whole requests before the app sees them.
    app.config["REQUEST_READ_TIMEOUT_S"] = settings.request_read_timeout_s
    app.json.sort_keys = False  # keep the Answer contract's field order
    collections = ServedCollections(settings, index)
    # Load the default collection now, so the first request does not pay for it; a failure is logged and
    # /api/v1/health says why. Other collections load on their first request.
    collections.default.ensure_loaded()
    app.extensions["reviewqa"] = ServiceState(collections, AnswerCache(settings.answer_cache_size))
    app.register_blueprint(api)
    app.register_blueprint(collections_api)
    app.register_blueprint(pages)
    app.before_request(_assign_request_id)
    app.after_request(_finish_response)
    _register_error_handlers(app)
    return app


def _assign_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _request_id() -> str:
    if "request_id" not in g:
        _assign_request_id()
    return g.request_id


def _finish_response(response: Response) -> Response:
    request_id = _request_id()
    response.headers[REQUEST_ID_HEADER] = request_id
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    # Health probes log their state changes themselves (HealthLog), not every probe.
    if response.status_code >= 500 and request.endpoint != "api_v1.health":
        logger.error(
            "%s %s -> %d request_id=%s",
            log_safe(request.method),
            log_safe(request.path),
            response.status_code,
            request_id,
        )
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="reviewqa uploads"'
        return response

    @app.errorhandler(QuestionError)
    def question_error(exc: QuestionError) -> Response:
        return error_response(400, "invalid_question", str(exc))

    @app.errorhandler(UnknownCollectionError)
    def unknown_collection(exc: UnknownCollectionError) -> Response:
        return error_response(404, "collection_not_found", f"no collection named {exc.name!r}")

    @app.errorhandler(IndexNotReadyError)
    def index_not_ready(exc: IndexNotReadyError) -> Response:
        response = error_response(503, "index_not_ready", str(exc))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        response = error_response(status, HTTP_ERROR_CODES.get(status, "http_error"), exc.description or "")
        # Keep headers werkzeug set for this error, e.g. Allow on 405.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        # The traceback goes to the log under the request id; the client gets only the id.
        request_id = _request_id()
        logger.exception("unhandled error request_id=%s", request_id)
        message = "internal error; quote request id " + request_id
        if isinstance(exc, ReviewqaError):
            message = str(exc)
        return error_response(500, "internal_error", message)
