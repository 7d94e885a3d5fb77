"""Small compiled helpers of the simulator kernels: quaternions, heights, launch-frame and
local-frame directions and the commands built from them (plain floats; see
:mod:`rangeguard.sim.kernels`, which re-exports them), and the numba options of the
simulator's kernels.

Physics shared with the rest of rangeguard is written once elsewhere and re-exported here:
J2 gravity (:func:`rangeguard.earth.gravity.gravity_j2_nb`), table interpolation
(:func:`rangeguard.earth.interp.interp_clamped`, numpy's ``np.interp``) and the RK4 tableau
(:mod:`rangeguard.earth.motion`)."""

from __future__ import annotations

import math

from rangeguard.constants import WGS84_A_M, WGS84_B_M
from rangeguard.earth.geodesy import geodetic_frame_nb, geodetic_from_ecef_nb
from rangeguard.earth.gravity import gravity_j2_nb as gravity_j2  # noqa: F401 (re-exported)
from rangeguard.earth.interp import interp_clamped
from rangeguard.earth.motion import rk4_combine_nb, rk4_stage_nb  # noqa: F401 (re-exported)
from rangeguard.jit import kernel

_A = WGS84_A_M
_B = WGS84_B_M
# LLVM fast-math flags of every simulator kernel: they keep NaN/inf semantics (no 'nnan'/'ninf'):
# contraction into FMA, reciprocal approximations and reassociation only.
_FM = {"contract", "arcp", "reassoc", "nsz", "afn"}

ENTRY_JIT = dict(fastmath=_FM)
"""numba options, besides :func:`rangeguard.jit.kernel`'s (cache, error_model="numpy"), of the
kernels called from Python (the batch driver, termination, event drain)."""

HELPER_JIT = dict(ENTRY_JIT, _nrt=False)
"""numba options of every kernel that is called from other kernels (and never allocates).

``_nrt=False`` compiles the function without numba's reference-counting
runtime. With it on, a compiled function increments (atomically, through an
out-of-line call) the reference count of each of its array arguments on entry
and decrements it on exit: ``deriv`` takes 20 arrays, so each call cost 40
such calls, and one RK4 step of one vehicle about 300 of them, about 70 % of
the step (2.5 us -> 0.7 us per vehicle and 0.1 s step, design/sim.md
"Speed"). These helpers only read and write arrays their caller owns and never
allocate, so they need no reference counting; one that allocated (np.empty,
.copy()) would fail to compile, not leak. Calling one from Python (the
simulator does, at set-up) is fine too: the arrays are borrowed for the call.
(``_nrt`` is numba's option behind ``register_jitable(_nrt=False)`` in
numba.core.extending.)
"""


@kernel(inline="always", **HELPER_JIT)
def qmul(a0, a1, a2, a3, b0, b1, b2, b3):
    """Hamilton product a (x) b of scalar-first quaternions, as a 4-tuple."""
    return (
        a0 * b0 - a1 * b1 - a2 * b2 - a3 * b3,
        a0 * b1 + a1 * b0 + a2 * b3 - a3 * b2,
        a0 * b2 - a1 * b3 + a2 * b0 + a3 * b1,
        a0 * b3 + a1 * b2 - a2 * b1 + a3 * b0,
    )


@kernel(inline="always", **HELPER_JIT)
def qrot(w, x, y, z, v0, v1, v2):
    """C(q) v: rotate a body vector into the reference frame (q body-to-reference)."""
    tx = 2.0 * (y * v2 - z * v1)
    ty = 2.0 * (z * v0 - x * v2)
    tz = 2.0 * (x * v1 - y * v0)
    return (v0 + w * tx + (y * tz - z * ty), v1 + w * ty + (z * tx - x * tz), v2 + w * tz + (x * ty - y * tx))


