"""``rangeguard validate``: Monte Carlo rule validation, with statistics, a verdict and ``--suggest``.

Exit status (the verdict with ``--suggest`` is the suggested mission's):

- 0: the verdict is PASS;
- 1: the verdict is FAIL (and nothing else went wrong);
- 2: bad input (a mission or argument error, named on stderr), an
  infrastructure error (a file that cannot be written, a worker pool or
  cluster that broke, any unexpected exception: one line on stderr, never a
  traceback), or runs that ended in an error (the validation is incomplete,
  so its FAIL is not a verdict on the rules);
- 130: interrupted (Ctrl-C); finished chunks are kept, a rerun resumes.

Chunk files that fail their check on resume are recomputed with a
``warning:`` line on stderr naming the file and the reason.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import typer
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from rangeguard import paths
from rangeguard.cli import options
from rangeguard.cli.app import EXIT_INTERRUPTED, EXIT_USER_ERROR, app
from rangeguard.errors import InputError, RangeguardError
from rangeguard.mission import load_mission
from rangeguard.montecarlo.defaults import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_FAILURE_RUNS,
    DEFAULT_RUNS,
    DEFAULT_SPREAD,
    T_MAX_S,
)

EXIT_PASS, EXIT_FAIL = 0, 1
LISTED_IN_CONSOLE = 10
"""Runs against a scenario's expect printed per scenario (all are in summary.json and the report)."""


def _backend(backend: str, workers: int | None, scheduler: str | None) -> tuple[str, int]:
    """auto: --scheduler -> dask on that cluster; --workers K -> a Dask LocalCluster of K;
    neither -> local processes, one per CPU (in-process on one CPU)."""
    if backend not in ("auto", "inprocess", "processes", "dask"):
        raise InputError(f"unknown backend '{backend}'; allowed: auto, inprocess, processes, dask")
    if scheduler and backend not in ("auto", "dask"):
        raise InputError("--scheduler needs the dask backend (leave --backend at auto, or give --backend dask)")
    cpus = os.cpu_count() or 1
    if backend == "auto":
        if scheduler:
            return "dask", 1
        if workers is not None:
            return ("dask", workers) if workers > 1 else ("inprocess", 1)
        return ("processes", cpus) if cpus > 1 else ("inprocess", 1)
    return backend, (workers if workers is not None else (cpus if backend != "inprocess" else 1))


class _Progress:
    """A rich progress bar (on stderr) with runs/s and the time left."""

    def __init__(self, label: str, total: int, enabled: bool):
        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.total = total
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.1f} runs/s"),
            TextColumn("{task.fields[left]} left"),
            console=self.console,
            disable=not self.enabled,
        )
        self.task = self.bar.add_task(label, total=total, rate=0.0, left="-:--")
        self.t0 = time.perf_counter()
        self.first: int | None = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def __call__(self, task, done: int) -> None:
        if task is None:  # chunks already on disk (resumed)
            self.first = done
        new = done - (self.first or 0)
        rate = new / max(time.perf_counter() - self.t0, 1e-9)
        left = "-:--"
        if rate > 0:
            sec = int(round((self.total - done) / rate))
            left = f"{sec // 60}:{sec % 60:02d}"
        self.bar.update(self.task, completed=done, rate=rate, left=left)


def _fmt(x, spec=".3g") -> str:
    return "-" if x is None else format(x, spec)


