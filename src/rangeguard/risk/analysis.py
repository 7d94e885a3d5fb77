"""One piece of the risk sweep: the conditional expected casualties of failures at a few flight times.

For each failure time (a :class:`~rangeguard.risk.failures.FailureTime` and the ensemble's states then)
and each failure response mode of the mission's ``failure.responses`` (14 CFR 450.108, 450.119):

- ``afss_termination``: the AFSS breaks the vehicle up where it is: the fragments of the debris catalog
  of the stage flying then (``debris[]``), each fragment's parent state drawn from the dispersed
  vehicles flying then (:mod:`rangeguard.risk.ensemble`);
- ``destruct``: the AFSS's destruct command: the same fragments from the same states
  (``afss_termination`` is this response, the name it always had);
- ``thrust_termination``: the AFSS's thrust termination command: the engines stop and the vehicle
  falls intact, modelled exactly as ``intact_impact`` below (same body, same random stream);
- ``breakup``: the air breaks it up: the same fragments from the same states (a malfunction turn
  before the break-up is not modelled yet: it needs the malfunction-turn trajectories of the flight
  safety limits analysis);
- ``intact_impact``: the vehicle falls in one piece: one body of the vehicle's mass then, the mean
  projected area of a tumbling cylinder of the vehicle's diameter and the length of the stages still
  attached (Cauchy: a convex body's mean projection is a quarter of its surface), a tumbling drag
  coefficient :data:`CD_TUMBLING` and a 20 % spread of the ballistic coefficient; inert (its explosion
  on impact is out of scope).

Each time flies ``samples_per_group`` fragments per group (:func:`conditional_expected_casualties`) of
the catalog (shared by the two break-up modes) and of the intact body, each with its own random
stream, ``SeedSequence([seed, time index, 0 or 1])``: a result depends only on
its inputs, never on how the sweep is cut into tasks or which backend runs them. :func:`run_task` is
pure and picklable, for worker processes and Dask.

Per (time, mode) it returns the CEC and, per fragment group, the fitted impact normal, the fragments
that land, the group's E_c and its hits per person on each populated cell in reach (for the
individual risk map).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rangeguard.errors import InputError
from rangeguard.mission.model import Mission
from rangeguard.mission.risk import DebrisCatalogSpec, FragmentGroupSpec, PopulationSpec
from rangeguard.risk.breakup import BreakupCasualties, ParentWind, conditional_expected_casualties
from rangeguard.risk.casualty import BivariateNormal, Method
from rangeguard.risk.failures import FailureTime
from rangeguard.risk.population import PopulationGrid

RISK_TOL_M = 0.3
"""Local tolerance of the fragments' flight (impact_point_drag's ``tol_m``), m, with
:data:`RISK_STEP_ONTO_KINKS` off: impacts within 30 m of scipy's DOP853 on the drag test cases
(tests/unit/test_iip_drag.py; 99 % within 12 m of a tight integration for fragments of the Kii
ascent), far inside a population cell (1.85 km) and a group's dispersion (km), for about 0.6 times the
cost of the default tolerance stepping onto the kinks (design/risk.md, "Speed")."""
RISK_STEP_ONTO_KINKS = False
"""The fragments' steps cross the atmosphere's kinks under error control (see :data:`RISK_TOL_M`)."""
DEFAULT_SAMPLES = 1000
"""Fragments flown per group, failure time and response mode."""
CD_TUMBLING = 1.0
"""Drag coefficient of a tumbling intact vehicle on its mean projected area (engineering estimate: a
tumbling cylinder's averaged C_D is about 1 at supersonic speed, 0.8-1.2 across the speed range)."""
INTACT_BETA_SIGMA = 0.2
"""1-sigma relative spread of the intact vehicle's ballistic coefficient (its attitude and C_D)."""


@dataclass(frozen=True)
class PopulationSource:
    """How a worker gets the population grid: the mission's ``population`` section (or a raster that
    overrides it), resolved against the mission's folder, over ``bounds_deg`` (lat_min, lat_max,
    lon_min, lon_max) at ``cell_deg``. Built once per process (:func:`population_grid`)."""

    spec: PopulationSpec
    base_dir: str
    bounds_deg: tuple[float, float, float, float]
    cell_deg: float


_GRIDS: dict[PopulationSource, PopulationGrid] = {}


def population_grid(source: PopulationSource) -> PopulationGrid:
    """The grid of ``source``, built on first use in this process and kept."""
    grid = _GRIDS.get(source)
    if grid is None:
        from rangeguard.risk.world import GeoBox, population_from_spec

        grid = population_from_spec(source.spec, Path(source.base_dir), GeoBox(*source.bounds_deg), source.cell_deg)
        _GRIDS.clear()  # one mission at a time: keep the memory of one grid
        _GRIDS[source] = grid
    return grid


@dataclass(frozen=True, eq=False)
class SweepItem:
    """One failure time of a task: its index in the sweep, the interval, and the parent states (m, 3)."""

    index: int
    failure: FailureTime
    r_ecef: NDArray[np.float64]
    v_ecef: NDArray[np.float64]
    mass_kg: float
    winds: tuple[ParentWind, ...] = ()  # the wind of each parent state (empty: calm for all)


@dataclass(frozen=True, eq=False)
class SweepTask:
    """Failure times to analyse, with everything a worker needs (pure: the result depends only on it)."""

    mission: Mission
    population: PopulationSource
    items: tuple[SweepItem, ...]
    samples_per_group: int
    seed: int
    method: Method = "auto"

    @property
    def name(self) -> str:
        return f"risk-{self.items[0].index}-{self.items[-1].index}" if self.items else "risk-empty"


@dataclass(frozen=True, eq=False)
class GroupOutcome:
    """One fragment group's result at one (time, mode): its impact normal (None if nothing landed), the
    fragments that land, E_c given the failure, and the hits per person on the populated cells in reach."""

    name: str
    normal: BivariateNormal | None
    fragments_landing: float
    ec: float
    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    hits_per_person: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ModeOutcome:
    """The result of one response mode at one failure time."""

    index: int
    failure: FailureTime
    mode: str
    probability: float  # P(failure in the interval) x P(mode)
    cec: float
    groups: tuple[GroupOutcome, ...] = field(default_factory=tuple)


def intact_body(mission: Mission, stage: int, mass_kg: float) -> DebrisCatalogSpec:
    """The intact vehicle as a one-piece catalog (module docstring)."""
    vehicle = mission.vehicle
    assert vehicle is not None
    n_stages = len(vehicle.stages)
    radius_m = 0.5 * vehicle.diameter_m
    length_m = vehicle.length_m * (n_stages - stage) / n_stages
    area_m2 = 0.5 * (math.pi * radius_m**2 + math.pi * radius_m * length_m)
    body = FragmentGroupSpec(
        name="vehicle (intact)",
        count=1,
        mass_kg=mass_kg,
        area_m2=area_m2,
        ballistic_coeff_kg_m2=mass_kg / (CD_TUMBLING * area_m2),
        ballistic_sigma=INTACT_BETA_SIGMA,
    )
    return DebrisCatalogSpec(stage=stage, description="the intact vehicle (rangeguard.risk.analysis)", groups=[body])


def catalog_for(mission: Mission, stage: int) -> DebrisCatalogSpec:
    """The debris catalog of ``stage``; InputError naming the section if the mission has none."""
    for catalog in mission.debris or []:
        if catalog.stage == stage:
            return catalog
    raise InputError(
        f"debris: no fragment catalog for stage {stage}, which can fail in flight; add a `debris` entry with "
        f"stage: {stage} (see docs/mission-format.md, 'Risk sections')"
    )


BREAKUP_MODES = ("afss_termination", "destruct", "breakup")
"""The response modes that fly the stage's fragment catalog; the others (thrust_termination,
intact_impact) fly the intact body."""


def group_outcomes(result: BreakupCasualties) -> tuple[GroupOutcome, ...]:
    """Per group of a break-up, what the sweep keeps: its normal, fragments landing, E_c and the hits
    per person in the open on each populated cell in reach (the individual at risk: sheltering lowers
    E_c, not his P_c)."""
    out = []
    for name, ec, landing, impacts, cells in zip(
        result.names, result.per_group, result.fragments_landing, result.impacts, result.cells, strict=True
    ):
        if impacts is None or cells is None:
            empty = np.zeros(0, dtype=np.intp)
            out.append(GroupOutcome(name, None, 0.0, 0.0, empty, empty, np.zeros(0)))
        else:
            out.append(GroupOutcome(name, impacts.normal, landing, ec, cells.rows, cells.cols, cells.hits_per_person))
    return tuple(out)


def _outcome(task: SweepTask, item: SweepItem, intact: bool) -> tuple[float, tuple[GroupOutcome, ...]]:
    """CEC and group outcomes at one failure time: of the stage's catalog, or of the intact vehicle."""
    mission = task.mission
    population = population_grid(task.population)
    stage = item.failure.stage
    catalog = intact_body(mission, stage, item.mass_kg) if intact else catalog_for(mission, stage)
    rng = np.random.default_rng(np.random.SeedSequence([task.seed, item.index, int(intact)]))
    result = conditional_expected_casualties(
        item.r_ecef,
        item.v_ecef,
        catalog,
        population,
        task.samples_per_group,
        rng,
        method=task.method,
        sheltered_fraction=mission.population.sheltered_fraction,
        tol_m=RISK_TOL_M,
        step_onto_kinks=RISK_STEP_ONTO_KINKS,
        parent_winds=item.winds or None,
        ground_height_m=mission.site.impact_height_m,
    )
    return result.total, group_outcomes(result)


def run_task(task: SweepTask) -> list[ModeOutcome]:
    """Every (failure time, response mode) of ``task``, in order (module docstring).

    AFSS termination and aerodynamic break-up fly the same fragments from the same states in this
    model, so one set of fragments serves both (their outcomes are the same objects)."""
    failure = task.mission.failure
    if failure is None:
        raise InputError("failure: the mission has no failure model; add a `failure` section")
    responses = [r for r in failure.responses if r.probability > 0.0]
    out: list[ModeOutcome] = []
    for item in task.items:
        cache: dict[bool, tuple[float, tuple[GroupOutcome, ...]]] = {}
        for response in responses:
            intact = response.mode not in BREAKUP_MODES
            if intact not in cache:
                cache[intact] = _outcome(task, item, intact)
            cec, groups = cache[intact]
            probability = item.failure.probability * response.probability
            out.append(ModeOutcome(item.index, item.failure, response.mode, probability, cec, groups))
    return out
