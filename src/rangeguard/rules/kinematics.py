"""One pass over the rows: everything the rules derive from position and velocity.

The engine calls :func:`kinematics` once per cycle. A single compiled loop
computes, per row, the geodetic position, the vacuum IIP, and every derived
quantity of :mod:`rangeguard.rules.quantities` (speed, vertical speed,
flight-path angle, downrange, crossrange, IIP range), so the per-cycle cost is
one pass of scalar kernels instead of dozens of numpy passes. Rows are
independent, so the parallel loop gives bit-identical results to the serial
one and batch size never changes a decision.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.constants import WGS84_E2
from rangeguard.earth.geodesy import geodesic_distance_nb, geodetic_from_ecef_nb
from rangeguard.iip import impact_point_unit_nb
from rangeguard.jit import PARALLEL_MIN_ROWS, kernel, rows_kernel
from rangeguard.mission.quantities import (
    CROSS,
    DOWN,
    FPA,
    IIP_LAT,
    IIP_LON,
    IIP_RANGE,
    IIP_TOF,
    LAT,
    LON,
    N_COLS,
    QUANTITIES,
    SPEED,
    VSPEED,
    H,
)

if TYPE_CHECKING:
    from rangeguard.rules.base import Site

_ONE_MINUS_E2 = 1.0 - WGS84_E2

# The output matrix's columns are the one quantity table's layout (rangeguard.mission.quantities):
# LAT, LON, H, IIP_LAT, IIP_LON, IIP_TOF, SPEED, VSPEED, FPA, DOWN, CROSS, IIP_RANGE; N_COLS of them.


@kernel(inline="always")
def _row(
    r: NDArray[np.float64], v: NDArray[np.float64], site: NDArray[np.float64], frame: NDArray[np.float64],
    need_range: bool, out: NDArray[np.float64], pos_u: NDArray[np.float64], iip_u: NDArray[np.float64], i: int,
) -> None:  # fmt: skip
    x, y, z = r[i, 0], r[i, 1], r[i, 2]
    vx, vy, vz = v[i, 0], v[i, 1], v[i, 2]
    lat, lon, h = geodetic_from_ecef_nb(x, y, z)
    ilat, ilon, tof, iux, iuy, iuz = impact_point_unit_nb(x, y, z, vx, vy, vz, site[5])
    speed = math.sqrt(vx * vx + vy * vy + vz * vz)
    clat, slat = math.cos(lat), math.sin(lat)
    rho = math.sqrt(x * x + y * y)  # cos and sin of the longitude without trigonometry (lon = atan2(y, x))
    if rho > 0.0:
        clon, slon = x / rho, y / rho
    else:
        clon, slon = math.cos(lon), math.sin(lon)
    vs = vx * clat * clon + vy * clat * slon + vz * slat
    ratio = vs / speed if speed > 0.0 else math.nan
    fpa = math.degrees(math.asin(min(max(ratio, -1.0), 1.0))) if ratio == ratio else math.nan
    dx, dy, dz = x - site[0], y - site[1], z - site[2]
    # frame rows: downrange and crossrange unit vectors in ECEF (horizontal at the pad)
    down = frame[0, 0] * dx + frame[0, 1] * dy + frame[0, 2] * dz
    cross = frame[1, 0] * dx + frame[1, 1] * dy + frame[1, 2] * dz
    out[i, LAT] = math.degrees(lat)
    out[i, LON] = math.degrees(lon)
    out[i, H] = h
    out[i, IIP_LAT] = math.degrees(ilat)
    out[i, IIP_LON] = math.degrees(ilon)
    out[i, IIP_TOF] = tof
    out[i, SPEED] = speed
    out[i, VSPEED] = vs
    out[i, FPA] = fpa
    out[i, DOWN] = down
    out[i, CROSS] = cross
    out[i, IIP_RANGE] = geodesic_distance_nb(site[3], site[4], ilat, ilon) if need_range else math.nan
    # geocentric unit vectors of the surface points (the polygon kernels' input; NaN propagates):
    # below the vehicle from the trigonometry already at hand, and at the IIP
    ux, uy, uz = clat * clon, clat * slon, _ONE_MINUS_E2 * slat
    inv = 1.0 / math.sqrt(ux * ux + uy * uy + uz * uz)
    pos_u[i, 0], pos_u[i, 1], pos_u[i, 2] = ux * inv, uy * inv, uz * inv
    iip_u[i, 0], iip_u[i, 1], iip_u[i, 2] = iux, iuy, iuz


@rows_kernel()
def _rows(
    r: NDArray[np.float64], v: NDArray[np.float64], site: NDArray[np.float64], frame: NDArray[np.float64],
    need_range: bool, out: NDArray[np.float64], pos_u: NDArray[np.float64], iip_u: NDArray[np.float64], lo: int,
    hi: int,
) -> None:  # fmt: skip
    for i in range(lo, hi):
        _row(r, v, site, frame, need_range, out, pos_u, iip_u, i)


class Kinematics(NamedTuple):
    """One cycle's per-row kinematics: the quantity table and the polygon kernels' unit vectors."""

    table: NDArray[np.float64]  # (M, N_COLS), see the column constants
    pos_unit: NDArray[np.float64]  # (M, 3) geocentric unit vector of the surface point below the vehicle
    iip_unit: NDArray[np.float64]  # (M, 3) the same at the IIP (NaN without IIP)


def kinematics(r_ecef: ArrayLike, v_ecef: ArrayLike, site: Site, need_iip_range: bool = True) -> Kinematics:
    """Every derived quantity of every row, in one compiled pass.

    ``need_iip_range=False`` skips the IIP-range column (NaN), the costliest
    one, when no rule, event or safing condition reads it.
    """
    r = np.ascontiguousarray(r_ecef, dtype=np.float64)
    v = np.ascontiguousarray(v_ecef, dtype=np.float64)
    m_rows = r.shape[0]
    out = Kinematics(np.empty((m_rows, N_COLS)), np.empty((m_rows, 3)), np.empty((m_rows, 3)))
    args = (r, v, site.pad_vec, site.down_cross_ecef, bool(need_iip_range), *out)
    if m_rows < PARALLEL_MIN_ROWS:  # an onboard cycle: the serial loop directly
        _rows.serial(*args, 0, m_rows)
    else:
        _rows(m_rows, *args)
    return out


def row_kinematics(
    r_ecef: ArrayLike, v_ecef: ArrayLike, site: Site, need_iip_range: bool = True
) -> NDArray[np.float64]:
    """(M, N_COLS) matrix of per-row kinematics; see the column constants and :func:`kinematics`."""
    return kinematics(r_ecef, v_ecef, site, need_iip_range).table


QUANTITY_COLUMNS: dict[str, int] = {q.name: q.column for q in QUANTITIES}
"""Column of each quantity in :attr:`Kinematics.table` (from :mod:`rangeguard.mission.quantities`)."""


__all__ = [
    "CROSS",
    "DOWN",
    "FPA",
    "H",
    "IIP_LAT",
    "IIP_LON",
    "IIP_RANGE",
    "IIP_TOF",
    "LAT",
    "LON",
    "N_COLS",
    "QUANTITY_COLUMNS",
    "SPEED",
    "VSPEED",
    "Kinematics",
    "kinematics",
    "row_kinematics",
]
