"""From a break-up state to the conditional expected casualties (CEC) of its fragments.

CEC (14 CFR 450.108): the expected number of casualties given that the vehicle breaks up in a given
state, E_c summed over the fragment groups of the stage's debris catalog. Model (FAA Flight Safety
Analysis Handbook v1.0, 2011, debris dispersion and casualty expectation; see design/risk.md,
"Break-up: fragment impacts and CEC"):

* Each fragment of a group starts from the break-up state (r, v), optionally dispersed by the state's
  own uncertainty: isotropic normal errors of 1-sigma ``state_sigma_m`` per position axis and
  ``state_sigma_mps`` per velocity axis (ECEF axes).
* The break-up adds an explosion velocity dv: magnitude uniform in [0, ``explosion_velocity_mps``] and
  direction uniform on the sphere. "Uniform in 0..max" is the mission schema's model
  (``FragmentGroupSpec.explosion_velocity_mps``); it is not the uniform-in-a-ball model (magnitude
  density ~ v^2), it puts more fragments at low speed.
* The ballistic coefficient is the group's (a constant, or its table against Mach) times a lognormal
  factor f = exp(mu + s_ln Z), Z standard normal, s_ln^2 = ln(1 + s^2), mu = -s_ln^2 / 2, with s the
  group's ``ballistic_sigma``: E[f] = 1 and sd(f) = s (s is the coefficient of variation of beta).
* Every fragment flies with :func:`rangeguard.iip.drag.impact_point_drag` (rotating WGS84 Earth,
  USSA76, optional wind and ground height), all of them in one batched call where the ballistic
  coefficient is a constant; the impacts make an :class:`ImpactDistribution` (samples + fitted normal).
* E_c of a group: n A_c sum_k D_k P_k (:func:`expected_casualties`), with n the group's count times the
  fraction of its samples that land, A_c the group's ``casualty_area_m2`` or the casualty area of its
  plan area on a standing person for a vertical impact (:func:`casualty_area_m2` at 90 deg; the impact
  angle could be taken from the propagation later), times (1 - sheltered fraction).

Mach tables: :func:`impact_point_drag` takes one table for all the states of a call, so a per-fragment
factor cannot scale a table within one call. For a table group with ``ballistic_sigma > 0`` the factor
is stratified: Z falls in one of K = ``MACH_TABLE_STRATA`` equiprobable strata, and the fragment gets
the stratum's factor f_k = 1 + c (m_k - 1), with m_k = E[f | stratum k] = K (Phi(b_k - s_ln) -
Phi(a_k - s_ln)) (a_k, b_k the stratum's bounds in Z) and c = s / sd(m) stretching the strata means so
that E[f] = 1 and sd(f) = s exactly (the strata means alone keep 94.5 % of the variance at small s);
f_k > 0 for every s < 1 that the schema allows (smallest 0.05 as s -> 1). One call per stratum.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

from rangeguard.errors import InputError
from rangeguard.iip.drag import WindProfile, impact_point_drag
from rangeguard.mission.risk import DebrisCatalogSpec, FragmentGroupSpec
from rangeguard.risk.casualty import (
    BivariateNormal,
    ImpactDistribution,
    Method,
    casualty_area_m2,
    expected_casualties,
    fit_bivariate_normal,
)
from rangeguard.risk.population import PopulationGrid

MACH_TABLE_STRATA = 8
"""Equiprobable strata of the lognormal beta factor for a group with a Mach table (one flight call each)."""
MIN_IMPACT_SIGMA_M = 1.0
"""Floor (m) added to the variances of a point-like or line-like impact cloud (no spread modelled along
some axis) so that it still makes a normal: far below a population cell (~900 m at 30") and below the
reach of a person, so it changes no E_c noticeably; well above impact_point_drag's ground error (~0.06 m)."""
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


@dataclass(frozen=True)
class _Draw:
    """The sampled initial states of one group's fragments and how their ballistic coefficient is given."""

    r_ecef_m: NDArray[np.float64]  # (n, 3)
    v_ecef_mps: NDArray[np.float64]  # (n, 3)
    beta_kg_m2: NDArray[np.float64] | None  # (n,) for a constant-beta group, else None
    table: tuple[NDArray[np.float64], NDArray[np.float64]] | None  # (mach, beta) of a table group
    factor: NDArray[np.float64]  # (n,) the lognormal factor (stratified for a table group)


def _lognormal_log_sigma(relative_sigma: float) -> float:
    """s_ln of a lognormal factor with mean 1 and standard deviation ``relative_sigma``."""
    return math.sqrt(math.log1p(relative_sigma * relative_sigma))


def _stratum_factors(relative_sigma: float, strata: int) -> NDArray[np.float64]:
    """The factor f_k of each of K equiprobable strata of Z: mean 1, sd ``relative_sigma`` (module docstring)."""
    log_sigma = _lognormal_log_sigma(relative_sigma)
    bounds = ndtri(np.linspace(0.0, 1.0, strata + 1))  # -inf .. +inf
    means = strata * (ndtr(bounds[1:] - log_sigma) - ndtr(bounds[:-1] - log_sigma))
    return np.asarray(1.0 + relative_sigma / float(np.std(means)) * (means - 1.0), dtype=np.float64)


def _draw(
    r_ecef: ArrayLike,
    v_ecef: ArrayLike,
    group: FragmentGroupSpec,
    n_samples: int,
    rng: np.random.Generator,
    state_sigma_m: float,
    state_sigma_mps: float,
) -> _Draw:
    """Draw ``n_samples`` fragments of ``group`` (module docstring). The rng is used in a fixed order."""
    r0 = np.asarray(r_ecef, dtype=np.float64)
    v0 = np.asarray(v_ecef, dtype=np.float64)
    if r0.shape != (_AXES,) or v0.shape != (_AXES,) or not (np.all(np.isfinite(r0)) and np.all(np.isfinite(v0))):
        raise InputError("break-up: r_ecef and v_ecef must be one finite ECEF state, shape (3,) each (m, m/s)")
    if not (isinstance(n_samples, int) and n_samples >= 1):
        raise InputError(f"break-up: n_samples must be a positive integer, got {n_samples!r}")
    if not (state_sigma_m >= 0.0 and state_sigma_mps >= 0.0 and math.isfinite(state_sigma_m + state_sigma_mps)):
        raise InputError("break-up: state_sigma_m and state_sigma_mps must be finite and >= 0")
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
    if group.ballistic_table is None:
        assert group.ballistic_coeff_kg_m2 is not None  # the schema gives exactly one of the two
        factor = np.exp(log_sigma * z - 0.5 * log_sigma * log_sigma)
        return _Draw(r, v, group.ballistic_coeff_kg_m2 * factor, None, factor)
    if log_sigma == 0.0:
        factor = np.ones(n_samples)
    else:
        stratum = np.minimum((ndtr(z) * MACH_TABLE_STRATA).astype(np.intp), MACH_TABLE_STRATA - 1)
        factor = _stratum_factors(group.ballistic_sigma, MACH_TABLE_STRATA)[stratum]
    table = (
        np.asarray(group.ballistic_table.mach, dtype=np.float64),
        np.asarray(group.ballistic_table.ballistic_coeff_kg_m2, dtype=np.float64),
    )
    return _Draw(r, v, None, table, factor)


def _fly(
    draws: list[_Draw],
    wind_ecef_mps: ArrayLike | WindProfile | None,
    ground_height_m: float,
    max_time_s: float,
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """(lat_deg, lon_deg) of every fragment of every draw (NaN: did not land).

    One :func:`impact_point_drag` call for all constant-beta fragments (per-fragment beta), and one per
    distinct scaled Mach table (a table is shared by the states of a call)."""
    sizes = [d.factor.size for d in draws]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
    r = np.concatenate([d.r_ecef_m for d in draws])
    v = np.concatenate([d.v_ecef_mps for d in draws])
    lat = np.full(r.shape[0], np.nan)
    lon = np.full(r.shape[0], np.nan)
    constant_rows: list[NDArray[np.intp]] = []
    constant_beta: list[NDArray[np.float64]] = []
    by_table: defaultdict[_TableKey, list[NDArray[np.intp]]] = defaultdict(list)
    for k, d in enumerate(draws):
        rows = np.arange(offsets[k], offsets[k + 1])
        if d.beta_kg_m2 is not None:
            constant_rows.append(rows)
            constant_beta.append(d.beta_kg_m2)
            continue
        assert d.table is not None
        for f in np.unique(d.factor):
            key = (tuple(d.table[0].tolist()), tuple((d.table[1] * f).tolist()))
            by_table[key].append(rows[d.factor == f])
    calls: list[tuple[NDArray[np.intp], NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float64]]]] = []
    if constant_rows:
        calls.append((np.concatenate(constant_rows), np.concatenate(constant_beta)))
    for (mach, beta), parts in by_table.items():
        calls.append((np.concatenate(parts), (np.asarray(mach), np.asarray(beta))))
    for rows, beta_kg_m2 in calls:
        lat_k, lon_k, _ = impact_point_drag(
            r[rows],
            v[rows],
            beta_kg_m2,
            wind_ecef_mps=wind_ecef_mps,
            ground_height_m=ground_height_m,
            max_time_s=max_time_s,
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
    wind_ecef_mps: ArrayLike | WindProfile | None = None,
    ground_height_m: float = 0.0,
    state_sigma_m: float = 0.0,
    state_sigma_mps: float = 0.0,
    max_time_s: float = DEFAULT_MAX_TIME_S,
) -> FragmentImpacts:
    """Where the fragments of ``group`` land after a break-up at (``r_ecef`` m, ``v_ecef`` m/s, ECEF).

    Draws ``n_samples`` fragments (dispersed state, explosion velocity uniform in magnitude on
    [0, ``explosion_velocity_mps``] with a direction uniform on the sphere, lognormal ballistic-coefficient
    factor of mean 1 and relative sd ``ballistic_sigma``; module docstring) and flies them with
    :func:`impact_point_drag` in one batched call (one per stratum for a Mach-table group with
    ``ballistic_sigma > 0``). ``wind_ecef_mps``: None, one ECEF vector (3,) m/s, or a wind profile.

    Returns a :class:`FragmentImpacts` (an :class:`ImpactDistribution` with the fitted normal): samples
    that do not land within ``max_time_s`` (NaN) are dropped and counted in its ``n_lost``. A cloud with
    no spread along some axis (e.g. no explosion velocity, no dispersion) gets its variances raised by
    ``MIN_IMPACT_SIGMA_M``^2. Deterministic given the state of ``rng``. InputError if none lands.
    """
    draw = _draw(r_ecef, v_ecef, group, n_samples, rng, state_sigma_m, state_sigma_mps)
    ((lat, lon),) = _fly([draw], wind_ecef_mps, ground_height_m, max_time_s)
    impacts = _impacts(lat, lon)
    if impacts is None:
        raise InputError(f"fragment group {group.name!r}: none of {n_samples} fragments landed within {max_time_s} s")
    return impacts


