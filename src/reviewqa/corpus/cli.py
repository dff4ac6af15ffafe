import click


@click.command()
def ingest() -> None:
    """Read, clean and chunk the documents into index/passages.jsonl."""
    raise click.ClickException("not implemented yet")
