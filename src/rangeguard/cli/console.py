"""``rangeguard console``: the live, read-only range-safety web console fed by `rangeguard run --status`."""

from __future__ import annotations

import typer

from rangeguard.cli.app import app
from rangeguard.errors import InputError


def _http_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--http must look like 127.0.0.1:8000; got {text!r}")
    return host, int(port)


@app.command("console")
def console_cmd(
    status: str = typer.Option(..., "--status", help="Where `rangeguard run --status` sends status packets "
                               "(udp://HOST:PORT; port 0 picks a free one, shown at start and on /api/health)."),
    http: str = typer.Option("127.0.0.1:8000", "--http", help="HOST:PORT of the web page (default 127.0.0.1:8000, "
                             "this machine only)."),
    mission: str = typer.Option(..., "--mission", "-m", help="Mission YAML or bundled mission name (areas, rules)."),
) -> None:
    """Serve the live console: map, rule margins, engine state and profiles. Read-only: it commands nothing."""
    from rangeguard.console.server import serve
    from rangeguard.report.flight import resolve_mission
    from rangeguard.telemetry.link import UdpAddress

    addr = UdpAddress.parse(status, "--status")
    host, port = _http_address(http)
    m = resolve_mission(None, {}, mission)
    serve(m, addr.host, addr.port, host, port, announce=lambda s: print(s, flush=True))
