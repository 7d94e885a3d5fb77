"""One chunk of Monte Carlo runs: dispersed closed-loop flights -> one Parquet-ready table.

A chunk is runs ``start..stop-1`` of one case (the nominal flight, or one
failure scenario). :func:`run_chunk` is pure: it depends only on its
:class:`ChunkTask`, so any process on any machine gives the same table. The
runs of a chunk fly as one batch (the simulator, sensor models and engine
are vectorised); run k draws its vehicle and its noise from its own stream
(:mod:`rangeguard.montecarlo.sampling`) and the engine decides every vehicle
independently, so a run's row does not depend on the chunk it is in. If the
batch raises, each run is flown alone and a run that still raises is
recorded with its error, so one bad run never sinks the others.

Row columns (one row per run): ``case`` ("" for nominal, else the scenario),
``iip_lat_deg``/``iip_lon_deg`` (the true vacuum IIP when the run was decided or came down: the footprint),
``run``, ``terminated``, ``t_terminate_s``, ``rule`` (what fired: a rule name,
``string-fault:NAME`` or ``no-healthy-string``), ``state`` (final AFSS state),
``t_safed_s``, ``t_final_s`` (when the outcome became final), ``iip_entered``
(the true IIP reached what a protected area protects before termination: a
missed termination), ``t_iip_entered_s``, ``area_entered``, ``t_fail_s``
(onset of the scenario's first failure in that run), ``error``;
``margin:RULE`` (smallest margin of each rule while active, NaN if never
active), ``param:NAME`` (each dispersed parameter) and, for probe chunks,
``env:RULE`` (the true quantity of each envelope rule at its table times).
"""

from __future__ import annotations

import traceback
import typing
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rangeguard.engine import AfssState
from rangeguard.montecarlo.closedloop import fly
from rangeguard.montecarlo.defaults import T_MAX_S
from rangeguard.montecarlo.sampling import DispersionSampler
from rangeguard.rules.kinematics import QUANTITY_COLUMNS, row_kinematics
from rangeguard.sim import FAILURE_EVENTS

if typing.TYPE_CHECKING:
    from rangeguard.mission.model import Mission


@dataclass(frozen=True)
class ChunkTask:
    """Runs ``start..stop-1`` of ``case`` (None: nominal; else a scenario of ``mission``).

    ``mission`` flies (vehicle, sensors, scenarios, dispersions, seed);
    ``engine_mission`` holds the rules judged. ``probe`` records the true
    envelope quantities (for ``--suggest``)."""

    mission: Mission
    engine_mission: Mission
    case: str | None
    start: int
    stop: int
    probe: bool = False
    nav_dt_s: float | None = None  # None: the engine mission's cycle_hz
    t_max_s: float = T_MAX_S

    @property
    def name(self) -> str:
        """File stem: case and run range (the same task always has the same name)."""
        return f"{self.case or '_nominal'}__{self.start:07d}-{self.stop:07d}"

    @property
    def n(self) -> int:
        return self.stop - self.start


def sampler_for(mission) -> DispersionSampler:
    return DispersionSampler(mission.dispersions, len(mission.vehicle.stages), [s.name for s in mission.nav_sources])


def run_chunk(task: ChunkTask) -> pa.Table:
    """Fly the chunk's runs and return their rows (see the module docstring)."""
    runs = np.arange(task.start, task.stop)
    try:
        return _fly_rows(task, runs)
    except Exception:  # noqa: BLE001 - find the bad run(s): fly each alone
        tables = []
        for k in runs:
            try:
                tables.append(_fly_rows(task, np.array([k])))
            except Exception as exc:  # noqa: BLE001 - recorded, never raised
                tables.append(_error_rows(task, k, exc))
        return concat_rows(tables)


def concat_rows(tables: list[pa.Table]) -> pa.Table:
    """Concatenate row tables whose columns may differ (error rows carry fewer), filling nulls."""
    return pa.concat_tables(tables, promote_options="default")


def _probe_rules(engine_mission):
    return [r for r in engine_mission.rules if r.type == "envelope"]


