"""The compiled flight of :func:`rangeguard.iip.drag.impact_point_drag`: one falling body per row.

Equations of motion (rotating ECEF frame, ``v`` Earth-relative; the module docstring of
:mod:`rangeguard.iip.drag` explains every term)::

    dr/dt = v
    dv/dt = g(r) - 2 w x v - w x (w x r) - rho(h) |v - u| (v - u) / (2 beta)

Integrator: Dormand & Prince's embedded Runge-Kutta pair 5(4) ("DOPRI5": J. R. Dormand and
P. J. Prince, "A family of embedded Runge-Kutta formulae", J. Comp. Appl. Math. 6, 1980; the
tableau, the error norm, the step-size controller with Gustafsson's PI stabilisation and the
fourth-order dense output are those of Hairer, Norsett & Wanner, *Solving Ordinary Differential
Equations I*, 2nd ed., 1993, sec. II.4-II.6 and their code ``dopri5.f``). The fifth-order solution
is propagated (local extrapolation); the embedded fourth-order one estimates the local error.
Seven stages, the last at the new point (first same as last): six derivative evaluations per
accepted step.

Error norm: RMS over the six components of ``error_i / tol_i`` with absolute tolerances only:
``tol_m`` on the position and ``tol_m / TOL_TIME_S`` on the velocity (an ECEF coordinate is ~6.4e6 m
whatever the flight, so a relative tolerance would only be a disguised absolute one).

Landing: after the first accepted step whose end is at or below the ground height, the time
``tau`` in the step where the geodetic height equals the ground height is found on the dense
output (Illinois-bracketed secant), then re-solved on the integrator itself: one Runge-Kutta step
of length ``tau`` from the step's start, corrected by Newton steps (the height's rate is the
velocity along the ellipsoid normal) until that step ends within ``LANDING_TOL_M`` of the ground
height. The impact is thus the integrator's own solution, not an interpolation.

Batches: :func:`fly_batch` runs the rows on numba's thread pool, interleaved (task k flies rows
k, k + T, k + 2T, ...), so that each thread gets a mix of light (slow) and heavy (fast) bodies
whatever their order in the batch. Rows are independent: the result does not depend on the
number of threads.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange
from numpy.typing import NDArray

from rangeguard.constants import OMEGA_EARTH_RAD_S
from rangeguard.earth.atmosphere import density_sound_nb
from rangeguard.earth.geodesy import geodetic_frame_nb, geodetic_from_ecef_nb, geodetic_height_nb
from rangeguard.earth.gravity import gravity_j2_nb
from rangeguard.earth.interp import interp_clamped
from rangeguard.jit import kernel

_W = OMEGA_EARTH_RAD_S
_W2 = OMEGA_EARTH_RAD_S * OMEGA_EARTH_RAD_S

TOL_TIME_S = 1.0
"""The velocity tolerance is ``tol_m / TOL_TIME_S`` (m/s): an error of that size, held for about a
second, moves the body by ``tol_m`` (tuning, measured in design/iip.md)."""
LANDING_TOL_M = 1e-3
"""The landing step ends within this distance (m) of the ground height."""
_KINK_TOL_MACH = 1e-7
"""A step onto a kink of the Mach table ends within this Mach number of it."""
_MIN_STEP_S = 1e-9
"""Smallest step, s: below it the flight is abandoned (NaN) or a kink is not stepped onto."""
_LANDING_MAX_IT = 8
_DENSE_MAX_IT = 60

# Step-size control (Hairer, Norsett & Wanner 1993, sec. II.4 and dopri5.f's defaults).
_SAFETY = 0.9
_FAC_MIN = 0.2  # the step shrinks at most 5x ...
_FAC_MAX = 10.0  # ... and grows at most 10x per step
_PI_BETA = 0.04  # Gustafsson's PI stabilisation
_EXPO = 0.2 - 0.75 * _PI_BETA

# Dormand-Prince 5(4) tableau.
_C2, _C3, _C4, _C5 = 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0
_A21 = 1.0 / 5.0
_A31, _A32 = 3.0 / 40.0, 9.0 / 40.0
_A41, _A42, _A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
_A51, _A52, _A53, _A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
_A61, _A62, _A63 = 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0
_A64, _A65 = 49.0 / 176.0, -5103.0 / 18656.0
_A71, _A73, _A74 = 35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0  # = the 5th-order weights b_i
_A75, _A76 = -2187.0 / 6784.0, 11.0 / 84.0
# error weights e_i = b_i - b*_i (fifth minus fourth order)
_E1, _E3, _E4 = 71.0 / 57600.0, -71.0 / 16695.0, 71.0 / 1920.0
_E5, _E6, _E7 = -17253.0 / 339200.0, 22.0 / 525.0, -1.0 / 40.0
# dense output (dopri5.f, Shampine 1986)
_D1, _D3, _D4 = -12715105075.0 / 11282082432.0, 87487479700.0 / 32700410799.0, -10690763975.0 / 1880347072.0
_D5, _D6, _D7 = 701980252875.0 / 199316789632.0, -1453857185.0 / 822651844.0, 69997945.0 / 29380423.0


WIND_COLS = 5
"""Columns of :attr:`States.wind`: the constant ECEF wind (3), then s cos(a), s sin(a) of the table's
scale s and turn a."""


class States(NamedTuple):
    """Per-row inputs (N rows)."""

    r: NDArray[np.float64]  # (N, 3) ECEF position, m
    v: NDArray[np.float64]  # (N, 3) Earth-relative velocity, ECEF axes, m/s
    inv_beta: NDArray[np.float64]  # (N,) 1 / beta (m^2/kg), or 1 / beta_factor when beta is a Mach table
    wind: NDArray[np.float64]  # (N, WIND_COLS): constant wind, ECEF axes, m/s (zeros: none); then the
    # table wind's scale times the cosine and the sine of its turn, clockwise seen from above ((1, 0): as is)
    ground: NDArray[np.float64]  # (N,) geodetic height where the flight ends, m


class Model(NamedTuple):
    """Inputs shared by every row."""

    mach: NDArray[np.float64]  # (K,) Mach table abscissae (K = 0: beta is per row)
    beta: NDArray[np.float64]  # (K,) beta against Mach, kg/m^2
    wind_alt: NDArray[np.float64]  # (L,) geodetic heights of the wind table, m (L = 0: none)
    wind_east: NDArray[np.float64]  # (L,) wind towards the local east, m/s
    wind_north: NDArray[np.float64]  # (L,) wind towards the local north, m/s
    atmosphere: NDArray[np.float64]  # USSA76 fast-path table (rangeguard.earth.atmosphere.compiled_tables)
    kinks_h: NDArray[np.float64]  # (J,) increasing geodetic heights where the drag's slope jumps, m
    settings: NDArray[np.float64]  # (SETTINGS,) see the S_* indices


S_C_TOP, S_C_TOP_R12, S_J2_ON, S_TOL_M, S_MAX_STEP_S, S_MAX_TIME_S, S_ONTO_KINKS = range(7)
SETTINGS = 7


class Results(NamedTuple):
    """Per-row outputs (N rows), written by the kernel."""

    lat_deg: NDArray[np.float64]  # (N,) impact latitude, NaN: none
    lon_deg: NDArray[np.float64]  # (N,) impact longitude
    tof_s: NDArray[np.float64]  # (N,) time of flight
    steps: NDArray[np.int64]  # (N,) integration steps taken (accepted + rejected)


@kernel(inline="always")
def _derivative(
    x: float,
    y: float,
    z: float,
    vx: float,
    vy: float,
    vz: float,
    inv_beta: float,
    wv: NDArray[np.float64],  # (WIND_COLS,) the row's wind: see States.wind
    model: tuple,  # type: ignore[type-arg]  # Model as a plain tuple
) -> tuple[float, float, float, float, float]:
    """Acceleration (m/s^2, ECEF axes) in the rotating frame, the geodetic height (m) and the Mach
    number at (r, v)."""
    mach_tab, beta_tab, wind_alt, wind_east, wind_north, atmosphere, _, settings = model
    ux, uy, uz = wv[0], wv[1], wv[2]
    nw = wind_alt.shape[0]
    if nw == 0:
        h = geodetic_height_nb(x, y, z)
    else:  # table wind towards the local east and north, at the geodetic height
        slat, clat, slon, clon, h = geodetic_frame_nb(x, y, z)
        we0 = interp_clamped(h, wind_alt, wind_east, 0, nw)
        wn0 = interp_clamped(h, wind_alt, wind_north, 0, nw)
        # the row's scale and turn of the table (clockwise seen from above): (s cos, s sin) = (wv[3], wv[4])
        we = wv[3] * we0 + wv[4] * wn0
        wn = wv[3] * wn0 - wv[4] * we0
        ux += -slon * we - slat * clon * wn
        uy += clon * we - slat * slon * wn
        uz += clat * wn
    rho, c = density_sound_nb(h, atmosphere, settings[S_C_TOP], settings[S_C_TOP_R12])
    ax_, ay_, az_ = vx - ux, vy - uy, vz - uz
    speed = math.sqrt(ax_ * ax_ + ay_ * ay_ + az_ * az_)
    k = mach_tab.shape[0]
    ib = inv_beta
    mach = speed / c
    if k > 0:
        ib = inv_beta / interp_clamped(mach, mach_tab, beta_tab, 0, k)
    d = 0.5 * rho * speed * ib
    gx, gy, gz = gravity_j2_nb(x, y, z, settings[S_J2_ON])
    # Coriolis -2 w x v and centrifugal -w x (w x r), w = (0, 0, omega); drag along -(v - u).
    return (
        gx + 2.0 * _W * vy + _W2 * x - d * ax_,
        gy - 2.0 * _W * vx + _W2 * y - d * ay_,
        gz - d * az_,
        h,
        mach,
    )


@kernel()
def _stages(
    y0: NDArray[np.float64],
    k: NDArray[np.float64],
    hs: float,
    inv_beta: float,
    wv: NDArray[np.float64],  # (WIND_COLS,) the row's wind: see States.wind
    model: tuple,  # type: ignore[type-arg]
    out: NDArray[np.float64],
) -> None:
    """Stages 2-6 of a step of length hs from y0 (6,) with k[0] = f(y0); the fifth-order solution in out."""
    ys = np.empty(6)
    for j in range(6):
        ys[j] = y0[j] + hs * _A21 * k[0, j]
    _eval(ys, inv_beta, wv, model, k, 1)
    for j in range(6):
        ys[j] = y0[j] + hs * (_A31 * k[0, j] + _A32 * k[1, j])
    _eval(ys, inv_beta, wv, model, k, 2)
    for j in range(6):
        ys[j] = y0[j] + hs * (_A41 * k[0, j] + _A42 * k[1, j] + _A43 * k[2, j])
    _eval(ys, inv_beta, wv, model, k, 3)
    for j in range(6):
        ys[j] = y0[j] + hs * (_A51 * k[0, j] + _A52 * k[1, j] + _A53 * k[2, j] + _A54 * k[3, j])
    _eval(ys, inv_beta, wv, model, k, 4)
    for j in range(6):
        ys[j] = y0[j] + hs * (_A61 * k[0, j] + _A62 * k[1, j] + _A63 * k[2, j] + _A64 * k[3, j] + _A65 * k[4, j])
    _eval(ys, inv_beta, wv, model, k, 5)
    for j in range(6):
        out[j] = y0[j] + hs * (_A71 * k[0, j] + _A73 * k[2, j] + _A74 * k[3, j] + _A75 * k[4, j] + _A76 * k[5, j])


@kernel()
def _eval(
    y: NDArray[np.float64],
    inv_beta: float,
    wv: NDArray[np.float64],  # (WIND_COLS,) the row's wind: see States.wind
    model: tuple,  # type: ignore[type-arg]
    k: NDArray[np.float64],
    row: int,
) -> tuple[float, float]:
    """k[row] = f(y) (velocity, acceleration); returns the geodetic height of y (m) and its Mach number."""
    ax, ay, az, h, mach = _derivative(y[0], y[1], y[2], y[3], y[4], y[5], inv_beta, wv, model)
    k[row, 0] = y[3]
    k[row, 1] = y[4]
    k[row, 2] = y[5]
    k[row, 3] = ax
    k[row, 4] = ay
    k[row, 5] = az
    return h, mach


@kernel(inline="always")
def _dense(
    y0: NDArray[np.float64], y1: NDArray[np.float64], k: NDArray[np.float64], hs: float, theta: float, j: int
) -> float:
    """Component j of the fourth-order continuous extension at y(t0 + theta hs) (dopri5.f's contd5)."""
    r2 = y1[j] - y0[j]
    r3 = hs * k[0, j] - r2
    r4 = r2 - hs * k[6, j] - r3
    r5 = hs * (_D1 * k[0, j] + _D3 * k[2, j] + _D4 * k[3, j] + _D5 * k[4, j] + _D6 * k[5, j] + _D7 * k[6, j])
    return float(y0[j] + theta * (r2 + (1.0 - theta) * (r3 + theta * (r4 + (1.0 - theta) * r5))))


@kernel(inline="always")
def _dense_height(
    y0: NDArray[np.float64], y1: NDArray[np.float64], k: NDArray[np.float64], hs: float, theta: float
) -> float:
    x = _dense(y0, y1, k, hs, theta, 0)
    y = _dense(y0, y1, k, hs, theta, 1)
    z = _dense(y0, y1, k, hs, theta, 2)
    return float(geodetic_height_nb(x, y, z))


@kernel()
def _land(
    y0: NDArray[np.float64],
    y1: NDArray[np.float64],
    h0: float,
    h1: float,
    hs: float,
    ground: float,
    inv_beta: float,
    wv: NDArray[np.float64],  # (WIND_COLS,) the row's wind: see States.wind
    model: tuple,  # type: ignore[type-arg]
    k: NDArray[np.float64],
    out: NDArray[np.float64],
) -> float:
    """The time tau in (0, hs] at which the flight from y0 (height h0 > ground) reaches the ground
    height, the step to y1 (height h1 <= ground) having crossed it; the state at tau in ``out``."""
    # 1. On the dense output: Illinois-bracketed secant on theta in [0, 1].
    lo, hi = 0.0, 1.0
    f_lo, f_hi = h0 - ground, h1 - ground
    theta = 1.0
    side = 0
    for _ in range(_DENSE_MAX_IT):
        theta = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not (lo < theta < hi):
            theta = 0.5 * (lo + hi)
        f = _dense_height(y0, y1, k, hs, theta) - ground
        if abs(f) < 0.1 * LANDING_TOL_M:
            break
        if f > 0.0:
            lo, f_lo = theta, f
            if side == 1:
                f_hi *= 0.5
            side = 1
        else:
            hi, f_hi = theta, f
            if side == -1:
                f_lo *= 0.5
            side = -1
    # 2. On the integrator: a step of length tau from y0, Newton on tau (dh/dt = v . normal).
    tau = theta * hs
    t_lo, t_hi = 0.0, hs
    kk = np.empty((7, 6))
    kk[0, :] = k[0, :]
    for _ in range(_LANDING_MAX_IT):
        _stages(y0, kk, tau, inv_beta, wv, model, out)
        lat, lon, h = geodetic_from_ecef_nb(out[0], out[1], out[2])
        f = h - ground
        if abs(f) < LANDING_TOL_M:
            break
        if f > 0.0:
            t_lo = tau
        else:
            t_hi = tau
        clat = math.cos(lat)
        rate = out[3] * clat * math.cos(lon) + out[4] * clat * math.sin(lon) + out[5] * math.sin(lat)
        nxt = tau - f / rate
        tau = nxt if t_lo < nxt < t_hi else 0.5 * (t_lo + t_hi)
    return tau


@kernel()
def _initial_step(
    y0: NDArray[np.float64],
    k: NDArray[np.float64],
    inv_beta: float,
    wv: NDArray[np.float64],  # (WIND_COLS,) the row's wind: see States.wind
    model: tuple,  # type: ignore[type-arg]
    tol_pos: float,
    tol_vel: float,
    max_step: float,
) -> float:
    """First step (Hairer, Norsett & Wanner 1993, sec. II.4, "starting step size"), k[0] = f(y0)."""
    d0 = 0.0
    d1 = 0.0
    for j in range(6):
        sc = tol_pos if j < 3 else tol_vel
        d0 += (y0[j] / sc) ** 2
        d1 += (k[0, j] / sc) ** 2
    d0 = math.sqrt(d0 / 6.0)
    d1 = math.sqrt(d1 / 6.0)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, max_step)
    y1 = np.empty(6)
    for j in range(6):
        y1[j] = y0[j] + h0 * k[0, j]
    _eval(y1, inv_beta, wv, model, k, 1)
    d2 = 0.0
    for j in range(6):
        sc = tol_pos if j < 3 else tol_vel
        d2 += ((k[1, j] - k[0, j]) / sc) ** 2
    d2 = math.sqrt(d2 / 6.0) / h0
    big = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if big <= 1e-15 else (0.01 / big) ** 0.2
    return min(100.0 * h0, h1, max_step)