@kernel(**HELPER_JIT)
def q_from_axes(x0, x1, x2, y0, y1, y2, z0, z1, z2):
    """Quaternion (scalar first, w >= 0) of the rotation whose columns are the body axes (Shepperd 1978)."""
    tr = x0 + y1 + z2
    if tr > 0.0:
        s = 2.0 * math.sqrt(1.0 + tr)
        w, x, y, z = 0.25 * s, (y2 - z1) / s, (z0 - x2) / s, (x1 - y0) / s
    elif x0 > y1 and x0 > z2:
        s = 2.0 * math.sqrt(1.0 + x0 - y1 - z2)
        w, x, y, z = (y2 - z1) / s, 0.25 * s, (y0 + x1) / s, (z0 + x2) / s
    elif y1 > z2:
        s = 2.0 * math.sqrt(1.0 + y1 - x0 - z2)
        w, x, y, z = (z0 - x2) / s, (y0 + x1) / s, 0.25 * s, (z1 + y2) / s
    else:
        s = 2.0 * math.sqrt(1.0 + z2 - x0 - y1)
        w, x, y, z = (x1 - y0) / s, (z0 + x2) / s, (z1 + y2) / s, 0.25 * s
    if w < 0.0:
        return -w, -x, -y, -z
    return w, x, y, z


@kernel(**HELPER_JIT)
def q_from_direction(d0, d1, d2, ca, sa, pad):
    """Attitude with body x along the unit ECEF vector d and body y horizontal-right for the
    azimuth whose cosine and sine are ``ca``, ``sa``.

    Body y = cos(az) East - sin(az) North of the pad (made orthogonal to d),
    body z = x cross y: at zero roll body z points "down" in the plane of
    flight (forward-right-down axes). Returns a scalar-first 4-tuple.
    """
    return q_from_direction_ref(
        d0,
        d1,
        d2,
        ca * pad[0, 0] - sa * pad[1, 0],
        ca * pad[0, 1] - sa * pad[1, 1],
        ca * pad[0, 2] - sa * pad[1, 2],
    )


@kernel(inline="always", **HELPER_JIT)
def q_from_direction_ref(d0, d1, d2, y0, y1, y2):
    """Attitude with body x along the unit ECEF vector d and body y along the reference vector y
    made orthogonal to d (y must not be parallel to d); body z = x cross y. Scalar-first 4-tuple."""
    dot = y0 * d0 + y1 * d1 + y2 * d2
    y0 -= dot * d0
    y1 -= dot * d1
    y2 -= dot * d2
    n = math.sqrt(y0 * y0 + y1 * y1 + y2 * y2)
    y0 /= n
    y1 /= n
    y2 /= n
    return q_from_axes(d0, d1, d2, y0, y1, y2, d1 * y2 - d2 * y1, d2 * y0 - d0 * y2, d0 * y1 - d1 * y0)


@kernel(inline="always", **HELPER_JIT)
def height_fast(x, y, z, rn):
    """Height above the ellipsoid along the geocentric radius, m.

    |r| minus the ellipsoid radius at the geocentric latitude. It differs
    from the geodetic height by about h * (f sin 2 phi)^2 / 2 (under 1 m
    below 150 km): used only for the atmosphere and the wind, never for
    events (those use the exact geodetic height).
    """
    s2 = z * z / (rn * rn)
    c2 = 1.0 - s2
    return rn - _A * _B / math.sqrt(_B * _B * c2 + _A * _A * s2)


@kernel(**HELPER_JIT)
def geodetic_height(y):
    """Exact WGS84 geodetic height of the state's position (Vermeille 2011)."""
    return geodetic_from_ecef_nb(y[0], y[1], y[2])[2]


@kernel(inline="always", **HELPER_JIT)
def _enu_dir(ca, sa, el, pad):
    """Unit ECEF vector of azimuth (cosine ca, sine sa) and elevation el in the pad's ENU frame."""
    ce = math.cos(el)
    e_, n_, u_ = sa * ce, ca * ce, math.sin(el)
    return (
        e_ * pad[0, 0] + n_ * pad[1, 0] + u_ * pad[2, 0],
        e_ * pad[0, 1] + n_ * pad[1, 1] + u_ * pad[2, 1],
        e_ * pad[0, 2] + n_ * pad[1, 2] + u_ * pad[2, 2],
    )


