"""Drag-corrected impact point: numerical flight through the US Standard Atmosphere 1976.

The vacuum IIP (:mod:`rangeguard.iip.vacuum`) ignores the air. A falling
stage or debris piece with a small ballistic coefficient ``beta = m / (C_D A)``
is slowed by it and lands short of the vacuum point. This module integrates

    dr/dt = v
    dv/dt = g(r) - 2 w x v - w x (w x r) - rho(h) |v - u| (v - u) / (2 beta)

in the rotating ECEF frame (``v`` Earth-relative, ``u`` the wind: the air's
velocity relative to the rotating Earth, ECEF axes; by default ``u = 0``,
the air at rest in ECEF), with

- ``g``: point-mass gravity by default, the same model as the vacuum IIP, so
  a huge ``beta`` reproduces :func:`~rangeguard.iip.impact_point`; or
  point mass + J2 (``gravity="j2"``), :mod:`rangeguard.earth.gravity`;
- ``w``: the Earth's rotation, :data:`~rangeguard.constants.OMEGA_EARTH_RAD_S`;
- ``rho(h)``: USSA76 density at the geodetic height (the standard's
  geometric altitude is taken as height above the WGS84 ellipsoid),
  :func:`rangeguard.earth.atmosphere.density`;
- ``u`` (``wind_ecef_mps``): none, a constant vector (one for all states or
  one per state, held constant in ECEF axes), or a wind profile, a function
  of the ECEF position evaluated at every Runge-Kutta stage;
- ``beta``: a number, one per state, or a table against the Mach number
  ``|v - u| / c(h)`` (``c`` the USSA76 speed of sound,
  :func:`rangeguard.earth.atmosphere.speed_of_sound`), interpolated linearly
  and clamped at the table's ends, the drag coefficient of a fragment being
  a function of Mach (its transonic rise).

The flight ends where the geodetic height first reaches the ground height
(``ground_height_m``, 0 by default: the ellipsoid), e.g. 1.4 km for a
spaceport on a high plateau.

Integration: the classical fourth-order Runge-Kutta method, all N states
advanced together as numpy arrays (one RK4 step for every state per
iteration; states that have landed drop out). Each state's step is
``step_s`` (default 0.25 s) except where the air matters, where it is cut
to 1 % of the e-folding time of the air-relative speed under drag,
``2 beta / (rho |v - u|)``, and, where the drag deceleration exceeds
0.1 m/s^2, to 1 % of the time to cross a 7 km density scale height at the
Earth-relative speed: in dense air at high speed the drag changes on those
time scales, and the USSA76 density has slope kinks (layer boundaries, 10 m
table rows) where a long RK4 step loses its order. In the step where the
geodetic height falls to the ground height, the step length ``tau`` for
which one RK4 step from the start of that step lands at that height is
found by a bracketed secant method (to 1 mm of height), so the impact is
the RK4 solution itself, not an interpolation. Measured against DOP853
(rtol 1e-12) on the same equations (``design/iip.md``): worst ground error
0.06 m over ballistic coefficients 50 to 30 000 kg/m^2 from 0.5-20 km at
3-7.3 km/s, and centimetres in vacuum (huge beta) against the exact vacuum
IIP; with a wind (constant or a profile), a ground height of 1.4 km or a
Mach table, fragments (beta 50-2000 kg/m^2, 20-60 km, 1-3 km/s) within
1.3 mm (``design/iip.md``, "Wind, ground height, beta against Mach").

Same conventions as the vacuum IIP: NaN in any input gives NaN; a state at
or below the ground height gives its own point with ``tof_s = 0``; a state
that has not landed by ``max_time_s`` (an orbit, a slowly decaying one)
gives NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.constants import OMEGA_EARTH_RAD_S
from rangeguard.earth.atmosphere import density, speed_of_sound
from rangeguard.earth.geodesy import ecef_to_geodetic
from rangeguard.earth.gravity import gravity_j2_ecef, gravity_point_mass_ecef
from rangeguard.earth.motion import rk4_combine, rk4_stage
from rangeguard.errors import InputError
from rangeguard.iip.vacuum import _state_arrays

_W = OMEGA_EARTH_RAD_S
_W2 = OMEGA_EARTH_RAD_S * OMEGA_EARTH_RAD_S
_GRAVITY = {"point_mass": gravity_point_mass_ecef, "j2": gravity_j2_ecef}
# Step control where the air matters (numerical tuning, measured in design/iip.md).
_DRAG_STEP_FRACTION = 0.01  # of the e-folding time of the speed under drag
_DRAG_SIGNIFICANT_MPS2 = 0.1  # drag deceleration above which the density-scale limit applies
_RHO_SCALE_M = 7000.0  # a typical density scale height of the lower atmosphere, m (step tuning only)
_SCALE_STEP_FRACTION = 0.01  # of the time to cross _RHO_SCALE_M
_SECANT_MAX_IT = 12
_SECANT_TOL_M = 1e-3
_MACH_TABLE_MIN_ROWS = 2  # a table must span a Mach interval; a constant beta is a number

_Gravity: TypeAlias = Callable[[ArrayLike], NDArray[np.float64]]
"""A gravity model of :data:`_GRAVITY`: ECEF positions (M, 3) -> accelerations (M, 3)."""

WindProfile: TypeAlias = Callable[[NDArray[np.float64]], ArrayLike]
"""A wind profile: ECEF positions ``(M, 3)``, m -> the air's velocity relative to the
rotating Earth at those points, ECEF axes, ``(M, 3)`` m/s."""

MachTable: TypeAlias = tuple[ArrayLike, ArrayLike]
"""A ballistic coefficient against Mach: ``(mach (K,), beta_kg_m2 (K,))``, Mach increasing."""


def _height(r: NDArray[np.float64]) -> NDArray[np.float64]:
    return ecef_to_geodetic(r)[2]


def _speed(v: NDArray[np.float64]) -> NDArray[np.float64]:
    speed: NDArray[np.float64] = np.sqrt(np.einsum("ij,ij->i", v, v))
    return speed


class _Air:
    """The air a batch of M states flies through: its wind and the states' ballistic
    coefficients. Per-state arrays have M rows; :meth:`take` keeps a subset of the states."""

    __slots__ = ("inv_beta", "profile", "table", "wind")

    def __init__(
        self,
        wind: NDArray[np.float64] | None,
        profile: WindProfile | None,
        inv_beta: NDArray[np.float64] | None,
        table: tuple[NDArray[np.float64], NDArray[np.float64]] | None,
    ) -> None:
        self.wind = wind  # (M, 3) constant wind, m/s, or None
        self.profile = profile  # wind as a function of position, or None
        self.inv_beta = inv_beta  # (M,) 1 / beta, m^2/kg, or None when beta is a Mach table
        self.table = table  # (mach (K,), beta (K,)) or None

    def take(self, rows: NDArray[np.bool_] | NDArray[np.intp]) -> _Air:
        wind = None if self.wind is None else self.wind[rows]
        inv_beta = None if self.inv_beta is None else self.inv_beta[rows]
        return _Air(wind, self.profile, inv_beta, self.table)

    def relative(self, r: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
        """Air-relative velocity ``v - u`` (m/s, ECEF axes) at positions r: ``v`` itself without wind."""
        if self.profile is not None:
            r = np.asarray(r, dtype=np.float64)
            u = np.asarray(self.profile(r), dtype=np.float64)
            if u.shape != r.shape:
                raise InputError(
                    f"wind_ecef_mps: the wind profile must map ECEF positions of shape (M, 3) to winds of the "
                    f"same shape (M, 3), m/s; it returned shape {u.shape} for positions of shape {r.shape}."
                )
            return v - u
        if self.wind is not None:
            return v - self.wind
        return v

    def inv_beta_at(self, h: NDArray[np.float64], air_speed: NDArray[np.float64]) -> NDArray[np.float64]:
        """1 / beta (m^2/kg) at geodetic heights h and air-relative speeds (m/s)."""
        if self.table is None:
            assert self.inv_beta is not None
            return self.inv_beta
        mach = air_speed / speed_of_sound(h)
        inv_beta: NDArray[np.float64] = 1.0 / np.interp(mach, self.table[0], self.table[1])
        return inv_beta


def _accel(r: NDArray[np.float64], v: NDArray[np.float64], air: _Air, grav: _Gravity) -> NDArray[np.float64]:
    """Acceleration in the rotating frame (m/s^2), rows of r, v: (M, 3)."""
    acc = grav(r)
    # Coriolis -2 w x v and centrifugal -w x (w x r), w = (0, 0, omega).
    acc[:, 0] += 2.0 * _W * v[:, 1] + _W2 * r[:, 0]
    acc[:, 1] += -2.0 * _W * v[:, 0] + _W2 * r[:, 1]
    h = _height(r)
    rho = density(h)
    v_air = air.relative(r, v)
    speed = _speed(v_air)
    acc -= (0.5 * rho * speed * air.inv_beta_at(h, speed))[:, None] * v_air
    return acc


def _rk4(
    r: NDArray[np.float64],
    v: NDArray[np.float64],
    air: _Air,
    dt: float | NDArray[np.float64],
    grav: _Gravity,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """One RK4 step of length dt (scalar or (M,)); returns r, v, h at its end.

    The tableau is :mod:`rangeguard.earth.motion`'s (the simulator's too): the state is (r, v),
    its derivative (v, acceleration)."""
    dt = np.asarray(dt, dtype=np.float64)
    d = dt[:, None] if dt.ndim else dt
    a1 = _accel(r, v, air, grav)
    r2 = rk4_stage(r, 0.5 * d, v)
    v2 = rk4_stage(v, 0.5 * d, a1)
    a2 = _accel(r2, v2, air, grav)
    r3 = rk4_stage(r, 0.5 * d, v2)
    v3 = rk4_stage(v, 0.5 * d, a2)
    a3 = _accel(r3, v3, air, grav)
    r4 = rk4_stage(r, d, v3)
    v4 = rk4_stage(v, d, a3)
    a4 = _accel(r4, v4, air, grav)
    r_new = rk4_combine(r, d, v, v2, v3, v4)
    v_new = rk4_combine(v, d, a1, a2, a3, a4)
    return r_new, v_new, _height(r_new)


def _step_lengths(
    r: NDArray[np.float64],
    v: NDArray[np.float64],
    h: NDArray[np.float64],
    air: _Air,
    step_s: float,
    time_left: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Per-state step: ``step_s``, shortened where drag matters (module
    docstring): to a fraction of the e-folding time of the air-relative
    speed, ``2 beta / (rho |v - u|)``, and, where the drag deceleration
    exceeds ``_DRAG_SIGNIFICANT_MPS2``, to a fraction of the time the vehicle
    takes to cross a density scale height, ``_RHO_SCALE_M / |v|`` (the
    Earth-relative speed: the density field is fixed to the Earth), since
    the drag then changes on that time scale. Never past ``max_time_s``."""
    speed = _speed(v)
    v_air = air.relative(r, v)
    air_speed = speed if v_air is v else _speed(v_air)
    rate = density(h) * air_speed * air.inv_beta_at(h, air_speed)  # 2 / (speed e-folding time), 1/s
    with np.errstate(divide="ignore", invalid="ignore"):
        dt = np.minimum(step_s, _DRAG_STEP_FRACTION * 2.0 / rate)
        strong = 0.5 * rate * air_speed > _DRAG_SIGNIFICANT_MPS2
        dt = np.where(strong, np.minimum(dt, _SCALE_STEP_FRACTION * _RHO_SCALE_M / speed), dt)
    steps: NDArray[np.float64] = np.minimum(dt, time_left)
    return steps


