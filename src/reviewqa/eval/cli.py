"""`reviewqa eval`: score the answer pipeline on the gold set, or compare two runs."""

from __future__ import annotations

from pathlib import Path

import click

from reviewqa.settings import Settings


@click.command("eval")
@click.option(
    "--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True,
    help="Gold questions to run: dev (for tuning), test (for reporting) or all.",
)  # fmt: skip
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path),
    help="Report directory (default: <eval_dir>/reports/<UTC timestamp>).",
)  # fmt: skip
@click.option(
    "--limit", type=click.IntRange(min=1), help="At most N questions, taken in turn from each type."
)
@click.option(
    "--gold", type=click.Path(dir_okay=False, path_type=Path), help="Gold set (default: eval/gold.jsonl)."
)
@click.option(
    "--compare", nargs=2, type=click.Path(file_okay=False, path_type=Path), metavar="A B",
    help="Print metric deltas between two report directories instead of running.",
)  # fmt: skip
@click.option("--force", is_flag=True, help="Write into a non-empty --out directory (overwrites a report).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@click.pass_obj
def eval_command(
    settings: Settings,
    split: str,
    out: Path | None,
    limit: int | None,
    gold: Path | None,
    compare: tuple[Path, Path] | None,
    force: bool,
    progress: bool,
) -> None:
    """Run the offline evaluation and write results, summary and Markdown/HTML reports."""
    from reviewqa.eval.compare import format_comparison

    if compare:
        click.echo(format_comparison(*compare))
        return

    from reviewqa.eval.gold import gold_path, load_gold
    from reviewqa.eval.report import (
        HTML_FILE,
        check_out_dir,
        format_value,
        headline_rows,
        new_report_dir,
        write_report,
    )
    from reviewqa.eval.runner import run_eval
    from reviewqa.index import load_index

    # A bad gold set or --out fails before the slow index load.
    questions = load_gold(gold or gold_path(settings.eval_dir))
    if out is not None:
        check_out_dir(out, force=force)
    index = load_index(settings)
    run = run_eval(settings, index, split, limit=limit, questions=questions, progress=progress)
    out_dir = out or new_report_dir(settings.eval_dir / "reports")
    paths = write_report(run, out_dir)
    summary = run.summary
    click.echo(f"{summary['questions']} questions ({summary['out_of_scope']} out-of-scope), split {split}")
    for label, value in headline_rows(summary):
        click.echo(f"  {label:<32}{format_value(value)}")
    click.echo(f"  {'Recommended abstain threshold':<32}{summary['abstention']['recommended_threshold']}")
    click.echo(f"report: {paths[HTML_FILE]}")
