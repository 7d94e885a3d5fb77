"""From a break-up state to the conditional expected casualties (CEC) of its fragments.

CEC (14 CFR 450.108): the expected number of casualties given that the vehicle breaks up in a given
state, E_c summed over the fragment groups of the stage's debris catalog. Model (FAA Flight Safety
Analysis Handbook v1.0, 2011, debris dispersion and casualty expectation; see design/risk.md,
"Break-up: fragment impacts and CEC"):

* Each fragment of a group starts from the break-up state (r, v), optionally dispersed by the state's
  own uncertainty: isotropic normal errors of 1-sigma ``state_sigma_m`` per position axis and
  ``state_sigma_mps`` per velocity axis (ECEF axes). The break-up state may also be M dispersed
  parent states (``r_ecef``, ``v_ecef`` of shape (M, 3), e.g. the states of M dispersed flights at
  the break-up time): each fragment then first draws its parent uniformly among them.
* The break-up adds an explosion velocity dv: magnitude uniform in [0, ``explosion_velocity_mps``] and
  direction uniform on the sphere. "Uniform in 0..max" is the mission schema's model
  (``FragmentGroupSpec.explosion_velocity_mps``); it is not the uniform-in-a-ball model (magnitude
  density ~ v^2), it puts more fragments at low speed.
* The ballistic coefficient is the group's (a constant, or its table against Mach) times a lognormal
  factor f = exp(mu + s_ln Z), Z standard normal, s_ln^2 = ln(1 + s^2), mu = -s_ln^2 / 2, with s the
  group's ``ballistic_sigma``: E[f] = 1 and sd(f) = s (s is the coefficient of variation of beta).
  Every fragment has its own factor, also on a Mach table (``beta_factor`` of
  :func:`rangeguard.iip.drag.impact_point_drag` scales a shared table per state).
* Every fragment flies with :func:`rangeguard.iip.drag.impact_point_drag` (rotating WGS84 Earth,
  USSA76, optional wind and ground height): one batched call for all the constant-beta fragments and
  one per distinct Mach table; the impacts make an :class:`ImpactDistribution` (samples + fitted normal).
* E_c of a group: n A_c sum_k D_k P_k (:func:`expected_casualties`), with n the group's count times the
  fraction of its samples that land, A_c the group's ``casualty_area_m2`` or the casualty area of its
  plan area on a standing person for a vertical impact (:func:`casualty_area_m2` at 90 deg; the impact
  angle could be taken from the propagation later), times (1 - sheltered fraction).

Random draws, per group and in this order from the one ``rng`` (deterministic given its state): the
parents (``rng.integers(0, M, n)``, only when M parent states are given), the state errors dr (n, 3)
and dv (n, 3), the explosion speeds (n), the cosines of the polar angle (n), the azimuths (n), the
normal deviates Z of the ballistic factor (n). Every draw is taken whatever the parameters (a zero
sigma still consumes its draws), so one option does not shift the others' random numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.errors import InputError
from rangeguard.iip.drag import DEFAULT_TOL_M, WindTable, impact_point_drag
from rangeguard.mission.risk import DebrisCatalogSpec, FragmentGroupSpec
from rangeguard.risk.casualty import (
    BivariateNormal,
    CellCasualties,
    ImpactDistribution,
    Method,
    casualty_area_m2,
    fit_bivariate_normal,
    populated_casualties,
)
from rangeguard.risk.population import PopulationGrid

MIN_IMPACT_SIGMA_M = 1.0
"""Floor (m) added to the variances of a point-like or line-like impact cloud (no spread modelled along
some axis) so that it still makes a normal: far below a population cell (~900 m at 30") and below the
reach of a person, so it changes no E_c noticeably; well above impact_point_drag's ground error (~0.03 m)."""
DEFAULT_MAX_TIME_S = 6000.0
"""Fragments still flying after this time (an orbit) are counted as not landing (impact_point_drag's default)."""
_AXES = 3

_TableKey = tuple[tuple[float, ...], tuple[float, ...]]


@dataclass(frozen=True, eq=False)
class FragmentImpacts(ImpactDistribution):
    """An :class:`ImpactDistribution` of one fragment group's landed samples, with what was lost.

    ``n_lost``: samples that did not land within ``max_time_s`` (NaN impact), dropped before the fit;
    ``n_samples + n_lost`` fragments were drawn. ``landed_fraction`` = n_samples / (n_samples + n_lost).
    """

    n_lost: int = 0

    @property
    def landed_fraction(self) -> float:
        return self.n_samples / (self.n_samples + self.n_lost)


@dataclass(frozen=True, eq=False)
class ParentWind:
    """The wind a parent flight flew in: ``table`` (None: calm) times ``scale``, turned by
    ``rotation_deg`` clockwise seen from above (a dispersed wind profile, as the simulator flies it)."""

    table: WindTable | None
    scale: float = 1.0
    rotation_deg: float = 0.0


@dataclass(frozen=True)
class _Draw:
    """The sampled initial states of one group's fragments and their ballistic coefficients."""

    r_ecef_m: NDArray[np.float64]  # (n, 3)
    v_ecef_mps: NDArray[np.float64]  # (n, 3)
    model: float | _TableKey  # the group's constant beta (kg/m^2) or its Mach table (mach, beta)
    factor: NDArray[np.float64]  # (n,) the lognormal factor on the ballistic coefficient
    parent: NDArray[np.intp]  # (n,) index of each fragment's parent state (0 for one state)


def _lognormal_log_sigma(relative_sigma: float) -> float:
    """s_ln of a lognormal factor with mean 1 and standard deviation ``relative_sigma``."""
    return math.sqrt(math.log1p(relative_sigma * relative_sigma))


def _parents(r_ecef: ArrayLike, v_ecef: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The break-up state(s) as validated arrays: (3,) each, or (M, 3) each for M parent states."""
    r0 = np.asarray(r_ecef, dtype=np.float64)
    v0 = np.asarray(v_ecef, dtype=np.float64)
    shaped = r0.shape == v0.shape and r0.shape[-1:] == (_AXES,) and r0.ndim in (1, 2) and r0.size > 0
    if not (shaped and np.all(np.isfinite(r0)) and np.all(np.isfinite(v0))):
        raise InputError(
            "break-up: r_ecef and v_ecef must be finite ECEF states (m, m/s) of the same shape: (3,) for one "
            f"break-up state or (M, 3) for M dispersed parent states; got shapes {r0.shape} and {v0.shape}"
        )
    return r0, v0


def _draw(
    r0: NDArray[np.float64],
    v0: NDArray[np.float64],
    group: FragmentGroupSpec,
    n_samples: int,
    rng: np.random.Generator,
    state_sigma_m: float,
    state_sigma_mps: float,
) -> _Draw:
    """Draw ``n_samples`` fragments of ``group`` from the parent state(s) r0, v0 ((3,) or (M, 3)) in the
    documented order (module docstring)."""
    if not (isinstance(n_samples, int) and n_samples >= 1):
        raise InputError(f"break-up: n_samples must be a positive integer, got {n_samples!r}")
    if not (state_sigma_m >= 0.0 and state_sigma_mps >= 0.0 and math.isfinite(state_sigma_m + state_sigma_mps)):
        raise InputError("break-up: state_sigma_m and state_sigma_mps must be finite and >= 0")
    parent = np.zeros(n_samples, dtype=np.intp)
    if r0.ndim == 2:
        parent = rng.integers(0, r0.shape[0], n_samples).astype(np.intp)
        r0, v0 = r0[parent], v0[parent]
    dr = rng.standard_normal((n_samples, _AXES))
    dv = rng.standard_normal((n_samples, _AXES))
    speed_mps = group.explosion_velocity_mps * rng.random(n_samples)
    cos_polar = 2.0 * rng.random(n_samples) - 1.0
    azimuth_rad = 2.0 * math.pi * rng.random(n_samples)
    z = rng.standard_normal(n_samples)
    sin_polar = np.sqrt(1.0 - cos_polar * cos_polar)
    direction = np.stack([sin_polar * np.cos(azimuth_rad), sin_polar * np.sin(azimuth_rad), cos_polar], axis=1)
    r = r0 + state_sigma_m * dr
    v = v0 + state_sigma_mps * dv + speed_mps[:, None] * direction
    log_sigma = _lognormal_log_sigma(group.ballistic_sigma)
    factor = np.exp(log_sigma * z - 0.5 * log_sigma * log_sigma)
    if group.ballistic_table is None:
        assert group.ballistic_coeff_kg_m2 is not None  # the schema gives exactly one of the two
        return _Draw(r, v, float(group.ballistic_coeff_kg_m2), factor, parent)
    table = group.ballistic_table
    key = (tuple(float(m) for m in table.mach), tuple(float(b) for b in table.ballistic_coeff_kg_m2))
    return _Draw(r, v, key, factor, parent)


def _fly(
    draws: list[_Draw],
    wind_ecef_mps: ArrayLike | WindTable | None,
    ground_height_m: float,
    max_time_s: float,
    tol_m: float,
    step_onto_kinks: bool,
    parent_winds: Sequence[ParentWind] | None = None,
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """(lat_deg, lon_deg) of every fragment of every draw (NaN: did not land).

    One :func:`impact_point_drag` call for all constant-beta fragments (per-fragment beta and factor)
    and one per distinct Mach table (the table shared, per-fragment factor); with ``parent_winds``, one
    such call per distinct wind table of the fragments' parents (their scales and turns per fragment)."""
    sizes = [d.factor.size for d in draws]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
    r = np.concatenate([d.r_ecef_m for d in draws])
    v = np.concatenate([d.v_ecef_mps for d in draws])
    factor = np.concatenate([d.factor for d in draws])
    beta = np.concatenate([np.full(d.factor.size, d.model if isinstance(d.model, float) else np.nan) for d in draws])
    tables: list[ArrayLike | WindTable | None] = [wind_ecef_mps]
    scale = np.ones(r.shape[0])
    turn_deg = np.zeros(r.shape[0])
    table_of_parent = np.zeros(0, dtype=np.intp)
    if parent_winds is not None:  # each distinct table once (None: calm), in order of first appearance
        index: dict[int, int] = {}
        tables = []
        for wind in parent_winds:
            if id(wind.table) not in index:
                index[id(wind.table)] = len(tables)
                tables.append(wind.table)
        table_of_parent = np.array([index[id(wind.table)] for wind in parent_winds], dtype=np.intp)
        parent_scale = np.array([wind.scale for wind in parent_winds], dtype=np.float64)
        parent_turn = np.array([wind.rotation_deg for wind in parent_winds], dtype=np.float64)
    lat = np.full(r.shape[0], np.nan)
    lon = np.full(r.shape[0], np.nan)
    by_model: defaultdict[tuple[float | _TableKey, int], list[NDArray[np.intp]]] = defaultdict(list)
    for k, d in enumerate(draws):
        rows = np.arange(offsets[k], offsets[k + 1])
        model = 0.0 if isinstance(d.model, float) else d.model  # 0.0: every constant beta
        if parent_winds is None:
            by_model[(model, 0)].append(rows)
            continue
        if d.parent.size and int(d.parent.max()) >= table_of_parent.size:
            raise InputError(f"break-up: parent_winds has {table_of_parent.size} winds, fewer than the parent states")
        scale[rows] = parent_scale[d.parent]
        turn_deg[rows] = parent_turn[d.parent]
        fragment_table = table_of_parent[d.parent]
        for w in np.unique(fragment_table):
            by_model[(model, int(w))].append(rows[fragment_table == w])
    for (model, w), parts in by_model.items():
        rows = np.concatenate(parts)
        ballistic: NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float64]] = (
            beta[rows] if isinstance(model, float) else (np.asarray(model[0]), np.asarray(model[1]))
        )
        lat_k, lon_k, _ = impact_point_drag(
            r[rows],
            v[rows],
            ballistic,
            beta_factor=factor[rows],
            wind_ecef_mps=tables[w],
            ground_height_m=ground_height_m,
            max_time_s=max_time_s,
            tol_m=tol_m,
            step_onto_kinks=step_onto_kinks,
            wind_scale=scale[rows],
            wind_rotation_deg=turn_deg[rows],
        )
        lat[rows] = lat_k
        lon[rows] = lon_k
    return [(lat[offsets[k] : offsets[k + 1]], lon[offsets[k] : offsets[k + 1]]) for k in range(len(draws))]


