"""WGS84 geodetic coordinates and local frames.

ECEF -> geodetic uses Vermeille's exact closed form (H. Vermeille, "An
analytical method to transform geocentric into geodetic coordinates",
J. Geodesy 85:105-117, 2011), valid everywhere outside a small region around
the Earth's centre. It is written once, with numpy ufuncs only, so the same
source runs vectorized on arrays and compiled by numba on scalars inside other
kernels (:data:`geodetic_from_ecef_nb`). We chose it over pyproj's Transformer
because numba kernels (the IIP, the rules) cannot call pyproj, and a per-call
pyproj overhead of tens of microseconds would eat the onboard step budget. The
tests check it against pyproj and pymap3d.

Shapes: positions ``(3,)`` or ``(N, 3)``; scalars ``()`` or ``(N,)``.
Angles are degrees at this public surface, radians inside kernels.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
from numba import vectorize
from numba.extending import register_jitable
from numpy.typing import ArrayLike, NDArray

from rangeguard.constants import WGS84_A_M, WGS84_E2, WGS84_F
from rangeguard.errors import InputError
from rangeguard.jit import kernel

_A = WGS84_A_M
_E2 = WGS84_E2
_E4 = WGS84_E2 * WGS84_E2
# multiplications by these replace divisions by constants (rounding-level differences)
_INV_A2 = 1.0 / (WGS84_A_M * WGS84_A_M)
_ONE_MINUS_E2_INV_A2 = (1.0 - WGS84_E2) / (WGS84_A_M * WGS84_A_M)
_SIXTH = 1.0 / 6.0
_TINY_M = 1e-300
"""Added to the distance from the polar axis before dividing by it (no NaN on the axis itself)."""

_X = TypeVar("_X", float, NDArray[np.float64])
"""A coordinate: a float (compiled) or an array of them (numpy)."""


@register_jitable
def _vermeille(x: _X, y: _X, z: _X) -> tuple[_X, _X, _X, _X]:
    """Vermeille (2011) closed form up to its last step: (k, d, sqrt(d^2 + z^2), x^2 + y^2), from which
    the geodetic latitude is atan2(z, d) and the height (k + e^2 - 1) / k sqrt(d^2 + z^2).

    Plain Python on numpy arrays, compiled into the numba kernels that call it (register_jitable)."""
    rho2 = x * x + y * y
    p = rho2 * _INV_A2
    q = _ONE_MINUS_E2_INV_A2 * (z * z)
    r = (p + q - _E4) * _SIXTH
    s = _E4 * p * q / (4.0 * r * r * r)
    t = np.cbrt(1.0 + s + np.sqrt(s * (2.0 + s)))
    u = r * (1.0 + t + 1.0 / t)
    v = np.sqrt(u * u + _E4 * q)
    w = _E2 * (u + v - q) / (2.0 * v)
    k = np.sqrt(u + v + w * w) - w
    d = k * np.sqrt(rho2) / (k + _E2)
    dz = np.sqrt(d * d + z * z)
    return k, d, dz, rho2


def _geodetic_from_ecef(x: _X, y: _X, z: _X) -> tuple[_X, _X, _X]:
    """Vermeille (2011) closed form. Returns (lat_rad, lon_rad, h_m).

    Works on numpy arrays and, compiled with numba, on floats.
    """
    k, d, dz, _ = _vermeille(x, y, z)
    lat = 2.0 * np.arctan2(z, d + dz)
    lon = np.arctan2(y, x)
    h = (k + _E2 - 1.0) / k * dz
    return lat, lon, h


geodetic_from_ecef_nb = kernel(fastmath=False)(_geodetic_from_ecef)
"""Scalar numba kernel: (x_m, y_m, z_m) -> (lat_rad, lon_rad, h_m)."""


def _geodetic_frame(x: _X, y: _X, z: _X) -> tuple[_X, _X, _X, _X, _X]:
    """(sin lat, cos lat, sin lon, cos lon, h_m) of the geodetic point under (x, y, z): what a local
    east/north frame needs, without the arctangents and sines (sin lat = z / sqrt(d^2 + z^2), cos lat =
    d / sqrt(d^2 + z^2) in Vermeille's terms; on the polar axis, sin lon = 0 and cos lon = 0)."""
    k, d, dz, rho2 = _vermeille(x, y, z)
    inv_p = 1.0 / (np.sqrt(rho2) + _TINY_M)
    return z / dz, d / dz, y * inv_p, x * inv_p, (k + _E2 - 1.0) / k * dz


geodetic_frame_nb = kernel(fastmath=False, inline="always")(_geodetic_frame)
"""Scalar numba kernel: (x_m, y_m, z_m) -> (sin lat, cos lat, sin lon, cos lon, h_m)."""


def _geodetic_height(x: _X, y: _X, z: _X) -> _X:
    """The geodetic height (m) alone: Vermeille's terms without the arctangents."""
    k, _, dz, _ = _vermeille(x, y, z)
    return (k + _E2 - 1.0) / k * dz


geodetic_height_nb = kernel(fastmath=False, inline="always")(_geodetic_height)
"""Scalar numba kernel: (x_m, y_m, z_m) -> h_m."""


def _ecef_from_geodetic(lat: _X, lon: _X, h: _X) -> tuple[_X, _X, _X]:
    """Geodetic (radians, m) to ECEF (m). TR8350.2 eq. 4-14."""
    slat = np.sin(lat)
    clat = np.cos(lat)
    n = _A / np.sqrt(1.0 - _E2 * slat * slat)
    x = (n + h) * clat * np.cos(lon)
    y = (n + h) * clat * np.sin(lon)
    z = (n * (1.0 - _E2) + h) * slat
    return x, y, z


ecef_from_geodetic_nb = kernel()(_ecef_from_geodetic)
"""Scalar numba kernel: (lat_rad, lon_rad, h_m) -> (x_m, y_m, z_m)."""


def _as_vectors(r: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(r, dtype=np.float64)
    if arr.shape[-1:] != (3,) or arr.ndim > 2:
        raise InputError(f"{name} must have shape (3,) or (N, 3); got {arr.shape}")
    return arr


def ecef_to_geodetic(r_ecef: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """ECEF position (m) -> (lat_deg, lon_deg, h_m) on WGS84.

    ``r_ecef`` is ``(3,)`` or ``(N, 3)``; results are scalars or ``(N,)``.
    """
    r = _as_vectors(r_ecef, "r_ecef")
    with np.errstate(invalid="ignore", divide="ignore"):
        lat, lon, h = _geodetic_from_ecef(r[..., 0], r[..., 1], r[..., 2])
    return np.degrees(lat), np.degrees(lon), h


def geodetic_to_ecef(lat_deg: ArrayLike, lon_deg: ArrayLike, h_m: ArrayLike = 0.0) -> NDArray[np.float64]:
    """(lat_deg, lon_deg, h_m) on WGS84 -> ECEF position (m), shape ``(..., 3)``."""
    lat, lon, h = np.broadcast_arrays(
        np.radians(np.asarray(lat_deg, dtype=np.float64)),
        np.radians(np.asarray(lon_deg, dtype=np.float64)),
        np.asarray(h_m, dtype=np.float64),
    )
    x, y, z = _ecef_from_geodetic(lat, lon, h)
    return np.stack([x, y, z], axis=-1)


def ecef_to_enu_matrix(lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]:
    """Rotation matrix taking ECEF vector components to local East-North-Up.

    Returns ``(3, 3)`` or ``(N, 3, 3)``; rows are the E, N, U unit vectors in ECEF.
    """
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl)
    east = np.stack([-so, co, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return np.stack([east, north, up], axis=-2)


def ecef_to_ned_matrix(lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]:
    """Rotation matrix taking ECEF vector components to local North-East-Down."""
    enu = ecef_to_enu_matrix(lat_deg, lon_deg)
    return np.stack([enu[..., 1, :], enu[..., 0, :], -enu[..., 2, :]], axis=-2)


def ecef_to_enu(
    r_ecef: ArrayLike, lat0_deg: ArrayLike, lon0_deg: ArrayLike, h0_m: ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Position (m) relative to a geodetic origin, in the origin's ENU frame."""
    r = _as_vectors(r_ecef, "r_ecef")
    origin = geodetic_to_ecef(lat0_deg, lon0_deg, h0_m)
    rot = ecef_to_enu_matrix(lat0_deg, lon0_deg)
    enu: NDArray[np.float64] = np.einsum("...ij,...j->...i", rot, r - origin)
    return enu


def enu_to_ecef(
    r_enu: ArrayLike, lat0_deg: ArrayLike, lon0_deg: ArrayLike, h0_m: ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Inverse of :func:`ecef_to_enu`."""
    e = _as_vectors(r_enu, "r_enu")
    origin = geodetic_to_ecef(lat0_deg, lon0_deg, h0_m)
    rot = ecef_to_enu_matrix(lat0_deg, lon0_deg)
    rotated: NDArray[np.float64] = np.einsum("...ji,...j->...i", rot, e)
    return rotated + origin


def ecef_to_ned(
    r_ecef: ArrayLike, lat0_deg: ArrayLike, lon0_deg: ArrayLike, h0_m: ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Position (m) relative to a geodetic origin, in the origin's NED frame."""
    enu = ecef_to_enu(r_ecef, lat0_deg, lon0_deg, h0_m)
    return np.stack([enu[..., 1], enu[..., 0], -enu[..., 2]], axis=-1)


@kernel(inline="always")
def _reduced_sin_cos(lat_rad: float) -> tuple[float, float]:
    """(sin, cos) of the reduced latitude beta, tan(beta) = (1 - f) tan(lat), without
    tan/atan: (g sin(lat), cos(lat)) / sqrt(cos^2(lat) + g^2 sin^2(lat)), g = 1 - f."""
    g = 1.0 - WGS84_F
    sl = math.sin(lat_rad)
    cl = math.cos(lat_rad)
    inv = 1.0 / math.sqrt(cl * cl + g * g * sl * sl)
    return g * sl * inv, cl * inv


@kernel()
def geodesic_distance_nb(lat1_rad: float, lon1_rad: float, lat2_rad: float, lon2_rad: float) -> float:
    """Scalar kernel of :func:`geodesic_distance_m` (radians in, metres out).

    Lambert's formula written with the sines and cosines of the reduced
    latitudes and half-angle identities, so that it needs six trigonometric
    calls (sin, cos of each latitude, sin of half the longitude difference,
    one asin) instead of fourteen: with beta the reduced latitudes,
    P = (beta1 + beta2) / 2, Q = (beta2 - beta1) / 2,
    sin^2 Q = sin^2(beta2 - beta1) / (2 (1 + cos(beta2 - beta1))) (no cancellation),
    cos^2 Q = (1 + cos(beta2 - beta1)) / 2, sin^2 P and cos^2 P = (1 -+ cos(beta1 + beta2)) / 2,
    sin^2(sigma / 2) = hav, cos^2(sigma / 2) = 1 - hav, sin(sigma) = 2 sqrt(hav (1 - hav)).
    """
    f = WGS84_F
    s1, c1 = _reduced_sin_cos(lat1_rad)
    s2, c2 = _reduced_sin_cos(lat2_rad)
    sin_d = s2 * c1 - c2 * s1  # sin(beta2 - beta1)
    cos_d = c1 * c2 + s1 * s2  # cos(beta2 - beta1)
    sin2_q = sin_d * sin_d / (2.0 * (1.0 + cos_d)) if cos_d > 0.0 else 0.5 * (1.0 - cos_d)
    cos2_q = 1.0 - sin2_q
    cos_sum = c1 * c2 - s1 * s2  # cos(beta1 + beta2)
    sin2_p = 0.5 * (1.0 - cos_sum)
    cos2_p = 0.5 * (1.0 + cos_sum)
    sh = math.sin(0.5 * (lon2_rad - lon1_rad))
    hav = min(max(sin2_q + c1 * c2 * sh * sh, 0.0), 1.0)
    sigma = 2.0 * math.asin(math.sqrt(hav))
    if not sigma > 1e-12:  # also NaN: NaN * anything stays NaN
        return _A * sigma
    cos2_half = 1.0 - hav  # cos^2(sigma / 2); 0 only for antipodes, where the formula does not apply
    sin_sigma = 2.0 * math.sqrt(hav * cos2_half)
    x = (sigma - sin_sigma) * sin2_p * cos2_q / cos2_half if cos2_half > 0.0 else 0.0
    y = (sigma + sin_sigma) * cos2_p * sin2_q / hav
    return _A * (sigma - f / 2.0 * (x + y))


@vectorize(["float64(float64, float64, float64, float64)"], cache=True)  # type: ignore[untyped-decorator, no-untyped-call]  # numba's vectorize is unannotated
def _geodesic_ufunc(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    return geodesic_distance_nb(
        math.radians(lat1_deg), math.radians(lon1_deg), math.radians(lat2_deg), math.radians(lon2_deg)
    )


def geodesic_distance_m(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> NDArray[np.float64]:
    """Distance along the WGS84 ellipsoid between two points, m (Lambert's formula).

    Lambert's first-order flattening correction to the great-circle angle on
    reduced latitudes (W. D. Lambert, "The distance between two widely
    separated points on the surface of the Earth", J. Washington Acad. Sci.
    32(5), 1942): within about 10 m of the exact geodesic (pyproj.Geod /
    Karney) for lines up to several thousand km, at a fraction of the cost,
    which is why the rule engine uses it every cycle. Broadcasts like a numpy
    ufunc; NaN in -> NaN out. Not for nearly antipodal points.
    """
    with np.errstate(invalid="ignore"):
        d: NDArray[np.float64] = _geodesic_ufunc(lat1_deg, lon1_deg, lat2_deg, lon2_deg)  # a numpy scalar for scalars
        return d
