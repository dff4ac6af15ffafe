import click


@click.group()
def refs() -> None:
    """The bibliography and cited source papers."""
