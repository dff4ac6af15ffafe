import click


@click.command("eval")
def eval_command() -> None:
    """Run the offline evaluation."""
    raise click.ClickException("not implemented yet")
