"""Numba kernels behind :class:`rangeguard.earth.polygon.GreatCirclePolygon`.

Plain-float, array-in/array-out functions; the class in ``polygon.py`` owns
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
point is an end vertex. The nearest edge is the one with the smallest squared
chord, the lowest edge index among equal ones (the brute-force loop's rule,
which every search path reproduces bit for bit).

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

Edge tree (a bounding-volume hierarchy over the edges): a balanced binary
tree over contiguous ranges of edges in ring order (ring order is spatially
coherent), ``TREE_LEAF_EDGES`` edges per leaf. Each node bounds its arcs by a
line-swept sphere in R^3 (E. Larsen, S. Gottschalk, M. C. Lin, D. Manocha,
"Fast distance queries with rectangular swept sphere volumes", IEEE ICRA
2000): a segment S along the principal axis of the node's vertices and a
radius r such that every arc point is within r of S. Chords are Euclidean
distances between unit vectors, so |p - q| >= dist(p, S) - r for every
boundary point q of the node: a node whose bound exceeds the best chord
found so far (plus ``TREE_MARGIN_CHORD`` for rounding) cannot hold the
nearest edge, nor a tie. The radius: an arc a -> b lies within its sagitta
1 - cos(omega / 2) of the chord segment ab, and the distance to S is convex
along ab, so r = max over the node's edges of max(dist(a, S), dist(b, S)) +
sagitta. A capsule's bound grows only quadratically with the angle along a
curved ring seen from afar, where a bounding cap's grows linearly, so far
points open few nodes.

Grid (nested uniform levels over the gnomonic plane centred at c; a point uses
the finest level that holds it): each cell lists the edges that can hold the
nearest boundary point of any point of the cell. With q the cell's centre, rho
the largest central angle from q to a cell corner (a gnomonic cell is a
spherical quadrilateral with great-circle sides, so its farthest point from q
is a corner) and d_k(q) the angle from q to edge k: edge j is nearest for some
p in the cell only if d_j(q) <= min_k d_k(q) + L rho, where L bounds the
Lipschitz constant of every difference d_j - d_k over the cell. L = 2 always
holds (each d_k is 1-Lipschitz: the triangle inequality). Away from the
polygon it is much smaller: the gradient of d_k at p is the unit vector at p
pointing away from p's nearest point of edge k (Danskin's theorem; at points
with several nearest points every one-sided derivative is one of these), and
every boundary point lies in a cap of radius R about the boundary's centre
(``boundary_cap``; a cap smaller than a hemisphere is convex, so it holds the
great-circle edges between its vertices). Seen from p at angle D > R from the
cap's centre, all of the cap lies within the angle gamma of the direction to
the centre, sin(gamma) = sin(R) / sin(D) (the right spherical triangle of p,
the centre and a tangent point), so two such gradients differ by at most
2 sin(gamma). Along the geodesic from q to p (inside the cell, which is
geodesically convex, and within rho of q) d_j - d_k therefore changes by at most
L rho with L = 2 sin(R) / sin(D(q) - rho), used where D(q) - rho > R and
D(q) + rho < 90 degrees (else L = 2). At 1000 km from a 78 km circle, L is
about 0.16: lists about 3x shorter than with L = 2. Each cell's list is then
the union of the lists of its ``GRID_SUBCELLS`` x ``GRID_SUBCELLS`` sub-cells
(the same test over the cell's list, with the sub-cell's centre and corners;
the minimum over the cell's list is the minimum over all edges, since the
nearest edge of a sub-cell's centre is on it): about 2x shorter again, as the
window L rho shrinks with the sub-cell. A margin of ``GRID_MARGIN_RAD`` covers
rounding; the angle tests are done on squared chords (``_chord2_limit``).
Candidates are kept in ascending edge order (ties go to the lowest index).
Cells with more than ``GRID_MAX_CANDIDATES`` are left empty.

Search: a point in a cell with a list scans it; any other point (empty cell,
off the grid, beyond 90 degrees from c) searches the edge tree depth-first
from the root, nearer child first, skipping every node whose bound exceeds the
best chord so far by more than ``TREE_MARGIN_CHORD``. A skipped node holds no
edge with a computed chord <= the best, and leaves keep ties to the lowest
edge index, so every path returns the brute-force loop's answer bit for bit.
The tree costs about 2 log2(V / 8) bound tests and one or two leaves per
point at any distance.

Measured (one thread, 20 000 rows of ``bench/engine.py``'s vehicles: IIPs
200-1600 km from the polygons, and present positions; ns per point, before ->
after the Lipschitz test, the sub-cells, the branch-free ``_finish`` and the
separate brute-force loop): 200-vertex circles of 0.7 deg 128-154 -> 58-66
(the tree answered most far points before, ~110 ns each; now the grid answers
them, ~12 candidates); the coastlines of missions/kii-sso.yaml and
sounding.yaml (40-190 vertices) 60-137 -> 35-58; 4-vertex corridors 49 -> 35.
With two threads on an otherwise idle core: 1.0-1.3 ms -> 0.35-0.45 ms per
20 000 points. Building the grid takes about as long as before (~0.08 s for
200 edges).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from rangeguard.constants import DEG, WGS84_A_M, WGS84_B_M, WGS84_E2
from rangeguard.jit import CHUNK_ROWS, kernel, rows_kernel

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


def grid_params_size(n_levels: int) -> int:
    """Length of the grid parameter vector for ``n_levels`` levels."""
    return GP_LEV + LEVEL_SIZE * n_levels


GRID_MAX_CANDIDATES = 48
"""Cells with more candidate edges than this are left empty: their points use
the edge tree (about 8-16 bound tests and 10-15 edges). With the Lipschitz
test few cells come near it: 16, 24, 32, 48 and 96 measured alike."""

GRID_MARGIN_RAD = 1e-6
"""Extra central angle (about 6 m) added to the candidate test to cover rounding
in the squared-chord comparisons (which resolve angles to ~5e-8 rad near 0)."""

GRID_SUBCELLS = 4
"""Each grid cell's list is the union of the lists of its GRID_SUBCELLS x
GRID_SUBCELLS sub-cells (lists of the far field shrink about 2x). 8 measured
another ~10 % faster queries on the 200-vertex circle for 4x the build time
(0.33 s); 4 builds in about the time the grid took before (0.08 s)."""

TREE_LEAF_EDGES = 8
"""Edges per leaf of the edge tree (4 and 8 measure alike; 4 prunes tighter)."""

TREE_MARGIN_CHORD = 1e-9
"""Chord (about 6 mm on the ground) by which a node's lower bound must exceed
the best chord found so far before the node is skipped. It covers rounding on
both sides (unit vectors, bounds and chords are good to about 1e-15), so a
skipped node never holds an edge whose computed chord is <= the best."""

TREE_STACK = 64
"""Traversal stack size; a tree of V edges is about log2(V / 4) levels deep."""

PARALLEL_CHUNK = CHUNK_ROWS
"""Points per call of :func:`_evaluate_range` (each call allocates its search stack once); the
parallel tasks of :func:`rangeguard.jit.rows_kernel` are this size."""


@kernel(inline="always")
def unit_vector(lat_rad: float, lon_rad: float) -> tuple[float, float, float]:
    """Geocentric unit vector of the ellipsoid surface point at (lat, lon)."""
    cl = math.cos(lat_rad)
    x = cl * math.cos(lon_rad)
    y = cl * math.sin(lon_rad)
    z = _ONE_MINUS_E2 * math.sin(lat_rad)
    inv = 1.0 / math.sqrt(x * x + y * y + z * z)
    return x * inv, y * inv, z * inv


@kernel(inline="always")
def _dot(e: NDArray[np.float64], k: int, o: int, px: float, py: float, pz: float) -> float:
    dot: float = e[k, o] * px + e[k, o + 1] * py + e[k, o + 2] * pz
    return dot


@kernel(inline="always")
def edge_chord2(e: NDArray[np.float64], k: int, px: float, py: float, pz: float) -> tuple[float, int]:
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


@kernel(inline="always")
def _finish(
    e: NDArray[np.float64], gp: NDArray[np.float64], k: int, code: int, c2: float, px: float, py: float, pz: float
) -> tuple[bool, float]:
    """Signed distance (m) and inside flag from the nearest edge k.

    m is the direction midway between p and its nearest boundary point x (any
    positive multiple of p + x: |f| p + f for the foot f = p - (p.n) n of an arc
    interior, |f| x = f); the geocentric radius there, a b / sqrt(b^2 (1 - zu^2)
    + a^2 zu^2) with zu = m_z / |m|, is a b sqrt(|m|^2 / (b^2 |m|^2 + (a^2 - b^2) m_z^2)).
    (One square root and one division on the critical path instead of three of
    each.)"""
    # Branch-free (selects): which case holds is data-dependent and mispredicts often.
    s = _dot(e, k, N_, px, py, pz)
    fx = px - s * e[k, N_]
    fy = py - s * e[k, N_ + 1]
    fz = pz - s * e[k, N_ + 2]
    fn = math.sqrt(fx * fx + fy * fy + fz * fz)
    at_b = code == 2
    o = B_ if at_b else A_
    vx = e[k, o]
    vy = e[k, o + 1]
    vz = e[k, o + 2]
    side_v = _dot(e, k, NB_ if at_b else NA_, px, py, pz)
    on_arc = code == 0
    mx = fn * px + fx if on_arc else px + vx
    my = fn * py + fy if on_arc else py + vy
    mz = fn * pz + fz if on_arc else pz + vz
    side = s if on_arc else side_v
    m2 = mx * mx + my * my + mz * mz
    # p at a pole of the arc's circle (f = 0), or |p + x| <= 1e-12 (p opposite a
    # vertex): use p's own direction (|m| scales with |f| on an arc)
    if not m2 > (fn * fn if on_arc else 1.0) * 1e-24:
        mx, my, mz, m2 = px, py, pz, 1.0
    half = 0.5 * math.sqrt(c2)
    if half > 1.0:
        half = 1.0
    theta = 2.0 * math.asin(half)
    radius = _A * _B * math.sqrt(m2 / (_B2 * m2 + (_A2 - _B2) * (mz * mz)))
    w = gp[GP_C] * px + gp[GP_C + 1] * py + gp[GP_C + 2] * pz
    inside = side > 0.0 and w > 0.0
    d = theta * radius
    return inside, (d if inside else -d)


@kernel(inline="always")
def _nearest_all(e: NDArray[np.float64], px: float, py: float, pz: float) -> tuple[float, int, int]:
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


@kernel(inline="always")
def _nearest_cell(
    e: NDArray[np.float64], cell_edges: NDArray[np.int32], lo: int, hi: int, px: float, py: float, pz: float
) -> tuple[float, int, int]:
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


@kernel(inline="always")
def _cell_of(gp: NDArray[np.float64], px: float, py: float, pz: float) -> int:
    """Grid cell index of p, or -1 when p is off the grid (or not projectable)."""
    w = gp[GP_C] * px + gp[GP_C + 1] * py + gp[GP_C + 2] * pz
    if not w > 0.0:
        return -1
    inv_w = 1.0 / w
    x = (gp[GP_E] * px + gp[GP_E + 1] * py + gp[GP_E + 2] * pz) * inv_w
    y = (gp[GP_N] * px + gp[GP_N + 1] * py + gp[GP_N + 2] * pz) * inv_w
    for lev in range(int(gp[GP_NLEV])):
        o = GP_LEV + LEVEL_SIZE * lev
        fx = (x - gp[o + LV_X0]) * gp[o + LV_INV_D]
        fy = (y - gp[o + LV_Y0]) * gp[o + LV_INV_D]
        side = gp[o + LV_SIDE]
        if fx >= 0.0 and fx < side and fy >= 0.0 and fy < side:
            return int(gp[o + LV_FIRST]) + int(fy) * int(side) + int(fx)
    return -1


# --- edge tree ---------------------------------------------------------------------

# Node bound layout, one row of _TREE_COLS floats per node: start of the
# segment S (3), its unit direction (3), its length, the swept radius.
(T_S0, T_D, T_LEN, T_RAD) = (0, 3, 6, 7)
_TREE_COLS = 8
# Node links, one row of int64 per node: first edge, end edge (exclusive),
# right child (-1 for a leaf; the left child is the next row), parent (-1 at the root).
(T_LO, T_HI, T_RIGHT, T_PARENT) = (0, 1, 2, 3)


@kernel(inline="always")
def _bound(tf: NDArray[np.float64], j: int, px: float, py: float, pz: float) -> float:
    """Lower bound on the chord from p to any boundary point of node j."""
    qx = px - tf[j, T_S0]
    qy = py - tf[j, T_S0 + 1]
    qz = pz - tf[j, T_S0 + 2]
    t = qx * tf[j, T_D] + qy * tf[j, T_D + 1] + qz * tf[j, T_D + 2]
    t = min(max(t, 0.0), tf[j, T_LEN])
    qx -= t * tf[j, T_D]
    qy -= t * tf[j, T_D + 1]
    qz -= t * tf[j, T_D + 2]
    bound: float = math.sqrt(qx * qx + qy * qy + qz * qz) - tf[j, T_RAD]
    return bound


@kernel(inline="always")
def _search(
    e: NDArray[np.float64],
    tf: NDArray[np.float64],
    ti: NDArray[np.int64],
    node: int,
    best: float,
    best_k: int,
    best_code: int,
    px: float,
    py: float,
    pz: float,
    s_node: NDArray[np.int64],
    s_lb: NDArray[np.float64],
) -> tuple[float, int, int]:
    """Depth-first search of the subtree at ``node`` (nearer child first), improving
    (best chord^2, its edge, its code); the caller has checked node's own bound."""
    reach = math.sqrt(best) + TREE_MARGIN_CHORD
    sp = 0
    while True:
        right = ti[node, T_RIGHT]
        if right < 0:
            for k in range(ti[node, T_LO], ti[node, T_HI]):
                c2, code = edge_chord2(e, k, px, py, pz)
                if c2 < best or (c2 == best and k < best_k):
                    best = c2
                    best_k = k
                    best_code = code
                    reach = math.sqrt(best) + TREE_MARGIN_CHORD
            node = -1
        else:
            left = node + 1
            b_left = _bound(tf, left, px, py, pz)
            b_right = _bound(tf, right, px, py, pz)
            if b_right < b_left:
                near, far, b_near, b_far = right, left, b_right, b_left
            else:
                near, far, b_near, b_far = left, right, b_left, b_right
            if b_far <= reach:
                s_node[sp] = far
                s_lb[sp] = b_far
                sp += 1
            node = near if b_near <= reach else -1
        if node < 0:
            while sp > 0:
                sp -= 1
                if s_lb[sp] <= reach:
                    node = s_node[sp]
                    break
            if node < 0:
                return best, best_k, best_code


