"""``rangeguard demo``: the main job on the bundled Kii missions (Kairos flights 1-3)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rangeguard import paths
from rangeguard.cli.app import app


def _outcome(r: dict) -> str:
    if r["terminated"]:
        text = f"[red]TERMINATED[/] (thrust termination) T+{r['t_terminate_s']:.2f} s by {r['rule']}"
        if r.get("destructed"):
            text += f", [red]DESTRUCT[/] T+{r['t_destruct_s']:.2f} s by {r['destructed_by']}"
        return text
    if r["orbit"]:
        o = r["orbit"]
        return f"[green]orbit[/] {o['perigee_km']:.0f} x {o['apogee_km']:.0f} km, {o['inclination_deg']:.2f} deg"
    return f"[green]not terminated[/] ({r['state']})"


@app.command()
def demo(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object per run instead of tables."),
    out: Path = typer.Option(Path("rangeguard-out"), "--out", help="Directory for decision logs and tracks."),
    report: bool = typer.Option(True, "--report/--no-report", help="Also write the HTML report (report.html)."),
) -> None:
    """Replay Kairos flights 1-3 through the AFSS on the bundled Kii missions."""
    from rangeguard.demo import json_view, run_demo

    paths.output_folder(out, "--out")
    console = Console(stderr=json_out)
    if not json_out:
        console.print(
            "[bold]rangeguard demo[/]: Kairos-class launches from Spaceport Kii, AFSS in the loop "
            "(simulator -> GPS/INS models -> engine at 10 Hz)"
        )

    def progress(run, summary):
        console.print(
            f"  flew {run.scenario:16s} rules={run.rules:9s} policy={run.policy:15s} -> "
            f"{'TERMINATED' if summary['terminated'] else summary['state']}",
            highlight=False,
        )

    results = run_demo(out, progress=progress)
    report_path = None
    if report:
        from rangeguard.report import write_report

        report_path = write_report(out)
    if json_out:
        typer.echo(json.dumps(json_view(results)))
        return
    table = Table(title="What the AFSS decided")
    for col in ("run", "rules", "policy", "outcome", "IIP reached land?"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r["lesson"],
            r["rules"],
            r["policy"],
            _outcome(r),
            "[red]yes[/]" if r["iip_entered_protected_area"] else "no",
        )
    console.print(table)
    timeline = Table(title="Why (the engine's own reasons)")
    timeline.add_column("run")
    timeline.add_column("reason")
    for r in results:
        timeline.add_row(f"{r['scenario']} / {r['rules']} / {r['policy']}", r["reason"])
    console.print(timeline)
    console.print(
        f"Decision logs and tracks: {out}/ (one folder per run, demo.json for all)."
        + (f" Report: {report_path}" if report_path else "")
    )
