"""Write an evaluation run to disk: results.jsonl, summary.json, report.md and report.html (with plots)."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reviewqa.errors import ReviewqaError
from reviewqa.eval.runner import EvalRun, QuestionResult
from reviewqa.fileio import atomic_write_text


class ReportDirError(ReviewqaError):
    """The report directory cannot be used (an explicit --out that already holds files)."""


RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"

# (section, metric, label) of the headline table, in the order shown in every report.
HEADLINE_METRICS = (
    ("retrieval", "hit@1", "Evidence hit@1"),
    ("retrieval", "hit@3", "Evidence hit@3"),
    ("retrieval", "hit@5", "Evidence hit@5"),
    ("retrieval", "mrr", "MRR"),
    ("retrieval", "ndcg@10", "nDCG@10"),
    ("answer", "token_f1", "Answer token F1"),
    ("answer", "key_term_accuracy", "Answer key terms all present"),
    ("answer", "key_term_recall", "Answer key-term recall"),
    ("citations", "precision", "Citation precision"),
    ("citations", "recall", "Citation recall"),
    ("citations", "cited_work_accuracy", "Cited-work accuracy"),
    ("citations", "cited_work_precision", "Cited-work precision"),
    ("abstention", "precision", "Abstention precision"),
    ("abstention", "recall", "Abstention recall"),
    ("abstention", "false_abstention_rate", "False-abstention rate"),
    ("calibration", "ece", "Calibration error (ECE)"),
    ("latency_ms", "p50", "Latency p50 (ms)"),
    ("latency_ms", "p95", "Latency p95 (ms)"),
)

SWEEP_SERIES = (
    ("precision", "abstention precision"),
    ("recall", "abstention recall"),
    ("false_abstention_rate", "false-abstention rate"),
    ("balanced_accuracy", "balanced accuracy"),
)
PER_TYPE_COLUMNS = (
    "abstention_correct",
    "hit@5",
    "token_f1",
    "key_term_accuracy",
    "citation_recall",
    "passed",
)
PER_TYPE_HEADER = (
    "type",
    "n",
    "abstention correct",
    "hit@5",
    "token F1",
    "key terms",
    "citation recall",
    "passed",
)


def write_report(run: EvalRun, out_dir: Path) -> dict[str, Path]:
    """Write every output file of ``run`` into ``out_dir`` (created); returns their paths by name.

    Each file is written atomically, so an interrupted run never leaves half a report file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in (RESULTS_FILE, SUMMARY_FILE, MARKDOWN_FILE, HTML_FILE)}
    results = "".join(json.dumps(result.to_dict(), ensure_ascii=False) + "\n" for result in run.results)
    atomic_write_text(paths[RESULTS_FILE], results)
    summary = {"created": run.created, "index_fingerprint": run.index_fingerprint, **run.summary}
    atomic_write_text(paths[SUMMARY_FILE], json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(paths[MARKDOWN_FILE], markdown_report(run))
    atomic_write_text(paths[HTML_FILE], html_report(run, render_plots(run)))
    return paths


def new_report_dir(reports_dir: Path) -> Path:
    """A new, empty directory under ``reports_dir`` named by the UTC time; "-2", "-3"... on a clash."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = 1
    while True:
        candidate = reports_dir / (stamp if suffix == 1 else f"{stamp}-{suffix}")
        try:
            candidate.mkdir()  # fails if taken, so two runs in the same second never share a directory
        except FileExistsError:
            suffix += 1
            continue
        return candidate


def check_out_dir(out_dir: Path, *, force: bool) -> None:
    """Refuse to write into a non-empty ``out_dir`` unless ``force``: an earlier report would be mixed in."""
    if not force and out_dir.is_dir() and any(out_dir.iterdir()):
        raise ReportDirError(f"{out_dir} is not empty: choose another --out or pass --force to overwrite")


def format_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def headline_rows(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(label, summary.get(section, {}).get(name)) for section, name, label in HEADLINE_METRICS]


def _counts_line(summary: dict[str, Any]) -> str:
    return (
        f"{summary['questions']} questions ({summary['answerable']} answerable, "
        f"{summary['out_of_scope']} out-of-scope), split {summary.get('split', 'all')}"
    )


def markdown_report(run: EvalRun) -> str:
    summary = run.summary
    abstention = summary["abstention"]
    lines = [
        f"# reviewqa evaluation — {run.created}",
        "",
        _counts_line(summary) + f"; abstain threshold {abstention['threshold']}.",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {label} | {format_value(value)} |" for label, value in headline_rows(summary)),
        "",
        f"Recommended abstain threshold on this split: **{abstention['recommended_threshold']}** "
        "(best balanced accuracy of the confidence sweep; choose it on the dev split).",
        "",
        "## Per question type",
        "",
        "| " + " | ".join(PER_TYPE_HEADER) + " |",
        "|---" * len(PER_TYPE_HEADER) + "|",
    ]
    for question_type, row in summary["per_type"].items():
        cells = [row[k] for k in PER_TYPE_COLUMNS]
        lines.append(
            f"| {question_type} | {row['questions']} | " + " | ".join(format_value(c) for c in cells) + " |"
        )
    failed = [r for r in run.results if r.failures]
    lines += ["", f"## Failed questions ({len(failed)})", ""]
    lines += [f"- `{r.id}` ({r.type}) {r.question} — {'; '.join(r.failures)}" for r in failed]
    return "\n".join(lines) + "\n"


# --- plots ---------------------------------------------------------------------------------------------


def render_plots(run: EvalRun) -> dict[str, str]:
    """The report's figures as base64 PNGs, by title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = run.summary
    figures: dict[str, str] = {}

    fig, ax = plt.subplots(figsize=(5, 3.2))
    curve = summary["retrieval"]["hit_curve"]
    ax.plot(range(1, len(curve) + 1), curve, marker="o")
    ax.set(xlabel="k", ylabel="evidence hit@k", ylim=(0, 1.02), title="Evidence hit@k (search ranking)")
    ax.grid(alpha=0.3)
    figures["Evidence hit@k"] = _png(fig, plt)

    fig, ax = plt.subplots(figsize=(7, 3.4))
    types = list(summary["per_type"])
    series = (
        ("hit@5", "hit@5"),
        ("token_f1", "token F1"),
        ("key_term_accuracy", "key terms"),
        ("passed", "passed"),
    )
    width = 0.8 / len(series)
    for offset, (key, label) in enumerate(series):
        values = [summary["per_type"][t][key] or 0.0 for t in types]
        ax.bar([i + offset * width for i in range(len(types))], values, width, label=label)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(types))], types, rotation=20, fontsize=8)
    ax.set(ylim=(0, 1.05), title="By question type")
    ax.legend(fontsize=7)
    figures["By question type"] = _png(fig, plt)

    fig, ax = plt.subplots(figsize=(6, 3.4))
    sweep = summary["abstention"]["sweep"]
    thresholds = [row["threshold"] for row in sweep]
    for key, label in SWEEP_SERIES:
        ax.plot(
            thresholds, [row[key] if row[key] is not None else float("nan") for row in sweep], label=label
        )
    ax.axvline(summary["abstention"]["threshold"], color="grey", linestyle="--", label="current")
    ax.axvline(
        summary["abstention"]["recommended_threshold"], color="black", linestyle=":", label="recommended"
    )
    ax.set(xlabel="confidence threshold", ylim=(0, 1.05), title="Abstention threshold sweep")
    ax.legend(fontsize=7)
    figures["Abstention threshold sweep"] = _png(fig, plt)

    fig, ax = plt.subplots(figsize=(4.2, 4))
    rows = [row for row in summary["calibration"]["reliability"] if row["answers"]]
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
    ax.plot([r["confidence"] for r in rows], [r["right"] for r in rows], marker="o", label="answers")
    for row in rows:
        ax.annotate(str(row["answers"]), (row["confidence"], row["right"]), fontsize=7)
    ece = summary["calibration"]["ece"]
    ax.set(
        xlabel="confidence (bin mean)", ylabel="share right", xlim=(0, 1), ylim=(0, 1.02),
        title=f"Reliability (ECE {ece:.3f})" if ece is not None else "Reliability",
    )  # fmt: skip
    ax.legend(fontsize=7)
    figures["Reliability"] = _png(fig, plt)

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist([r.latency_ms for r in run.results], bins=20)
    ax.set(xlabel="ms per question", ylabel="questions", title="Latency")
    figures["Latency"] = _png(fig, plt)
    return figures