def _floored_normal(lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64]) -> BivariateNormal:
    """The moment fit of a point-like or line-like cloud, its variances raised by ``MIN_IMPACT_SIGMA_M``^2."""
    lon_c_deg = math.degrees(
        math.atan2(float(np.mean(np.sin(np.radians(lon_deg)))), float(np.mean(np.cos(np.radians(lon_deg)))))
    )
    provisional = BivariateNormal.circular(float(np.mean(lat_deg)), lon_c_deg, MIN_IMPACT_SIGMA_M)
    east_m, north_m = provisional.to_plane(lat_deg, lon_deg)
    d = np.stack([east_m - east_m.mean(), north_m - north_m.mean()])
    cov = d @ d.T / max(lat_deg.size - 1, 1) + MIN_IMPACT_SIGMA_M**2 * np.eye(2)
    cov[1, 0] = cov[0, 1]
    mean_lat, mean_lon = provisional.from_plane(east_m.mean(), north_m.mean())
    return BivariateNormal(float(mean_lat), float(mean_lon), cov)


def _impacts(lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64]) -> FragmentImpacts | None:
    """The landed samples as a :class:`FragmentImpacts` (None if none landed)."""
    landed = np.isfinite(lat_deg) & np.isfinite(lon_deg)
    lat, lon = np.array(lat_deg[landed]), np.array(lon_deg[landed])
    if lat.size == 0:
        return None
    try:
        normal = fit_bivariate_normal(lat, lon)
    except InputError:  # fewer than 3 points, or no spread along some axis: floor the variances
        normal = _floored_normal(lat, lon)
    weights = np.full(lat.size, 1.0 / lat.size)
    for a in (lat, lon, weights):
        a.setflags(write=False)
    return FragmentImpacts(normal, lat, lon, weights, n_lost=int(lat_deg.size - lat.size))


