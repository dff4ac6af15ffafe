import click


@click.command()
def serve() -> None:
    """Run the web service."""
    raise click.ClickException("not implemented yet")