@kernel(inline="always")
def _cell(x: float, kinks: NDArray[np.float64]) -> int:
    """How many of the increasing ``kinks`` are <= x (the cell of x between them)."""
    c = 0
    while c < kinks.shape[0] and kinks[c] <= x:
        c += 1
    return c


@kernel()
def _first_kink(
    y0: NDArray[np.float64],
    y1: NDArray[np.float64],
    k: NDArray[np.float64],
    hs: float,
    h0: float,
    h1: float,
    m0: float,
    m1: float,
    cell_h: int,
    cell_m: int,
    c1h: int,
    c1m: int,
    inv_beta: float,
    wv: NDArray[np.float64],  # (WIND_COLS,) the row's wind: see States.wind
    model: tuple,  # type: ignore[type-arg]
) -> tuple[float, int, int]:
    """Where (fraction theta of the step) the step from y0 to y1 first crosses a kink in height or
    Mach, on the dense output, and the cells (height, Mach) beyond it. theta = 1: none found."""
    kk = np.empty((1, 6))
    ys = np.empty(6)
    theta = 1.0
    after_h, after_m = c1h, c1m
    for which in range(2):
        if which == 0:
            if c1h == cell_h:
                continue
            up = c1h > cell_h
            target = model[6][cell_h] if up else model[6][cell_h - 1]
            f_lo, f_hi = h0 - target, h1 - target
        else:
            if c1m == cell_m:
                continue
            up = c1m > cell_m
            target = model[0][cell_m] if up else model[0][cell_m - 1]
            f_lo, f_hi = m0 - target, m1 - target
        if not f_lo * f_hi < 0.0:
            continue
        lo, hi = 0.0, 1.0
        side = 0
        root = 1.0
        for _ in range(_DENSE_MAX_IT):
            root = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
            if not (lo < root < hi):
                root = 0.5 * (lo + hi)
            for j in range(6):
                ys[j] = _dense(y0, y1, k, hs, root, j)
            h, m = _eval(ys, inv_beta, wv, model, kk, 0)
            f = (h if which == 0 else m) - target
            if abs(f) < (LANDING_TOL_M if which == 0 else _KINK_TOL_MACH) or hi - lo < 1e-12:
                break
            if (f > 0.0) == (f_lo > 0.0):
                lo, f_lo = root, f
                if side == 1:
                    f_hi *= 0.5
                side = 1
            else:
                hi, f_hi = root, f
                if side == -1:
                    f_lo *= 0.5
                side = -1
        if root < theta:
            theta = root
            if which == 0:
                after_h, after_m = (cell_h + 1 if up else cell_h - 1), cell_m
            else:
                after_h, after_m = cell_h, (cell_m + 1 if up else cell_m - 1)
    return theta, after_h, after_m


