"""Checks on what clients send; each problem becomes an ApiError with status 400 (or 415)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Request
from werkzeug.datastructures import MultiDict

from reviewqa.service.errors import ApiError

MIN_TOP_K = 1
MAX_TOP_K = 50
MAX_HISTORY_TURNS = 20
MAX_QUERY_CHARS = 1000
SEARCH_MODES = ("hybrid", "dense", "bm25")
EXPORT_FORMATS = ("json", "bibtex", "ris", "csv")
# Per repeated parameter of /cited-works: far more than one conversation cites, few enough to check fast.
MAX_EXPORT_ITEMS = 500
MAX_ID_CHARS = 1000
# Plain ASCII digits only: int() would also take "+5", " 5", "5_0" and other scripts' digits.
ASCII_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class AskRequest:
    question: str
    top_k: int
    history: list[dict[str, str]]


@dataclass(frozen=True)
class CitedWorksRequest:
    format: str
    keys: list[str]
    doc_ids: list[str]
    passage_ids: list[str]


@dataclass(frozen=True)
class SearchRequest:
    query: str
    k: int
    mode: str


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 415 when it is not declared JSON, 413 when too large, 400 when it does
    not parse."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the request body as application/json")
    raw = read_body(request)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from None
    except ValueError:  # an integer with more digits than Python converts (sys.get_int_max_str_digits)
        raise ApiError(400, "invalid_json", "the request body holds a number too long to read") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return body


def read_body(request: Request) -> bytes:
    """The body, refused with 413 above the app's MAX_CONTENT_LENGTH however it was sent.

    werkzeug refuses a declared Content-Length over the limit, but a chunked body (no Content-Length) is
    only cut off at the limit, which would parse as truncated JSON. So such a body is read from the
    server's stream up to one byte past the limit, which tells a body that fits from one that does not.
    """
    limit = request.max_content_length
    environ = request.environ
    if limit is None or request.content_length is not None or not environ.get("wsgi.input_terminated"):
        return request.get_data(cache=False)  # raises 413 above MAX_CONTENT_LENGTH
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise ApiError(413, "request_too_large", f"the request body is over {limit} bytes")
    return b"".join(chunks)


def parse_ask(body: dict[str, Any], default_top_k: int) -> AskRequest:
    if "question" not in body:
        raise ApiError(400, "invalid_question", "the field 'question' is required")
    question = body["question"]
    if not isinstance(question, str):
        raise ApiError(400, "invalid_question", "'question' must be a string")
    if not is_valid_text(question):
        raise ApiError(400, "invalid_question", "'question' must be valid Unicode text (no lone surrogates)")
    top_k = body.get("top_k", default_top_k)
    return AskRequest(question=question, top_k=_check_top_k(top_k, "top_k"), history=_parse_history(body))


def _check_top_k(value: object, name: str) -> int:
    # JSON has one number type: 5.0 is the integer 5 (as in JSON Schema). `true` is not a count, though
    # bool is an int subclass in Python.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_TOP_K <= value <= MAX_TOP_K:
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be an integer from {MIN_TOP_K} to {MAX_TOP_K}")
    return value


def _parse_history(body: dict[str, Any]) -> list[dict[str, str]]:
    if "history" not in body:
        return []
    history = body["history"]  # null is refused like any other non-list: the spec says array
    if not isinstance(history, list) or len(history) > MAX_HISTORY_TURNS:
        raise ApiError(
            400, "invalid_history", f"'history' must be a list of at most {MAX_HISTORY_TURNS} turns"
        )
    turns: list[dict[str, str]] = []
    for turn in history:
        if (
            not isinstance(turn, dict)
            or not isinstance(turn.get("question"), str)
            or not isinstance(turn.get("answer"), str)
        ):
            raise ApiError(
                400,
                "invalid_history",
                "each 'history' turn must be an object with string 'question' and 'answer'",
            )
        if not (is_valid_text(turn["question"]) and is_valid_text(turn["answer"])):
            raise ApiError(
                400, "invalid_history", "'history' must be valid Unicode text (no lone surrogates)"
            )
        turns.append({"question": turn["question"], "answer": turn["answer"]})
    return turns


def is_valid_text(text: str) -> bool:
    """False for strings JSON can carry but Unicode cannot encode: lone surrogates such as "\\ud800"."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_search(args: dict[str, str], default_mode: str = "hybrid") -> SearchRequest:
    query = args.get("q", "")
    if not query.strip():
        raise ApiError(400, "invalid_query", "the parameter 'q' is required and must not be blank")
    if len(query) > MAX_QUERY_CHARS:
        raise ApiError(400, "invalid_query", f"'q' must be at most {MAX_QUERY_CHARS} characters")
    raw_k = args.get("k", "10")
    # A long run of digits is out of range anyway; the length check spares int() a huge conversion.
    if not ASCII_DIGITS.fullmatch(raw_k) or len(raw_k.lstrip("0")) > len(str(MAX_TOP_K)):
        raise ApiError(400, "invalid_k", f"'k' must be an integer from {MIN_TOP_K} to {MAX_TOP_K}")
    k = int(raw_k)
    mode = args.get("mode", default_mode)
    if mode not in SEARCH_MODES:
        raise ApiError(400, "invalid_mode", f"'mode' must be one of {', '.join(SEARCH_MODES)}")
    return SearchRequest(query=query, k=_check_top_k(k, "k"), mode=mode)


def parse_cited_works(args: MultiDict[str, str]) -> CitedWorksRequest:
    export_format = args.get("format", "json")
    if export_format not in EXPORT_FORMATS:
        raise ApiError(400, "invalid_format", f"'format' must be one of {', '.join(EXPORT_FORMATS)}")
    lists = {}
    for name in ("key", "doc_id", "passage_id"):
        values = args.getlist(name)
        if len(values) > MAX_EXPORT_ITEMS or any(not v.strip() or len(v) > MAX_ID_CHARS for v in values):
            raise ApiError(
                400,
                f"invalid_{name}",
                f"'{name}' may be given up to {MAX_EXPORT_ITEMS} times, each not blank and at most "
                f"{MAX_ID_CHARS} characters",
            )
        lists[name] = list(dict.fromkeys(values))
    return CitedWorksRequest(export_format, lists["key"], lists["doc_id"], lists["passage_id"])
