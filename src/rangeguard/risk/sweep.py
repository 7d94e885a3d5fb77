"""The risk of a whole flight: sweep the failure times, add the planned drops, judge against Part 450.

:func:`analyse` runs the analysis of ``rangeguard risk``:

1. fly the ensemble (the nominal and dispersed vehicles, :mod:`rangeguard.risk.ensemble`);
2. cut the failure probability into 1 s intervals (:mod:`rangeguard.risk.failures`);
3. choose the population box: the nominal ground track and vacuum IIP over the sweep and the planned
   drops, grown by :data:`BOX_MARGIN_DEG`; the grid's cell is the population source's (1 arc-minute
   for the embedded default) unless the box would exceed :data:`MAX_CELLS` cells, then coarser;
4. analyse every (failure time, response mode) (:mod:`rangeguard.risk.analysis`), in tasks of
   ``chunk_size`` failure times on the chosen backend (this process, local processes, Dask);
5. fly the planned drops (``jettisoned``) with probability one;
6. sum: the flight's collective risk E_c = sum over times and modes of P(failure in the interval) x
   P(mode) x CEC, plus the planned drops' E_c; the individual risk of each populated cell
   P_c = 1 - exp(-sum of the same weights x hits per person); the CEC of every (time, mode) against
   the flight-abort criterion (a one-second period where any response mode's CEC exceeds it).

Verdict: PASS when E_c <= the collective criterion and the largest P_c <= the individual criterion
(``risk_criteria``). Where the CEC exceeds its criterion, 14 CFR 450.108 requires flight abort (an
AFSS) for that period: reported, not a failure of the verdict, since the flight has one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rangeguard.earth.geodesy import ecef_to_geodetic
from rangeguard.errors import InputError
from rangeguard.iip import impact_point
from rangeguard.mission.model import Mission
from rangeguard.mission.risk import DebrisCatalogSpec, FragmentGroupSpec, PopulationSpec
from rangeguard.montecarlo.executors import one_numba_thread, run_all
from rangeguard.risk.analysis import (
    BREAKUP_MODES,
    DEFAULT_SAMPLES,
    RISK_STEP_ONTO_KINKS,
    RISK_TOL_M,
    GroupOutcome,
    ModeOutcome,
    PopulationSource,
    SweepItem,
    SweepTask,
    catalog_for,
    group_outcomes,
    population_grid,
    run_task,
)
from rangeguard.risk.breakup import conditional_expected_casualties
from rangeguard.risk.casualty import (
    ImpactDistribution,
    Method,
)
from rangeguard.risk.ensemble import DEFAULT_VEHICLES, FlightEnsemble, fly_ensemble
from rangeguard.risk.failures import DEFAULT_STEP_S, FailureTime, failure_times
from rangeguard.risk.population import PopulationGrid

BOX_MARGIN_DEG = 5.0
"""The population box reaches this far beyond the ground track and IIPs of the sweep, degrees
(about 550 km: farther than a fragment lands from the vacuum IIP of its parent in these flights)."""
MAX_LAT_DEG = 89.5
"""The box stops short of the poles (a population cell there has almost no area)."""
FULL_TURN_DEG = 360.0
MAX_CELLS = 20_000_000
"""Largest population grid, cells (160 MB of people as float64): a wider box gets coarser cells."""
DEFAULT_CHUNK_SIZE = 10
"""Failure times per task: small enough to spread over workers and show progress, large enough that
a task's start-up (the population grid, once per process) is paid rarely."""
JETTISON_INDEX = 1_000_000
"""Random-stream index of the first planned drop (beyond any failure-time index)."""


@dataclass(frozen=True)
class RiskOptions:
    """How finely the analysis samples: see ``rangeguard risk --help``."""

    samples_per_group: int = DEFAULT_SAMPLES
    step_s: float = DEFAULT_STEP_S
    n_vehicles: int = DEFAULT_VEHICLES
    method: Method = "auto"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    backend: str = "inprocess"
    workers: int = 1
    scheduler: str | None = None
    population_override: str | None = None  # a raster path replacing the mission's population
    cell_deg: float | None = None  # population cell; None: the source's default


