"""Monte Carlo rule validation: dispersed nominal and failure flights -> statistics and a verdict.

:func:`validate` flies ``runs`` dispersed nominal flights and, for each
chosen failure scenario, ``failure_runs`` dispersed failure flights (the
failure time dispersed too) through simulator, sensor models and engine, in
chunks (:mod:`rangeguard.montecarlo.runner`), and returns the statistics of
:mod:`rangeguard.montecarlo.stats`. Failure run k of a scenario flies the
same dispersed vehicle, with the same noise, as nominal run k (common random
numbers): the scenario is the only difference.

Files in ``out_dir``: ``chunks/<fingerprint>/*.parquet`` (one per chunk,
written as it finishes; a rerun skips those that check out against
``chunks/<fingerprint>/manifest.json``, their SHA-256 digests and run ranges,
and recomputes the others with a warning), ``runs.parquet`` (every run's
row), ``statistics.parquet`` (one row per figure) and ``summary.json``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rangeguard.errors import InputError
from rangeguard.montecarlo.chunks import ChunkTask
from rangeguard.montecarlo.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_FAILURE_RUNS, DEFAULT_RUNS, T_MAX_S
from rangeguard.montecarlo.runner import fingerprint, run_and_read
from rangeguard.montecarlo.stats import json_view, statistics_table, summarize


@dataclass
class ValidationResult:
    summary: dict
    rows: pa.Table
    out_dir: Path | None

    @property
    def verdict(self) -> str:
        return self.summary["verdict"]

    def json(self) -> dict:
        return json_view(self.summary)


def select_scenarios(mission, scenarios) -> list[str]:
    """``"all"``, ``"none"``, a comma-separated string or a list of names -> scenario names (checked)."""
    if scenarios is None or scenarios == "none":
        return []
    if scenarios == "all":
        return list(mission.scenarios)
    names = [s.strip() for s in scenarios.split(",")] if isinstance(scenarios, str) else list(scenarios)
    names = [s for s in names if s]
    unknown = [s for s in names if s not in mission.scenarios]
    if unknown:
        allowed = ", ".join(mission.scenarios) or "(the mission defines none)"
        raise InputError(f"unknown scenario(s) {', '.join(unknown)}; allowed: all, none, or names from: {allowed}")
    return names


def check_mission(mission) -> None:
    if mission.vehicle is None:
        raise InputError(
            f"mission '{mission.name}' has no vehicle section; validation flies the vehicle, so it needs one"
        )


def build_tasks(
    mission,
    engine_mission,
    runs: int,
    scenarios: list[str],
    failure_runs: int,
    chunk_size: int,
    probe: bool = False,
    t_max_s: float = T_MAX_S,
) -> list[ChunkTask]:
    if runs < 0 or failure_runs < 0:
        raise InputError(f"runs and failure runs must be >= 0; got {runs} and {failure_runs}")
    if chunk_size < 1:
        raise InputError(f"chunk size must be >= 1; got {chunk_size}")
    if not t_max_s > 0:
        raise InputError(f"t_max_s (longest flight simulated) must be > 0 s; got {t_max_s}")
    tasks = []
    for case, n in [(None, runs)] + [(s, failure_runs) for s in scenarios]:
        for start in range(0, n, chunk_size):
            tasks.append(
                ChunkTask(
                    mission,
                    engine_mission,
                    case,
                    start,
                    min(n, start + chunk_size),
                    probe=probe,
                    t_max_s=float(t_max_s),
                )
            )
    return tasks


def validate(
    mission,
    runs: int = DEFAULT_RUNS,
    scenarios="all",
    failure_runs: int = DEFAULT_FAILURE_RUNS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    backend: str = "inprocess",
    workers: int = 1,
    scheduler: str | None = None,
    out_dir: Path | None = None,
    engine_mission=None,
    on_chunk=None,
    t_max_s: float = T_MAX_S,
    on_warning=None,
) -> ValidationResult:
    """Validate ``engine_mission``'s rules (default: ``mission``'s) on ``mission``'s dispersed flights.

    ``on_chunk(task, runs_done)`` is called as chunks finish (progress);
    ``on_warning(text)`` for each chunk file recomputed because it failed its
    check (default: a ChunkWarning); ``out_dir`` None keeps everything in a
    temporary directory; ``t_max_s`` ends every flight at that flight time
    (s; for quick checks).
    """
    check_mission(mission)
    engine_mission = mission if engine_mission is None else engine_mission
    names = select_scenarios(mission, scenarios)
    tasks = build_tasks(mission, engine_mission, runs, names, failure_runs, chunk_size, t_max_s=t_max_s)
    if out_dir is None:
        with tempfile.TemporaryDirectory(prefix="rangeguard-validate-") as tmp:
            return _validate(
                tasks,
                mission,
                engine_mission,
                names,
                Path(tmp),
                keep=False,
                backend=backend,
                workers=workers,
                scheduler=scheduler,
                on_chunk=on_chunk,
                on_warning=on_warning,
            )
    return _validate(
        tasks,
        mission,
        engine_mission,
        names,
        Path(out_dir),
        keep=True,
        backend=backend,
        workers=workers,
        scheduler=scheduler,
        on_chunk=on_chunk,
        on_warning=on_warning,
    )


def _validate(tasks, mission, engine_mission, names, out_dir, keep, **run):
    settings = f"t_max={tasks[0].t_max_s!r};nav_dt={tasks[0].nav_dt_s!r}" if tasks else ""
    chunk_dir = out_dir / "chunks" / fingerprint(mission, engine_mission, extra=settings)
    rows = run_and_read(tasks, chunk_dir, **run)
    summary = summarize(rows, engine_mission, names)
    if keep:
        out_dir.mkdir(parents=True, exist_ok=True)
        keep_cols = [c for c in rows.column_names if not c.startswith("env:")]
        pq.write_table(rows.select(keep_cols), out_dir / "runs.parquet", compression="zstd")
        pq.write_table(statistics_table(summary), out_dir / "statistics.parquet")
        (out_dir / "summary.json").write_text(json.dumps(json_view(summary), indent=2) + "\n")
    return ValidationResult(summary=summary, rows=rows, out_dir=out_dir if keep else None)