def _land(
    r: NDArray[np.float64],
    v: NDArray[np.float64],
    h: NDArray[np.float64],
    h_end: NDArray[np.float64],
    r_end: NDArray[np.float64],
    air: _Air,
    dt: NDArray[np.float64],
    grav: _Gravity,
    ground: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Step length tau in (0, dt] where one RK4 step from (r, v) (height h)
    reaches the ground height, given the full step's end (r_end, height
    h_end <= ground): secant on the height above the ground, kept inside the
    bracket. Returns tau and the impact positions."""
    lo = np.zeros(r.shape[0])
    hi = dt.copy()
    h_lo = h - ground
    h_hi = h_end - ground
    tau = hi.copy()
    r_tau = r_end
    if np.all(np.abs(h_hi) < _SECANT_TOL_M):
        return tau, r_tau
    for _ in range(_SECANT_MAX_IT):
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = lo - h_lo * (hi - lo) / (h_hi - h_lo)
        # keep the secant point inside the bracket (bisect if it is not)
        bad = ~((tau > lo) & (tau < hi))
        tau[bad] = 0.5 * (lo[bad] + hi[bad])
        r_tau, _, h_tau = _rk4(r, v, air, tau, grav)
        h_tau = h_tau - ground
        if np.all(np.abs(h_tau) < _SECANT_TOL_M):
            break
        above = h_tau > 0.0
        lo = np.where(above, tau, lo)
        h_lo = np.where(above, h_tau, h_lo)
        hi = np.where(above, hi, tau)
        h_hi = np.where(above, h_hi, h_tau)
    return tau, r_tau


def _per_state(x: object, name: str, what: str, n: int, single: bool) -> NDArray[np.float64]:
    """A number or an (N,) array of numbers (anything else: InputError naming ``name``), broadcast to (N,)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.empty((0, 0))  # not numeric or ragged: reported below
    if arr.ndim > 1 or (arr.ndim == 1 and (single or arr.shape[0] != n)):
        raise InputError(
            f"{name} must be a number or an (N,) array matching the N states (N = {n}){what}; got shape {arr.shape}."
        )
    return np.broadcast_to(arr, (n,))


