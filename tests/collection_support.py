"""Helpers for the collection and upload tests: a small indexed collection, uploads by the test client."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from flask.testing import FlaskClient

from reviewqa.index import build_index
from reviewqa.settings import Settings

NOTES = (
    "Glimmer cells\n\nThe compound zorblax reduced glimmer cell counts by forty percent in a cohort of 52 "
    "patients. Glimmer cells are found only in the inner ear of the cave salamander.\n"
)
NOTES_QUESTION = "By how much did zorblax reduce glimmer cell counts?"


def notes_collection(settings: Settings, name: str = "notes", text: str = NOTES) -> Settings:
    """A collection ``name`` beside the base collection of ``settings``, with one document, indexed."""
    notes = settings.for_collection(name)
    notes.documents_dir.mkdir(parents=True)
    (notes.documents_dir / "glimmer.txt").write_text(text, encoding="utf-8")
    build_index(notes)
    return notes


def copy_of(template: Settings, root: Path, **changes: object) -> Settings:
    """A copy of a built project under ``root`` (links kept as links), with ``changes`` to its settings."""
    shutil.copytree(template.corpus_dir.parent, root, symlinks=True)
    return Settings.load(
        corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval", **changes
    )


def upload(
    client: FlaskClient,
    collection: str,
    filename: str,
    data: bytes,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **form: str,
):
    """POST one file to the collection's documents, as the chat page does (multipart, field "file")."""
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(
        f"/api/v1/collections/{collection}/documents",
        data={"file": (io.BytesIO(data), filename), **form},
        headers=headers,
        content_type="multipart/form-data",
    )
