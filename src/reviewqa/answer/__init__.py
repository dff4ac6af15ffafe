"""The answer stage: retrieve, select evidence sentences, cite them, or abstain.

The names are imported on first use, so the command line can register `reviewqa ask` without importing the
answer engine (and numpy) when a running service answers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewqa.answer.pipeline import AnswerEngine, answer, engine_for

_HOMES = dict.fromkeys(("AnswerEngine", "answer", "engine_for"), "reviewqa.answer.pipeline")
__all__ = ["AnswerEngine", "answer", "engine_for"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # found directly from now on
    return value