# --- queries -------------------------------------------------------------------------


@kernel(inline="always")
def _nearest(
    e: NDArray[np.float64],
    gp: NDArray[np.float64],
    cell_start: NDArray[np.int64],
    cell_edges: NDArray[np.int32],
    tf: NDArray[np.float64],
    ti: NDArray[np.int64],
    accelerated: bool,
    px: float,
    py: float,
    pz: float,
    s_node: NDArray[np.int64],
    s_lb: NDArray[np.float64],
) -> tuple[float, int, int]:
    """(chord^2, edge, code) of p's nearest edge: the grid cell's candidates when
    the cell has a list, else the edge tree; all edges when not ``accelerated``."""
    if not accelerated:
        return _nearest_all(e, px, py, pz)
    cell = _cell_of(gp, px, py, pz)
    if cell >= 0 and cell_start[cell + 1] > cell_start[cell]:
        return _nearest_cell(e, cell_edges, cell_start[cell], cell_start[cell + 1], px, py, pz)
    return _search(e, tf, ti, 0, np.inf, 0, 1, px, py, pz, s_node, s_lb)


@kernel()
def evaluate_one(
    lat_deg: float,
    lon_deg: float,
    e: NDArray[np.float64],
    gp: NDArray[np.float64],
    cell_start: NDArray[np.int64],
    cell_edges: NDArray[np.int32],
    tf: NDArray[np.float64],
    ti: NDArray[np.int64],
    accelerated: bool,
) -> tuple[bool, float]:
    """(inside, signed_distance_m) for one point; NaN / |lat| > 90 -> (False, NaN).

    ``accelerated`` False searches all edges (the reference the tree reproduces)."""
    if not (abs(lat_deg) <= 90.0 and math.isfinite(lon_deg)):
        return False, np.nan
    px, py, pz = unit_vector(lat_deg * DEG, lon_deg * DEG)
    s_node = np.empty(TREE_STACK, dtype=np.int64)
    s_lb = np.empty(TREE_STACK)
    c2, k, code = _nearest(e, gp, cell_start, cell_edges, tf, ti, accelerated, px, py, pz, s_node, s_lb)
    return _finish(e, gp, k, code, c2, px, py, pz)


