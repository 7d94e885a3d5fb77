"""U.S. Standard Atmosphere 1976, 0 to 1000 km geometric altitude (and a bit beyond).

Reference: *U.S. Standard Atmosphere, 1976*, NOAA-S/T 76-1562 (also NASA
TM-X-74335), Washington, 1976. Section and equation numbers below are the
standard's.

Below 86 km (section 1.2): the seven layers of linear molecular-scale
temperature T_M in geopotential height H (Table 4), hydrostatic pressure
(eqs. 33a/33b), density rho = p M0 / (R* T_M) (eq. 42), speed of sound
c = sqrt(gamma R* T_M / M0) (eq. 50). The kinetic temperature is
T = T_M M/M0 with the molecular-weight ratio of Table 8 between 80 and 86 km
(1 below 80 km). Geometric altitude Z and geopotential H are related by
H = r0 Z / (r0 + Z) (eq. 18). We write the layer equations ourselves rather
than use ``ambiance`` (which stops at 81 km), so there is no join at 81 km.

From 86 to 1000 km (section 1.3): the standard's own model. Kinetic
temperature in four segments (eqs. 25-31: isothermal 86-91 km, elliptical
91-110 km, linear 110-120 km, exponential 120-1000 km). Number densities of
N2, O, O2, Ar and He integrated upward from their 86-km values with the
diffusion equation including eddy mixing, thermal diffusion and the
empirical vertical-flux terms (eqs. 32-37, Tables 6 and 7), and atomic
hydrogen from 150 km with its escape flux about the 500-km reference value
(eqs. 38-40). Then p = n k T (eq. 33c) and rho = sum(n_i M_i) / N_A (eq. 42).
The integration uses the trapezoidal rule on a 10 m grid; the number
densities agree with the standard's Table VIII to about 0.05 % (O 0.2 % at
300 km, He 0.1 %, Ar 0.4 %), pressure and density with its tables to about
0.1 %.
The published 86-km number densities are rounded, so the integrated pressure
and density at 86 km differ from the lower model by ~3e-4 relative; we scale
the whole upper profile (pressure and density each by one constant factor)
so both are continuous at 86 km. Atomic hydrogen appears at 150 km (the
standard's lower boundary for it), a step of 7e-6 relative in pressure.

Speed of sound: the standard defines it only up to 86 km. Above, we return
c = sqrt(gamma p / rho) = sqrt(gamma R* T / M), i.e. the kinetic temperature
with the sea-level gamma = 1.40 and the local mean molecular weight
M = rho R* T / p. Below 86 km this is exactly eq. 50, so c is continuous at
86 km, and it is finite and positive for every finite altitude (the
simulator divides by it for Mach).

Outside the standard's range:

* below 0 m the first layer (-6.5 K/km) is extended down to -5 km; below
  -5 km the -5 km values are returned (constant): no launch vehicle is
  there, and the simulator must not crash on a trial step that dips below
  the ground;
* above 1000 km the gas is continued isothermally at T(1000 km) with the
  1000-km mean molecular weight in inverse-square gravity,
  ln p(Z) = ln p(1000 km) - M g0 r0^2 / (R* T) * (1/(r0 + 1000 km) - 1/(r0 + Z)),
  and rho likewise. It is continuous at 1000 km, decreases monotonically and
  tends to a finite floor (about 1e-11 of the 1000-km value) as Z -> inf, so
  p, rho and c stay positive and finite;
* NaN gives NaN in every field; +inf gives the floor values.

Fast path: at first use the exact model is tabulated every 10 m from -5 km
to 1000 km (T, ln p, ln rho; 100 501 rows, ~5 MB) and later calls
interpolate linearly with direct index arithmetic (no search). Measured
interpolation error against the exact layer equations: 3e-5 relative for T,
rho and c (at the temperature kinks of the lower layers), 1e-7 for p; a call
on 10 000 altitudes takes about 0.3-0.5 ms.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.constants import (
    USSA76_AVOGADRO_PER_KMOL,
    USSA76_BOLTZMANN_J_K,
    USSA76_G0_MPS2,
    USSA76_GAMMA,
    USSA76_M0_KG_KMOL,
    USSA76_P0_PA,
    USSA76_R0_M,
    USSA76_R_STAR_J_KMOL_K,
    USSA76_T0_K,
)
from rangeguard.errors import InputError
from rangeguard.jit import kernel

__all__ = ["Atmosphere", "density", "pressure", "speed_of_sound", "ussa76"]

_R = USSA76_R_STAR_J_KMOL_K
_G0 = USSA76_G0_MPS2
_R0 = USSA76_R0_M
_M0 = USSA76_M0_KG_KMOL
_NA = USSA76_AVOGADRO_PER_KMOL
_KB = USSA76_BOLTZMANN_J_K
_GMR = _G0 * _M0 / _R  # hydrostatic constant g0 M0 / R*, K/m'

# --- Section 1.2, Table 4: geopotential layer bases (m') and T_M gradients (K/m')
_HB = np.array([0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0])
_LB = np.array([-6.5e-3, 0.0, 1.0e-3, 2.8e-3, 0.0, -2.8e-3, -2.0e-3])

# Table 8: M/M0 at geometric altitudes 80.0, 80.5, ..., 86.0 km.
_Z_MRATIO = np.linspace(80_000.0, 86_000.0, 13)
_MRATIO = np.array(
    [1.0, 0.999996, 0.999989, 0.999971, 0.999941, 0.999909, 0.999870,
     0.999829, 0.999786, 0.999741, 0.999694, 0.999641, 0.999579]
)  # fmt: skip

# --- Section 1.3: upper atmosphere (Tables 5-7 and the text around eqs. 25-40)
_Z7, _Z8, _Z9, _Z10, _Z11, _Z12 = 86e3, 91e3, 110e3, 120e3, 500e3, 1000e3  # m
_T7 = 186.8673  # K, kinetic temperature 86-91 km
_TC, _A_ELL, _B_ELL = 263.1905, -76.3232, -19.9429e3  # eq. 27: K, K, m
_T9, _LK9 = 240.0, 12.0e-3  # K, K/m (110-120 km)
_T10, _TINF = 360.0, 1000.0  # K
_LAMBDA = _LK9 / (_TINF - _T10)  # 1/m, eq. 31 (0.01875 /km)

# Molecular weights (kg/kmol), Table 3 and Table 6.
_SPECIES = ("N2", "O", "O2", "Ar", "He", "H")
_M_I = {"N2": 28.0134, "O": 15.9994, "O2": 31.9988, "Ar": 39.948, "He": 4.0026, "H": 1.00797}
# Number densities at 86 km (1/m^3), section 1.3.3 / Table VIII; H at 500 km.
_N7 = {"N2": 1.129794e20, "O": 8.6e16, "O2": 3.030898e19, "Ar": 1.351400e18, "He": 7.5817e14}
_N_H_500 = 8.0e10
_PHI_H = 7.2e11  # upward hydrogen flux, 1/(m^2 s)
# Thermal-diffusion factors alpha_i and molecular-diffusion D_i = a_i/n (T/273.15)^b_i (Table 6).
_ALPHA = {"O": 0.0, "O2": 0.0, "Ar": 0.0, "He": -0.40, "H": -0.25}
_A_DIFF = {"O": 6.986e20, "O2": 4.863e20, "Ar": 4.487e20, "He": 1.700e21, "H": 3.305e21}
_B_DIFF = {"O": 0.750, "O2": 0.750, "Ar": 0.870, "He": 0.691, "H": 0.500}
# Vertical-flux term (Table 7), km units: Q (km^-3), U (km), W (km^-3); O also q, u, w below 97 km.
_Q = {"O": -5.809644e-4, "O2": 1.366212e-4, "Ar": 9.434079e-5, "He": -2.457369e-4}
_U = {"O": 56.90311, "O2": 86.0, "Ar": 86.0, "He": 86.0}
_W = {"O": 2.706240e-5, "O2": 8.333333e-5, "Ar": 8.333333e-5, "He": 6.666667e-4}
_Q_O, _U_O, _W_O = -3.416248e-3, 97.0, 5.008765e-4
_K7 = 1.2e2  # eddy diffusion coefficient 86-95 km, m^2/s (eq. 7a-c)

# --- Fast-path table
_Z_MIN = -5_000.0  # m, lowest tabulated altitude (clamped below)
_DZ = 10.0  # m, table and integration step
_INV_DZ = 1.0 / _DZ
_N_ROWS = int(round((_Z12 - _Z_MIN) / _DZ)) + 1
_SQRT_GAMMA = float(np.sqrt(USSA76_GAMMA))


class Atmosphere(NamedTuple):
    """Atmospheric state at the requested altitudes (SI units, shapes of the input)."""

    temperature_k: np.ndarray
    """Kinetic temperature, K."""
    pressure_pa: np.ndarray
    """Pressure, Pa."""
    density_kg_m3: np.ndarray
    """Mass density, kg/m^3."""
    speed_of_sound_mps: np.ndarray
    """Speed of sound sqrt(gamma p / rho), m/s (see the module docstring above 86 km)."""


# ------------------------------------------------------------------------------
# Exact model (used to build the table; also what the tests check the table against)


def _layer_base_values() -> tuple[np.ndarray, np.ndarray]:
    """T_M (K) and p (Pa) at the base of each of the seven layers (Table 4)."""
    tmb = np.empty(7)
    pb = np.empty(7)
    tmb[0], pb[0] = USSA76_T0_K, USSA76_P0_PA
    for b in range(6):
        dh = _HB[b + 1] - _HB[b]
        tmb[b + 1] = tmb[b] + _LB[b] * dh
        if _LB[b] == 0.0:
            pb[b + 1] = pb[b] * np.exp(-_GMR * dh / tmb[b])
        else:
            pb[b + 1] = pb[b] * (tmb[b] / tmb[b + 1]) ** (_GMR / _LB[b])
    return tmb, pb


_TMB, _PB = _layer_base_values()


def _lower_exact(z_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Section 1.2 model at geometric altitudes ``z_m`` <= 86 km: (T kinetic, p, rho).

    Below 0 m the first layer is extended (no clamping here).
    """
    z = np.asarray(z_m, dtype=np.float64)
    h = _R0 * z / (_R0 + z)  # geopotential height, eq. 18
    b = np.clip(np.searchsorted(_HB, h, side="right") - 1, 0, 6)
    lb, hb, tmb, pb = _LB[b], _HB[b], _TMB[b], _PB[b]
    tm = tmb + lb * (h - hb)
    iso = lb == 0.0
    safe_lb = np.where(iso, 1.0, lb)
    p = np.where(
        iso,
        pb * np.exp(-_GMR * (h - hb) / tmb),
        pb * (tmb / tm) ** (_GMR / safe_lb),
    )
    rho = p * _M0 / (_R * tm)
    t = tm * np.interp(z, _Z_MRATIO, _MRATIO, left=1.0, right=_MRATIO[-1])
    return t, p, rho


