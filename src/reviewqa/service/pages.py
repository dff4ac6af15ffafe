"""HTML pages: the chat page at ``/`` and the API reference at ``/api/`` (rendered from the OpenAPI spec);
``/openapi.json`` and ``/docs``, where clients of other frameworks look first, redirect to the versioned
spec and that page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

from reviewqa.service.openapi import build_spec

pages = Blueprint("pages", __name__)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class FieldRow:
    name: str
    type: str
    required: bool
    notes: str


@dataclass(frozen=True)
class OperationView:
    method: str
    path: str
    summary: str
    parameters: list[FieldRow]
    body: str | None
    responses: list[tuple[str, str, str]]  # status, description, schema name


@pages.get("/")
def chat() -> str:
    return render_template("chat.html")


@pages.get("/openapi.json")
def openapi_alias() -> Response:
    return redirect(url_for("api_v1.openapi"), code=302)  # 302: the current version may change


@pages.get("/docs")
@pages.get("/docs/")
def docs_alias() -> Response:
    return redirect(url_for("pages.api_reference"), code=302)


@pages.get("/api/")
def api_reference() -> str:
    spec = build_spec(current_app.extensions["reviewqa"].settings)
    base = spec["servers"][0]["url"]
    operations = [
        _operation(method, base + path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]
    schemas = {name: _fields(schema) for name, schema in spec["components"]["schemas"].items()}
    return render_template("api.html", info=spec["info"], operations=operations, schemas=schemas)


def type_label(schema: dict[str, Any]) -> str:
    """A short human reading of a JSON schema: "integer", "array of Citation", "string or null"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "oneOf" in schema:
        return " or ".join(type_label(option) for option in schema["oneOf"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return "array of " + type_label(schema.get("items", {}))
    if kind == "object" and "additionalProperties" in schema:
        return "object of " + type_label(schema["additionalProperties"])
    return kind


def _notes(schema: dict[str, Any]) -> str:
    parts = []
    for key, label in (
        ("minimum", "min"),
        ("maximum", "max"),
        ("maxLength", "max length"),
        ("maxItems", "max items"),
    ):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    if "enum" in schema:
        parts.append("one of " + ", ".join(map(str, schema["enum"])))
    if "default" in schema:
        parts.append(f"default {schema['default']}")
    if "description" in schema:
        parts.append(schema["description"])
    return "; ".join(parts)


def _fields(schema: dict[str, Any]) -> list[FieldRow]:
    required = set(schema.get("required", []))
    return [
        FieldRow(name, type_label(prop), name in required, _notes(prop))
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(method: str, path: str, op: dict[str, Any]) -> OperationView:
    parameters = [
        FieldRow(
            f"{p['name']} ({p['in']})", type_label(p["schema"]), p.get("required", False), _notes(p["schema"])
        )
        for p in op.get("parameters", [])
    ]
    body = None
    if "requestBody" in op:
        media_type, content = next(iter(op["requestBody"]["content"].items()))
        body = f"{type_label(content['schema'])} ({media_type})"
    responses = []
    for status, response in op["responses"].items():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        responses.append((status, response["description"], type_label(schema) if schema else ""))
    return OperationView(method.upper(), path, op.get("summary", ""), parameters, body, responses)