@kernel()
def fly_one(
    i: int,
    states: tuple,  # type: ignore[type-arg]  # States as a plain tuple
    model: tuple,  # type: ignore[type-arg]  # Model as a plain tuple
    results: tuple,  # type: ignore[type-arg]  # Results as a plain tuple
) -> None:
    """Fly row i to the ground (module docstring) and write its impact point into ``results``."""
    r, v, inv_beta_all, wind, ground_all = states
    lat_out, lon_out, tof_out, steps_out = results
    settings = model[7]
    tol_pos = settings[S_TOL_M]
    tol_vel = tol_pos / TOL_TIME_S
    max_step = settings[S_MAX_STEP_S]
    max_time = settings[S_MAX_TIME_S]
    onto_kinks = settings[S_ONTO_KINKS] != 0.0
    inv_beta = inv_beta_all[i]
    ground = ground_all[i]
    wv = np.empty(WIND_COLS)
    for j in range(WIND_COLS):
        wv[j] = wind[i, j]
    lat_out[i] = math.nan
    lon_out[i] = math.nan
    tof_out[i] = math.nan
    steps_out[i] = 0
    y0 = np.empty(6)
    for j in range(3):
        y0[j] = r[i, j]
        y0[j + 3] = v[i, j]
    finite = inv_beta == inv_beta and abs(ground) < math.inf
    for j in range(WIND_COLS):
        finite = finite and abs(wv[j]) < math.inf
    for j in range(6):
        finite = finite and abs(y0[j]) < math.inf
    if not finite:
        return
    k = np.empty((7, 6))
    y1 = np.empty(6)
    h0, m0 = _eval(y0, inv_beta, wv, model, k, 0)
    if h0 <= ground:  # at or below the ground: its own point, no flight
        la, lo, _ = geodetic_from_ecef_nb(y0[0], y0[1], y0[2])
        lat_out[i] = math.degrees(la)
        lon_out[i] = math.degrees(lo)
        tof_out[i] = 0.0
        return
    hs = _initial_step(y0, k, inv_beta, wv, model, tol_pos, tol_vel, max_step)
    kinks_h = model[6]
    kinks_m = model[0]
    cell_h = _cell(h0, kinks_h)
    cell_m = _cell(m0, kinks_m)
    t = 0.0
    err_old = 1e-4
    n_steps = 0
    to_kink = False  # this step was shortened to end on a kink
    after_h = after_m = 0  # the cells beyond it
    resume = 0.0  # the step proposed before shortening
    while t < max_time:
        hs = min(hs, max_time - t)
        n_steps += 1
        _stages(y0, k, hs, inv_beta, wv, model, y1)
        h1, m1 = _eval(y1, inv_beta, wv, model, k, 6)
        err = 0.0
        for j in range(6):
            e = hs * (_E1 * k[0, j] + _E3 * k[2, j] + _E4 * k[3, j] + _E5 * k[4, j] + _E6 * k[5, j] + _E7 * k[6, j])
            sc = tol_pos if j < 3 else tol_vel
            err += (e / sc) ** 2
        err = math.sqrt(err / 6.0)
        if not err <= 1.0:  # reject (also NaN): shrink
            fac = _FAC_MIN if err != err else max(_FAC_MIN, _SAFETY / err**_EXPO)
            hs *= fac
            to_kink = False
            if hs < _MIN_STEP_S:
                break
            continue
        if not onto_kinks:  # the error control alone crosses the kinks (a lower order across them)
            c1h, c1m = cell_h, cell_m
        elif to_kink:
            c1h, c1m = after_h, after_m
        else:
            c1h = _cell(h1, kinks_h)
            c1m = _cell(m1, kinks_m)
            if c1h != cell_h or c1m != cell_m:
                # The step crossed a kink of the drag: end it on the first one instead.
                theta, after_h, after_m = _first_kink(
                    y0, y1, k, hs, h0, h1, m0, m1, cell_h, cell_m, c1h, c1m, inv_beta, wv, model
                )
                if theta * hs > _MIN_STEP_S and theta < 1.0:
                    resume = hs
                    hs *= theta
                    to_kink = True
                    continue
        if h1 <= ground:
            out = np.empty(6)
            tau = _land(y0, y1, h0, h1, hs, ground, inv_beta, wv, model, k, out)
            la, lo, _ = geodetic_from_ecef_nb(out[0], out[1], out[2])
            lat_out[i] = math.degrees(la)
            lon_out[i] = math.degrees(lo)
            tof_out[i] = t + tau
            break
        t += hs
        for j in range(6):
            y0[j] = y1[j]
            k[0, j] = k[6, j]  # first same as last
        h0, m0 = h1, m1
        cell_h, cell_m = c1h, c1m
        fac = err**_EXPO / err_old**_PI_BETA / _SAFETY
        fac = min(1.0 / _FAC_MIN, max(1.0 / _FAC_MAX, fac))
        hs = min(hs / fac, max_step)
        if to_kink:  # after a kink, carry on with the step the error control chose before it
            hs = max(hs, resume - hs)
            to_kink = False
        err_old = max(err, 1e-4)
    steps_out[i] = n_steps


@kernel()
def fly_rows(
    states: tuple,  # type: ignore[type-arg]
    model: tuple,  # type: ignore[type-arg]
    results: tuple,  # type: ignore[type-arg]
) -> None:
    """Every row, on this thread."""
    for i in range(states[0].shape[0]):
        fly_one(i, states, model, results)


@kernel(parallel=True)
def fly_batch(
    tasks: int,
    states: tuple,  # type: ignore[type-arg]
    model: tuple,  # type: ignore[type-arg]
    results: tuple,  # type: ignore[type-arg]
) -> None:
    """Every row, on numba's thread pool: task k flies rows k, k + tasks, ... (module docstring)."""
    n = states[0].shape[0]
    for task in prange(tasks):
        for m in range((n - task + tasks - 1) // tasks):
            fly_one(task + m * tasks, states, model, results)
