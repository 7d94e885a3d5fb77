"""Vacuum instantaneous impact point on the rotating WGS84 ellipsoid, exact.

The model: after engine cut-off the vehicle flies a two-body (Kepler) arc
under point-mass gravity ``mu`` (:data:`~rangeguard.constants.MU_EARTH_M3_S2`)
in inertial space, while the WGS84 ellipsoid rotates under it at ``omega``
(:data:`~rangeguard.constants.OMEGA_EARTH_RAD_S`). The impact point is the
first point of the arc, after t0, whose geodetic height is the ground height ``h`` (0 by default;
the mission's ``site.ground_height_m``).

How it is solved (see ``design/iip.md`` for the derivation and the checks):

1. The inertial frame is the ECEF frame frozen at t0: ``r_i = r_ecef`` and
   ``v_i = v_ecef + omega x r_ecef``.
2. Geodetic height depends only on ``z`` and ``sqrt(x^2 + y^2)``, both
   unchanged by a rotation about the z axis, so whether a point is on the
   ellipsoid does not depend on the Earth's rotation angle. The impact
   condition is therefore solved on the fixed inertial conic, without time:
   ``F = (x^2 + y^2)/a^2 + z^2/b^2 - 1 = 0``.
3. The conic is parameterised by the change of eccentric anomaly ``dE`` with
   the Lagrange f and g functions, ``r(dE) = f r0 + g v0`` (Battin,
   *An Introduction to the Mathematics and Methods of Astrodynamics*, 1999,
   sec. 4.6). This form has no singularity at e -> 1 (a straight-up or
   straight-down flight is an ordinary case) and ``e`` itself is built from
   ``e cos E0 = 1 - r0/a`` and ``e sin E0 = r0.v0 / sqrt(mu a)``.
4. Halley's method on ``F(dE)`` starts at the descending crossing of the
   sphere through the start point's ellipsoid radius (closed form) and
   converges in 2-3 iterations. A cheap sufficient test (below) proves that
   the root found is the *first* descending crossing; the rare cases it
   cannot prove (grazing, near-orbital arcs) go to a sampled bracket search.
5. Time of flight from Kepler's equation written in differences,
   ``dt = sqrt(a^3/mu) [dE - e cos E0 sin dE + e sin E0 (1 - cos dE)]``.
6. The inertial impact point rotated by ``-omega * dt`` about z is the ECEF
   impact point: the rotation keeps z and sqrt(x^2 + y^2), and the point lies
   on the ellipsoid, so its geodetic latitude is
   ``atan2(z, (1 - e^2) sqrt(x^2 + y^2))`` of the inertial point exactly, and
   its longitude ``atan2(y, x) - omega * dt`` (wrapped to [-pi, pi)).
7. Ground height ``h`` other than 0: steps 2-4 run on the ellipsoid of semi-axes ``a + h`` and
   ``b + h``, which lies within a few metres of the surface of constant geodetic height ``h`` (the
   difference is of order ``h e^2``); two Newton steps on the exact geodetic height along the conic
   (``dh/ddE = n . dr/ddE``, ``n`` the ellipsoid normal) then put the point on that surface (to well
   under a millimetre), and its latitude comes from the full geodetic conversion.

The published methods this replaces: the FAA iterative method (14 CFR Part
420, Appendix B) and the non-iterative method of Ahn & Roh (2012), "Non-
iterative instantaneous impact point prediction algorithm for launch
operations", JGCD 35(2):645-648.

First-root proof used in step 4. ``dF/dt = 2 r rdot g + r^2 dg/dt`` with
``g = (xh^2 + yh^2)/a^2 + zh^2/b^2`` on the unit vector; ``|dg/dt| <=
(1/b^2 - 1/a^2) h / r^2`` (h the angular momentum), so F strictly decreases
wherever ``rdot < -T`` with ``T = (a^2 - b^2) h / (2 b^3)``. Outside the flat
regions ``|rdot| < T`` (around apogee and perigee) F is monotone on each
branch; in the apogee flat region F stays positive if the radial height
above the ellipsoid there exceeds ``4 T^2 / |rddot|`` (the radius falls by
at most ``T^2 / (2 |rddot|)`` and the ellipsoid radius grows by at most
``T * 2T/|rddot|`` within it).

Special cases (all without exceptions or warnings):
- NaN or inf in the state: NaN.
- Not bound (parabolic or hyperbolic, specific energy >= 0): NaN.
- Bound but never meets the ellipsoid (an orbit): NaN.
- Already at or below the surface (geodetic height <= 0): the point itself,
  ``tof = 0``. A vehicle on or under the ground has met it; the onboard rule
  sees the pad, not a downrange point, while the vehicle sits on the pad.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, WGS84_A_M, WGS84_B_M, WGS84_E2
from rangeguard.earth._polygon_kernels import unit_vector
from rangeguard.earth.geodesy import geodetic_from_ecef_nb
from rangeguard.errors import InputError
from rangeguard.jit import kernel, rows_kernel

_A = WGS84_A_M
_B = WGS84_B_M
_ONE_MINUS_E2 = 1.0 - WGS84_E2
_MU = MU_EARTH_M3_S2
_INV_MU = 1.0 / MU_EARTH_M3_S2
_INV_SQRT_MU = 1.0 / math.sqrt(MU_EARTH_M3_S2)
_OMEGA = OMEGA_EARTH_RAD_S
_TWO_PI = 2.0 * math.pi
_NEWTON_MAX_IT = 12
_NEWTON_TOL = 1e-5  # rad; Halley leaves an error ~ step^3, the last step is applied to 2nd order
_SCAN_SAMPLES = 128  # per shell arc, fallback search only
GROUND_HEIGHT_LIMIT_M = 10_000.0
"""The ground heights :func:`impact_point` takes, m: +-10 km covers every launch and impact site (the
approximation of step 7 is checked to that height)."""
_HEIGHT_NEWTON_STEPS = 2  # from a few metres off the surface of constant height to well under 1 mm (step 7)


@kernel(inline="always")
def _lagrange_fg(
    s: float, c: float, omc: float, ar: float, ra_n: float, es_n: float
) -> tuple[float, float, float, float, float, float]:
    """The Lagrange f and g functions of the change of eccentric anomaly dE and their first and
    second derivatives with respect to dE: ``r(dE) = f r0 + g v0`` (Battin 1999, sec. 4.6).

    ``s``, ``c``, ``omc``: sin dE, cos dE, 1 - cos dE; ``ar`` = a / r0; ``ra_n`` = sqrt(a^3/mu) r0 / a;
    ``es_n`` = sqrt(a^3/mu) e sin E0 (computed once in :func:`_impact`). Returns (f, g, f', g', f'', g'').
    The one definition of f and g here (unused derivatives are compiled away).
    """
    f = 1.0 - ar * omc
    g = ra_n * s + es_n * omc
    fp = -ar * s
    gp = ra_n * c + es_n * s
    fpp = -ar * c
    gpp = es_n * c - ra_n * s
    return f, g, fp, gp, fpp, gpp


@kernel(inline="always")
def _one_minus_cos(s: float, c: float) -> float:
    """1 - cos dE from sin dE and cos dE, without cancellation near dE = 0."""
    return s * s / (1.0 + c) if c > 0.0 else 1.0 - c


@kernel(inline="always")
def _conic_point(
    dE: float, x: float, y: float, z: float, wx: float, wy: float, wz: float, ar: float, ra_n: float, es_n: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Position on the conic and its derivative w.r.t. dE (f and g functions); also sin, cos and
    1 - cos of dE."""
    s = math.sin(dE)
    c = math.cos(dE)
    omc = _one_minus_cos(s, c)
    f, g, fp, gp, _fpp, _gpp = _lagrange_fg(s, c, omc, ar, ra_n, es_n)
    px = f * x + g * wx
    py = f * y + g * wy
    pz = f * z + g * wz
    dx = fp * x + gp * wx
    dy = fp * y + gp * wy
    dz = fp * z + gp * wz
    return px, py, pz, dx, dy, dz, s, c, omc


