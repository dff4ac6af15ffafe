"""JSON errors: every failure reaches the client as ``{"error": {"code", "message"}}``, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, jsonify


@dataclass(eq=False)
class ApiError(Exception):
    """A request the API refuses, with the HTTP status and a stable machine-readable code."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


# Codes for the statuses werkzeug raises itself (routing, body size, methods).
HTTP_ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "unavailable",
}
