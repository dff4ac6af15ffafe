"""The web service: a JSON API under /api/v1 and a chat page at /, over the same `answer` code.

``create_app`` is imported lazily so that `reviewqa --help` does not import Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewqa.service.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from reviewqa.service.app import create_app

        return create_app
    raise AttributeError(name)
