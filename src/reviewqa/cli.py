"""The `reviewqa` command line. Each stage contributes its commands from its own `cli` module."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from reviewqa.errors import ReviewqaError
from reviewqa.settings import Settings, SettingsError


class _Group(click.Group):
    """Turns the project's own errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (ReviewqaError, SettingsError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (default: $REVIEWQA_CONFIG or ./reviewqa.toml).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="reviewqa")
@click.pass_context
def main(ctx: click.Context, config: Path | None, verbose: int) -> None:
    """Answer questions about a review article and the papers it cites, with citations."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        ctx.obj = Settings.load(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _register() -> None:
    # Imports stay light: each command imports its heavy dependencies (torch, faiss) when it runs.
    from reviewqa.answer.cli import ask
    from reviewqa.chat import chat
    from reviewqa.corpus.cli import ingest
    from reviewqa.eval.cli import eval_command
    from reviewqa.index.cli import bench, index_command, search
    from reviewqa.refs.cli import refs
    from reviewqa.service.cli import serve

    for command in (ingest, index_command, search, bench, ask, chat, serve, eval_command, refs):
        main.add_command(command)


_register()
