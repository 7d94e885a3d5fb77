"""Numba kernels behind :class:`rangeguard.earth.polygon.GreatCirclePolygon`.

Plain-float, array-in/array-out functions; the class in ``geometry.py`` owns
validation, shapes and units. Everything here works on *geocentric unit
vectors*: the direction from the Earth's centre to a point of the WGS84
ellipsoid surface,

    u(lat, lon) = normalize(cos(lat) cos(lon), cos(lat) sin(lon), (1 - e^2) sin(lat))

(the ECEF position of TR8350.2 eq. 4-14 at h = 0; the prime-vertical radius N
cancels in the normalization).

Edge table (one row of ``_EDGE_COLS`` floats per edge k, from vertex a = v_k
to b = v_k+1, ring oriented counter-clockwise seen from outside the Earth):

    n   unit normal of the plane through the Earth's centre, a and b
        (n = a x b / |a x b|); the polygon interior is on the side p . n > 0
    ea  n x a: p . ea >= 0 where the foot of p on the great circle is past a
    eb  b x n: p . eb >= 0 where the foot is before b
    a, b
    na, nb  vertex pseudo-normals n_{k-1} + n_k and n_k + n_{k+1}

Nearest boundary point: distances are compared as squared chords on the unit
sphere (monotonic in the central angle and accurate for small angles). The
foot of p on the great circle of edge k is at central angle asin|p . n| and
lies on the arc when p . ea >= 0 and p . eb >= 0; otherwise the nearest arc
point is an end vertex.

Sign: inside when p is on the interior side of the nearest edge (p . n > 0)
or, when the nearest point is a vertex, on the interior side of the vertex
pseudo-normal (J. A. Baerentzen and H. Aanaes, "Signed distance computation
using the angle weighted pseudonormal", IEEE TVCG 11(3):243-253, 2005; in 2-D
the pseudo-normal is the sum of the two unit edge normals). Points at or
beyond 90 degrees from the projection centre are outside by construction
(the polygon lies within ``MAX_RADIUS_DEG`` of the centre).

Metres: central angle times the WGS84 geocentric radius in the direction of
the midpoint of p and its nearest boundary point. Radial projection of the
ellipsoid onto the sphere is conformal to within cos(lat - lat_geocentric)
(about 6 ppm), so this is within 5e-5 of the geodesic length up to 2500 km
(max 4.3e-5 over 200 000 random pairs, 1-2500 km, all latitudes, against
pyproj.Geod; a single sphere of radius a would be off by up to 3.4e-3).

Grid (nested uniform levels over the gnomonic plane centred at c; a point uses
the finest level that holds it): each cell lists the edges
that can hold the nearest boundary point of any point of the cell. With q the
cell's centre, rho the largest central angle from q to a cell corner (a
gnomonic cell is a spherical quadrilateral with great-circle sides, so its
farthest point from q is a corner) and d_k(q) the angle from q to edge k, the
triangle inequality gives: edge j nearest for some p in the cell implies
d_j(q) <= min_k d_k(q) + 2 rho. A margin of ``GRID_MARGIN_RAD`` covers
rounding. Candidates are kept in ascending edge order and ties go to the
lowest edge index in both paths, so the grid and brute-force paths return
bit-identical results.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rangeguard.constants import DEG, WGS84_A_M, WGS84_B_M, WGS84_E2

_ONE_MINUS_E2 = 1.0 - WGS84_E2
_A = WGS84_A_M
_B = WGS84_B_M
_A2 = WGS84_A_M * WGS84_A_M
_B2 = WGS84_B_M * WGS84_B_M

_EDGE_COLS = 21
(N_, EA_, EB_, A_, B_, NA_, NB_) = (0, 3, 6, 9, 12, 15, 18)

# Grid parameter vector layout (float64): the gnomonic frame, then nested
# square grid levels, each LEVEL_SIZE floats (x0, y0, 1/cell, cells per side,
# index of its first cell). Level 0 is the finest; a point uses the finest level
# that contains it.
GP_C = 0  # centre unit vector, 3 floats
GP_E = 3  # east axis of the gnomonic plane
GP_N = 6  # north axis of the gnomonic plane
GP_NLEV = 9  # number of grid levels (0: no grid)
GP_LEV = 10  # first level
(LV_X0, LV_Y0, LV_INV_D, LV_SIDE, LV_FIRST) = range(5)
LEVEL_SIZE = 5


def grid_params_size(n_levels):
    """Length of the grid parameter vector for ``n_levels`` levels."""
    return GP_LEV + LEVEL_SIZE * n_levels

GRID_MARGIN_RAD = 1e-6
"""Extra central angle (about 6 m) added to the candidate test to cover rounding
in the squared-chord comparisons (which resolve angles to ~5e-8 rad near 0)."""

PARALLEL_MIN_POINTS = 2048
"""Below this many points the serial kernel is used (thread start-up costs more)."""


@njit(cache=True, inline="always")
def unit_vector(lat_rad, lon_rad):
    """Geocentric unit vector of the ellipsoid surface point at (lat, lon)."""
    cl = math.cos(lat_rad)
    x = cl * math.cos(lon_rad)
    y = cl * math.sin(lon_rad)
    z = _ONE_MINUS_E2 * math.sin(lat_rad)
    inv = 1.0 / math.sqrt(x * x + y * y + z * z)
    return x * inv, y * inv, z * inv


@njit(cache=True, inline="always")
def _dot(e, k, o, px, py, pz):
    return e[k, o] * px + e[k, o + 1] * py + e[k, o + 2] * pz


@njit(cache=True, inline="always")
def edge_chord2(e, k, px, py, pz):
    """Squared chord from p to the nearest point of edge k, and where it is.

    Returns (chord2, code) with code 0 = interior of the arc, 1 = vertex a,
    2 = vertex b.
    """
    if _dot(e, k, EA_, px, py, pz) >= 0.0 and _dot(e, k, EB_, px, py, pz) >= 0.0:
        s = _dot(e, k, N_, px, py, pz)
        s2 = s * s
        if s2 > 1.0:
            s2 = 1.0
        # 2 - 2 cos(theta) with cos(theta) = sqrt(1 - s^2), written without cancellation.
        return 2.0 * s2 / (1.0 + math.sqrt(1.0 - s2)), 0
    dx = px - e[k, A_]
    dy = py - e[k, A_ + 1]
    dz = pz - e[k, A_ + 2]
    ca = dx * dx + dy * dy + dz * dz
    dx = px - e[k, B_]
    dy = py - e[k, B_ + 1]
    dz = pz - e[k, B_ + 2]
    cb = dx * dx + dy * dy + dz * dz
    if cb < ca:
        return cb, 2
    return ca, 1


@njit(cache=True, inline="always")
def _finish(e, gp, k, code, c2, px, py, pz):
    """Signed distance (m) and inside flag from the nearest edge k."""
    if code == 0:
        s = _dot(e, k, N_, px, py, pz)
        fx = px - s * e[k, N_]
        fy = py - s * e[k, N_ + 1]
        fz = pz - s * e[k, N_ + 2]
        fn = math.sqrt(fx * fx + fy * fy + fz * fz)
        if fn > 0.0:
            fx /= fn
            fy /= fn
            fz /= fn
        side = s
    elif code == 1:
        fx, fy, fz = e[k, A_], e[k, A_ + 1], e[k, A_ + 2]
        side = _dot(e, k, NA_, px, py, pz)
    else:
        fx, fy, fz = e[k, B_], e[k, B_ + 1], e[k, B_ + 2]
        side = _dot(e, k, NB_, px, py, pz)
    half = 0.5 * math.sqrt(c2)
    if half > 1.0:
        half = 1.0
    theta = 2.0 * math.asin(half)
    mx = px + fx
    my = py + fy
    mz = pz + fz
    mn = math.sqrt(mx * mx + my * my + mz * mz)
    zu = mz / mn if mn > 1e-12 else pz
    radius = _A * _B / math.sqrt(_B2 * (1.0 - zu * zu) + _A2 * zu * zu)
    w = gp[GP_C] * px + gp[GP_C + 1] * py + gp[GP_C + 2] * pz
    inside = side > 0.0 and w > 0.0
    d = theta * radius
    return inside, (d if inside else -d)


@njit(cache=True, inline="always")
def _nearest_all(e, px, py, pz):
    best = np.inf
    best_k = 0
    best_code = 1
    for k in range(e.shape[0]):
        c2, code = edge_chord2(e, k, px, py, pz)
        if c2 < best:
            best = c2
            best_k = k
            best_code = code
    return best, best_k, best_code


@njit(cache=True, inline="always")
def _nearest_cell(e, cell_edges, lo, hi, px, py, pz):
    best = np.inf
    best_k = 0
    best_code = 1
    for i in range(lo, hi):
        k = cell_edges[i]
        c2, code = edge_chord2(e, k, px, py, pz)
        if c2 < best:
            best = c2
            best_k = k
            best_code = code
    return best, best_k, best_code


@njit(cache=True, inline="always")
def _cell_of(gp, px, py, pz):
    """Grid cell index of p, or -1 when p is off the grid (or not projectable)."""
    w = gp[GP_C] * px + gp[GP_C + 1] * py + gp[GP_C + 2] * pz
    if not w > 0.0:
        return -1
    x = (gp[GP_E] * px + gp[GP_E + 1] * py + gp[GP_E + 2] * pz) / w
    y = (gp[GP_N] * px + gp[GP_N + 1] * py + gp[GP_N + 2] * pz) / w
    for lev in range(int(gp[GP_NLEV])):
        o = GP_LEV + LEVEL_SIZE * lev
        fx = (x - gp[o + LV_X0]) * gp[o + LV_INV_D]
        fy = (y - gp[o + LV_Y0]) * gp[o + LV_INV_D]
        side = gp[o + LV_SIDE]
        if fx >= 0.0 and fx < side and fy >= 0.0 and fy < side:
            return int(gp[o + LV_FIRST]) + int(fy) * int(side) + int(fx)
    return -1


@njit(cache=True)
def evaluate_one(lat_deg, lon_deg, e, gp, cell_start, cell_edges, use_grid):
    """(inside, signed_distance_m) for one point; NaN / |lat| > 90 -> (False, NaN)."""
    if not (abs(lat_deg) <= 90.0 and math.isfinite(lon_deg)):
        return False, np.nan
    px, py, pz = unit_vector(lat_deg * DEG, lon_deg * DEG)
    cell = _cell_of(gp, px, py, pz) if use_grid else -1
    if cell >= 0 and cell_start[cell + 1] > cell_start[cell]:
        c2, k, code = _nearest_cell(e, cell_edges, cell_start[cell], cell_start[cell + 1], px, py, pz)
    else:
        c2, k, code = _nearest_all(e, px, py, pz)
    return _finish(e, gp, k, code, c2, px, py, pz)


@njit(cache=True)
def _evaluate_serial(lat_deg, lon_deg, e, gp, cell_start, cell_edges, use_grid, inside, dist):
    for i in range(lat_deg.shape[0]):
        inside[i], dist[i] = evaluate_one(lat_deg[i], lon_deg[i], e, gp, cell_start, cell_edges, use_grid)


@njit(cache=True, parallel=True)
def _evaluate_parallel(lat_deg, lon_deg, e, gp, cell_start, cell_edges, use_grid, inside, dist):
    for i in prange(lat_deg.shape[0]):
        inside[i], dist[i] = evaluate_one(lat_deg[i], lon_deg[i], e, gp, cell_start, cell_edges, use_grid)


def evaluate_many(lat_deg, lon_deg, e, gp, cell_start, cell_edges, use_grid, parallel=True):
    """Vectorized :func:`evaluate_one` over 1-D float64 arrays -> (inside, dist_m).

    Runs on numba's thread pool when ``parallel`` and there are at least
    ``PARALLEL_MIN_POINTS`` points."""
    n = lat_deg.shape[0]
    inside = np.empty(n, dtype=np.bool_)
    dist = np.empty(n, dtype=np.float64)
    kernel = _evaluate_parallel if parallel and n >= PARALLEL_MIN_POINTS else _evaluate_serial
    kernel(lat_deg, lon_deg, e, gp, cell_start, cell_edges, use_grid, inside, dist)
    return inside, dist


# --- construction ----------------------------------------------------------------


def edge_table(u):
    """Edge table (see module docstring) for a CCW ring of unit vectors ``u`` (V, 3)."""
    a = u
    b = np.roll(u, -1, axis=0)
    n = np.cross(a, b)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    vertex_pn = np.roll(n, 1, axis=0) + n  # pseudo-normal at vertex k: n_{k-1} + n_k
    e = np.empty((u.shape[0], _EDGE_COLS))
    e[:, N_ : N_ + 3] = n
    e[:, EA_ : EA_ + 3] = np.cross(n, a)
    e[:, EB_ : EB_ + 3] = np.cross(b, n)
    e[:, A_ : A_ + 3] = a
    e[:, B_ : B_ + 3] = b
    e[:, NA_ : NA_ + 3] = vertex_pn
    e[:, NB_ : NB_ + 3] = np.roll(vertex_pn, -1, axis=0)
    return np.ascontiguousarray(e)


@njit(cache=True)
def _plane_to_unit(gp, x, y):
    vx = gp[GP_C] + x * gp[GP_E] + y * gp[GP_N]
    vy = gp[GP_C + 1] + x * gp[GP_E + 1] + y * gp[GP_N + 1]
    vz = gp[GP_C + 2] + x * gp[GP_E + 2] + y * gp[GP_N + 2]
    inv = 1.0 / math.sqrt(vx * vx + vy * vy + vz * vz)
    return vx * inv, vy * inv, vz * inv


@njit(cache=True)
def _angle(ax, ay, az, bx, by, bz):
    cx = ay * bz - az * by
    cy = az * bx - ax * bz
    cz = ax * by - ay * bx
    return math.atan2(math.sqrt(cx * cx + cy * cy + cz * cz), ax * bx + ay * by + az * bz)


@njit(cache=True, parallel=True)
def _cell_candidates(e, gp, lev, skip_box, keep):
    """keep[cell, k] = edge k may hold the nearest boundary point for the cell,
    for the cells of grid level ``lev``. Cells inside ``skip_box`` (x0, y0, x1,
    y1; covered by a finer level) are left empty."""
    o = GP_LEV + LEVEL_SIZE * lev
    side = int(gp[o + LV_SIDE])
    dx = 1.0 / gp[o + LV_INV_D]
    dy = dx
    n_edges = e.shape[0]
    for cell in prange(side * side):
        ix = cell % side
        iy = cell // side
        x = gp[o + LV_X0] + (ix + 0.5) * dx
        y = gp[o + LV_Y0] + (iy + 0.5) * dy
        if (
            x - 0.5 * dx >= skip_box[0]
            and x + 0.5 * dx <= skip_box[2]
            and y - 0.5 * dy >= skip_box[1]
            and y + 0.5 * dy <= skip_box[3]
        ):
            continue
        qx, qy, qz = _plane_to_unit(gp, x, y)
        rho = 0.0
        for cx in (-0.5, 0.5):
            for cy in (-0.5, 0.5):
                vx, vy, vz = _plane_to_unit(gp, x + cx * dx, y + cy * dy)
                rho = max(rho, _angle(qx, qy, qz, vx, vy, vz))
        d = np.empty(n_edges)
        for k in range(n_edges):
            c2, _ = edge_chord2(e, k, qx, qy, qz)
            d[k] = 2.0 * math.asin(min(1.0, 0.5 * math.sqrt(c2)))
        limit = d.min() + 2.0 * rho + GRID_MARGIN_RAD
        for k in range(n_edges):
            keep[cell, k] = d[k] <= limit


def build_grid(e, gp, skip_boxes):
    """CSR candidate lists (cell_start (cells + 1,), cell_edges) for the levels in ``gp``.

    ``skip_boxes[l]`` is the part of level l served by level l - 1 (shrunk by a
    cell of level l - 1 so rounding cannot route a point to a skipped cell);
    a point that lands in an empty cell anyway falls back to all edges.
    """
    n_lev = int(gp[GP_NLEV])
    sides = [int(gp[GP_LEV + LEVEL_SIZE * lev + LV_SIDE]) for lev in range(n_lev)]
    n_cells = sum(side * side for side in sides)
    keep = np.zeros((n_cells, e.shape[0]), dtype=np.bool_)
    for lev in range(n_lev):
        first = int(gp[GP_LEV + LEVEL_SIZE * lev + LV_FIRST])
        _cell_candidates(e, gp, lev, skip_boxes[lev], keep[first : first + sides[lev] ** 2])
    counts = keep.sum(axis=1)
    cell_start = np.zeros(n_cells + 1, dtype=np.int64)
    np.cumsum(counts, out=cell_start[1:])
    cell_edges = np.nonzero(keep)[1].astype(np.int32)  # row-major: ascending edge index per cell
    return cell_start, cell_edges


@njit(cache=True)
def _orient(ax, ay, bx, by, cx, cy):
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@njit(cache=True)
def _on_segment(ax, ay, bx, by, px, py):
    return min(ax, bx) <= px <= max(ax, bx) and min(ay, by) <= py <= max(ay, by)


@njit(cache=True)
def _segments_meet(ax, ay, bx, by, cx, cy, dx, dy):
    """True when closed segments ab and cd share a point (orientation tests)."""
    o1 = _orient(ax, ay, bx, by, cx, cy)
    o2 = _orient(ax, ay, bx, by, dx, dy)
    o3 = _orient(cx, cy, dx, dy, ax, ay)
    o4 = _orient(cx, cy, dx, dy, bx, by)
    if ((o1 > 0 and o2 < 0) or (o1 < 0 and o2 > 0)) and ((o3 > 0 and o4 < 0) or (o3 < 0 and o4 > 0)):
        return True
    if o1 == 0 and _on_segment(ax, ay, bx, by, cx, cy):
        return True
    if o2 == 0 and _on_segment(ax, ay, bx, by, dx, dy):
        return True
    if o3 == 0 and _on_segment(cx, cy, dx, dy, ax, ay):
        return True
    if o4 == 0 and _on_segment(cx, cy, dx, dy, bx, by):
        return True
    return False


@njit(cache=True)
def crossing_edges(x, y, max_pairs):
    """Pairs (i, j), i < j, of non-adjacent ring edges that share a point, in the
    plane (gnomonic coordinates, where the great-circle edges are straight).
    Edge k joins vertices k and k+1 (mod V). At most ``max_pairs`` are returned."""
    v = x.shape[0]
    out = np.empty((max_pairs, 2), dtype=np.int64)
    m = 0
    for i in range(v):
        i1 = (i + 1) % v
        for j in range(i + 2, v):
            if i == 0 and j == v - 1:
                continue  # adjacent through the closing vertex
            j1 = (j + 1) % v
            if _segments_meet(x[i], y[i], x[i1], y[i1], x[j], y[j], x[j1], y[j1]):
                if m < max_pairs:
                    out[m, 0] = i
                    out[m, 1] = j
                m += 1
    return out[: min(m, max_pairs)], m


@njit(cache=True)
def coincident_vertices(u, tol, max_pairs):
    """Pairs (i, j), i < j, of vertices whose unit vectors are closer than chord ``tol``."""
    v = u.shape[0]
    out = np.empty((max_pairs, 2), dtype=np.int64)
    m = 0
    tol2 = tol * tol
    for i in range(v):
        for j in range(i + 1, v):
            dx = u[i, 0] - u[j, 0]
            dy = u[i, 1] - u[j, 1]
            dz = u[i, 2] - u[j, 2]
            if dx * dx + dy * dy + dz * dz < tol2:
                if m < max_pairs:
                    out[m, 0] = i
                    out[m, 1] = j
                m += 1
    return out[: min(m, max_pairs)], m