@kernel(inline="always")
def _surface_fn(
    px: float, py: float, pz: float, dx: float, dy: float, dz: float, ia2: float, ib2: float
) -> tuple[float, float]:
    """Ellipsoid function F and dF/ddE (``ia2``, ``ib2``: 1 / the squared semi-axes)."""
    F = (px * px + py * py) * ia2 + pz * pz * ib2 - 1.0
    Fp = 2.0 * ((px * dx + py * dy) * ia2 + pz * dz * ib2)
    return F, Fp


@kernel()
def _bracket_root(
    lo: float,
    hi: float,
    x: float,
    y: float,
    z: float,
    wx: float,
    wy: float,
    wz: float,
    ar: float,
    ra_n: float,
    es_n: float,
    ia2: float,
    ib2: float,
) -> float:
    """Safeguarded Newton on F within [lo, hi], F(lo) > 0 >= F(hi). Returns dE."""
    dE = 0.5 * (lo + hi)
    for _ in range(100):
        px, py, pz, dx, dy, dz, s, c, omc = _conic_point(dE, x, y, z, wx, wy, wz, ar, ra_n, es_n)
        F, Fp = _surface_fn(px, py, pz, dx, dy, dz, ia2, ib2)
        if F > 0.0:
            lo = dE
        else:
            hi = dE
        new = dE - F / Fp if Fp != 0.0 else 0.5 * (lo + hi)
        if not (lo < new < hi):
            new = 0.5 * (lo + hi)
        if abs(new - dE) < 1e-13 or hi - lo < 1e-13:
            return new
        dE = new
    return dE