@dataclass(frozen=True, eq=False)
class DropOutcome:
    """A planned drop (probability one): its group result, its release time and its sampled impacts
    (None if none landed; the drop zone of a cloud too wide for a normal is drawn from them)."""

    t_s: float
    group: GroupOutcome
    impacts: ImpactDistribution | None = None


@dataclass(frozen=True, eq=False)
class RiskResult:
    """Everything ``rangeguard risk`` reports (see :func:`analyse`)."""

    mission: Mission
    failures: tuple[FailureTime, ...]
    outcomes: tuple[ModeOutcome, ...]
    drops: tuple[DropOutcome, ...]
    population: PopulationGrid
    pc_rows: NDArray[np.intp]
    pc_cols: NDArray[np.intp]
    hits_per_person: NDArray[np.float64]
    ec_per_cell: NDArray[np.float64]
    iip_lat_deg: NDArray[np.float64]  # per failure time, nominal vacuum IIP
    iip_lon_deg: NDArray[np.float64]
    options: RiskOptions
    population_description: str

    @property
    def ec_failures(self) -> float:
        return float(sum(o.probability * o.cec for o in self.outcomes))

    @property
    def ec_planned(self) -> float:
        return float(sum(d.group.ec for d in self.drops))

    @property
    def ec_total(self) -> float:
        return self.ec_failures + self.ec_planned

    @property
    def pc(self) -> NDArray[np.float64]:
        return np.asarray(-np.expm1(-self.hits_per_person), dtype=np.float64)

    def pc_max(self) -> tuple[float, tuple[float, float] | None]:
        """The largest individual probability of casualty and its cell's centre (lat, lon), degrees."""
        if self.pc.size == 0:
            return 0.0, None
        k = int(np.argmax(self.pc))
        lat = self.population.lat_centres_deg[self.pc_rows[k]]
        lon = self.population.lon_centres_deg[self.pc_cols[k]]
        return float(self.pc[k]), (float(lat), float(((lon + 180.0) % 360.0) - 180.0))

    def abort_required_intervals_s(self) -> list[tuple[float, float]]:
        """Merged one-second periods where some response mode's CEC exceeds the abort criterion."""
        limit = self.mission.risk_criteria.conditional_ec_abort
        spans = sorted({(o.failure.t0_s, o.failure.t1_s) for o in self.outcomes if o.cec > limit})
        merged: list[tuple[float, float]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1] + 1e-9:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged

    @property
    def verdict(self) -> str:
        criteria = self.mission.risk_criteria
        ok = self.ec_total <= criteria.collective_ec and self.pc_max()[0] <= criteria.individual_pc
        return "PASS" if ok else "FAIL"


def _check_inputs(mission: Mission, failures: list[FailureTime]) -> None:
    if mission.failure is None:
        raise InputError("failure: the mission has no failure model; add a `failure` section (docs/mission-format.md)")
    modes = {r.mode for r in mission.failure.responses if r.probability > 0.0}
    if modes & set(BREAKUP_MODES):
        for stage in sorted({f.stage for f in failures if f.probability > 0.0}):
            catalog_for(mission, stage)