def _png(fig: Any, plt: Any) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --- HTML ----------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.fail{border:1px solid #e0b4b4;background:#fff6f6;margin:1em 0;padding:.6em 1em;border-radius:4px}
.plots img{max-width:49%}code{background:#f3f3f3}
"""


def _e(value: Any) -> str:
    return html.escape(format_value(value) if not isinstance(value, str) else value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _failure_block(result: QuestionResult) -> str:
    quotes = "".join(
        f"<li>[{_e(c['marker'])}] {_e(c['quote'])} <small>{_e(', '.join(c['cited_works']))}</small></li>"
        for c in result.citations
    )
    expected = "".join(f"<li>{_e(p)}</li>" for p in result.evidence)
    return (
        f'<div class="fail"><b>{_e(result.id)}</b> ({_e(result.type)}): {_e(result.question)}'
        f"<p><b>Why:</b> {_e('; '.join(result.failures))}</p>"
        f"<p><b>Expected:</b> {_e(result.reference)}"
        + (
            f" <small>cited works: {_e(', '.join(result.expected_cited_works))}</small>"
            if result.expected_cited_works
            else ""
        )
        + "</p>"
        + (f"<p><b>Evidence:</b></p><ul>{expected}</ul>" if expected else "")
        + f"<p><b>Got</b> (confidence {_e(round(result.confidence, 3))}"
        f"{', abstained' if result.abstained else ''}): {_e(result.answer)}</p>"
        + (f"<p><b>Cited quotes:</b></p><ul>{quotes}</ul>" if quotes else "")
        + f"<p><small>passages: {_e(', '.join(result.passage_ids))}</small></p></div>"
    )


def html_report(run: EvalRun, plots: dict[str, str]) -> str:
    summary = run.summary
    abstention = summary["abstention"]
    failed = [r for r in run.results if r.failures]
    per_type_rows = [
        [t, row["questions"], *(row[c] for c in PER_TYPE_COLUMNS)] for t, row in summary["per_type"].items()
    ]
    images = "".join(
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
        for title, data in plots.items()
    )
    settings_rows = [[name, value] for name, value in run.settings.items()]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>reviewqa evaluation {_e(run.created)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>reviewqa evaluation</h1><p>{_e(run.created)} — {_e(_counts_line(summary))}</p>"
        + _table(["metric", "value"], headline_rows(summary))
        + f"<p>Recommended abstain threshold on this split: <b>{_e(abstention['recommended_threshold'])}</b>"
        f" (current {_e(abstention['threshold'])}).</p>"
        f'<h2>Plots</h2><div class="plots">{images}</div>'
        "<h2>Per question type</h2>"
        + _table(PER_TYPE_HEADER, per_type_rows)
        + "<h2>Settings</h2>"
        + _table(["setting", "value"], settings_rows)
        + f"<h2>Failed questions ({len(failed)})</h2>"
        + "".join(_failure_block(r) for r in failed)
        + "</body></html>\n"
    )
