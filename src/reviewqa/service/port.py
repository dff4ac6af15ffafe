"""Whether `reviewqa serve` can bind its address, checked before the seconds-long index load and warm-up;
whether an address is loopback."""

from __future__ import annotations

import errno
import ipaddress
import socket

import click


def check_port_free(host: str, port: int) -> None:
    """Bind ``host:port`` once and let go; a one-line ClickException naming the port and the fix if that
    fails. SO_REUSEADDR as gunicorn sets it, so a port whose last connections linger in TIME_WAIT counts
    as free, as it is to gunicorn."""
    if port == 0:  # any free port
        return
    other = 8001 if port != 8001 else 8002
    fix = f"pick another port: `make PORT={other} run` or `reviewqa serve --port {other}`"
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot serve on host {host!r}: {exc.strerror}") from exc
    family, kind, proto, _, address = addresses[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(f"port {port} on {host} is already in use; {fix}") from exc
            if exc.errno == errno.EACCES:
                raise click.ClickException(
                    f"no permission to use port {port} on {host} (ports below 1024 need root); {fix}"
                ) from exc
            raise click.ClickException(f"cannot serve on {host}:{port} ({exc.strerror})") from exc


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 possibly in brackets) is this machine's loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
