"""`reviewqa serve`: the web service under gunicorn (or Flask's debug server with --dev)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from reviewqa.settings import Settings


@click.command()
@click.option("--host", default=None, help="Interface to bind (default: settings.host, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port (default: settings.port, 8000)."
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=None, help="gunicorn workers (default: settings)."
)
@click.option("--dev", is_flag=True, help="Flask's debug server instead of gunicorn (one process).")
@click.option(
    "--gunicorn-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="gunicorn config file (default: service/gunicorn.conf.py when present).",
)
@click.pass_obj
def serve(
    settings: Settings,
    host: str | None,
    port: int | None,
    workers: int | None,
    dev: bool,
    gunicorn_config: Path | None,
) -> None:
    """Serve the JSON API (/api/v1) and the chat page (/)."""
    from reviewqa.service.app import create_app
    from reviewqa.service.port import check_port_free

    # Workers fork after the tokenizer has run; its own thread pool must not be used across fork.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    host = host or settings.host
    port = settings.port if port is None else port
    check_port_free(host, port)  # at once, not after the seconds of loading and warm-up
    index = load_index_for_serving(settings)
    if index is not None:
        warm_up(index)
    app = create_app(settings, index)
    url = f"http://{_url_host(host)}:{port}/"
    if dev:
        click.echo(f"reviewqa (Flask dev server) on {url}")
        app.run(host=host, port=port, debug=True, use_reloader=False)
        return
    from reviewqa.service.gunicorn_app import DEFAULT_CONFIG, PreloadedGunicorn

    config_file = gunicorn_config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    overrides = {"bind": [f"{host}:{port}"], "workers": workers or settings.workers, "preload_app": True}
    click.echo(f"reviewqa on {url} ({overrides['workers']} gunicorn workers)")
    PreloadedGunicorn(app, config_file, overrides).run()


def load_index_for_serving(settings: Settings):  # -> SearchIndex | None
    """The index, or None when it is missing or stale (the app then reports 503 until it is rebuilt).

    An index that claims to be current but cannot be loaded is corrupt: that raises IndexNotReadyError,
    which the CLI turns into a one-line error, so the service does not start on it.
    """
    from reviewqa.errors import IndexNotReadyError
    from reviewqa.index import index_status, load_index

    status = index_status(settings)
    if status.state == "corrupt":
        raise IndexNotReadyError(f"refusing to serve: {status.reason}")
    if not status.ready:
        click.echo(f"warning: the index is not ready ({status.reason}); /api/v1/health answers 503", err=True)
        return None
    return load_index(settings)


def warm_up(index) -> None:
    """Answer one question before forking, so the model and the answer engine are loaded once, in the master,
    and shared by every worker (copy-on-write) instead of being loaded lazily by each."""
    from reviewqa.answer import answer

    answer("What is this review about?", index.settings, index)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
