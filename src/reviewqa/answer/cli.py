import click


@click.command()
def ask() -> None:
    """Answer a question."""
    raise click.ClickException("not implemented yet")