def _warning_line(text: str) -> None:
    # plain print to the current sys.stderr: rich's live progress display redirects it above the bar
    print(f"warning: {text}", file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _print_expectations(console: Console, s: dict) -> None:
    """The runs against each scenario's expect (first few; all are in summary.json and the report)."""
    for name, v in s["scenarios"].items():
        listed = v.get("unexpected_runs") or []
        if not listed:
            continue
        if v["expect"] == "continue":
            what = "terminated (expect: continue)"
            items = [f"run {r['run']} by {r['rule']} at T+{_fmt(r['t_terminate_s'], '.2f')} s" for r in listed]
        else:
            what = "not terminated (expect: terminate)"
            items = [f"run {r['run']} {r['outcome']} ({r['state']})" for r in listed]
        more = v["unexpected"] - min(len(items), LISTED_IN_CONSOLE)
        console.print(
            escape(
                f"{name}: {v['unexpected']} run(s) {what}: "
                + "; ".join(items[:LISTED_IN_CONSOLE])
                + (f"; and {more} more (summary.json, report.html)" if more > 0 else "")
            )
        )


def _print_report(console: Console, s: dict, title: str, seconds: float) -> None:
    ft = s["false_termination"]
    console.print(
        f"[bold]{title}[/bold]: {s['runs']} dispersed nominal flights, "
        f"{sum(v['runs'] for v in s['scenarios'].values())} failure flights in {seconds:.1f} s"
    )
    rules = Table(title="Nominal flights, per rule")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("rule", "left"),
        ("false terminations", "right"),
        ("min margin p0.1", "right"),
        ("p1", "right"),
        ("p50", "right"),
        ("unit", "left"),
    )
    for col, j in columns:
        rules.add_column(col, justify=j)
    for name, r in s["rules"].items():
        rules.add_row(
            name,
            str(r["false_terminations"]),
            _fmt(r["margin_p0.1"]),
            _fmt(r["margin_p1"]),
            _fmt(r["margin_p50"]),
            r["unit"],
        )
    console.print(rules)
    console.print(
        f"false terminations: {ft['count']} of {s['runs']} (p = {_fmt(ft['probability'])}); "
        f"95 % upper bound {ft['upper95']:.3g} vs requirement {ft['requirement']:g}"
    )
    if s["scenarios"]:
        sc = Table(title="Failure scenarios")
        for col in (
            "scenario",
            "runs",
            "terminated",
            "t detect p50 s",
            "p99 s",
            "missed",
            "expect",
            "unexpected",
            "rules",
        ):
            sc.add_column(col, justify="left" if col in ("scenario", "expect", "rules") else "right")
        for name, v in s["scenarios"].items():
            sc.add_row(
                name,
                str(v["runs"]),
                str(v["terminated"]),
                _fmt(v["t_detect_p50_s"], ".2f"),
                _fmt(v["t_detect_p99_s"], ".2f"),
                str(v["missed"]),
                v["expect"] or "-",
                str(v["unexpected"]),
                ", ".join(f"{k} {n}" for k, n in v["rules"].items()),
            )
        console.print(sc)
        _print_expectations(console, s)
    for note in s.get("notes", []):
        console.print(escape(f"note: {note}"))
    colour = "green" if s["verdict"] == "PASS" else "red"
    console.print(
        f"[bold {colour}]{s['verdict']}[/bold {colour}]" + "".join(f"\n  - {escape(r)}" for r in s["reasons"])
    )