@kernel()
def _scan_first_root(
    E0: float,
    cA: float,
    cB: float,
    x: float,
    y: float,
    z: float,
    wx: float,
    wy: float,
    wz: float,
    ar: float,
    ra_n: float,
    es_n: float,
    ia2: float,
    ib2: float,
) -> float:
    """Fallback: the first descending root of F after dE = 0, by sampling the
    arcs where the radius lies between b and a (the only place F changes sign),
    then a bracketed Newton. Returns dE, or NaN if the conic never meets the
    ellipsoid."""
    psi = math.acos(min(1.0, max(-1.0, cA)))  # r <= a  <=>  |E| <= psi (E from perigee)
    if cB < 1.0:
        phi = math.acos(max(-1.0, cB))  # r < b  <=>  |E| < phi: F < 0 for sure
    else:
        phi = -psi  # perigee above b: the arc runs through perigee to the exit
    # Absolute eccentric-anomaly intervals to search, in time order after E0.
    starts = np.empty(2)
    ends = np.empty(2)
    n = 0
    if E0 > phi:  # past the descending part of this pass (ascending or beyond)
        if E0 < psi:
            starts[n] = E0
            ends[n] = psi
            n += 1
        starts[n] = _TWO_PI - psi
        ends[n] = _TWO_PI - phi
        n += 1
    else:
        starts[n] = max(E0, -psi)
        ends[n] = -phi
        n += 1
    prev = 0.0
    prevF = 1.0
    for k in range(n):
        e0 = starts[k] - E0
        e1 = ends[k] - E0
        if e1 <= e0:
            continue
        for i in range(_SCAN_SAMPLES + 1):
            dE = e0 + (e1 - e0) * i / _SCAN_SAMPLES
            px, py, pz, dx, dy, dz, s, c, omc = _conic_point(dE, x, y, z, wx, wy, wz, ar, ra_n, es_n)
            F, Fp = _surface_fn(px, py, pz, dx, dy, dz, ia2, ib2)
            if F <= 0.0:
                if i == 0 and k == 0 and dE <= 0.0:
                    return 0.0
                lo = prev if (i > 0 or prevF > 0.0) else e0
                return _bracket_root(lo, dE, x, y, z, wx, wy, wz, ar, ra_n, es_n, ia2, ib2)
            prev = dE
            prevF = F
    return np.nan


