"""``rangeguard replay``: run the engine over a recorded nav log."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rangeguard import paths
from rangeguard.cli.app import app
from rangeguard.formats.navlog import DOC as NAVLOG_DOC
from rangeguard.formats.navlog import NavLogReader
from rangeguard.mission import load_mission
from rangeguard.replay import replay


@app.command(
    "replay",
    help=(
        "Replay recorded nav data through the AFSS engine and print its timeline.\n\n"
        f"The nav log format (every column, its type and unit, what an empty cell means) is {NAVLOG_DOC} in the "
        "rangeguard repository. Required: t_s, x/y/z_ecef_m, vx/vy/vz_ecef_mps, source; valid is true/false or 1/0 "
        "(empty or NaN counts as invalid). The log is read in batches and the decision log written as it grows, "
        "so memory stays bounded whatever the log's length."
    ),
)
def replay_cmd(
    navlog: Path = typer.Argument(..., help=f"Nav log, CSV or Parquet (format: {NAVLOG_DOC})."),
    mission: Path = typer.Option(..., "--mission", "-m", help="Mission YAML file."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    out: Path = typer.Option(None, "--out", help="Directory for decisions.parquet (default: no file)."),
) -> None:
    paths.input_file(navlog, "NAVLOG", "nav log (CSV or Parquet)")
    if out is not None:
        paths.output_folder(out, "--out")
    m = load_mission(mission)
    log = NavLogReader(navlog, [s.name for s in m.nav_sources], [s.name for s in m.string_specs])
    decisions = None if out is None else Path(out) / "decisions.parquet"
    result = replay(m, log, decisions_path=decisions, keep_decisions=False)
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
        + (f"; decision log: {decisions}" if decisions else "")
    )
    if result.unknown_sources:
        console.print(f"[yellow]rows from unknown sources were rejected: {', '.join(result.unknown_sources)}[/]")
