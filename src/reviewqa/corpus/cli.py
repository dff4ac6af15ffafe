"""`reviewqa ingest`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewqa.settings import Settings

if TYPE_CHECKING:
    from reviewqa.corpus.ingest import IngestResult


@click.command()
@click.option("--report", is_flag=True, help="Print how each PDF was read (a Markdown table).")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TSV with file, title and doi columns to check the report against "
    "(default: MANIFEST.tsv in the documents folder, if there is one).",
)
@click.pass_obj
def ingest(settings: Settings, report: bool, manifest: Path | None) -> None:
    """Read, clean and chunk the documents into index/passages.jsonl."""
    result = ingest_and_report(settings)
    click.echo(f"wrote {settings.index_dir}")
    if report:
        click.echo(pdf_report(settings, manifest))
        for item in result.skipped:
            click.echo(f"skipped {item.path}: {item.reason}")


def ingest_and_report(settings: Settings, *, warn_keyless: bool = True) -> IngestResult:
    """Ingest with progress bars and print the one-line summary (`reviewqa ingest`, `reviewqa index`,
    which warns about sources without a key itself)."""
    from reviewqa.corpus.ingest import ingest as run_ingest
    from reviewqa.corpus.ingest import warn_keyless_sources

    result = run_ingest(settings, progress=True)
    if warn_keyless:
        warn_keyless_sources(result.documents)
    # Skipped files were already logged as warnings, one line each, as `reviewqa index` shows them too.
    skipped = f" ({len(result.skipped)} files skipped, see the warnings)" if result.skipped else ""
    click.echo(f"ingested {result.summary()}{skipped}")
    return result


def pdf_report(settings: Settings, manifest: Path | None) -> str:
    from reviewqa.corpus.ingest import load_documents, load_passages
    from reviewqa.corpus.report import format_rows, pdf_rows, read_manifest

    rows = read_manifest(manifest or settings.documents_dir / "MANIFEST.tsv")
    table = pdf_rows(load_documents(settings), load_passages(settings), settings.documents_dir, rows)
    return format_rows(table) if table else "no PDF documents to report on"
