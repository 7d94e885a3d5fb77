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
  :func:`rangeguard.earth.atmosphere.density_sound_nb` (the fast path of
  :func:`rangeguard.earth.atmosphere.ussa76`, compiled);
- ``u`` (``wind_ecef_mps``): none, a constant vector (one for all states or
  one per state, held constant in ECEF axes), or a :class:`WindTable`: the
  wind towards the local east and north against geodetic height,
  interpolated linearly, held constant outside the table, turned into ECEF
  axes at the current position;
- ``beta``: a number, one per state, or a table against the Mach number
  ``|v - u| / c(h)`` (``c`` the USSA76 speed of sound), interpolated
  linearly and clamped at the table's ends, the drag coefficient of a
  fragment being a function of Mach (its transonic rise); times
  ``beta_factor`` (a number or one per state, also for a table: a
  per-fragment spread can scale a shared table).

The flight ends where the geodetic height first reaches the ground height
(``ground_height_m``, 0 by default: the ellipsoid), e.g. 1.4 km for a
spaceport on a high plateau.

Integration (:mod:`rangeguard.iip._drag_kernel`, compiled with numba, one
state per row, the rows on numba's thread pool): the Dormand-Prince 5(4)
embedded Runge-Kutta pair with error control and the PI step-size
controller of Hairer, Norsett & Wanner (1993, sec. II.4), absolute
tolerances ``tol_m`` on the position and ``tol_m`` per second on the
velocity. The landing is found in the step that crosses the ground height:
on the step's dense output, then re-solved as one Runge-Kutta step from the
step's start that ends within 1 mm of the ground height (Newton on its
length), so the impact is the integrator's own solution. The drag's slope
jumps where the USSA76 temperature gradient does (the layer boundaries,
:func:`rangeguard.earth.atmosphere.density_kinks_m`), at the wind table's
rows and at the Mach table's rows: a step across such a kink loses its
order without the error estimate noticing (12 m of error for a dense body
climbing at 3 km/s through 11 km), so a step that crosses one is cut to end
on it. Measured against DOP853 (rtol 1e-12) on the same equations
(``design/iip.md``): with the default ``tol_m = 1e-2``, worst ground error
0.26 m over ballistic coefficients 50 to 30 000 kg/m^2 from 0.5-60 km at
1-7.3 km/s (0.09 m with ``tol_m = 1e-3``); with wind, ground height or a
Mach table, fragments within centimetres.

Same conventions as the vacuum IIP: NaN in any input gives NaN; a state at
or below the ground height gives its own point with ``tof_s = 0``; a state
that has not landed by ``max_time_s`` (an orbit, a slowly decaying one)
gives NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.constants import DEG
from rangeguard.earth.atmosphere import compiled_tables, density_kinks_m
from rangeguard.errors import InputError
from rangeguard.iip import _drag_kernel as _k
from rangeguard.iip.vacuum import _state_arrays

_J2_ON = {"point_mass": 0.0, "j2": 1.0}
_MACH_TABLE_MIN_ROWS = 2  # a table must span a Mach interval; a constant beta is a number
DEFAULT_TOL_M = 1e-2
"""Default local error tolerance of the integrator, m on the position, m/s on the velocity: worst
ground error 0.26 m against DOP853 at rtol 1e-12 over design/iip.md's 40-state sweep (1e-3: 0.09 m,
the reference's own level, for about 20 % more steps)."""
_TASKS_PER_THREAD = 16
"""Interleaved tasks per thread of a batch (load balance of light and heavy bodies)."""

MachTable: TypeAlias = tuple[ArrayLike, ArrayLike]
"""A ballistic coefficient against Mach: ``(mach (K,), beta_kg_m2 (K,))``, Mach increasing."""


