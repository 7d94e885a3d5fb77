"""``rangeguard risk``: debris and casualty risk of a flight (14 CFR 450.101, 450.108, 450.133, 450.135).

Exit status:

- 0: PASS (E_c and the largest P_c within the mission's risk criteria);
- 1: FAIL;
- 2: bad input (the mission, its risk sections, a population raster, an argument: one line on stderr
  naming what and how to fix it), or an infrastructure error (one line, never a traceback);
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from rangeguard import paths
from rangeguard.cli import options
from rangeguard.cli.app import EXIT_INTERRUPTED, EXIT_USER_ERROR, app
from rangeguard.errors import InputError, RangeguardError
from rangeguard.mission import load_mission

EXIT_PASS, EXIT_FAIL = 0, 1


class _Bar:
    """A progress bar on stderr (failure times done, the time left), shown on a terminal only."""

    def __init__(self, enabled: bool) -> None:
        self.console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("risk: failure times"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[left]} left"),
            console=self.console,
            disable=not (enabled and self.console.is_terminal),
        )
        self.task = self.bar.add_task("risk", total=None, left="-:--")
        self.t0 = time.perf_counter()

    def __enter__(self) -> _Bar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def __call__(self, done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        sec = int(round((total - done) / rate)) if rate > 0 else 0
        self.bar.update(self.task, total=total, completed=done, left=f"{sec // 60}:{sec % 60:02d}")


def _backend(workers: int | None, scheduler: str | None) -> tuple[str, int]:
    """--scheduler: that Dask cluster; --workers K: a Dask LocalCluster of K (K > 1); neither: this process
    (numba spreads each failure time's fragments over the cores)."""
    if scheduler:
        return "dask", 1
    if workers is not None and workers > 1:
        return "dask", workers
    return "inprocess", 1


@app.command()
def risk(
    mission: Path = typer.Argument(..., help="Mission YAML with debris, failure (and optionally population) sections."),
    population: Path = typer.Option(
        None, "--population", help="Population GeoTIFF (EPSG:4326, people per cell) replacing the mission's."
    ),
    out: Path = typer.Option(Path("rangeguard-out/risk"), "--out", help="Output folder (risk.json, Parquet, GeoJSON)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    samples: int = typer.Option(1000, "--samples", min=1, help="Fragments flown per group, failure time and mode."),
    step: float = typer.Option(1.0, "--step", min=0.01, help="Failure-time interval, s (450.108's one second)."),
    vehicles: int = typer.Option(32, "--vehicles", min=1, help="Dispersed flights giving the break-up states."),
    workers: int = typer.Option(None, "--workers", min=1, help="Start a Dask LocalCluster of K worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="Use an existing Dask cluster (tcp://HOST:PORT)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    report: bool = typer.Option(True, "--report/--no-report", help="Also write the HTML report (report.html)."),
) -> None:
    """Where the pieces of a failed flight fall and whom they can hit: E_c, P_c, CEC and hazard areas.

    Exit status: 0 PASS, 1 FAIL, 2 bad input or an infrastructure error."""
    try:
        code = _risk(mission, population, out, json_out, samples, step, vehicles, workers, scheduler, progress, report)
    except (typer.Exit, RangeguardError):
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted; nothing was written", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001 - exit 2 with one line, never a traceback (exit 1 is kept for FAIL)
        text = " ".join(str(exc).split())
        typer.echo(f"rangeguard risk stopped: {type(exc).__name__}: {text}; no verdict", err=True)
        raise typer.Exit(EXIT_USER_ERROR) from None
    raise typer.Exit(code)


def _risk(
    mission_path: Path,
    population: Path | None,
    out: Path,
    json_out: bool,
    samples: int,
    step: float,
    vehicles: int,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
    report: bool,
) -> int:
    from rangeguard.risk.results import write_outputs
    from rangeguard.risk.sweep import RiskOptions, analyse

    paths.output_folder(out, "--out")
    options.finite(step, "--step", unit="s")
    address = options.dask_address(scheduler)
    if population is not None and not population.is_file():
        raise InputError(f"--population: no file '{population}'; give a GeoTIFF of people per cell (EPSG:4326)")
    m = load_mission(mission_path)
    backend, n_workers = _backend(workers, address)
    opts = RiskOptions(
        samples_per_group=samples,
        step_s=step,
        n_vehicles=vehicles,
        backend=backend,
        workers=n_workers,
        scheduler=address,
        population_override=None if population is None else os.fspath(population.resolve()),
    )
    with _Bar(progress) as bar:
        result = analyse(m, opts, progress=bar)
    doc = write_outputs(result, out)
    if report:
        from rangeguard.report.html import write_report

        write_report(out, mission=m)
    if json_out:
        typer.echo(json.dumps(doc, allow_nan=False))
    else:
        _print(doc, out)
    return EXIT_PASS if doc["verdict"] == "PASS" else EXIT_FAIL


def _print(doc: dict, out: Path) -> None:
    def check(value: float, limit: float) -> str:
        return "ok" if value <= limit else "OVER"

    lines = [
        f"mission {doc['mission']}: {doc['verdict']}",
        f"  collective risk E_c  {doc['ec_total']:.3g}  (criterion {doc['ec_criterion']:.3g}, "
        f"{check(doc['ec_total'], doc['ec_criterion'])}; planned drops {doc['ec_planned']:.3g})",
        f"  individual risk P_c  {doc['pc_max']:.3g}  (criterion {doc['pc_criterion']:.3g}, "
        f"{check(doc['pc_max'], doc['pc_criterion'])})"
        + (f" at {doc['pc_max_at'][0]:.3f}, {doc['pc_max_at'][1]:.3f}" if doc["pc_max_at"] else ""),
        f"  largest CEC          {doc['cec_max']:.3g}  (flight abort required above {doc['cec_criterion']:.3g})",
    ]
    spans = doc["abort_required_intervals_s"]
    lines.append(
        "  flight abort required (450.108): "
        + (", ".join(f"T+{a:.0f}..{b:.0f} s" for a, b in spans) if spans else "in no one-second period")
    )
    areas = doc["hazard_areas"]
    lines.append(
        "  hazard areas: " + ", ".join(f"{k} {v['count']} ({v['area_km2']:.0f} km^2)" for k, v in areas.items())
    )
    lines.append(f"  written to {out}")
    for line in lines:
        typer.echo(line)