@kernel()
def _impact(
    x: float, y: float, z: float, vx: float, vy: float, vz: float, h: float
) -> tuple[float, float, float, float, float, float]:
    """The vacuum IIP (lat_rad, lon_rad, tof_s) and the inertial impact point (px, py, pz), m, on the
    ground at geodetic height ``h`` (m).

    The impact point is in the ECEF axes frozen at the initial time; NaN where
    there is no impact, and where the state is at or below the surface (then
    the IIP is the state's own geodetic position with tof_s = 0).
    """
    nan = np.nan
    if not (
        math.isfinite(x)
        and math.isfinite(y)
        and math.isfinite(z)
        and math.isfinite(vx)
        and math.isfinite(vy)
        and math.isfinite(vz)
    ):
        return nan, nan, nan, nan, nan, nan
    # the ground: the ellipsoid of semi-axes a + h, b + h (exactly WGS84 for h = 0; step 7 of the docstring)
    a_g = _A + h
    b_g = _B + h
    ia2 = 1.0 / (a_g * a_g)
    ib2 = 1.0 / (b_g * b_g)
    F0 = (x * x + y * y) * ia2 + z * z * ib2 - 1.0
    if F0 <= 0.0:
        lat, lon, _h = geodetic_from_ecef_nb(x, y, z)
        return lat, lon, 0.0, nan, nan, nan
    # Inertial state (ECEF axes frozen at t0).
    wx = vx - _OMEGA * y
    wy = vy + _OMEGA * x
    wz = vz
    r0 = math.sqrt(x * x + y * y + z * z)
    inv_r0 = 1.0 / r0
    v2 = wx * wx + wy * wy + wz * wz
    rv = x * wx + y * wy + z * wz
    alpha = 2.0 * inv_r0 - v2 * _INV_MU  # 1 / semi-major axis
    if alpha <= 0.0:
        return nan, nan, nan, nan, nan, nan  # parabolic or hyperbolic: escapes
    a = 1.0 / alpha
    sqrt_alpha = math.sqrt(alpha)
    n_inv = a * a * sqrt_alpha * _INV_SQRT_MU  # sqrt(a^3 / mu), s
    ecos0 = 1.0 - r0 * alpha
    esin0 = rv * sqrt_alpha * _INV_SQRT_MU  # r0.v0 / sqrt(mu a)
    e = math.sqrt(ecos0 * ecos0 + esin0 * esin0)
    # the constants of the f and g functions (_lagrange_fg)
    ar = a * inv_r0
    ra_n = n_inv * r0 * alpha  # n_inv / ar
    es_n = n_inv * esin0
    if a * (1.0 - e) >= a_g:
        return nan, nan, nan, nan, nan, nan  # perigee above the equatorial radius: an orbit
    hx = y * wz - z * wy
    hy = z * wx - x * wz
    hz = x * wy - y * wx
    hmom = math.sqrt(hx * hx + hy * hy + hz * hz)
    T = (a_g * a_g - b_g * b_g) / (2.0 * b_g * b_g * b_g) * hmom

    # Fast path: Halley iterations from the descending crossing of the sphere
    # of radius R_e(start direction) = r0 / sqrt(F0 + 1). The angle dE and its
    # sine and cosine are carried together; small steps rotate (sin, cos) by
    # a Taylor series instead of calling sin/cos again.
    ok = False
    dE = 0.0
    s = 0.0
    c = 1.0
    step = 0.0
    px = py = pz = dx = dy = dz = ddx = ddy = ddz = 0.0
    inv_e = 1.0 / e if e > 0.0 else 0.0
    cos_s = (1.0 - r0 / math.sqrt(F0 + 1.0) * alpha) * inv_e if e > 0.0 else 2.0
    if cos_s <= 1.0:
        cos_s = max(-1.0, cos_s)
        sin_s = -math.sqrt(1.0 - cos_s * cos_s)  # descending half, E in [pi, 2 pi]
        cE0 = ecos0 * inv_e
        sE0 = esin0 * inv_e
        c = cos_s * cE0 + sin_s * sE0  # cos(E_s - E0)
        s = sin_s * cE0 - cos_s * sE0  # sin(E_s - E0)
        # dE = (E_s - E0) mod 2 pi, in [0, 2 pi), from its own sine and cosine
        dE = math.atan2(s, c)
        if dE < 0.0:
            dE += _TWO_PI
        if dE > _TWO_PI - 1e-9:
            dE -= _TWO_PI  # rounding put a crossing at the start one turn ahead
        for _ in range(_NEWTON_MAX_IT):
            omc = _one_minus_cos(s, c)
            f, g, fp, gp, fpp, gpp = _lagrange_fg(s, c, omc, ar, ra_n, es_n)
            px = f * x + g * wx
            py = f * y + g * wy
            pz = f * z + g * wz
            dx = fp * x + gp * wx
            dy = fp * y + gp * wy
            dz = fp * z + gp * wz
            ddx = fpp * x + gpp * wx
            ddy = fpp * y + gpp * wy
            ddz = fpp * z + gpp * wz
            F = (px * px + py * py) * ia2 + pz * pz * ib2 - 1.0
            F1 = 2.0 * ((px * dx + py * dy) * ia2 + pz * dz * ib2)
            if not F1 < 0.0:
                break  # not a descending crossing: let the fallback decide
            F2 = 2.0 * ((dx * dx + dy * dy + px * ddx + py * ddy) * ia2 + (dz * dz + pz * ddz) * ib2)
            # Halley, F / F1 / (1 - q) with q = F F2 / (2 F1^2) (cubic convergence),
            # written with one division; Newton where |q| >= 1/2.
            hq = 0.5 * F * F2
            F1sq = F1 * F1
            if abs(hq) < 0.5 * F1sq:
                step = F * F1 / (F1sq - hq)
            else:
                step = F / F1
            dE -= step
            if abs(step) < _NEWTON_TOL:
                ok = True
                break
            if abs(step) < 0.01:
                t2 = step * step
                sd = step * (1.0 - t2 / 6.0 * (1.0 - t2 / 20.0))
                cd = 1.0 - t2 / 2.0 * (1.0 - t2 / 12.0 * (1.0 - t2 / 30.0))
            else:
                sd = math.sin(step)
                cd = math.cos(step)
            s, c = s * cd - c * sd, c * cd + s * sd
        if ok:
            # Validate: the root is the first descending one (module docstring).
            esinE = ecos0 * s + esin0 * c  # e sin E at the root (before the last tiny step)
            ecosE = ecos0 * c - esin0 * s
            # rdot = a esinE / (n_inv (1 - ecosE)) < -T, with 1 - ecosE > 0 (e < 1)
            rdot_lt_minus_t = a * esinE < -T * n_inv * (1.0 - ecosE)
            # Before the next perigee: a descending root (rdot < 0) with 0 <= dE < 2 pi is
            # before it when the start is ascending or at apogee (e sin E0 >= 0: the pass
            # descends once, E in (pi, 2 pi)); from a descending start (E0 in (-pi, 0))
            # the roots before perigee have dE < -E0 < pi, those of the next pass dE > pi.
            if dE < -1e-9 or dE >= _TWO_PI or (esin0 < 0.0 and dE >= math.pi) or not rdot_lt_minus_t:
                ok = False
            else:
                rdot0 = rv * inv_r0
                if rdot0 > -T:
                    if rdot0 < T and ecos0 >= 0.0:
                        ok = False  # starts in the perigee flat region: grazing
                    else:
                        # apogee flat region: height margin at its reference point
                        rref = a * (1.0 + e) if rdot0 > 0.0 else r0
                        # rddot = (h^2 / rref - mu) / rref^2; the test height > 4 T^2 / -rddot
                        # is height (mu rref - h^2) > 4 T^2 rref^3 (when rddot < 0). The
                        # lower bound rref - a on the height (the ellipsoid is nowhere
                        # above a) settles nearly every case without a square root.
                        h2 = hmom * hmom
                        pull = _MU * rref - h2  # -rddot rref^3
                        need = 4.0 * T * T * rref * rref * rref
                        if not (pull > 0.0 and (rref - a_g) * pull > need):
                            if rdot0 > 0.0:
                                f, g, _fp, _gp, _fpp, _gpp = _lagrange_fg(sE0, -cE0, 1.0 + cE0, ar, ra_n, es_n)
                                gx, gy, gz = f * x + g * wx, f * y + g * wy, f * z + g * wz
                            else:
                                gx, gy, gz = x, y, z
                            Fref = (gx * gx + gy * gy) * ia2 + gz * gz * ib2
                            height = rref - rref / math.sqrt(Fref)
                            if not (pull > 0.0 and height * pull > need):
                                ok = False
        if ok:
            # apply the last (tiny) step to the position, to second order,
            # and to the angle
            h2 = 0.5 * step * step
            px += h2 * ddx - step * dx
            py += h2 * ddy - step * dy
            pz += h2 * ddz - step * dz
            s, c = s * (1.0 - h2) - step * c, c * (1.0 - h2) + step * s
            omc = _one_minus_cos(s, c)
    if not ok:
        cA = (1.0 - a_g * alpha) / e if e > 0.0 else -2.0
        cB = (1.0 - b_g * alpha) / e if e > 0.0 else -2.0
        dE = _scan_first_root(math.atan2(esin0, ecos0), cA, cB, x, y, z, wx, wy, wz, ar, ra_n, es_n, ia2, ib2)
        if not math.isfinite(dE):
            return nan, nan, nan, nan, nan, nan  # an orbit that passes through the shell b < r < a
        px, py, pz, dx, dy, dz, s, c, omc = _conic_point(dE, x, y, z, wx, wy, wz, ar, ra_n, es_n)
    if dE < 0.0:
        dE = 0.0
        s = 0.0
        omc = 0.0
    if h != 0.0:
        # step 7: Newton on the exact geodetic height along the conic
        lat = 0.0
        for _ in range(_HEIGHT_NEWTON_STEPS):
            px, py, pz, dx, dy, dz, s, c, omc = _conic_point(dE, x, y, z, wx, wy, wz, ar, ra_n, es_n)
            lat, lon_i, hgt = geodetic_from_ecef_nb(px, py, pz)
            cl = math.cos(lat)
            slope = cl * math.cos(lon_i) * dx + cl * math.sin(lon_i) * dy + math.sin(lat) * dz
            if slope < 0.0:
                dE -= (hgt - h) / slope
        px, py, pz, dx, dy, dz, s, c, omc = _conic_point(dE, x, y, z, wx, wy, wz, ar, ra_n, es_n)
        lat, lon_i, _hgt = geodetic_from_ecef_nb(px, py, pz)
        tof = n_inv * (dE - ecos0 * s + esin0 * omc)
        lon = lon_i - _OMEGA * tof
        while lon < -math.pi:
            lon += _TWO_PI
        return lat, lon, tof, px, py, pz
    tof = n_inv * (dE - ecos0 * s + esin0 * omc)
    # The ECEF impact point is the inertial one rotated by -omega tof about z: the
    # same z and distance from the axis (so the same geodetic latitude), and the
    # longitude less omega tof.
    lat = math.atan2(pz, _ONE_MINUS_E2 * math.sqrt(px * px + py * py))
    lon = math.atan2(py, px) - _OMEGA * tof
    while lon < -math.pi:
        lon += _TWO_PI
    return lat, lon, tof, px, py, pz


