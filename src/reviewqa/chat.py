"""`reviewqa chat`: questions and follow-ups in a terminal, with the index loaded once (or a service)."""

from __future__ import annotations

import contextlib

import click

from reviewqa.client import Answerer, choose_service, service_options
from reviewqa.errors import ReviewqaError
from reviewqa.settings import Settings

# Earlier turns sent with a follow-up, as the chat page does: enough for "and which of them...?".
HISTORY_TURNS_SENT = 6
PROMPT = "? "
HELP = "Type a question and press Enter. /new starts a new conversation, /help shows this, Ctrl-D quits."


@click.command()
@click.option(
    "--top-k", type=click.IntRange(1, 50), default=None, help="How many retrieved passages to consider."
)
@service_options
@click.pass_obj
def chat(settings: Settings, top_k: int | None, url: str | None, local: bool) -> None:
    """Ask questions one after another; follow-ups can lean on the earlier turns ("and which of them...?").

    The index and the model are loaded once (or a running service answers). Line editing and the arrow
    keys work as in a shell; /new starts a new conversation; Ctrl-D quits.
    """
    from reviewqa.answer.cli import render

    _enable_line_editing()
    choice = choose_service(settings, url, local)
    click.echo(choice.note, err=True)
    ask = Answerer(settings, choice, top_k)
    click.echo(HELP)
    history: list[dict[str, str]] = []
    while True:
        try:
            line = input(PROMPT).strip()
        except EOFError:
            click.echo()
            return
        except KeyboardInterrupt:  # Ctrl-C drops the line being typed, as in a shell
            click.echo()
            continue
        if not line:
            continue
        if line in ("/new", "/reset"):
            history.clear()
            click.echo("New conversation.")
            continue
        if line in ("/help", "/?"):
            click.echo(HELP)
            continue
        if line in ("/quit", "/exit"):
            return
        try:
            result = ask(line, history[-HISTORY_TURNS_SENT:])
        except ReviewqaError as exc:  # a bad question or a failed request ends the turn, not the chat
            click.echo(f"Error: {exc}", err=True)
            continue
        click.echo(render(result))
        click.echo()
        history.append({"question": line, "answer": result.answer})


def _enable_line_editing() -> None:
    """Importing readline gives input() line editing and a history of the lines typed (where it exists)."""
    with contextlib.suppress(ImportError):  # not on Windows
        import readline  # noqa: F401
