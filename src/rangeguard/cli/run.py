"""``rangeguard run``: the AFSS as a real-time process over CCSDS space packets on UDP."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import typer

from rangeguard.cli import options
from rangeguard.cli.app import app
from rangeguard.errors import InputError
from rangeguard.mission import load_mission

INSECURE_BANNER = (
    "rangeguard run: ******** INSECURE (--insecure): packets are NOT authenticated. Any process that can send "
    "to the listening port from an allowed address can feed navigation data, and status, heartbeat and "
    "terminate commands are sent unsigned. LAB USE ONLY, never in flight. ********"
)
UNSEALED_BANNER = (
    "rangeguard run: ******** UNSEALED (--unsealed): {mission} is not a sealed mission load; nothing proves it "
    "is the configuration that was analysed. LAB USE ONLY, never in flight. ********"
)


def process_age_s() -> float | None:
    """Seconds since this process started (Linux: /proc/self/stat against /proc/uptime), or None."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        start_ticks = int(fields[19])  # field 22 of stat(5), counted after the command name
        return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def parse_spis(text: str) -> tuple[int, ...]:
    """Comma-separated SPIs (security parameter indices, 0..65535) of the accepted nav senders."""
    out = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        if not item.isdigit() or int(item) > 0xFFFF:
            raise InputError(f"--nav-spi: {item!r} is not a sender SPI (a number 0..65535, e.g. 1)")
        out.append(int(item))
    if not out:
        raise InputError("--nav-spi needs at least one sender SPI, e.g. 1")
    return tuple(out)


@app.command("run")
def run_cmd(
    mission: Path = typer.Option(
        ..., "--mission", "-m", help="Sealed mission load (rangeguard seal), or a mission YAML file with --unsealed."
    ),
    key: Path = typer.Option(
        None, "--key", help="Pre-shared key file (rangeguard keygen): authenticates packets, verifies the load."
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="LAB USE ONLY: take and send packets without authentication (no --key)."
    ),
    unsealed: bool = typer.Option(
        False, "--unsealed", help="LAB USE ONLY: fly a mission YAML file instead of a sealed load."
    ),
    nav_spi: str = typer.Option(
        "1", "--nav-spi", help="Comma-separated sender SPIs whose authenticated nav and health packets are taken."
    ),
    heartbeat_hz: float = typer.Option(
        1.0, "--heartbeat-hz", help="Heartbeat rate (Hz) on the command and status channels, 0.1..1000."
    ),
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

    Prints 'listening on udp://HOST:PORT', then 'READY (...)' once the engine can decide (every packet
    that arrived before is dropped and counted: nothing before READY can arm the AFSS; the heartbeat's
    READY bit says the same on the command and status channels) and, on exit, one JSON line with the
    link counters, the final state and latency figures. `rangeguard prepare` compiles the kernels ahead
    of time, so READY takes seconds.
    """
    from rangeguard.keyfile import read_key_file
    from rangeguard.telemetry.afss import RealtimeAfss
    from rangeguard.telemetry.link import UdpAddress, parse_allow

    if navlog is None and log is not None:  # --log and --navlog are checked by RealtimeAfss (check_options)
        navlog = log.with_name(log.name.removesuffix(".parquet") + ".nav.parquet")
    options.finite(max_s, "--max-s", at_least=0.0, unit="s")
    options.finite(heartbeat_hz, "--heartbeat-hz", above=0.0, unit="Hz")
    if insecure and key is not None:
        raise InputError("give --key KEYFILE or --insecure, not both")
    if not insecure and key is None:
        raise InputError(
            "no key: give --key KEYFILE (make one with `rangeguard keygen -o KEYFILE`), or --insecure for lab use only"
        )
    spis = parse_spis(nav_spi)
    k = None if key is None else read_key_file(key)
    digest = ""
    if mission.suffix == ".load":
        from rangeguard.formats.missionload import open_load

        if k is None:
            raise InputError(f"--mission {mission}: a sealed load is verified with the key that sealed it; give --key")
        m, digest = open_load(mission, k)
    elif not unsealed:
        raise InputError(
            f"--mission {mission}: not a sealed load; seal it (`rangeguard seal {mission} --key KEYFILE -o "
            f"{mission.with_suffix('.load').name}`) and fly the .load, or give --unsealed for lab use only"
        )
    else:
        m = load_mission(mission)
    if insecure:
        print(INSECURE_BANNER, file=sys.stderr, flush=True)
    if not digest:
        print(UNSEALED_BANNER.format(mission=mission), file=sys.stderr, flush=True)
    afss = RealtimeAfss(
        m, UdpAddress.parse(listen, "--listen"), UdpAddress.parse(command, "--command"),
        None if status is None else UdpAddress.parse(status, "--status"),
        log_path=log, navlog_path=navlog, allow=parse_allow(allow), time_scale=time_scale,
        status_hz=status_hz, terminate_hz=terminate_hz, flush_s=flush_s, max_backlog_cycles=max_backlog,
        heartbeat_hz=heartbeat_hz, key=k, insecure=insecure, nav_senders=spis, load_sha256=digest,
    )  # fmt: skip

    def stop(signum, frame):
        afss.stop = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    host, port = afss.listen
    print(f"listening on udp://{host}:{port}", flush=True)
    age = process_age_s()
    since = f"{age:.2f} s after the process started" if age is not None else f"warm-up {afss.ready_s:.2f} s"
    print(f"READY ({since}; packets before READY dropped: {afss.counters['before_ready']})", flush=True)
    if digest:
        print(f"rangeguard run: sealed load {mission}, sha256 {digest}", file=sys.stderr, flush=True)
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
            f"rejected by the nav gate {summary['engine_rejected']}, silent cycles {summary['silent_cycles']}; "
            f"dropped as not authentic: bad MAC {c.get('auth_bad_mac', 0)}, replay {c.get('auth_replay', 0)}, "
            f"unknown source {c.get('auth_unknown_source', 0) + c.get('rejected_address', 0)}"
            + ("; INSECURE (unauthenticated)" if insecure else ""),
            file=sys.stderr,
        )