@kernel()
def impact_point_nb(
    x: float, y: float, z: float, vx: float, vy: float, vz: float, h: float = 0.0
) -> tuple[float, float, float]:
    """Vacuum IIP of one state: numba scalar kernel for other numba code.

    Input: ECEF position (m), Earth-relative ECEF velocity (m/s) and the ground's geodetic height ``h`` (m,
    default 0: the ellipsoid).
    Returns ``(lat_rad, lon_rad, tof_s)``: geodetic latitude and longitude
    (radians, WGS84) of the impact point and the time of flight (s). NaN
    where there is no impact or the input is not finite; the point itself
    with ``tof_s = 0`` where the state is at or below the surface.
    """
    lat, lon, tof, _px, _py, _pz = _impact(x, y, z, vx, vy, vz, h)
    return lat, lon, tof


@kernel()
def impact_point_unit_nb(
    x: float, y: float, z: float, vx: float, vy: float, vz: float, h: float = 0.0
) -> tuple[float, float, float, float, float, float]:
    """:func:`impact_point_nb` and the geocentric unit vector of the impact point.

    Returns ``(lat_rad, lon_rad, tof_s, ux, uy, uz)``; u is the direction
    from the Earth's centre to the ECEF impact point on the ellipsoid, i.e.
    normalize(cos lat cos lon, cos lat sin lon, (1 - e^2) sin lat). It is
    the inertial impact point turned by -omega tof about z (the Earth's
    rotation during the flight): two trigonometric calls instead of four.
    On ground at a height ``h`` other than 0 the point is above the ellipsoid:
    u is then that of its foot, from the latitude and longitude. NaN where
    there is no impact.
    """
    lat, lon, tof, px, py, pz = _impact(x, y, z, vx, vy, vz, h)
    if px == px and h == 0.0:
        phi = _OMEGA * tof
        c, s = math.cos(phi), math.sin(phi)
        ex, ey = px * c + py * s, py * c - px * s
        inv = 1.0 / math.sqrt(ex * ex + ey * ey + pz * pz)
        return lat, lon, tof, ex * inv, ey * inv, pz * inv
    if lat == lat:  # at or below the surface: the foot of the state on the ellipsoid
        ux, uy, uz = unit_vector(lat, lon)
        return lat, lon, tof, ux, uy, uz
    return lat, lon, tof, np.nan, np.nan, np.nan