@app.command()
def validate(
    mission: Path = typer.Argument(..., help="Mission YAML file (with a vehicle and, usually, dispersions)."),
    runs: int = typer.Option(DEFAULT_RUNS, "--runs", min=0, help="Dispersed nominal flights."),
    scenarios: str = typer.Option("all", "--scenarios", help="Failure scenarios: all, none, or NAME,NAME,..."),
    failure_runs: int = typer.Option(
        DEFAULT_FAILURE_RUNS, "--failure-runs", min=0, help="Dispersed flights per failure scenario."
    ),
    workers: int = typer.Option(None, "--workers", min=1, help="Start a Dask LocalCluster of K worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="Use an existing Dask cluster (tcp://HOST:PORT)."),
    backend: str = typer.Option("auto", "--backend", help="auto, inprocess, processes or dask."),
    chunk_size: int = typer.Option(
        DEFAULT_CHUNK_SIZE, "--chunk-size", min=1, help="Runs per chunk (one Parquet file each)."
    ),
    out: Path = typer.Option(Path("rangeguard-out/validate"), "--out", help="Output directory (reruns resume)."),
    json_out: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
    suggest: Path = typer.Option(
        None, "--suggest", help="Write a mission with re-derived envelopes here, then validate it."
    ),
    suggest_spread: float = typer.Option(
        DEFAULT_SPREAD,
        "--suggest-spread",
        min=0.0,
        help="Suggested envelopes: extremes pushed out by this x their distance from the median (+ an absolute term).",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    report: bool = typer.Option(
        True, "--report/--no-report", help="Also write the HTML report (report.html in --out)."
    ),
    t_max: float = typer.Option(
        T_MAX_S, "--t-max", min=0.1, help="End every flight at this flight time, s (quick checks)."
    ),
) -> None:
    """Fly dispersed nominal and failure flights through simulator, sensors and AFSS; judge the rules.

    Exit status: 0 PASS, 1 FAIL, 2 bad input, an infrastructure error or runs that ended in an error."""
    try:
        code = _validate(
            mission, runs, scenarios, failure_runs, workers, scheduler, backend, chunk_size, out, json_out, suggest,
            suggest_spread, progress, report, t_max,
        )  # fmt: skip
    except (typer.Exit, RangeguardError):
        raise
    except KeyboardInterrupt:
        typer.echo(
            f"interrupted; the finished chunks are kept in {out / 'chunks'}: rerun the same command to resume", err=True
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001 - exit 2 with one line, never a traceback (nor exit 1, kept for FAIL)
        typer.echo(
            f"rangeguard validate stopped: {_one_line(exc)}; no verdict (an infrastructure error or a bug, "
            f"not a FAIL); finished chunks are kept in {out / 'chunks'}: fix the cause and rerun to resume",
            err=True,
        )
        raise typer.Exit(EXIT_USER_ERROR) from None
    raise typer.Exit(code)


def _check_paths_and_options(
    mission: Path, out: Path, suggest: Path | None, scheduler: str | None, t_max: float, suggest_spread: float
) -> str | None:
    """Everything about the command line that can be wrong, checked before the first flight (InputError).
    Returns the scheduler address in full (a bare HOST:PORT is tcp)."""
    paths.output_folder(out, "--out")
    if suggest is not None:
        paths.output_file(suggest, "--suggest", example="mission-suggested.yaml")
        if suggest.resolve() == Path(mission).resolve():
            raise InputError(
                f"--suggest {suggest} is the mission file itself; give a new file name for the "
                "suggested mission (the original stays as it is)"
            )
    options.finite(t_max, "--t-max", unit="s")
    options.finite(suggest_spread, "--suggest-spread")
    return options.dask_address(scheduler)


def _validate(
    mission, runs, scenarios, failure_runs, workers, scheduler, backend, chunk_size, out, json_out, suggest,
    suggest_spread, progress, report, t_max,
) -> int:  # fmt: skip
    from rangeguard.montecarlo.runner import ChunkWarning
    from rangeguard.montecarlo.stats import json_view
    from rangeguard.montecarlo.suggest import derive_envelopes, write_suggested
    from rangeguard.montecarlo.validation import validate as run_validation

    scheduler = _check_paths_and_options(mission, out, suggest, scheduler, t_max, suggest_spread)
    m = load_mission(mission)
    kind, n_workers = _backend(backend, workers, scheduler)
    console = Console() if Console().is_terminal else Console(width=160)
    common = {"chunk_size": chunk_size, "backend": kind, "workers": n_workers, "scheduler": scheduler}
    errors = []

    def one(mis, out_dir, label):
        names = list(mis.scenarios) if scenarios == "all" else ([] if scenarios == "none" else scenarios.split(","))
        total = runs + failure_runs * len([x for x in names if x])
        t0 = time.perf_counter()
        with _Progress(label, total, progress and not json_out) as bar:
            result = run_validation(
                mis,
                runs=runs,
                scenarios=scenarios,
                failure_runs=failure_runs,
                out_dir=out_dir,
                on_chunk=bar,
                t_max_s=t_max,
                on_warning=_warning_line,
                **common,
            )
        errors.extend(result.summary["errors"])
        seconds = time.perf_counter() - t0
        written = "runs.parquet, statistics.parquet, summary.json"
        if report:
            from rangeguard.report import write_report

            write_report(out_dir, mission=mis)
            written += ", report.html"
        if not json_out:
            _print_report(console, result.summary, f"{mis.name} [{kind}, {n_workers} worker(s)]", seconds)
            console.print(f"wrote {out_dir}/{written}")
        return result

    first = one(m, out, f"validate {m.name}")
    final = first
    doc = json_view(first.summary)
    if suggest is not None:
        with (
            _Progress(f"suggest: {runs} monitor-only flights", runs, progress and not json_out) as bar,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", ChunkWarning)
            env = derive_envelopes(m, runs, spread=suggest_spread, out_dir=out / "suggest", on_chunk=bar, **common)
        for w in caught:
            if issubclass(w.category, ChunkWarning):
                _warning_line(str(w.message))
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        path = write_suggested(m, env, suggest, suggest_spread)
        if not json_out:
            console.print(
                f"wrote {path}: {len(env)} envelope rule(s) re-derived from {runs} dispersed nominal "
                f"flights (extremes pushed out by {suggest_spread:g} x their distance from the median); validating it"
            )
        final = one(load_mission(path), out / "suggested", f"validate {path.name}")
        doc["suggested"] = {"path": str(path), **json_view(final.summary)}
    if json_out:
        typer.echo(json.dumps(doc))
    if errors:
        first = errors[0]
        typer.echo(
            f"{len(errors)} run(s) ended in an error (first: {first['case']} run {first['run']}: "
            f"{' '.join(str(first['error']).split())}); the validation is incomplete, so there is no verdict on "
            f"the rules: fix the cause (the 'error' column of runs.parquet) and rerun",
            err=True,
        )
        return EXIT_USER_ERROR
    return EXIT_PASS if final.verdict == "PASS" else EXIT_FAIL
