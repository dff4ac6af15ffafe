"""Offline evaluation: the gold question set, metrics, the runner and its reports."""

from reviewqa.eval.gold import GoldQuestion, GoldSetError, load_gold
from reviewqa.eval.runner import EvalRun, QuestionResult, run_eval

__all__ = ["EvalRun", "GoldQuestion", "GoldSetError", "QuestionResult", "load_gold", "run_eval"]