def fragment_impacts(
    r_ecef: ArrayLike,
    v_ecef: ArrayLike,
    group: FragmentGroupSpec,
    n_samples: int,
    rng: np.random.Generator,
    *,
    wind_ecef_mps: ArrayLike | WindTable | None = None,
    ground_height_m: float = 0.0,
    state_sigma_m: float = 0.0,
    state_sigma_mps: float = 0.0,
    max_time_s: float = DEFAULT_MAX_TIME_S,
    tol_m: float = DEFAULT_TOL_M,
    step_onto_kinks: bool = True,
    parent_winds: Sequence[ParentWind] | None = None,
) -> FragmentImpacts:
    """Where the fragments of ``group`` land after a break-up at (``r_ecef`` m, ``v_ecef`` m/s, ECEF).

    ``r_ecef``, ``v_ecef``: one break-up state, shape (3,) each, or M dispersed parent states, (M, 3)
    each; then each fragment first draws its parent uniformly (``rng.integers``). Draws ``n_samples``
    fragments (parent, dispersed state, explosion velocity uniform in magnitude on
    [0, ``explosion_velocity_mps``] with a direction uniform on the sphere, lognormal ballistic-coefficient
    factor of mean 1 and relative sd ``ballistic_sigma``, in the order of the module docstring) and flies
    them with :func:`impact_point_drag` in one batched call. ``wind_ecef_mps``: None, one ECEF vector
    (3,) m/s, or a :class:`~rangeguard.iip.drag.WindTable`; ``parent_winds`` (one per parent state)
    instead flies each fragment in its parent's wind (:func:`conditional_expected_casualties`).

    Returns a :class:`FragmentImpacts` (an :class:`ImpactDistribution` with the fitted normal): samples
    that do not land within ``max_time_s`` (NaN) are dropped and counted in its ``n_lost``. A cloud with
    no spread along some axis (e.g. no explosion velocity, no dispersion) gets its variances raised by
    ``MIN_IMPACT_SIGMA_M``^2. Deterministic given the state of ``rng``. InputError if none lands.
    """
    r0, v0 = _parents(r_ecef, v_ecef)
    draw = _draw(r0, v0, group, n_samples, rng, state_sigma_m, state_sigma_mps)
    ((lat, lon),) = _fly([draw], wind_ecef_mps, ground_height_m, max_time_s, tol_m, step_onto_kinks, parent_winds)
    impacts = _impacts(lat, lon)
    if impacts is None:
        raise InputError(f"fragment group {group.name!r}: none of {n_samples} fragments landed within {max_time_s} s")
    return impacts