def _mach_table(table: tuple[ArrayLike, ArrayLike]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validated ``(mach (K,), beta (K,))``: finite, Mach >= 0 strictly increasing, beta > 0."""
    mach = np.asarray(table[0], dtype=np.float64)
    beta = np.asarray(table[1], dtype=np.float64)
    fix = "pass ballistic_coeff_kg_m2=(mach, beta) with two 1-D arrays of equal length, Mach increasing"
    if mach.shape != beta.shape or mach.size < _MACH_TABLE_MIN_ROWS:
        raise InputError(
            f"ballistic_coeff_kg_m2 as a Mach table needs as many Mach numbers as ballistic coefficients, at least "
            f"{_MACH_TABLE_MIN_ROWS}; got {mach.size} and {beta.size}: {fix} (for a constant beta pass a number)."
        )
    if not (np.all(np.isfinite(mach)) and mach[0] >= 0.0 and np.all(np.diff(mach) > 0.0)):
        raise InputError(
            f"ballistic_coeff_kg_m2 as a Mach table needs finite Mach numbers >= 0 in strictly increasing order; "
            f"got {mach.tolist()}: sort the rows by Mach and drop duplicates ({fix})."
        )
    if not np.all(np.isfinite(beta) & (beta > 0.0)):
        raise InputError(
            f"ballistic_coeff_kg_m2 as a Mach table needs finite positive ballistic coefficients m / (C_D A), "
            f"kg/m^2; got {beta.tolist()}."
        )
    return mach, beta


def _air(
    ballistic_coeff_kg_m2: ArrayLike | MachTable,
    wind_ecef_mps: ArrayLike | WindProfile | None,
    n: int,
    single: bool,
) -> tuple[_Air, NDArray[np.bool_]]:
    """The validated air model for n states, and which states have finite beta and wind."""
    finite = np.ones(n, dtype=bool)
    b = ballistic_coeff_kg_m2
    inv_beta: NDArray[np.float64] | None = None
    table = None
    if isinstance(b, tuple) and len(b) == 2 and all(np.ndim(part) == 1 for part in b):
        table = _mach_table((b[0], b[1]))
    else:
        beta = _per_state(b, "ballistic_coeff_kg_m2", ", or a Mach table given as a tuple (mach, beta)", n, single)
        if np.any(beta <= 0.0):
            raise InputError("ballistic_coeff_kg_m2 (m / (C_D A), kg/m^2) must be positive; use np.inf for no drag.")
        with np.errstate(divide="ignore"):
            inv_beta = 1.0 / beta  # 0 for inf (no drag), NaN stays NaN
        finite &= np.isfinite(inv_beta)

    wind = None
    profile = None
    if callable(wind_ecef_mps):
        profile = wind_ecef_mps
    elif wind_ecef_mps is not None:
        u = np.asarray(wind_ecef_mps, dtype=np.float64)
        if not (u.shape == (3,) or (u.shape == (n, 3) and not single)):
            raise InputError(
                f"wind_ecef_mps must be None, an ECEF wind vector of shape (3,) m/s, one per state of shape "
                f"(N, 3) (N = {n}), or a function of ECEF positions (M, 3) -> winds (M, 3); got shape {u.shape}."
            )
        wind = np.array(np.broadcast_to(u, (n, 3)))
        finite &= np.all(np.isfinite(wind), axis=1)
    return _Air(wind, profile, inv_beta, table), finite


def impact_point_drag(
    r_ecef: ArrayLike,
    v_ecef: ArrayLike,
    ballistic_coeff_kg_m2: ArrayLike | MachTable,
    *,
    gravity: str = "point_mass",
    step_s: float = 0.25,
    max_time_s: float = 6000.0,
    wind_ecef_mps: ArrayLike | WindProfile | None = None,
    ground_height_m: ArrayLike = 0.0,
) -> tuple[float, float, float] | tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Impact point with air drag (USSA76) on the rotating WGS84 Earth.

    Parameters
    ----------
    r_ecef : array_like, (3,) or (N, 3)
        Position in ECEF, m.
    v_ecef : array_like, (3,) or (N, 3)
        Earth-relative velocity in ECEF axes, m/s.
    ballistic_coeff_kg_m2 : float, (N,) array, or tuple (mach (K,), beta (K,))
        Ballistic coefficient ``m / (C_D A)``, kg/m^2; ``np.inf`` for none.
        A tuple of two 1-D arrays is a table against the Mach number
        ``|v - u| / c(h)`` (same for all states, Mach strictly increasing,
        beta positive), interpolated linearly and clamped at its ends.
    gravity : {"point_mass", "j2"}
        Gravity model. ``"point_mass"`` (default) is the vacuum IIP's model.
    step_s : float
        RK4 step where drag is weak, s; shortened automatically where it is
        strong (module docstring; ``design/iip.md`` for the error).
    max_time_s : float
        Give up (NaN) on states that have not landed after this flight time, s.
    wind_ecef_mps : None, array_like (3,) or (N, 3), or callable
        The air's velocity ``u`` relative to the rotating Earth, ECEF axes,
        m/s; drag acts on ``v - u``. None (default): air at rest in ECEF. A
        vector is held constant in ECEF axes (one for all states or one per
        state). A callable is a wind profile, ``wind(r_ecef (M, 3)) -> (M, 3)``,
        called with the positions of the states still flying at every RK4 stage.
    ground_height_m : float or (N,) array
        Geodetic height (m above WGS84) at which the flight ends; default 0.

    Returns
    -------
    lat_deg, lon_deg, tof_s
        Geodetic latitude, longitude (degrees, WGS84) where the geodetic
        height first reaches ``ground_height_m``, and the time of flight (s).
        Floats for a single state, ``(N,)`` arrays for a batch. NaN for
        NaN/inf input and for no landing within ``max_time_s``; a state at
        or below the ground height gives its own point with ``tof_s = 0``.
    """
    if gravity not in _GRAVITY:
        raise InputError(f"gravity must be one of {sorted(_GRAVITY)}; got {gravity!r}.")
    if not (np.isfinite(step_s) and step_s > 0.0):
        raise InputError(f"step_s must be a positive number of seconds (e.g. 0.25); got {step_s!r}.")
    if not (np.isfinite(max_time_s) and max_time_s > 0.0):
        raise InputError(f"max_time_s must be a positive number of seconds; got {max_time_s!r}.")
    grav = _GRAVITY[gravity]
    r, v = _state_arrays(r_ecef, v_ecef)
    single = r.ndim == 1
    r = np.array(np.atleast_2d(r), dtype=np.float64)
    v = np.array(np.atleast_2d(v), dtype=np.float64)
    n = r.shape[0]
    air, finite = _air(ballistic_coeff_kg_m2, wind_ecef_mps, n, single)
    ground = _per_state(ground_height_m, "ground_height_m", " of geodetic heights, m", n, single)

    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    tof = np.full(n, np.nan)
    r_imp = np.full((n, 3), np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        good = np.all(np.isfinite(r), axis=1) & np.all(np.isfinite(v), axis=1) & finite & np.isfinite(ground)
        h = np.full(n, np.nan)
        h[good] = _height(r[good])
        below = good & (h <= ground)
        r_imp[below] = r[below]
        tof[below] = 0.0

        act = np.flatnonzero(good & (h > ground))
        ra, va, ha, ga, aa = r[act], v[act], h[act], ground[act], air.take(act)
        ta = np.zeros(act.size)
        while act.size:
            dt = _step_lengths(ra, va, ha, aa, step_s, max_time_s - ta)
            r1, v1, h1 = _rk4(ra, va, aa, dt, grav)
            hit = h1 <= ga
            if hit.any():
                tau, r_hit = _land(ra[hit], va[hit], ha[hit], h1[hit], r1[hit], aa.take(hit), dt[hit], grav, ga[hit])
                r_imp[act[hit]] = r_hit
                tof[act[hit]] = ta[hit] + tau
            ta = ta + dt
            keep = ~hit & np.isfinite(h1) & (ta < max_time_s)
            act, ra, va, ha, ga, ta = act[keep], r1[keep], v1[keep], h1[keep], ga[keep], ta[keep]
            aa = aa.take(keep)

        done = np.isfinite(tof)
        if done.any():
            la, lo, _ = ecef_to_geodetic(r_imp[done])
            lat[done] = la
            lon[done] = lo
    if single:
        return float(lat[0]), float(lon[0]), float(tof[0])
    return lat, lon, tof
