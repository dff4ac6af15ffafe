"""`reviewqa serve`: the web service under gunicorn (or Flask's debug server with --dev)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from reviewqa.service.port import check_port_free, is_loopback_host
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
    """Serve the JSON API (/api/v1) and the chat page (/), for every collection (the one chosen with
    --collection or --corpus is the default)."""
    from reviewqa.service.app import create_app

    # Workers fork after the tokenizer has run; its own thread pool must not be used across fork.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    host = host or settings.host
    port = settings.port if port is None else port
    # A service's own events (a build loaded or refused, health changes) are worth a line by default.
    service_logger = logging.getLogger("reviewqa")
    service_logger.setLevel(min(service_logger.getEffectiveLevel(), logging.INFO))
    if dev:
        check_dev_host(host)
    check_port_free(host, port)  # at once, not after the seconds of loading and warm-up
    settings = settings.replace(host=host)  # uploads without a token depend on the address served
    app = create_app(settings)  # loads and warms the build index/current names, once, before forking
    check_index_for_serving(app)
    if settings.job_runner == "process":
        from reviewqa.collections.jobs import resume_jobs

        for name in resume_jobs(settings):
            click.echo(f"resuming the unfinished upload jobs of collection {name}", err=True)
    url = f"http://{_url_host(host)}:{port}/"
    if dev:
        click.echo(f"reviewqa (Flask dev server) on {url}")
        app.run(host=host, port=port, debug=True, use_reloader=False)
        return
    from reviewqa.service.gunicorn_app import DEFAULT_CONFIG, PreloadedGunicorn

    config_file = gunicorn_config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    overrides = {"bind": [f"{host}:{port}"], "workers": workers or settings.workers, "preload_app": True}
    click.echo(f"reviewqa on {url} ({overrides['workers']} gunicorn workers)")
    # SIGHUP: the master loads the build index/current names, then gunicorn replaces the workers with ones
    # forked from it; the old workers finish their requests first.
    PreloadedGunicorn(
        app, config_file, overrides, on_reload=app.extensions["reviewqa"].collections.reload
    ).run()


def check_index_for_serving(app) -> None:  # app: Flask
    """Start without an index, or with one that is out of date (/api/v1/health says so), but not on one
    that is there and does not load: that is damage to repair first, which the CLI reports in one line."""
    from reviewqa.errors import IndexNotReadyError
    from reviewqa.index import index_status

    holder = app.extensions["reviewqa"].index
    if holder.current() is not None:
        return
    status = index_status(app.extensions["reviewqa"].settings)
    if status.state not in ("missing", "stale"):
        raise IndexNotReadyError(f"refusing to serve: {holder.pending() or status.reason}")
    click.echo(
        f"warning: the index is not ready ({status.reason}); /api/v1/health answers 503 until "
        "`reviewqa index` has built it (the running service then loads it)",
        err=True,
    )


def check_dev_host(host: str) -> None:
    """Flask's debug server runs code typed into its debugger page: never on an address others can reach."""
    if is_loopback_host(host):
        return
    raise click.UsageError(
        f"--dev serves Flask's debugger, which runs any code it is sent: only on a loopback address "
        f"(127.0.0.1, ::1, localhost), not {host!r}; serve other addresses without --dev"
    )


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