@dataclass(frozen=True, eq=False)
class WindTable:
    """A wind against geodetic height: the air blowing towards the local east and north (m/s) in the
    geodetic frame at the body's current position, linear in the geodetic height ``altitude_m`` (m,
    strictly increasing, at least one row) and held constant outside the table (no vertical wind).
    The arrays are stored read-only, as float64."""

    altitude_m: NDArray[np.float64]
    east_mps: NDArray[np.float64]
    north_mps: NDArray[np.float64]

    def __post_init__(self) -> None:
        arrays = []
        for name in ("altitude_m", "east_mps", "north_mps"):
            try:
                a = np.array(getattr(self, name), dtype=np.float64)
            except (TypeError, ValueError):
                raise InputError(f"WindTable.{name} must be a 1-D array of numbers.") from None
            if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
                raise InputError(
                    f"WindTable.{name} must be a 1-D array of finite numbers with at least one row; got shape "
                    f"{a.shape}."
                )
            a.setflags(write=False)
            arrays.append(a)
            object.__setattr__(self, name, a)
        alt, east, north = arrays
        if not (alt.shape == east.shape == north.shape):
            raise InputError(
                f"WindTable: altitude_m, east_mps and north_mps need one value per row; got {alt.size}, "
                f"{east.size} and {north.size} values."
            )
        if np.any(np.diff(alt) <= 0.0):
            raise InputError(
                f"WindTable.altitude_m must be strictly increasing (geodetic heights, m); got {alt.tolist()}: "
                f"sort the rows by altitude and drop duplicates."
            )


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
    beta_factor: ArrayLike,
    wind_ecef_mps: ArrayLike | WindTable | None,
    n: int,
    single: bool,
) -> tuple[NDArray[np.float64], tuple[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64], WindTable | None]:
    """Validated per-state 1 / beta (or 1 / beta_factor for a Mach table), the Mach table ((0,)
    arrays if none), the per-state wind (N, WIND_COLS: the constant ECEF wind, then the table's scale 1
    and no turn) and the wind table."""
    factor = _per_state(beta_factor, "beta_factor", " of ballistic-coefficient factors", n, single)
    if np.any(factor <= 0.0):
        raise InputError("beta_factor (a factor on the ballistic coefficient) must be positive.")
    b = ballistic_coeff_kg_m2
    table = (np.zeros(0), np.zeros(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        if isinstance(b, tuple) and len(b) == 2 and all(np.ndim(part) == 1 for part in b):
            table = _mach_table((b[0], b[1]))
            inv_beta = 1.0 / factor
        else:
            beta = _per_state(b, "ballistic_coeff_kg_m2", ", or a Mach table given as a tuple (mach, beta)", n, single)
            if np.any(beta <= 0.0):
                raise InputError(
                    "ballistic_coeff_kg_m2 (m / (C_D A), kg/m^2) must be positive; use np.inf for no drag."
                )
            inv_beta = 1.0 / (beta * factor)  # 0 for inf (no drag), NaN stays NaN
    inv_beta = np.where(np.isfinite(inv_beta), inv_beta, np.nan)

    wind = np.zeros((n, _k.WIND_COLS))
    wind[:, 3] = 1.0  # the table's wind as it is (scale 1, no turn)
    wind_table = None
    if isinstance(wind_ecef_mps, WindTable):
        wind_table = wind_ecef_mps
    elif wind_ecef_mps is not None:
        try:
            u = np.asarray(wind_ecef_mps, dtype=np.float64)
        except (TypeError, ValueError):
            u = np.empty((0, 0))
        if not (u.shape == (3,) or (u.shape == (n, 3) and not single)):
            raise InputError(
                f"wind_ecef_mps must be None, an ECEF wind vector of shape (3,) m/s, one per state of shape "
                f"(N, 3) (N = {n}), or a WindTable (east/north wind against geodetic height); got "
                f"{type(wind_ecef_mps).__name__} of shape {u.shape}."
            )
        wind[:, :3] = u
    return inv_beta, table, wind, wind_table


def _kinks_h(wind_table: WindTable | None) -> NDArray[np.float64]:
    """Geodetic heights (m, increasing) where the drag's slope jumps: the USSA76 table's kinks and the
    wind table's rows. The integrator ends a step on each one it crosses."""
    kinks = density_kinks_m()
    if wind_table is not None:
        kinks = np.union1d(kinks, wind_table.altitude_m)
    return np.ascontiguousarray(kinks)


def impact_point_drag(
    r_ecef: ArrayLike,
    v_ecef: ArrayLike,
    ballistic_coeff_kg_m2: ArrayLike | MachTable,
    *,
    gravity: str = "point_mass",
    step_s: float = 60.0,
    max_time_s: float = 6000.0,
    wind_ecef_mps: ArrayLike | WindTable | None = None,
    ground_height_m: ArrayLike = 0.0,
    beta_factor: ArrayLike = 1.0,
    tol_m: float = DEFAULT_TOL_M,
    step_onto_kinks: bool = True,
    wind_scale: ArrayLike = 1.0,
    wind_rotation_deg: ArrayLike = 0.0,
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
        Largest integration step, s (the steps are chosen by the error
        control; this only caps them).
    max_time_s : float
        Give up (NaN) on states that have not landed after this flight time, s.
    wind_ecef_mps : None, array_like (3,) or (N, 3), or WindTable
        The air's velocity ``u`` relative to the rotating Earth, m/s; drag
        acts on ``v - u``. None (default): air at rest in ECEF. A vector is
        held constant in ECEF axes (one for all states or one per state). A
        :class:`WindTable` gives the wind towards the local east and north
        against geodetic height (linear, constant outside the table).
    ground_height_m : float or (N,) array
        Geodetic height (m above WGS84) at which the flight ends; default 0.
    beta_factor : float or (N,) array
        Factor on the ballistic coefficient per state (default 1), also on a
        Mach table: state i flies with ``beta_factor[i] * beta(Mach)``.
    tol_m : float
        Local error tolerance of the integrator: m on the position, m/s on
        the velocity (default 1e-2: decimetres at worst on the ground,
        ``design/iip.md``). Smaller is more accurate and slower (about
        ``tol_m ** -0.2`` steps where the accuracy sets the step).
    wind_scale, wind_rotation_deg : float or (N,) array
        Per state, the :class:`WindTable`'s wind times ``wind_scale`` (>= 0) and turned by
        ``wind_rotation_deg`` clockwise seen from above: a dispersed wind profile, as the simulator
        disperses it (``dispersions.wind_scale``, ``wind_rotation_deg``). Defaults: the table as it is.
        Only the table's wind is scaled and turned.
    step_onto_kinks : bool
        End a step on every altitude where the drag's slope jumps (USSA76's
        layer boundaries, the wind table's rows, the Mach table's rows), so
        that no step loses the method's order across one (default). False
        leaves them to the error control: about half the cost of a fall
        through the atmosphere, for errors of tens of metres at ``tol_m``
        of metres (the risk analysis' choice, ``design/iip.md``).

    Returns
    -------
    lat_deg, lon_deg, tof_s
        Geodetic latitude, longitude (degrees, WGS84) where the geodetic
        height first reaches ``ground_height_m``, and the time of flight (s).
        Floats for a single state, ``(N,)`` arrays for a batch. NaN for
        NaN/inf input and for no landing within ``max_time_s``; a state at
        or below the ground height gives its own point with ``tof_s = 0``.
    """
    if gravity not in _J2_ON:
        raise InputError(f"gravity must be one of {sorted(_J2_ON)}; got {gravity!r}.")
    if not (np.isfinite(step_s) and step_s > 0.0):
        raise InputError(f"step_s (the largest step) must be a positive number of seconds (e.g. 60); got {step_s!r}.")
    if not (np.isfinite(max_time_s) and max_time_s > 0.0):
        raise InputError(f"max_time_s must be a positive number of seconds; got {max_time_s!r}.")
    if not (np.isfinite(tol_m) and tol_m > 0.0):
        raise InputError(f"tol_m must be a positive tolerance in metres (default {DEFAULT_TOL_M}); got {tol_m!r}.")
    r, v = _state_arrays(r_ecef, v_ecef)
    single = r.ndim == 1
    r = np.ascontiguousarray(np.atleast_2d(r), dtype=np.float64)
    v = np.ascontiguousarray(np.atleast_2d(v), dtype=np.float64)
    n = r.shape[0]
    inv_beta, (mach, beta), wind, wind_table = _air(ballistic_coeff_kg_m2, beta_factor, wind_ecef_mps, n, single)
    ground = np.array(_per_state(ground_height_m, "ground_height_m", " of geodetic heights, m", n, single))
    scale = _per_state(wind_scale, "wind_scale", " of factors on the wind table", n, single)
    turn_rad = _per_state(wind_rotation_deg, "wind_rotation_deg", " of turns of the wind table, deg", n, single) * DEG
    if not (np.all(scale >= 0.0) and np.all(np.isfinite(scale)) and np.all(np.isfinite(turn_rad))):
        raise InputError("wind_scale must be finite and >= 0, and wind_rotation_deg finite (degrees).")
    wind[:, 3] = scale * np.cos(turn_rad)
    wind[:, 4] = scale * np.sin(turn_rad)
    empty = np.zeros(0)
    atmosphere, c_top_m, c_top_over_r12 = compiled_tables()
    settings = np.zeros(_k.SETTINGS)
    settings[_k.S_C_TOP] = c_top_m
    settings[_k.S_C_TOP_R12] = c_top_over_r12
    settings[_k.S_J2_ON] = _J2_ON[gravity]
    settings[_k.S_TOL_M] = tol_m
    settings[_k.S_MAX_STEP_S] = step_s
    settings[_k.S_MAX_TIME_S] = max_time_s
    settings[_k.S_ONTO_KINKS] = 1.0 if step_onto_kinks else 0.0
    model = _k.Model(
        mach,
        beta,
        empty if wind_table is None else wind_table.altitude_m,
        empty if wind_table is None else wind_table.east_mps,
        empty if wind_table is None else wind_table.north_mps,
        atmosphere,
        _kinks_h(wind_table),
        settings,
    )
    states = _k.States(r, v, np.ascontiguousarray(inv_beta), wind, ground)
    results = _k.Results(np.empty(n), np.empty(n), np.empty(n), np.empty(n, dtype=np.int64))
    if n == 1:
        _k.fly_rows(tuple(states), tuple(model), tuple(results))
    else:
        tasks = min(n, _TASKS_PER_THREAD * numba.get_num_threads())
        _k.fly_batch(tasks, tuple(states), tuple(model), tuple(results))
    lat, lon, tof = results.lat_deg, results.lon_deg, results.tof_s
    if single:
        return float(lat[0]), float(lon[0]), float(tof[0])
    return lat, lon, tof