@kernel(inline="always", **HELPER_JIT)
def local_enu_axes(x, y, z):
    """East, north and up unit vectors (ECEF axes, 9 floats) of the geodetic East-North-Up frame at the
    point under ECEF position (x, y, z), m (geodetic latitude: :func:`rangeguard.earth.geodesy.geodetic_frame_nb`)."""
    s_lat, c_lat, s_lon, c_lon, _ = geodetic_frame_nb(x, y, z)
    return (
        -s_lon, c_lon, 0.0,
        -s_lat * c_lon, -s_lat * s_lon, c_lat,
        c_lat * c_lon, c_lat * s_lon, s_lat,
    )  # fmt: skip


@kernel(**HELPER_JIT)
def bilinear_clamped(x, y, xs, ys, z):
    """Bilinear interpolation of the table z (row-major, len(xs) rows of len(ys) values) at (x, y);
    each coordinate is held at the table's end outside it (the 1-D rule of :func:`interp_clamped`)."""
    nx = xs.shape[0]
    ny = ys.shape[0]
    if nx == 1 or not x > xs[0]:
        return interp_clamped(y, ys, z[0:ny], 0, ny)
    if not x < xs[nx - 1]:
        return interp_clamped(y, ys, z[(nx - 1) * ny : nx * ny], 0, ny)
    j = 0
    while xs[j + 1] <= x:
        j += 1
    w = (x - xs[j]) / (xs[j + 1] - xs[j])
    z_lo = interp_clamped(y, ys, z[j * ny : (j + 1) * ny], 0, ny)
    z_hi = interp_clamped(y, ys, z[(j + 1) * ny : (j + 2) * ny], 0, ny)
    return z_lo + w * (z_hi - z_lo)


@kernel(inline="always", **HELPER_JIT)
def azimuth_of(d0, d1, d2, ca, sa, PAD):
    """(cos, sin) of the azimuth of the ECEF direction d in the pad's frame; (ca, sa) when d is vertical."""
    de = d0 * PAD[0, 0] + d1 * PAD[0, 1] + d2 * PAD[0, 2]
    dN = d0 * PAD[1, 0] + d1 * PAD[1, 1] + d2 * PAD[1, 2]
    hn = math.sqrt(de * de + dN * dN)
    if hn > 1e-6:
        return dN / hn, de / hn
    return ca, sa


@kernel(**HELPER_JIT)
def local_or_velocity_command(t, x0, x1, x2, va0, va1, va2, vair, q0, q1, q2, q3, along, PROG, PAD):
    """Commanded attitude (scalar-first quaternion) of the two commands of the vehicle model:

    ``along``: body x along the air-relative velocity (the body axis when there is hardly any), roll
    reference its azimuth in the pad frame (final_coast_attitude 'along_velocity'); else the
    programme's azimuth/elevation in the geodetic East-North-Up frame at the position (x0, x1, x2),
    roll reference body y = cos(az) east - sin(az) north of that frame (frame 'local')."""
    if along:
        if vair > 1.0:
            d0, d1, d2 = va0 / vair, va1 / vair, va2 / vair
        else:
            d0, d1, d2 = qrot(q0, q1, q2, q3, 1.0, 0.0, 0.0)
        ca, sa = azimuth_of(d0, d1, d2, 1.0, 0.0, PAD)
        return q_from_direction(d0, d1, d2, ca, sa, PAD)
    n = PROG.shape[0]
    az = interp_clamped(t, PROG[:, 0], PROG[:, 1], 0, n)
    el = interp_clamped(t, PROG[:, 0], PROG[:, 2], 0, n)
    ca, sa = math.cos(az), math.sin(az)
    ce, se = math.cos(el), math.sin(el)
    e0, e1, e2, n0, n1, n2, u0, u1, u2 = local_enu_axes(x0, x1, x2)
    d0 = sa * ce * e0 + ca * ce * n0 + se * u0
    d1 = sa * ce * e1 + ca * ce * n1 + se * u1
    d2 = sa * ce * e2 + ca * ce * n2 + se * u2
    return q_from_direction_ref(d0, d1, d2, ca * e0 - sa * n0, ca * e1 - sa * n1, ca * e2 - sa * n2)
