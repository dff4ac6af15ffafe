"""The answer stage: retrieve, select evidence sentences, cite them, or abstain.

The names are imported on first use, so the command line can register `reviewqa ask` without importing the
answer engine (and numpy) when a running service answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewqa.lazy import lazy_attributes

if TYPE_CHECKING:
    from reviewqa.answer.pipeline import AnswerEngine, answer, engine_for

_HOMES = dict.fromkeys(("AnswerEngine", "answer", "engine_for"), "reviewqa.answer.pipeline")
__all__ = ["AnswerEngine", "answer", "engine_for"]


__getattr__ = lazy_attributes(__name__, _HOMES)
