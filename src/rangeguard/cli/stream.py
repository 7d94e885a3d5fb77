"""``rangeguard stream``: play a simulated flight or a recorded nav log as packets, with link faults.

The command wires the simulator to the streamer: the simulated flight's nav log comes from
rangeguard.sim.sensors.scenario_navlog, and rangeguard.telemetry.stream only plays nav logs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from rangeguard import paths
from rangeguard.cli import options
from rangeguard.cli.app import app
from rangeguard.errors import InputError
from rangeguard.mission import load_mission


@app.command("stream")
def stream_cmd(
    mission: Path = typer.Option(..., "--mission", "-m", help="Mission YAML file."),
    to: str = typer.Option(..., "--to", help="Where to send the packets (udp://HOST:PORT)."),
    scenario: str = typer.Option(None, "--scenario", "-s", help="Failure scenario to fly (default: nominal)."),
    navlog: Path = typer.Option(
        None, "--navlog", help="Play this recorded nav log (CSV or Parquet) instead of simulating."
    ),
    rate_hz: float = typer.Option(
        None,
        "--rate-hz",
        help="Nav output rate per source for a simulated flight (Hz; default: the mission's sensors).",
    ),
    speed: str = typer.Option("1.0", "--speed", help="Playback speed factor, or 'max' for as fast as possible."),
    loss: float = typer.Option(0.0, "--loss", help="Probability that a packet is lost."),
    duplicate: float = typer.Option(0.0, "--duplicate", help="Probability that a packet is sent twice."),
    reorder: float = typer.Option(0.0, "--reorder", help="Probability that a packet is held behind the next one."),
    corrupt: float = typer.Option(0.0, "--corrupt", help="Probability that 1-3 bits of a packet are flipped."),
    delay_ms: float = typer.Option(0.0, "--delay-ms", help="Fixed link delay added to every packet (ms)."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the link faults (and of the sensor noise with --sim-seed unset)."
    ),
    sim_seed: int = typer.Option(None, "--sim-seed", help="Seed of the sensor noise (default: the mission's)."),
    until_s: float = typer.Option(600.0, "--until-s", help="Stop at this flight time (T+ s)."),
    save_navlog: Path = typer.Option(None, "--save-navlog", help="Also write the nav log that is played (Parquet)."),
) -> None:
    """Stream nav packets of a flight to a running `rangeguard run`; print what was injected as JSON."""
    import pyarrow.parquet as pq

    from rangeguard.formats.navlog import read_table
    from rangeguard.sim.sensors import scenario_navlog
    from rangeguard.telemetry.link import UdpAddress
    from rangeguard.telemetry.stream import LinkFaults, inject_faults, navlog_frames, navlog_from_table, play

    if navlog is not None and scenario is not None:
        raise InputError("give either --scenario or --navlog, not both")
    if navlog is not None:
        paths.input_file(navlog, "--navlog", "nav log (CSV or Parquet)")
    if save_navlog is not None:
        paths.output_file(save_navlog, "--save-navlog", example="nav.parquet")
    options.finite(rate_hz, "--rate-hz", above=0.0, unit="Hz")
    options.finite(until_s, "--until-s", unit="s")
    options.finite(delay_ms, "--delay-ms", at_least=0.0, unit="ms")
    options.seed(seed, "--seed")
    options.seed(sim_seed, "--sim-seed")
    if speed.strip().lower() == "max":
        factor = None
    else:
        try:
            factor = float(speed)
        except ValueError:
            raise InputError(f"--speed must be a number > 0 or 'max'; got {speed!r}") from None
        options.finite(factor, "--speed", above=0.0)
    faults = LinkFaults(loss, duplicate, reorder, corrupt, delay_ms, seed)
    address = UdpAddress.parse(to, "--to")
    m = load_mission(mission)
    if navlog is not None:
        table = read_table(navlog)
        where = str(navlog)
    else:
        table = scenario_navlog(m, scenario, rate_hz=rate_hz, seed=sim_seed, t_max_s=until_s + 1.0)
        where = f"scenario {scenario or 'nominal'}"
    if save_navlog is not None:
        save_navlog.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, save_navlog)
    log = navlog_from_table(m, table, where)
    frames = navlog_frames(log, t_max_s=until_s)
    datagrams, report = inject_faults(frames, faults)
    timing = play(datagrams, address.tuple, factor)
    report.update(timing)
    report["speed"] = "max" if factor is None else factor
    print(json.dumps(report), flush=True)
    print(
        f"rangeguard stream: {report['datagrams']} datagrams to {address} in {timing['wall_s']:.2f} s "
        f"(lost {report['lost']}, corrupted {report['corrupted']}, duplicated {report['duplicated']}, "
        f"reordered {report['reordered']})",
        file=sys.stderr,
    )