@rows_kernel()
def _impact_rows(
    r: NDArray[np.float64],
    v: NDArray[np.float64],
    h: float,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    tof: NDArray[np.float64],
    lo: int,
    hi: int,
) -> None:
    """:func:`impact_point_nb` of rows lo..hi-1 of r, v (m, m/s) on ground at height h (m) into lat, lon
    (rad) and tof (s)."""
    for i in range(lo, hi):
        lat[i], lon[i], tof[i] = impact_point_nb(r[i, 0], r[i, 1], r[i, 2], v[i, 0], v[i, 1], v[i, 2], h)


def _state_arrays(r_ecef: ArrayLike, v_ecef: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate and return float64 arrays of a common shape (3,) or (N, 3)."""
    r = np.asarray(r_ecef, dtype=np.float64)
    v = np.asarray(v_ecef, dtype=np.float64)
    for arr, name, unit in ((r, "r_ecef", "m"), (v, "v_ecef", "m/s")):
        if arr.ndim not in (1, 2) or arr.shape[-1] != 3:
            raise InputError(
                f"{name} must be an ECEF vector of shape (3,) or a batch of shape (N, 3), in {unit}; "
                f"got shape {arr.shape}. Stack vectors as rows, e.g. np.column_stack([x, y, z])."
            )
    if r.shape != v.shape:
        try:
            r, v = np.broadcast_arrays(r, v)
        except ValueError:
            raise InputError(
                f"r_ecef {r.shape} and v_ecef {v.shape} must describe the same states: give both as (3,) "
                "or both as (N, 3) with the same N (a single (3,) vector is broadcast against (N, 3))."
            ) from None
    return r, v


def impact_point(
    r_ecef: ArrayLike, v_ecef: ArrayLike, ground_height_m: float = 0.0
) -> tuple[float, float, float] | tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Vacuum instantaneous impact point on the rotating WGS84 ellipsoid.

    Parameters
    ----------
    r_ecef : array_like, (3,) or (N, 3)
        Position in ECEF, m.
    v_ecef : array_like, (3,) or (N, 3)
        Earth-relative velocity in ECEF axes, m/s.
    ground_height_m : float
        Geodetic height of the ground, m (the mission's ``site.impact_height_m``); default 0, the
        WGS84 ellipsoid.

    Returns
    -------
    lat_deg, lon_deg, tof_s
        Geodetic latitude and longitude (degrees, WGS84) of the first point
        where the two-body arc (point-mass gravity, no air) meets geodetic
        height ``ground_height_m``, with the Earth rotating under it; and the time of flight
        to it (s). Floats for a single state, ``(N,)`` arrays for a batch.

    NaN where there is no impact (an orbit; a parabolic or hyperbolic
    trajectory) and where the state has NaN or inf; never an exception or a
    warning for those. A state at or below the surface gives its own
    latitude/longitude and ``tof_s = 0``.

    Exact to the model (no series truncation): see the module docstring and
    ``design/iip.md``.
    """
    r, v = _state_arrays(r_ecef, v_ecef)
    h = float(ground_height_m)
    if not math.isfinite(h) or abs(h) > GROUND_HEIGHT_LIMIT_M:
        raise InputError(
            f"ground_height_m = {ground_height_m!r}: give the ground's geodetic height in metres, "
            f"within +-{GROUND_HEIGHT_LIMIT_M:g} m"
        )
    if r.ndim == 1:
        lat_rad, lon_rad, tof_s = impact_point_nb(r[0], r[1], r[2], v[0], v[1], v[2], h)
        return math.degrees(lat_rad), math.degrees(lon_rad), tof_s
    n = r.shape[0]
    lat = np.empty(n)
    lon = np.empty(n)
    tof = np.empty(n)
    r = np.ascontiguousarray(r)
    v = np.ascontiguousarray(v)
    _impact_rows(n, r, v, h, lat, lon, tof)
    np.degrees(lat, out=lat)
    np.degrees(lon, out=lon)
    return lat, lon, tof