@dataclass(frozen=True, eq=False)
class BreakupCasualties:
    """The conditional expected casualties of one break-up state.

    ``total``: CEC, the sum of ``per_group``. Per catalog group (in its order): ``names``,
    ``per_group`` (E_c of the group), ``fragments_landing`` (count x landed fraction of the samples) and
    ``impacts`` (the group's :class:`FragmentImpacts`, None if no sample landed).
    """

    total: float
    names: tuple[str, ...]
    per_group: tuple[float, ...]
    fragments_landing: tuple[float, ...]
    impacts: tuple[FragmentImpacts | None, ...]


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
    wind_ecef_mps: ArrayLike | WindProfile | None = None,
    ground_height_m: float = 0.0,
    state_sigma_m: float = 0.0,
    state_sigma_mps: float = 0.0,
    max_time_s: float = DEFAULT_MAX_TIME_S,
) -> BreakupCasualties:
    """CEC (14 CFR 450.108) of a break-up at (``r_ecef``, ``v_ecef``) into the groups of ``catalog``.

    ``n_samples`` fragments per group are drawn as in :func:`fragment_impacts` (the groups in catalog
    order from ``rng``) and flown together: one :func:`impact_point_drag` call for every constant-beta
    group (per-fragment beta), one per distinct scaled Mach table (module docstring). For each group
    E_c = n A_c sum_k D_k P_k (``method``: the fitted normal or the samples, :func:`expected_casualties`)
    with n = count x landed fraction, A_c = the group's ``casualty_area_m2`` or, if null, the casualty
    area of ``area_m2`` for a vertical impact; times (1 - ``sheltered_fraction``), the share of people
    in the open. Deterministic given the state of ``rng``.
    """
    if not 0.0 <= sheltered_fraction <= 1.0:
        raise InputError(
            f"conditional_expected_casualties: sheltered_fraction must be in [0, 1], got {sheltered_fraction}"
        )
    draws = [_draw(r_ecef, v_ecef, g, n_samples, rng, state_sigma_m, state_sigma_mps) for g in catalog.groups]
    flown = _fly(draws, wind_ecef_mps, ground_height_m, max_time_s)
    exposed = 1.0 - sheltered_fraction
    per_group: list[float] = []
    landing: list[float] = []
    impacts: list[FragmentImpacts | None] = []
    for group, (lat, lon) in zip(catalog.groups, flown, strict=True):
        imp = _impacts(lat, lon)
        impacts.append(imp)
        if imp is None:
            per_group.append(0.0)
            landing.append(0.0)
            continue
        n_fragments = group.count * imp.landed_fraction
        area_m2 = (
            group.casualty_area_m2 if group.casualty_area_m2 is not None else float(casualty_area_m2(group.area_m2))
        )
        per_group.append(exposed * expected_casualties(imp, n_fragments, area_m2, population, method))
        landing.append(n_fragments)
    return BreakupCasualties(
        float(sum(per_group)), tuple(g.name for g in catalog.groups), tuple(per_group), tuple(landing), tuple(impacts)
    )