def _box(
    ensemble: FlightEnsemble, times_s: list[float], ground_height_m: float
) -> tuple[tuple[float, float, float, float], NDArray[np.float64], NDArray[np.float64]]:
    """The population box (lat_min, lat_max, lon_min, lon_max) and the nominal vacuum IIP at ``times_s``
    (on ground at ``ground_height_m``)."""
    k = np.array([ensemble.index(t) for t in times_s], dtype=np.intp)
    r = ensemble.r_ecef[0, k]
    v = ensemble.v_ecef[0, k]
    lat_iip, lon_iip, _ = impact_point(r, v, ground_height_m)
    lat_g, lon_g, _ = ecef_to_geodetic(r)
    lat = np.concatenate([np.atleast_1d(lat_iip), lat_g])
    lon = np.concatenate([np.atleast_1d(lon_iip), lon_g])
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat, lon = lat[ok], lon[ok]
    ref = float(lon_g[0])
    lon = ref + ((lon - ref + 180.0) % 360.0 - 180.0)
    west, east = float(lon.min()) - BOX_MARGIN_DEG, float(lon.max()) + BOX_MARGIN_DEG
    if east - west >= FULL_TURN_DEG:  # e.g. a track over a pole: every longitude
        # less one degree: whole cells around it stay within one turn (the far side of the Earth)
        west, east = ref - 0.5 * FULL_TURN_DEG + 0.5, ref + 0.5 * FULL_TURN_DEG - 0.5
    box = (
        max(-MAX_LAT_DEG, float(lat.min()) - BOX_MARGIN_DEG),
        min(MAX_LAT_DEG, float(lat.max()) + BOX_MARGIN_DEG),
        west,
        east,
    )
    return box, np.atleast_1d(lat_iip), np.atleast_1d(lon_iip)


def _cell_deg(box: tuple[float, float, float, float], requested: float | None) -> float:
    from rangeguard.risk.world import DEFAULT_CELL_DEG

    cell = DEFAULT_CELL_DEG if requested is None else requested
    if not (math.isfinite(cell) and cell > 0.0):
        raise InputError(f"risk: the population cell must be a positive number of degrees, got {cell!r}")
    span = (box[1] - box[0]) * (box[3] - box[2])
    return max(cell, math.sqrt(span / MAX_CELLS))


def _population_spec(mission: Mission, override: str | None) -> PopulationSpec:
    if override is None:
        return mission.population
    return PopulationSpec(source="raster", raster=override, sheltered_fraction=mission.population.sheltered_fraction)


def _drops(
    mission: Mission, ensemble: FlightEnsemble, population: PopulationGrid, options: RiskOptions
) -> list[DropOutcome]:
    """Each planned drop, flown from the ensemble's states at its release (probability one)."""
    out = []
    for j, body in enumerate(mission.jettisoned or []):
        t = ensemble.release_time(body.release, body.stage)
        r, v = ensemble.states_at(t)
        group = FragmentGroupSpec(
            name=body.name,
            count=body.count,
            mass_kg=body.mass_kg,
            area_m2=body.area_m2,
            ballistic_coeff_kg_m2=body.ballistic_coeff_kg_m2,
            ballistic_sigma=body.ballistic_sigma,
            explosion_velocity_mps=body.separation_velocity_mps,
            casualty_area_m2=body.casualty_area_m2,
        )
        catalog = DebrisCatalogSpec(stage=0, groups=[group])
        rng = np.random.default_rng(np.random.SeedSequence([mission.seed, JETTISON_INDEX + j]))
        sheltered = mission.population.sheltered_fraction
        result = conditional_expected_casualties(
            r,
            v,
            catalog,
            population,
            options.samples_per_group,
            rng,
            method=options.method,
            sheltered_fraction=sheltered,
            tol_m=RISK_TOL_M,
            step_onto_kinks=RISK_STEP_ONTO_KINKS,
            parent_winds=ensemble.winds_at(t),
            ground_height_m=mission.site.impact_height_m,
        )
        (outcome,) = group_outcomes(result)
        out.append(DropOutcome(t, outcome, result.impacts[0]))
    return out