@dataclass(frozen=True, eq=False)
class BreakupCasualties:
    """The conditional expected casualties of one break-up state.

    ``total``: CEC, the sum of ``per_group``. Per catalog group (in its order): ``names``,
    ``per_group`` (E_c of the group), ``fragments_landing`` (count x landed fraction of the samples),
    ``impacts`` (the group's :class:`FragmentImpacts`, None if no sample landed) and ``cells`` (its
    populated cells in reach, :class:`CellCasualties` of people in the open; None if none landed).
    """

    total: float
    names: tuple[str, ...]
    per_group: tuple[float, ...]
    fragments_landing: tuple[float, ...]
    impacts: tuple[FragmentImpacts | None, ...]
    cells: tuple[CellCasualties | None, ...] = ()


def conditional_expected_casualties(
    r_ecef: ArrayLike,
    v_ecef: ArrayLike,
    catalog: DebrisCatalogSpec,
    population: PopulationGrid,
    n_samples: int,
    rng: np.random.Generator,
    *,
    method: Method = "normal",
    sheltered_fraction: float = 0.0,
    wind_ecef_mps: ArrayLike | WindTable | None = None,
    ground_height_m: float = 0.0,
    state_sigma_m: float = 0.0,
    state_sigma_mps: float = 0.0,
    max_time_s: float = DEFAULT_MAX_TIME_S,
    tol_m: float = DEFAULT_TOL_M,
    step_onto_kinks: bool = True,
    parent_winds: Sequence[ParentWind] | None = None,
) -> BreakupCasualties:
    """CEC (14 CFR 450.108) of a break-up at (``r_ecef``, ``v_ecef``) into the groups of ``catalog``.

    ``r_ecef``, ``v_ecef``: (3,) each, or (M, 3) each for M dispersed parent states (each fragment draws
    its parent, as in :func:`fragment_impacts`). ``n_samples`` fragments per group are drawn as in
    :func:`fragment_impacts` (the groups in catalog order from ``rng``) and flown together: one
    :func:`impact_point_drag` call for every constant-beta group (per-fragment beta and factor), one per
    distinct Mach table (per-fragment factor on the shared table). ``wind_ecef_mps``: None, one ECEF
    vector (3,) m/s, or a :class:`~rangeguard.iip.drag.WindTable`. For each group
    E_c = n A_c sum_k D_k P_k (``method``: the fitted normal or the samples, :func:`expected_casualties`)
    with n = count x landed fraction, A_c = the group's ``casualty_area_m2`` or, if null, the casualty
    area of ``area_m2`` for a vertical impact; times (1 - ``sheltered_fraction``), the share of people
    in the open. ``tol_m`` and ``step_onto_kinks``: the integrator's accuracy (:func:`impact_point_drag`).
    ``parent_winds`` (one :class:`ParentWind` per parent state, M): each fragment flies the wind its
    parent flew in instead of ``wind_ecef_mps``: the wind uncertainty of dispersed flights carried to
    their fragments.
    Deterministic given the state of ``rng``.
    """
    if not 0.0 <= sheltered_fraction <= 1.0:
        raise InputError(
            f"conditional_expected_casualties: sheltered_fraction must be in [0, 1], got {sheltered_fraction}"
        )
    r0, v0 = _parents(r_ecef, v_ecef)
    draws = [_draw(r0, v0, g, n_samples, rng, state_sigma_m, state_sigma_mps) for g in catalog.groups]
    flown = _fly(draws, wind_ecef_mps, ground_height_m, max_time_s, tol_m, step_onto_kinks, parent_winds)
    exposed = 1.0 - sheltered_fraction
    per_group: list[float] = []
    landing: list[float] = []
    impacts: list[FragmentImpacts | None] = []
    cells: list[CellCasualties | None] = []
    for group, (lat, lon) in zip(catalog.groups, flown, strict=True):
        imp = _impacts(lat, lon)
        impacts.append(imp)
        if imp is None:
            per_group.append(0.0)
            landing.append(0.0)
            cells.append(None)
            continue
        n_fragments = group.count * imp.landed_fraction
        reached = populated_casualties(imp, n_fragments, group_casualty_area_m2(group), population, method)
        cells.append(reached)
        per_group.append(exposed * reached.expected_casualties)
        landing.append(n_fragments)
    names = tuple(g.name for g in catalog.groups)
    return BreakupCasualties(
        float(sum(per_group)), names, tuple(per_group), tuple(landing), tuple(impacts), tuple(cells)
    )


def group_casualty_area_m2(group: FragmentGroupSpec) -> float:
    """The group's ``casualty_area_m2``, or if null the casualty area of its ``area_m2`` for a vertical
    impact on a standing person (:func:`~rangeguard.risk.casualty.casualty_area_m2`)."""
    return group.casualty_area_m2 if group.casualty_area_m2 is not None else float(casualty_area_m2(group.area_m2))