def _upper_temperature(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kinetic temperature (K) and dT/dZ (K/m) for 86 km <= z <= 1000 km (eqs. 25-31)."""
    t = np.full_like(z, _T7)
    dt = np.zeros_like(z)
    m = (z > _Z8) & (z <= _Z9)
    x = (z[m] - _Z8) / _B_ELL
    s = np.sqrt(1.0 - x * x)
    t[m] = _TC + _A_ELL * s
    dt[m] = -_A_ELL * x / (_B_ELL * s)
    m = (z > _Z9) & (z <= _Z10)
    t[m] = _T9 + _LK9 * (z[m] - _Z9)
    dt[m] = _LK9
    m = z > _Z10
    ratio = (_R0 + _Z10) / (_R0 + z[m])
    e = np.exp(-_LAMBDA * (z[m] - _Z10) * ratio)
    t[m] = _TINF - (_TINF - _T10) * e
    dt[m] = _LAMBDA * (_TINF - _T10) * ratio * ratio * e
    return t, dt


def _cumtrapz(y: np.ndarray, dx: float) -> np.ndarray:
    """Cumulative trapezoidal integral on a uniform grid, starting at 0."""
    out = np.empty_like(y)
    out[0] = 0.0
    np.cumsum(0.5 * dx * (y[1:] + y[:-1]), out=out[1:])
    return out


def _upper_profile(dz: float = _DZ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Section 1.3 model on the grid 86 km, 86 km + dz, ..., 1000 km.

    Returns (z_m, T_k, number densities per species in 1/m^3). ``dz`` must
    divide 64 km (so 150 km and 500 km are grid nodes).
    """
    n_steps = int(round((_Z12 - _Z7) / dz))
    z = _Z7 + dz * np.arange(n_steps + 1)
    zk = z * 1e-3
    t, dtdz = _upper_temperature(z)
    g = _G0 * (_R0 / (_R0 + z)) ** 2
    g_rt = g / (_R * t)
    # Mean molecular weight in the mixing term: M0 up to 100 km, M(N2) above (sec. 1.3.3).
    m_mix = np.where(z <= 100e3, _M0, _M_I["N2"])
    # Eddy diffusion coefficient (eq. 7): K7 to 95 km, bell-shaped decay to 0 at 115 km.
    k_eddy = np.zeros_like(z)
    k_eddy[zk < 95.0] = _K7
    m = (zk >= 95.0) & (zk < 115.0)
    k_eddy[m] = _K7 * np.exp(1.0 - 400.0 / (400.0 - (zk[m] - 95.0) ** 2))

    n: dict[str, np.ndarray] = {}
    # N2: fully mixed (M0) to 100 km, then its own diffusive equilibrium.
    n["N2"] = _N7["N2"] * (_T7 / t) * np.exp(-_cumtrapz(m_mix * g_rt, dz))

    below150 = zk <= 150.0

    def minor(sp: str, background: np.ndarray) -> np.ndarray:
        d = _A_DIFF[sp] / background * (t / 273.15) ** _B_DIFF[sp]
        frac = d / (d + k_eddy)
        f = g_rt * frac * (_M_I[sp] + m_mix * k_eddy / d) + _ALPHA[sp] * frac * dtdz / t
        # Vertical-flux term (eq. 37), km^-1 -> m^-1; neglected above 150 km.
        v = np.zeros_like(z)
        dzu = zk[below150] - _U[sp]
        v[below150] = _Q[sp] * dzu**2 * np.exp(-_W[sp] * dzu**3)
        if sp == "O":
            low = zk <= _U_O
            du = _U_O - zk[low]
            v[low] += _Q_O * du**2 * np.exp(-_W_O * du**3)
        n_sp: np.ndarray = _N7[sp] * (_T7 / t) * np.exp(-_cumtrapz(f + v * 1e-3, dz))
        return n_sp

    n["O"] = minor("O", n["N2"])
    n["O2"] = minor("O2", n["N2"])
    heavy = n["N2"] + n["O"] + n["O2"]
    n["Ar"] = minor("Ar", heavy)
    n["He"] = minor("He", heavy)

    # Atomic hydrogen (eqs. 38-40), from 150 km; zero below.
    i150 = int(round((150e3 - _Z7) / dz))
    i500 = int(round((_Z11 - _Z7) / dz))
    th = t[i150:]
    tau = _cumtrapz(_M_I["H"] * g_rt[i150:], dz)
    tau -= tau[i500 - i150]  # tau(Z) = integral from 500 km to Z
    t11 = t[i500]
    background = (heavy + n["Ar"] + n["He"])[i150:]
    d_h = _A_DIFF["H"] / background * (th / 273.15) ** _B_DIFF["H"]
    expo = 1.0 + _ALPHA["H"]
    flux = _cumtrapz(_PHI_H / d_h * (th / t11) ** expo * np.exp(tau), dz)
    flux = np.where(z[i150:] <= _Z11, flux[i500 - i150] - flux, 0.0)  # integral Z..500 km
    n["H"] = np.zeros_like(z)
    n["H"][i150:] = (_N_H_500 + flux) * (t11 / th) ** expo * np.exp(-tau)
    return z, t, n


def _build_table() -> tuple[np.ndarray, float, float]:
    """Tabulate (T, ln p, ln rho) every 10 m from -5 km to 1000 km.

    Returns the (rows, 6) table [T, ln p, ln rho, dT, d ln p, d ln rho] (the
    d-columns are per-cell increments) and the 1000-km decay constants.
    """
    z = _Z_MIN + _DZ * np.arange(_N_ROWS)
    i86 = int(round((_Z7 - _Z_MIN) / _DZ))
    vals = np.empty((_N_ROWS, 3))
    t_lo, p_lo, rho_lo = _lower_exact(z[: i86 + 1])
    vals[: i86 + 1, 0] = t_lo
    vals[: i86 + 1, 1] = np.log(p_lo)
    vals[: i86 + 1, 2] = np.log(rho_lo)

    z_up, t_up, n = _upper_profile(_DZ)
    assert z_up.size == _N_ROWS - i86
    n_tot = sum(n[s] for s in _SPECIES)
    ln_p = np.log(n_tot * _KB * t_up)
    ln_rho = np.log(sum(n[s] * _M_I[s] for s in _SPECIES) / _NA)
    # Join at 86 km: one constant factor each for p and rho (see module docstring).
    ln_p += vals[i86, 1] - ln_p[0]
    ln_rho += vals[i86, 2] - ln_rho[0]
    vals[i86:, 0] = t_up
    vals[i86:, 1] = ln_p
    vals[i86:, 2] = ln_rho

    table = np.zeros((_N_ROWS, 6))
    table[:, :3] = vals
    table[:-1, 3:] = np.diff(vals, axis=0)
    # Above 1000 km: ln p and ln rho fall by c_top * (1/(r0+Z12) - 1/(r0+Z)).
    t_top = vals[-1, 0]
    m_top = np.exp(vals[-1, 2] - vals[-1, 1]) * _R * t_top  # mean molecular weight at 1000 km
    c_top = m_top * _G0 * _R0 * _R0 / (_R * t_top)  # m
    return table, c_top, c_top / (_R0 + _Z12)


_TABLE: np.ndarray | None = None
_C_TOP = 0.0  # m, see _build_table
_C_TOP_OVER_R12 = 0.0


def _table() -> np.ndarray:
    global _TABLE, _C_TOP, _C_TOP_OVER_R12
    if _TABLE is None:
        _TABLE, _C_TOP, _C_TOP_OVER_R12 = _build_table()
    return _TABLE


# ------------------------------------------------------------------------------
# Public API


def _as_altitudes(h_m: ArrayLike) -> np.ndarray:
    try:
        h = np.asarray(h_m, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"h_m must be a geometric altitude in metres, a number or a 1-D array of numbers; "
            f"got {type(h_m).__name__} that cannot be converted to float ({exc})."
        ) from None
    return h


def _evaluate(h_m: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """(T, ln p, ln rho) as flat arrays, plus the input shape."""
    table = _table()
    h = _as_altitudes(h_m)
    shape = h.shape
    h = h.ravel()
    u = (h - _Z_MIN) * _INV_DZ
    np.clip(u, 0.0, _N_ROWS - 1.0, out=u)  # NaN stays NaN
    nan = np.isnan(u)
    any_nan = bool(nan.any())
    if any_nan:
        u[nan] = 0.0
    i = u.astype(np.intp)
    frac = u - i
    rows = table[i]
    vals = rows[:, :3]
    vals += frac[:, None] * rows[:, 3:]
    t, ln_p, ln_rho = vals[:, 0], vals[:, 1], vals[:, 2]
    high = h > _Z12
    if high.any():
        drop = _C_TOP_OVER_R12 - _C_TOP / (_R0 + h[high])
        ln_p[high] -= drop
        ln_rho[high] -= drop
    if any_nan:
        t[nan] = np.nan
        ln_p[nan] = np.nan
        ln_rho[nan] = np.nan
    return t, ln_p, ln_rho, shape


def _shaped(x: np.ndarray, shape: tuple[int, ...]) -> NDArray[np.float64]:
    shaped: NDArray[np.float64] = x.reshape(shape)[()] if shape == () else x.reshape(shape)  # () -> a numpy scalar
    return shaped


def ussa76(h_m: ArrayLike) -> Atmosphere:
    """U.S. Standard Atmosphere 1976 at geometric altitude(s) ``h_m`` (m).

    ``h_m`` is a number or an ``(N,)`` array (any shape works); every field of
    the returned :class:`Atmosphere` has that shape (a scalar for scalar
    input). Valid range of the standard: 0-1000 km; -5 km to 0 extends the
    first layer, below -5 km the -5 km values are returned, above 1000 km a
    continuous isothermal decay (module docstring). NaN in -> NaN out.
    """
    t, ln_p, ln_rho, shape = _evaluate(h_m)
    p = np.exp(ln_p)
    rho = np.exp(ln_rho)
    c = _SQRT_GAMMA * np.exp(0.5 * (ln_p - ln_rho))  # sqrt(gamma p / rho)
    return Atmosphere(_shaped(t, shape), _shaped(p, shape), _shaped(rho, shape), _shaped(c, shape))


def density(h_m: ArrayLike) -> NDArray[np.float64]:
    """Mass density (kg/m^3) of USSA76 at geometric altitude(s) ``h_m`` (m); see :func:`ussa76`."""
    _, _, ln_rho, shape = _evaluate(h_m)
    return _shaped(np.exp(ln_rho), shape)


def pressure(h_m: ArrayLike) -> NDArray[np.float64]:
    """Pressure (Pa) of USSA76 at geometric altitude(s) ``h_m`` (m); see :func:`ussa76`."""
    _, ln_p, _, shape = _evaluate(h_m)
    return _shaped(np.exp(ln_p), shape)


def speed_of_sound(h_m: ArrayLike) -> NDArray[np.float64]:
    """Speed of sound (m/s) of USSA76 at geometric altitude(s) ``h_m`` (m); see :func:`ussa76`."""
    _, ln_p, ln_rho, shape = _evaluate(h_m)
    return _shaped(_SQRT_GAMMA * np.exp(0.5 * (ln_p - ln_rho)), shape)


# ------------------------------------------------------------------------------
# Compiled evaluation (for numba kernels: the same table and arithmetic as _evaluate)


def compiled_tables() -> tuple[NDArray[np.float64], float, float]:
    """The arguments a kernel passes to :func:`density_sound_nb`: the fast-path table and the
    above-1000-km decay constants ``(table, c_top_m, c_top_over_r12)`` (built at first use)."""
    table = _table()
    return table, _C_TOP, _C_TOP_OVER_R12


DENSITY_KINK_MIN_JUMP = 2e-3
"""Relative jump of the slope of ln rho between table cells above which :func:`density_kinks_m` lists a row."""


@lru_cache(maxsize=1)
def density_kinks_m() -> NDArray[np.float64]:
    """Altitudes (m, increasing) of the fast-path table rows where the slope of ln rho jumps by more
    than :data:`DENSITY_KINK_MIN_JUMP` (relative): the rows on each side of the layer boundaries of
    Table 4 (11-71 km), 86 km and 100 km (14 rows). The density is continuous but its slope is not: a
    Runge-Kutta step across one loses its order, so an integrator steps onto them
    (:mod:`rangeguard.iip.drag`). Computed once, read-only."""
    slope = _table()[:-1, 5]
    jump = np.abs(np.diff(slope)) / np.abs(slope[1:])
    rows = 1 + np.flatnonzero(jump > DENSITY_KINK_MIN_JUMP)
    kinks = np.asarray(_Z_MIN + _DZ * rows, dtype=np.float64)
    kinks.setflags(write=False)
    return kinks


@kernel(inline="always")
def density_sound_nb(
    h_m: float, table: NDArray[np.float64], c_top_m: float, c_top_over_r12: float
) -> tuple[float, float]:
    """Scalar numba kernel: USSA76 (density kg/m^3, speed of sound m/s) at geometric altitude ``h_m``.

    The fast path of :func:`ussa76` (the 10 m table, linear in T, ln p, ln rho; the isothermal decay
    above 1000 km; clamped below -5 km), with the table of :func:`compiled_tables`. NaN gives NaN."""
    u = (h_m - _Z_MIN) * _INV_DZ
    if u != u:
        return math.nan, math.nan
    u = min(max(u, 0.0), _N_ROWS - 1.0)
    i = int(u)
    frac = u - i
    ln_p = table[i, 1] + frac * table[i, 4]
    ln_rho = table[i, 2] + frac * table[i, 5]
    if h_m > _Z12:
        drop = c_top_over_r12 - c_top_m / (_R0 + h_m)
        ln_p -= drop
        ln_rho -= drop
    return math.exp(ln_rho), _SQRT_GAMMA * math.exp(0.5 * (ln_p - ln_rho))