class _EnvelopeProbe:
    """Records each envelope rule's true quantity at its table times (linear between cycles)."""

    def __init__(self, rules, n: int):
        self.rules = rules
        self.grid = [np.asarray(r.table.t_s, float) for r in rules]
        self.values = [np.full((n, g.size), np.nan) for g in self.grid]
        self.cols = [QUANTITY_COLUMNS[r.quantity] for r in rules]
        self.t_prev = None
        self.prev = None

    def __call__(self, t_s, truth, engine):
        kin = row_kinematics(truth.r_ecef, truth.v_ecef, engine.setup.site)
        live = (engine.state.mode <= AfssState.ARMED) & truth.active
        cur = np.where(live[:, None], kin, np.nan)
        if self.t_prev is not None:
            for grid, vals, col in zip(self.grid, self.values, self.cols, strict=True):
                j = np.nonzero((grid > self.t_prev) & (grid <= t_s + 1e-9))[0]
                if j.size:
                    w = (grid[j] - self.t_prev) / (t_s - self.t_prev)
                    vals[:, j] = self.prev[:, col, None] * (1 - w) + cur[:, col, None] * w
        self.t_prev, self.prev = t_s, cur


def _fly_rows(task: ChunkTask, runs: np.ndarray) -> pa.Table:
    m = task.mission
    sampler = sampler_for(m)
    draws = sampler.draw(m.seed, runs)
    wind = m.dispersions.wind_profile if m.dispersions is not None else None
    probe = _EnvelopeProbe(_probe_rules(task.engine_mission), runs.size) if task.probe else None
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        res = fly(
            m,
            n=runs.size,
            scenario=task.case,
            engine_mission=task.engine_mission,
            per_vehicle_params=draws.params,
            nav_dt_s=task.nav_dt_s,
            t_max_s=task.t_max_s,
            rng=draws.sensor_rngs,
            stop_when_decided=True,
            noise_scale=draws.noise_scale,
            failure_time_shift_s=draws.failure_time_shift_s if task.case else None,
            wind=wind,
            observer=probe,
        )
    n = runs.size
    cols = {
        "case": pa.array([task.case or ""] * n, pa.string()),
        "run": pa.array(runs, pa.int64()),
        "terminated": pa.array(res.terminated, pa.bool_()),
        "t_terminate_s": pa.array(res.t_terminate_s, pa.float64()),
        "rule": pa.array(res.fired_by, pa.string()),
        "state": pa.array(res.state, pa.string()),
        "t_safed_s": pa.array(res.t_safed_s, pa.float64()),
        "t_final_s": pa.array(res.t_final_s, pa.float64()),
        "iip_entered": pa.array(res.iip_entered_protected_area, pa.bool_()),
        "t_iip_entered_s": pa.array(res.t_iip_entered_s, pa.float64()),
        "area_entered": pa.array(res.area_entered, pa.string()),
        "iip_lat_deg": pa.array(res.iip_lat_deg, pa.float64()),
        "iip_lon_deg": pa.array(res.iip_lon_deg, pa.float64()),
        "t_fail_s": pa.array(_failure_onsets(task, res, n), pa.float64()),
        "error": pa.array([None] * n, pa.string()),
    }
    min_margin = res.min_margin
    assert min_margin is not None  # fly() always fills it
    with np.errstate(invalid="ignore"):
        margins = np.where(np.isfinite(min_margin), min_margin, np.nan)
    for j, name in enumerate(res.rule_names):
        cols[f"margin:{name}"] = pa.array(margins[:, j], pa.float64())
    for name, values in draws.dispersed(sampler.dispersed_names).items():
        cols[f"param:{name}"] = pa.array(values, pa.float64())
    if probe is not None:
        for rule, vals in zip(probe.rules, probe.values, strict=True):
            cols[f"env:{rule.name}"] = pa.array(list(vals), pa.list_(pa.float64()))
    return pa.table(cols)


def _error_rows(task: ChunkTask, run: int | np.integer[typing.Any], exc: BaseException) -> pa.Table:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return pa.table(
        {
            "case": pa.array([task.case or ""], pa.string()),
            "run": pa.array([int(run)], pa.int64()),
            "error": pa.array([text], pa.string()),
        }
    )


def _failure_onsets(task: ChunkTask, res, n: int) -> np.ndarray:
    """Per run: the first failure event of the simulator, or the first nav fault's onset, s.

    Every nav fault kind (a source's or every source's silence, a string
    declaring itself faulty, ...) says when it starts acting (``onset_t_s``).
    """
    out = np.full(n, np.nan)
    if task.case is None:
        return out
    for i, t, name in res.events:
        if name in FAILURE_EVENTS and not t >= out[i]:
            out[i] = t
    sc = task.mission.scenarios[task.case]
    if sc.nav_faults:
        out = np.fmin(out, min(f.onset_t_s for f in sc.nav_faults))
    return out
