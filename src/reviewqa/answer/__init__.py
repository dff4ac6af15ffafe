"""The answer stage: retrieve, select evidence sentences, cite them, or abstain."""

from reviewqa.answer.pipeline import AnswerEngine, answer, engine_for

__all__ = ["AnswerEngine", "answer", "engine_for"]
