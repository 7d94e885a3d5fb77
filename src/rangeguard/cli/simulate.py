"""``rangeguard simulate``: closed-loop flights of a mission, written to Parquet and JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from rangeguard import paths
from rangeguard.cli import options
from rangeguard.cli.app import app
from rangeguard.errors import InputError
from rangeguard.mission import load_mission


@app.command()
def simulate(
    mission: Path = typer.Argument(..., help="Mission YAML file (with a vehicle)."),
    scenario: str = typer.Option(None, "--scenario", "-s", help="Failure scenario name from the mission."),
    n: int = typer.Option(1, "--n", min=1, help="Number of vehicles flown in lock-step."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default: the mission's)."),
    out: Path = typer.Option(Path("rangeguard-out/simulate"), "--out", help="Output directory."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    report: bool = typer.Option(True, "--report/--no-report", help="Also write the HTML report (report.html)."),
) -> None:
    """Fly MISSION with the AFSS in the loop; write trajectories, decisions and a summary."""
    from rangeguard.montecarlo import fly

    paths.output_folder(out, "--out")
    options.seed(seed, "--seed")
    m = load_mission(mission)
    if m.vehicle is None:
        raise InputError(f"{mission}: the mission has no vehicle section; simulate needs one")
    if scenario is not None and scenario not in m.scenarios:
        raise InputError(f"unknown scenario '{scenario}'; allowed: {', '.join(sorted(m.scenarios)) or '(none)'}")
    result = fly(m, n=n, scenario=scenario, seed=seed, record=True, record_every=10)
    out.mkdir(parents=True, exist_ok=True)
    track, dlog = result.track, result.decision_log
    assert track is not None and dlog is not None  # record=True keeps both
    pq.write_table(track.table(), out / "trajectories.parquet", compression="zstd")
    dlog.write(out / "decisions.parquet")
    vehicles = [result.summary(i) for i in range(n)]
    summary = {
        "mission": m.name,
        "scenario": scenario,
        "n": n,
        "terminated": int(result.terminated.sum()),
        "iip_entered_protected_area": int(result.iip_entered_protected_area.sum()),
        "in_orbit": int(result.in_orbit.sum()),
        "rules": dict(Counter(v["rule"] for v in vehicles if v["rule"])),
        "vehicles": vehicles,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if report:
        from rangeguard.report import write_report

        write_report(out, mission=mission)
    if json_out:
        typer.echo(json.dumps(summary))
        return
    console = Console()
    table = Table(title=f"{m.name}: {scenario or 'nominal'}, {n} vehicle(s)")
    table.add_column("vehicle", justify="right")
    table.add_column("AFSS")
    table.add_column("IIP reached land")
    table.add_column("orbit")
    for i, v in enumerate(vehicles[:20]):
        afss = f"TERMINATED T+{v['t_terminate_s']:.2f} s by {v['rule']}" if v["terminated"] else v["state"]
        orbit = "-" if v["orbit"] is None else f"{v['orbit']['perigee_km']:.0f} x {v['orbit']['apogee_km']:.0f} km"
        table.add_row(str(i), afss, "yes" if v["iip_entered_protected_area"] else "no", orbit)
    console.print(table)
    if n > 20:
        console.print(f"... {n - 20} more in {out / 'summary.json'}")
    console.print(
        f"terminated {summary['terminated']}/{n}; IIP reached land {summary['iip_entered_protected_area']}; "
        f"wrote {out}/trajectories.parquet, decisions.parquet (vehicle 0), summary.json"
    )