@kernel()
def units_from_latlon(lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64], u: NDArray[np.float64]) -> None:
    """Geocentric unit vectors (n, 3) of (lat_deg, lon_deg); NaN rows where |lat| > 90 or not finite."""
    for i in range(lat_deg.shape[0]):
        lat = lat_deg[i]
        lon = lon_deg[i]
        if abs(lat) <= 90.0 and math.isfinite(lon):
            u[i, 0], u[i, 1], u[i, 2] = unit_vector(lat * DEG, lon * DEG)
        else:
            u[i, 0] = u[i, 1] = u[i, 2] = np.nan


@kernel()
def _evaluate_range(
    u: NDArray[np.float64],
    start: int,
    stop: int,
    e: NDArray[np.float64],
    gp: NDArray[np.float64],
    cell_start: NDArray[np.int64],
    cell_edges: NDArray[np.int32],
    tf: NDArray[np.float64],
    ti: NDArray[np.int64],
    accelerated: bool,
    inside: NDArray[np.bool_],
    dist: NDArray[np.float64],
) -> None:
    """:func:`evaluate_one` for unit vectors start..stop-1 (at most ``PARALLEL_CHUNK``),
    written into inside / dist (NaN rows: outside, NaN distance). Two passes: grid
    cells with a candidate list first, then the edge tree for the rest (a row with
    NaN or inf is never in a cell: its gnomonic coordinates are NaN). Lean loops
    of one kind each run about 1.2-1.5x faster than one loop holding several
    searches; the brute-force loop has its own. Compiled once, on its own, and
    called per chunk by the serial and the parallel kernels (inlined into each,
    it doubled the compile time and ran no faster)."""
    if not accelerated:
        for i in range(start, stop):
            px, py, pz = u[i, 0], u[i, 1], u[i, 2]
            if math.isfinite(px) and math.isfinite(py) and math.isfinite(pz):
                c2, k, code = _nearest_all(e, px, py, pz)
                inside[i], dist[i] = _finish(e, gp, k, code, c2, px, py, pz)
            else:
                inside[i] = False
                dist[i] = np.nan
        return
    deferred = np.empty(PARALLEL_CHUNK, dtype=np.int64)
    n_deferred = 0
    for i in range(start, stop):
        px, py, pz = u[i, 0], u[i, 1], u[i, 2]
        cell = _cell_of(gp, px, py, pz)
        if cell < 0 or cell_start[cell + 1] == cell_start[cell]:
            deferred[n_deferred] = i
            n_deferred += 1
            continue
        c2, k, code = _nearest_cell(e, cell_edges, cell_start[cell], cell_start[cell + 1], px, py, pz)
        inside[i], dist[i] = _finish(e, gp, k, code, c2, px, py, pz)
    if n_deferred == 0:
        return
    s_node = np.empty(TREE_STACK, dtype=np.int64)
    s_lb = np.empty(TREE_STACK)
    for j in range(n_deferred):
        i = deferred[j]
        px, py, pz = u[i, 0], u[i, 1], u[i, 2]
        if math.isfinite(px) and math.isfinite(py) and math.isfinite(pz):
            c2, k, code = _search(e, tf, ti, 0, np.inf, 0, 1, px, py, pz, s_node, s_lb)
            inside[i], dist[i] = _finish(e, gp, k, code, c2, px, py, pz)
        else:
            inside[i] = False
            dist[i] = np.nan