def analyse(
    mission: Mission,
    options: RiskOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RiskResult:
    """The risk of ``mission``'s flight (module docstring). ``progress(done, total)`` after each task
    (failure times done of all)."""
    options = options or RiskOptions()
    if not (isinstance(options.samples_per_group, int) and options.samples_per_group >= 1):
        raise InputError(f"risk: samples per group must be a positive integer, got {options.samples_per_group!r}")
    if not (isinstance(options.chunk_size, int) and options.chunk_size >= 1):
        raise InputError(f"risk: the chunk size must be a positive integer, got {options.chunk_size!r}")
    if mission.failure is None:
        raise InputError("failure: the mission has no failure model; add a `failure` section (docs/mission-format.md)")
    ensemble = fly_ensemble(mission, options.n_vehicles)
    failures = failure_times(mission.failure, ensemble, options.step_s)
    _check_inputs(mission, failures)
    release_times = [ensemble.release_time(b.release, b.stage) for b in mission.jettisoned or []]
    box, iip_lat, iip_lon = _box(ensemble, [f.t_s for f in failures] + release_times, mission.site.impact_height_m)
    iip_lat, iip_lon = iip_lat[: len(failures)], iip_lon[: len(failures)]  # the failure times' own
    base_dir = str(mission.source_path.parent) if mission.source_path is not None else "."
    source = PopulationSource(
        _population_spec(mission, options.population_override), base_dir, box, _cell_deg(box, options.cell_deg)
    )
    population = population_grid(source)

    items = []
    for k, f in enumerate(failures):
        r, v = ensemble.states_at(f.t_s)
        mass_kg = float(ensemble.mass_kg[0, ensemble.index(f.t_s)])
        items.append(SweepItem(k, f, r, v, mass_kg, ensemble.winds_at(f.t_s)))
    tasks = [
        SweepTask(
            mission,
            source,
            tuple(items[i : i + options.chunk_size]),
            options.samples_per_group,
            mission.seed,
            options.method,
        )
        for i in range(0, len(items), options.chunk_size)
    ]
    results: dict[int, list[ModeOutcome]] = {}
    done = 0

    def finished(task: SweepTask, outcomes: list[ModeOutcome]) -> None:
        nonlocal done
        results[task.items[0].index] = outcomes
        done += len(task.items)
        if progress is not None:
            progress(done, len(items))

    run_all(
        run_task,
        tasks,
        finished,
        backend=options.backend,
        workers=options.workers,
        scheduler=options.scheduler,
        worker_init=one_numba_thread,
        name=lambda t: t.name,
    )
    outcomes = tuple(o for key in sorted(results) for o in results[key])
    drops = tuple(_drops(mission, ensemble, population, options))
    exposed = 1.0 - mission.population.sheltered_fraction
    rows, cols, hits, ec_cells = _accumulate(outcomes, drops, population, exposed)
    description = (
        f"{source.spec.source} ({population.total_people:,.0f} people in the box, {source.cell_deg * 60:.2f}' cells)"
    )
    return RiskResult(
        mission,
        tuple(failures),
        outcomes,
        drops,
        population,
        rows,
        cols,
        hits,
        ec_cells,
        iip_lat,
        iip_lon,
        options,
        description,
    )


def _accumulate(
    outcomes: tuple[ModeOutcome, ...], drops: tuple[DropOutcome, ...], population: PopulationGrid, exposed: float
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
    """Per populated cell hit by anything: the probability-weighted hits on a person in the open, and E_c
    (of the ``exposed`` share of the cell's people)."""
    nx = population.shape[1]
    keys: list[NDArray[np.int64]] = []
    values: list[NDArray[np.float64]] = []
    weighted = [(o.probability, g) for o in outcomes for g in o.groups] + [(1.0, d.group) for d in drops]
    for weight, g in weighted:
        if g.rows.size:
            keys.append(g.rows.astype(np.int64) * nx + g.cols)
            values.append(weight * g.hits_per_person)
    if not keys:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, np.zeros(0), np.zeros(0)
    key = np.concatenate(keys)
    unique, inverse = np.unique(key, return_inverse=True)
    hits = np.asarray(np.bincount(inverse, weights=np.concatenate(values)), dtype=np.float64)
    rows = (unique // nx).astype(np.intp)
    cols = (unique % nx).astype(np.intp)
    return rows, cols, hits, exposed * hits * population.people[rows, cols]
