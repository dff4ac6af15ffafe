"""`reviewqa ingest`."""

from __future__ import annotations

import click

from reviewqa.settings import Settings


@click.command()
@click.pass_obj
def ingest(settings: Settings) -> None:
    """Read, clean and chunk the documents into index/passages.jsonl."""
    ingest_and_report(settings)
    click.echo(f"wrote {settings.index_dir}")


def ingest_and_report(settings: Settings, *, warn_keyless: bool = True) -> None:
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
