"""The web service: a JSON API under /api/v1 and a chat page at /, over the same `answer` code.

``create_app`` is imported lazily so that `reviewqa --help` does not import Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewqa.lazy import lazy_attributes

if TYPE_CHECKING:
    from reviewqa.service.app import create_app

__all__ = ["create_app"]

__getattr__ = lazy_attributes(__name__, {"create_app": "reviewqa.service.app"})
