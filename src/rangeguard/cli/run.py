"""``rangeguard run``: the AFSS as a real-time process over CCSDS space packets on UDP."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import typer

from rangeguard.cli import options
from rangeguard.cli.app import app
from rangeguard.mission import load_mission


@app.command("run")
def run_cmd(
    mission: Path = typer.Option(..., "--mission", "-m", help="Mission YAML file."),
    listen: str = typer.Option(
        "udp://127.0.0.1:47100",
        "--listen",
        help="Where nav and health packets arrive (udp://HOST:PORT; port 0 picks a free one).",
    ),
    command: str = typer.Option(..., "--command", help="Where the terminate command goes (udp://HOST:PORT)."),
    status: str = typer.Option(None, "--status", help="Where status and heartbeat packets go (udp://HOST:PORT)."),
    log: Path = typer.Option(
        None, "--log", help="Decision log to write (Parquet) on exit, SIGINT or SIGTERM; the nav log goes beside it."
    ),
    navlog: Path = typer.Option(
        None, "--navlog", help="Nav log of the accepted samples (Parquet; default: LOG with .nav.parquet)."
    ),
    allow: str = typer.Option("127.0.0.1", "--allow", help="Comma-separated source IPv4 addresses accepted."),
    time_scale: float = typer.Option(
        1.0,
        "--time-scale",
        help="Receive-clock speed factor: the source's playback speed (1 in flight; must match the source, see "
        "docs/telemetry.md).",
    ),
    status_hz: float = typer.Option(
        10.0, "--status-hz", help="Status packet rate (Hz); also sent on every state change."
    ),
    terminate_hz: float = typer.Option(
        10.0,
        "--terminate-hz",
        help="Repeat rate of the latched terminate command, 1..1000 Hz (it repeats until the process stops).",
    ),
    flush_s: float = typer.Option(
        1.0,
        "--flush-s",
        help="Append the newly accepted nav samples to LOG.nav.parquet.parts/ every this many seconds (s).",
    ),
    max_backlog: int = typer.Option(
        4, "--max-backlog", help="Most queued cycles stepped at once; older ones are superseded."
    ),
    max_s: float = typer.Option(
        None, "--max-s", help="Stop after this many seconds (default: run until SIGINT/SIGTERM)."
    ),
) -> None:
    """Run the AFSS on live nav packets; send the terminate command, status and heartbeat.

    Prints 'listening on udp://HOST:PORT' when ready and, on exit, one JSON line
    with the link counters, the final state and latency figures.
    """
    from rangeguard.telemetry.afss import RealtimeAfss
    from rangeguard.telemetry.link import UdpAddress, parse_allow

    if navlog is None and log is not None:  # --log and --navlog are checked by RealtimeAfss (check_options)
        navlog = log.with_name(log.name.removesuffix(".parquet") + ".nav.parquet")
    options.finite(max_s, "--max-s", at_least=0.0, unit="s")
    m = load_mission(mission)
    afss = RealtimeAfss(
        m, UdpAddress.parse(listen, "--listen"), UdpAddress.parse(command, "--command"),
        None if status is None else UdpAddress.parse(status, "--status"),
        log_path=log, navlog_path=navlog, allow=parse_allow(allow), time_scale=time_scale,
        status_hz=status_hz, terminate_hz=terminate_hz, flush_s=flush_s, max_backlog_cycles=max_backlog,
    )  # fmt: skip

    def stop(signum, frame):
        afss.stop = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    host, port = afss.listen
    print(f"listening on udp://{host}:{port}", flush=True)
    try:
        afss.serve(max_s=max_s)
    finally:
        afss.flush(final=True)
        afss.close()
        summary = afss.summary()
        print(json.dumps(summary), flush=True)
        c = summary["counters"]
        print(
            f"rangeguard run: {summary['state']}; received {c.get('received', 0)}, nav accepted "
            f"{c.get('nav_accepted', 0)}, malformed {c.get('malformed', 0)}, duplicates {c.get('duplicate', 0)}, "
            f"out of order {c.get('out_of_order', 0)}, gaps {c.get('gaps', 0)}, superseded {c.get('superseded', 0)}, "
            f"rejected by the nav gate {summary['engine_rejected']}, silent cycles {summary['silent_cycles']}",
            file=sys.stderr,
        )
