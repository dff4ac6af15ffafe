"""Metric deltas between two evaluation runs (two report directories)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewqa.errors import ReviewqaError
from reviewqa.eval.report import HEADLINE_METRICS, SUMMARY_FILE, format_value


class EvalReportError(ReviewqaError):
    """A report directory that cannot be read."""


@dataclass(frozen=True)
class MetricDelta:
    label: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def load_summary(report_dir: Path) -> dict[str, Any]:
    path = report_dir / SUMMARY_FILE
    if not path.is_file():
        raise EvalReportError(
            f"no {SUMMARY_FILE} in {report_dir} (is it a `reviewqa eval` report directory?)"
        )
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalReportError(f"{path} is not valid JSON: {exc.msg}") from exc
    if not isinstance(summary, dict):
        raise EvalReportError(f"{path} does not hold a summary object")
    return summary


def _number(summary: dict[str, Any], section: str, name: str) -> float | None:
    value = summary.get(section, {}).get(name) if isinstance(summary.get(section), dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def compare_summaries(before: dict[str, Any], after: dict[str, Any]) -> list[MetricDelta]:
    rows = [
        MetricDelta(label, _number(before, s, n), _number(after, s, n)) for s, n, label in HEADLINE_METRICS
    ]
    rows.append(
        MetricDelta(
            "Recommended abstain threshold",
            _number(before, "abstention", "recommended_threshold"),
            _number(after, "abstention", "recommended_threshold"),
        )
    )
    return rows


def format_comparison(before_dir: Path, after_dir: Path) -> str:
    before, after = load_summary(before_dir), load_summary(after_dir)
    lines = [f"A = {before_dir} ({before.get('split', '?')}, {before.get('questions', '?')} questions)"]
    lines.append(f"B = {after_dir} ({after.get('split', '?')}, {after.get('questions', '?')} questions)")
    if before.get("split") != after.get("split") or before.get("questions") != after.get("questions"):
        lines.append("note: the runs cover different question sets; deltas compare unlike things")
    width = max(len(label) for _, _, label in HEADLINE_METRICS) + 4
    lines.append(f"{'metric':<{width}}{'A':>9}{'B':>9}{'B - A':>9}")
    for row in compare_summaries(before, after):
        delta = "–" if row.delta is None else f"{row.delta:+.3f}"
        lines.append(
            f"{row.label:<{width}}{format_value(row.before):>9}{format_value(row.after):>9}{delta:>9}"
        )
    return "\n".join(lines)
