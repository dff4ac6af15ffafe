"""The `reviewqa` command line. Each stage contributes its commands from its own `cli` module."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from reviewqa.collections.registry import UnknownCollectionError, collection_settings
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
@click.option(
    "--collection",
    metavar="NAME",
    envvar="REVIEWQA_COLLECTION",
    help='The collection to work on (default: the default_collection setting, "review"); '
    "`reviewqa collections` lists them.",
)
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Work on this folder of PDF and text files (or its documents/ subfolder) instead of a collection; "
    "its index goes to index/corpora/<folder name>-<hash>/.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="reviewqa")
@click.pass_context
def main(
    ctx: click.Context, config: Path | None, collection: str | None, corpus: Path | None, verbose: int
) -> None:
    """Answer questions about a review article and the papers it cites, with citations."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if collection is not None and corpus is not None:
        raise click.UsageError("give --collection or --corpus, not both")
    try:
        settings = Settings.load(config)
        if corpus is not None:
            ctx.obj = settings.for_corpus(corpus)
        else:
            ctx.obj = collection_settings(settings, collection or settings.default_collection)
    except UnknownCollectionError as exc:
        folder = settings.for_collection(exc.name).documents_dir
        raise click.ClickException(f"{exc} (to make it, put PDF or text files in {folder})") from exc
    except (SettingsError, ReviewqaError) as exc:
        raise click.ClickException(str(exc)) from exc


def _register() -> None:
    # Imports stay light: each command imports its heavy dependencies (torch, faiss) when it runs.
    from reviewqa.answer.cli import ask, train
    from reviewqa.chat import chat
    from reviewqa.collections.cli import collections_command
    from reviewqa.corpus.cli import ingest
    from reviewqa.eval.cli import eval_command
    from reviewqa.index.cli import bench, index_command, search
    from reviewqa.refs.cli import refs
    from reviewqa.service.cli import serve

    commands = (
        ingest,
        index_command,
        search,
        bench,
        ask,
        chat,
        train,
        serve,
        eval_command,
        refs,
        collections_command,
    )
    for command in commands:
        main.add_command(command)


_register()
