import click


@click.command("index")
def index_command() -> None:
    """Build the search index."""
    raise click.ClickException("not implemented yet")


@click.command()
def search() -> None:
    """Search passages."""
    raise click.ClickException("not implemented yet")


@click.group()
def bench() -> None:
    """Benchmarks."""
