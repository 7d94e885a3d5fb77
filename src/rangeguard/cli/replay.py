"""``rangeguard replay``: run the engine over a recorded nav log."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rangeguard.cli.app import app
from rangeguard.mission import load_mission
from rangeguard.replay import read_navlog, replay


@app.command("replay")
def replay_cmd(
    navlog: Path = typer.Argument(..., help="Nav log, CSV or Parquet (columns: see docs/mission-format.md / rangeguard.replay.navlog)."),
    mission: Path = typer.Option(..., "--mission", "-m", help="Mission YAML file."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    out: Path = typer.Option(None, "--out", help="Directory for decisions.parquet (default: no file)."),
) -> None:
    """Replay recorded nav data through the AFSS engine and print its timeline."""
    m = load_mission(mission)
    log = read_navlog(navlog, [s.name for s in m.nav_sources], [s.name for s in m.string_specs])
    result = replay(m, log)
    if out is not None:
        result.log.write(Path(out) / "decisions.parquet")
    if json_out:
        typer.echo(json.dumps(result.summary()))
        return
    console = Console()
    table = Table(title=f"replay of {navlog.name} under {m.name}")
    table.add_column("T+ (s)", justify="right")
    table.add_column("what happened")
    for t, text in result.timeline:
        table.add_row(f"{t:.2f}", text)
    console.print(table)
    s = result.summary()
    reasons = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s["rejected_by"].items() if v)
    console.print(
        f"final state {s['state']}; samples {s['samples']} accepted, {s['rejected_samples']} rejected"
        + (f" ({reasons})" if reasons else "")
        + f"; {s['silent_cycles']} silent cycle(s) stepped on the clock"
        + (f"; decision log: {Path(out) / 'decisions.parquet'}" if out else "")
    )
    if log.unknown_sources:
        console.print(f"[yellow]rows from unknown sources were rejected: {', '.join(log.unknown_sources)}[/]")


@app.command("check")
def check_cmd(mission: Path = typer.Argument(..., help="Mission YAML file.")) -> None:
    """Validate a mission file and list every problem."""
    m = load_mission(mission)
    Console().print(f"{mission}: OK ({len(m.rules)} rules, {len(m.areas)} areas, {len(m.string_specs)} strings)")
