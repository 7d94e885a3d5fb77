"""``rangeguard console``: the live, read-only range-safety web console fed by `rangeguard run --status`."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import typer

from rangeguard.cli.app import app
from rangeguard.errors import InputError

NO_KEY_BANNER = (
    "rangeguard console: ******** no --key: status packets are NOT authenticated; any process on an "
    "allowed address can forge what this page shows. LAB USE ONLY. ********"
)

_IPV6 = "IPv6 addresses are not supported (the AFSS links are IPv4); use an IPv4 address such as 127.0.0.1"


def _http_address(text: str) -> tuple[str | None, str, int]:
    """``HOST:PORT`` -> (the name given if not an IPv4 literal, its IPv4 address, port); InputError otherwise."""
    if text.startswith("[") or text.count(":") > 1:
        raise InputError(f"--http {text}: {_IPV6}:PORT")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise InputError(f"--http must look like 127.0.0.1:8000 (HOST:PORT, port 0 picks a free one); got {text!r}")
    try:
        socket.inet_aton(host)
        if host.count(".") == 3:
            return None, host, int(port)
    except OSError:
        pass
    try:
        address = str(socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    except (OSError, UnicodeError):
        raise InputError(
            f"--http {text}: cannot resolve host {host!r} to an IPv4 address; use an IPv4 address such as 127.0.0.1"
        ) from None
    return host, address, int(port)


def _status_address(text: str):
    from urllib.parse import urlsplit

    from rangeguard.telemetry.link import UdpAddress

    try:
        hostname = urlsplit(text).hostname or ""
    except ValueError:
        hostname = ""
    if ":" in hostname:
        raise InputError(f"--status {text}: {_IPV6} (udp://127.0.0.1:PORT)")
    if hostname:
        try:
            socket.getaddrinfo(hostname, None, socket.AF_INET, socket.SOCK_DGRAM)
        except (OSError, UnicodeError):
            raise InputError(
                f"--status {text}: cannot resolve host {hostname!r} to an IPv4 address; "
                "use an IPv4 address such as udp://127.0.0.1:PORT"
            ) from None
    return UdpAddress.parse(text, "--status")


@app.command("console")
def console_cmd(
    status: str = typer.Option(
        ...,
        "--status",
        help="Where `rangeguard run --status` sends status packets "
        "(udp://HOST:PORT; port 0 picks a free one, shown at start and on /api/health).",
    ),
    http: str = typer.Option(
        "127.0.0.1:8000",
        "--http",
        help="HOST:PORT of the web page (default 127.0.0.1:8000, this machine only; port 0 picks a free one).",
    ),
    mission: str = typer.Option(..., "--mission", "-m", help="Mission YAML or bundled mission name (areas, rules)."),
    status_from: str = typer.Option(
        "127.0.0.1",
        "--status-from",
        help="Senders whose status is shown, "
        "comma-separated: IPv4 HOST (any port) or HOST:PORT (default 127.0.0.1). "
        "Others are dropped and counted.",
    ),
    allow_host: str = typer.Option(
        "",
        "--allow-host",
        help="More names the page may be reached by, "
        "comma-separated NAME or NAME:PORT (Host header). Default: the --http "
        "address, and localhost/127.0.0.1 on loopback.",
    ),
    allow_origin: str = typer.Option(
        "",
        "--allow-origin",
        help="More origins whose pages may read the console, "
        "comma-separated (e.g. http://proxy.example:8080). Default: its own.",
    ),
    key: Path = typer.Option(
        None,
        "--key",
        help="Pre-shared key file (rangeguard keygen): believe only status the AFSS signed (run --key). "
        "Without it, only unauthenticated status (run --insecure) is shown, and the page says so.",
    ),
    max_packet_bytes: int | None = typer.Option(
        None,
        "--max-packet-bytes",
        help="Largest status datagram "
        "accepted, bytes (default: the mission's margins table plus "
        "16 KiB); larger ones are dropped and counted.",
    ),
) -> None:
    """Serve the live console: map, rule margins, engine state and profiles. Read-only: it commands nothing.

    Only status from --status-from senders is shown; only requests whose Host (and Origin, when a browser
    sends one) is the console's own are answered (docs/telemetry.md, "The live console").
    """
    from rangeguard.console.server import serve
    from rangeguard.keyfile import read_key_file
    from rangeguard.report.flight import resolve_mission
    from rangeguard.telemetry.auth import StatusAuthenticator

    authenticator = None if key is None else StatusAuthenticator(read_key_file(key))

    def announce(line: str) -> None:
        """The serving line; without a key, the banner first (once serving: a refused start stays one line)."""
        if authenticator is None:
            print(NO_KEY_BANNER, file=sys.stderr, flush=True)
        print(line, flush=True)

    addr = _status_address(status)
    name, host, port = _http_address(http)
    m = resolve_mission(None, {}, mission)
    serve(
        m,
        addr.host,
        addr.port,
        host,
        port,
        http_name=name,
        status_from=status_from,
        allow_hosts=[allow_host],
        allow_origins=[allow_origin],
        max_packet_bytes=max_packet_bytes,
        announce=announce,
        authenticator=authenticator,
    )