@rows_kernel()
def _evaluate_rows(
    u: NDArray[np.float64],
    e: NDArray[np.float64],
    gp: NDArray[np.float64],
    cell_start: NDArray[np.int64],
    cell_edges: NDArray[np.int32],
    tf: NDArray[np.float64],
    ti: NDArray[np.int64],
    accelerated: bool,
    inside: NDArray[np.bool_],
    dist: NDArray[np.float64],
    lo: int,
    hi: int,
) -> None:
    """:func:`_evaluate_range` on unit vectors lo..hi-1, at most ``PARALLEL_CHUNK`` at a time."""
    for start in range(lo, hi, PARALLEL_CHUNK):
        stop = min(hi, start + PARALLEL_CHUNK)
        _evaluate_range(u, start, stop, e, gp, cell_start, cell_edges, tf, ti, accelerated, inside, dist)


def evaluate_units(
    u: NDArray[np.float64],
    e: NDArray[np.float64],
    gp: NDArray[np.float64],
    cell_start: NDArray[np.int64],
    cell_edges: NDArray[np.int32],
    tf: NDArray[np.float64],
    ti: NDArray[np.int64],
    accelerated: bool,
    parallel: bool = True,
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Vectorized :func:`evaluate_one` over geocentric unit vectors (n, 3) -> (inside, dist_m).

    Runs on numba's thread pool when ``parallel`` and there are at least
    :data:`rangeguard.jit.PARALLEL_MIN_ROWS` points."""
    n = u.shape[0]
    inside = np.empty(n, dtype=np.bool_)
    dist = np.empty(n, dtype=np.float64)
    _evaluate_rows(n, u, e, gp, cell_start, cell_edges, tf, ti, accelerated, inside, dist, parallel=parallel)
    return inside, dist


def evaluate_many(
    lat_deg: NDArray[np.float64],
    lon_deg: NDArray[np.float64],
    e: NDArray[np.float64],
    gp: NDArray[np.float64],
    cell_start: NDArray[np.int64],
    cell_edges: NDArray[np.int32],
    tf: NDArray[np.float64],
    ti: NDArray[np.int64],
    accelerated: bool,
    parallel: bool = True,
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Vectorized :func:`evaluate_one` over 1-D float64 lat/lon arrays -> (inside, dist_m)."""
    u = np.empty((lat_deg.shape[0], 3))
    units_from_latlon(lat_deg, lon_deg, u)
    return evaluate_units(u, e, gp, cell_start, cell_edges, tf, ti, accelerated, parallel)


evaluate_range = _evaluate_range
"""The compiled range loop, for other compiled passes (the rules' program evaluates a polygon on
its own chunk of rows): points start..stop-1 of ``u``, at most ``PARALLEL_CHUNK`` of them."""
