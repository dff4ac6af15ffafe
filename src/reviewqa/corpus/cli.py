"""`reviewqa ingest`."""

from __future__ import annotations

import click

from reviewqa.settings import Settings


@click.command()
@click.pass_obj
def ingest(settings: Settings) -> None:
    """Read, clean and chunk the documents into index/passages.jsonl."""
    from reviewqa.corpus.ingest import ingest as run_ingest

    result = run_ingest(settings, progress=True)
    for skipped in result.skipped:
        click.echo(f"warning: skipped {skipped.path}: {skipped.reason}", err=True)
    click.echo(f"ingested {result.summary()}")
    click.echo(f"wrote {settings.index_dir}")
