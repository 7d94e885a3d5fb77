"""Construction of the structures behind :class:`rangeguard.earth.polygon.GreatCirclePolygon`.

Run once per polygon when a mission loads: the edge table, the edge tree
(line-swept sphere bounds) and the nested grid of candidate lists, plus the
validity checks (crossing edges, coincident vertices). The queries that use
them, and the invariants they must keep, are in ``_polygon_kernels.py``
(module docstring).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange
from numpy.typing import ArrayLike, NDArray

from rangeguard.earth._polygon_kernels import (  # the layouts and the edge metric the queries use
    _EDGE_COLS,
    _TREE_COLS,
    A_,
    B_,
    EA_,
    EB_,
    GP_C,
    GP_E,
    GP_LEV,
    GP_N,
    GP_NLEV,
    GRID_MARGIN_RAD,
    GRID_MAX_CANDIDATES,
    GRID_SUBCELLS,
    LEVEL_SIZE,
    LV_FIRST,
    LV_INV_D,
    LV_SIDE,
    LV_X0,
    LV_Y0,
    N_,
    NA_,
    NB_,
    T_D,
    T_LEN,
    T_RAD,
    T_RIGHT,
    T_S0,
    edge_chord2,
)
from rangeguard.jit import kernel


def edge_table(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Edge table (layout in the ``_polygon_kernels`` docstring) for a CCW ring of unit vectors ``u`` (V, 3)."""
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


def _node_bound(u: NDArray[np.float64], lo: int, hi: int) -> NDArray[np.float64]:
    """Swept-sphere bound (a row of ``tf``) of the arcs of edges lo..hi-1 of the ring u.

    Runs once per node when a polygon is built, in numpy (as a numba kernel its
    eigen-solver took ~6 s to compile on every new machine).
    """
    idx = (lo + np.arange(hi - lo + 1)) % u.shape[0]  # vertices lo..hi (the last one closes edge hi - 1)
    pts = u[idx]
    mean = pts.mean(axis=0)
    d = pts - mean
    axis = np.linalg.eigh(d.T @ d)[1][:, 2]  # principal axis (largest eigenvalue)
    t = d @ axis
    t_min, t_max = float(t.min()), float(t.max())
    start = mean + t_min * axis
    length = t_max - t_min
    # distance of every vertex to the segment S, as _bound measures it
    q = pts - start
    along = np.clip(q @ axis, 0.0, length)
    dist = np.sqrt(((q - along[:, None] * axis) ** 2).sum(axis=1))
    quarter_c2 = 0.25 * ((pts[:-1] - pts[1:]) ** 2).sum(axis=1)
    sagitta = quarter_c2 / (1.0 + np.sqrt(np.maximum(0.0, 1.0 - quarter_c2)))  # 1 - cos(omega / 2)
    radius = float(np.max(np.maximum(dist[:-1], dist[1:]) + sagitta))
    row = np.empty(_TREE_COLS)
    row[T_S0 : T_S0 + 3] = start
    row[T_D : T_D + 3] = axis
    row[T_LEN] = length
    row[T_RAD] = max(radius, 0.0)
    return row


def build_tree(u: ArrayLike, leaf_edges: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Edge tree over the CCW ring of unit vectors ``u`` (V, 3).

    Returns (tf (nodes, 8) float64 bounds, ti (nodes, 4) int64 links), nodes in
    depth-first order (the left child is the next row).
    """
    u = np.asarray(u, dtype=np.float64)
    v = u.shape[0]
    rows: list[NDArray[np.float64]] = []
    links: list[list[int]] = []
    stack = [(0, v, -1)]
    while stack:
        lo, hi, parent = stack.pop()
        node = len(rows)
        if parent >= 0 and node != parent + 1:
            links[parent][T_RIGHT] = node
        rows.append(_node_bound(u, lo, hi))
        links.append([lo, hi, -1, parent])
        if hi - lo > leaf_edges:
            mid = (lo + hi) // 2
            stack.append((mid, hi, node))  # right, popped after the left subtree
            stack.append((lo, mid, node))
    return np.array(rows), np.array(links, dtype=np.int64)


@kernel()
def _plane_to_unit(gp: NDArray[np.float64], x: float, y: float) -> tuple[float, float, float]:
    vx = gp[GP_C] + x * gp[GP_E] + y * gp[GP_N]
    vy = gp[GP_C + 1] + x * gp[GP_E + 1] + y * gp[GP_N + 1]
    vz = gp[GP_C + 2] + x * gp[GP_E + 2] + y * gp[GP_N + 2]
    inv = 1.0 / math.sqrt(vx * vx + vy * vy + vz * vz)
    return vx * inv, vy * inv, vz * inv


@kernel()
def _angle(ax: float, ay: float, az: float, bx: float, by: float, bz: float) -> float:
    cx = ay * bz - az * by
    cy = az * bx - ax * bz
    cz = ax * by - ay * bx
    return math.atan2(math.sqrt(cx * cx + cy * cy + cz * cz), ax * bx + ay * by + az * bz)


@kernel(inline="always")
def _lipschitz(qx: float, qy: float, qz: float, rho: float, cap: NDArray[np.float64]) -> float:
    """Bound on |grad d_j - grad d_k| over the points within rho of q, for any two
    edges j, k (module docstring): 2 sin(R) / sin(D_min) where the whole disc lies
    outside the boundary's cap (centre, radius R, sin R in ``cap``) and within 90
    degrees of its centre (D_min = D(q) - rho), else 2."""
    dq = _angle(qx, qy, qz, cap[0], cap[1], cap[2])
    lo = dq - rho
    if lo > cap[3] and dq + rho < 0.5 * math.pi:
        lip: float = min(2.0, 2.0 * cap[4] / math.sin(lo))
        return lip
    return 2.0


@kernel(inline="always")
def _cell_rho(gp: NDArray[np.float64], x: float, y: float, dx: float, qx: float, qy: float, qz: float) -> float:
    """Largest central angle from q (the unit vector of plane point x, y) to the
    corners of the cell of side dx centred on (x, y)."""
    rho = 0.0
    for cx in (-0.5, 0.5):
        for cy in (-0.5, 0.5):
            vx, vy, vz = _plane_to_unit(gp, x + cx * dx, y + cy * dx)
            rho = max(rho, _angle(qx, qy, qz, vx, vy, vz))
    return rho


@kernel(inline="always")
def _chord2_limit(c2_min: float, extra_rad: float) -> float:
    """Squared chord of the central angle (angle of chord^2 ``c2_min``) + ``extra_rad``:
    comparing squared chords against it is the angle test, without an asin per edge."""
    angle = 2.0 * math.asin(min(1.0, 0.5 * math.sqrt(c2_min))) + extra_rad
    if angle >= math.pi:
        return 4.0
    h = math.sin(0.5 * angle)
    return 4.0 * h * h


@kernel(parallel=True)
def _cell_candidates(
    e: NDArray[np.float64],
    gp: NDArray[np.float64],
    lev: int,
    skip_box: NDArray[np.float64],
    keep: NDArray[np.bool_],
    cap: NDArray[np.float64],
) -> None:
    """keep[cell, k] = edge k may hold the nearest boundary point for some point of
    the cell, for the cells of grid level ``lev``. Cells inside ``skip_box`` (x0,
    y0, x1, y1; covered by a finer level) are left empty. ``cap`` = (centre unit
    vector, radius, sin(radius)) of a cap holding the whole boundary. The test
    (module docstring) is run on the cell, and then on each of its
    ``GRID_SUBCELLS`` x ``GRID_SUBCELLS`` sub-cells over the cell's list: an edge
    is kept when some sub-cell needs it."""
    o = GP_LEV + LEVEL_SIZE * lev
    side = int(gp[o + LV_SIDE])
    for cell in prange(side * side):
        _one_cell(e, gp, np.int64(lev), skip_box, keep, cap, np.int64(cell))


@kernel()
def _one_cell(
    e: NDArray[np.float64],
    gp: NDArray[np.float64],
    lev: np.int64,
    skip_box: NDArray[np.float64],
    keep: NDArray[np.bool_],
    cap: NDArray[np.float64],
    cell: np.int64,
) -> None:
    """:func:`_cell_candidates` for one cell (compiled on its own: the loop body inside
    ``prange`` compiled several times slower)."""
    o = GP_LEV + LEVEL_SIZE * lev
    side = int(gp[o + LV_SIDE])
    dx = 1.0 / gp[o + LV_INV_D]
    n_edges = e.shape[0]
    m = GRID_SUBCELLS
    sdx = dx / m
    ix = cell % side
    iy = cell // side
    x = gp[o + LV_X0] + (ix + 0.5) * dx
    y = gp[o + LV_Y0] + (iy + 0.5) * dx
    if (
        x - 0.5 * dx >= skip_box[0]
        and x + 0.5 * dx <= skip_box[2]
        and y - 0.5 * dx >= skip_box[1]
        and y + 0.5 * dx <= skip_box[3]
    ):
        return
    qx, qy, qz = _plane_to_unit(gp, x, y)
    rho = _cell_rho(gp, x, y, dx, qx, qy, qz)
    c2 = np.empty(n_edges)
    for k in range(n_edges):
        c2[k], _ = edge_chord2(e, k, qx, qy, qz)
    lip = _lipschitz(qx, qy, qz, rho, cap)  # holds over the whole cell, so in each sub-cell
    limit = _chord2_limit(c2.min(), lip * rho + GRID_MARGIN_RAD)
    cand = np.flatnonzero(c2 <= limit)
    if cand.size <= 2 or m <= 1:
        for kc in cand:
            keep[cell, kc] = True
        return
    cs = np.empty(cand.size)
    corner = np.empty((m + 1, m + 1, 3))
    for sy in range(m + 1):
        for sx in range(m + 1):
            corner[sy, sx, 0], corner[sy, sx, 1], corner[sy, sx, 2] = _plane_to_unit(
                gp, x + (sx - 0.5 * m) * sdx, y + (sy - 0.5 * m) * sdx
            )
    for sy in range(m):
        for sx in range(m):
            px, py, pz = _plane_to_unit(gp, x + (sx + 0.5 - 0.5 * m) * sdx, y + (sy + 0.5 - 0.5 * m) * sdx)
            c2_max = 0.0
            for cy in range(sy, sy + 2):
                for cx in range(sx, sx + 2):
                    ex = px - corner[cy, cx, 0]
                    ey = py - corner[cy, cx, 1]
                    ez = pz - corner[cy, cx, 2]
                    c2_max = max(c2_max, ex * ex + ey * ey + ez * ez)
            rs = 2.0 * math.asin(min(1.0, 0.5 * math.sqrt(c2_max))) * (1.0 + 1e-12)  # farthest corner
            for i in range(cand.size):
                cs[i], _ = edge_chord2(e, cand[i], px, py, pz)
            lim = _chord2_limit(cs.min(), lip * rs + GRID_MARGIN_RAD)
            for i in range(cand.size):
                if cs[i] <= lim:
                    keep[cell, cand[i]] = True


def boundary_cap(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """(c_x, c_y, c_z, radius_rad, sin(radius)) of a cap about the normalized mean of
    the ring's unit vectors ``u`` (V, 3) that holds every vertex; its radius is
    set to pi (no cap) when it would not be below 90 degrees. A cap smaller than a
    hemisphere is convex, so it then holds every great-circle edge too."""
    c = u.sum(axis=0)
    norm = float(np.linalg.norm(c))
    if not norm > 0.0:
        return np.array([0.0, 0.0, 1.0, math.pi, 0.0])
    c = c / norm
    cr = np.cross(u, c)
    radius = float(np.max(np.arctan2(np.linalg.norm(cr, axis=1), u @ c))) + GRID_MARGIN_RAD
    if radius >= 0.5 * math.pi:
        radius = math.pi
    return np.array([c[0], c[1], c[2], radius, math.sin(radius)])


def build_grid(
    e: NDArray[np.float64], gp: NDArray[np.float64], skip_boxes: NDArray[np.float64], cap: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """CSR candidate lists (cell_start (cells + 1,), cell_edges) for the levels in ``gp``.

    ``skip_boxes[l]`` is the part of level l served by level l - 1 (shrunk by a
    cell of level l - 1 so rounding cannot route a point to a skipped cell);
    a point that lands in an empty cell anyway uses the edge tree. Cells with
    more than ``GRID_MAX_CANDIDATES`` candidates are left empty too.
    """
    n_lev = int(gp[GP_NLEV])
    sides = [int(gp[GP_LEV + LEVEL_SIZE * lev + LV_SIDE]) for lev in range(n_lev)]
    n_cells = sum(side * side for side in sides)
    keep = np.zeros((n_cells, e.shape[0]), dtype=np.bool_)
    for lev in range(n_lev):
        first = int(gp[GP_LEV + LEVEL_SIZE * lev + LV_FIRST])
        _cell_candidates(e, gp, lev, skip_boxes[lev], keep[first : first + sides[lev] ** 2], cap)
    counts = keep.sum(axis=1)
    keep[counts > GRID_MAX_CANDIDATES] = False  # these cells use the edge tree
    counts[counts > GRID_MAX_CANDIDATES] = 0
    cell_start = np.zeros(n_cells + 1, dtype=np.int64)
    np.cumsum(counts, out=cell_start[1:])
    cell_edges = np.nonzero(keep)[1].astype(np.int32)  # row-major: ascending edge index per cell
    return cell_start, cell_edges


@kernel()
def _orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@kernel()
def _on_segment(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> bool:
    return min(ax, bx) <= px <= max(ax, bx) and min(ay, by) <= py <= max(ay, by)


@kernel()
def _segments_meet(ax: float, ay: float, bx: float, by: float, cx: float, cy: float, dx: float, dy: float) -> bool:
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


MAX_COUNTED_PAIRS = 100_000
"""The validity checks stop counting crossing or coincident pairs here (the ring is
already invalid; the message then says "at least")."""

_QUERY_PAIRS = 1 << 22  # edges per STRtree query x V: bounds the candidate pairs one query can return (64 MB)


@kernel()
def _pairs_meet(
    x: NDArray[np.float64], y: NDArray[np.float64], ii: NDArray[np.int64], jj: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """meet[k] = edges ii[k] and jj[k] of the ring (x, y) share a point (closed segments)."""
    v = x.shape[0]
    meet = np.zeros(ii.shape[0], dtype=np.bool_)
    for k in range(ii.shape[0]):
        i, j = ii[k], jj[k]
        i1, j1 = (i + 1) % v, (j + 1) % v
        meet[k] = _segments_meet(x[i], y[i], x[i1], y[i1], x[j], y[j], x[j1], y[j1])
    return meet


def crossing_edges(x: ArrayLike, y: ArrayLike, max_pairs: int) -> tuple[NDArray[np.int64], int, bool]:
    """Pairs (i, j), i < j, of non-adjacent ring edges that share a point, in the
    plane (gnomonic coordinates, where the great-circle edges are straight).

    Edge k joins vertices k and k+1 (mod V). Returns (the first ``max_pairs``
    pairs in (i, j) order, how many there are, whether that count is complete:
    counting stops past ``MAX_COUNTED_PAIRS``). The same pairs, in the same
    order, as testing every pair; but only pairs whose bounding boxes overlap
    are tested, found with an STR-packed R-tree (shapely.STRtree; Leutenegger,
    Edgington & Lopez 1997): O(V log V + K) for K such pairs, about V for an
    outline drawn from a coastline (a few hundredths of a second for 100 000
    vertices); only rings whose edges' boxes nest by the thousand (a spiral)
    approach V^2.
    """
    import shapely  # imported here: only validation needs it

    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    v = x.shape[0]
    ends = np.empty((v, 2, 2))
    ends[:, 0, 0], ends[:, 0, 1] = x, y
    ends[:, 1, 0], ends[:, 1, 1] = np.roll(x, -1), np.roll(y, -1)
    edges = shapely.linestrings(ends)
    tree = shapely.STRtree(edges)
    found: list[tuple[int, int]] = []
    total = 0
    step = min(max(1, _QUERY_PAIRS // max(v, 1)), 4096)
    for lo in range(0, v, step):
        which, other = tree.query(edges[lo : lo + step])  # boxes overlap (closed: touching counts)
        i = which.astype(np.int64) + lo
        j = other.astype(np.int64)
        keep = (j >= i + 2) & ~((i == 0) & (j == v - 1))  # later, non-adjacent edges only
        i, j = i[keep], j[keep]
        order = np.lexsort((j, i))
        i, j = i[order], j[order]
        meet = _pairs_meet(x, y, i, j)
        total += int(meet.sum())
        if len(found) < max_pairs:
            found += list(zip(i[meet][:max_pairs].tolist(), j[meet][:max_pairs].tolist(), strict=True))
        if total > MAX_COUNTED_PAIRS:
            return _pair_array(found[:max_pairs]), total, False
    return _pair_array(found[:max_pairs]), total, True


def _pair_array(pairs: list[tuple[int, int]]) -> NDArray[np.int64]:
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


@kernel()
def _key_before(a0: int, a1: int, a2: int, b0: int, b1: int, b2: int) -> bool:
    return a0 < b0 or (a0 == b0 and (a1 < b1 or (a1 == b1 and a2 < b2)))


@kernel()
def _first_at_or_after(keys: NDArray[np.int64], k0: int, k1: int, k2: int) -> int:
    """Index of the first row of the lexicographically sorted (n, 3) ``keys`` not before (k0, k1, k2)."""
    lo, hi = 0, keys.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if _key_before(keys[mid, 0], keys[mid, 1], keys[mid, 2], k0, k1, k2):
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel()
def _coincident(
    u: NDArray[np.float64],
    tol: float,
    cell: NDArray[np.int64],
    order: NDArray[np.int64],
    sorted_cell: NDArray[np.int64],
    max_pairs: int,
    max_counted: int,
) -> tuple[NDArray[np.int64], int, bool]:
    v = u.shape[0]
    out = np.empty((max_pairs, 2), dtype=np.int64)
    m = 0
    tol2 = tol * tol
    js = np.empty(v, dtype=np.int64)
    for i in range(v):
        n = 0
        for d0 in range(-1, 2):
            for d1 in range(-1, 2):
                c0, c1, c2 = cell[i, 0] + d0, cell[i, 1] + d1, cell[i, 2]
                k = _first_at_or_after(sorted_cell, c0, c1, c2 - 1)
                end = _first_at_or_after(sorted_cell, c0, c1, c2 + 2)
                for kk in range(k, end):
                    j = order[kk]
                    if j <= i:
                        continue
                    dx = u[i, 0] - u[j, 0]
                    dy = u[i, 1] - u[j, 1]
                    dz = u[i, 2] - u[j, 2]
                    if dx * dx + dy * dy + dz * dz < tol2:
                        js[n] = j
                        n += 1
        for j in np.sort(js[:n]):
            if m < max_pairs:
                out[m, 0] = i
                out[m, 1] = j
            m += 1
        if m > max_counted:
            return out[: min(m, max_pairs)], m, False
    return out[: min(m, max_pairs)], m, True


def coincident_vertices(u: ArrayLike, tol: float, max_pairs: int) -> tuple[NDArray[np.int64], int, bool]:
    """Pairs (i, j), i < j, of vertices whose unit vectors ``u`` (V, 3) are closer than chord ``tol``.

    Returns (the first ``max_pairs`` pairs in (i, j) order, how many there are,
    whether that count is complete). Each vertex is compared only with those in
    its own and the 26 neighbouring cubes of side ``tol`` (found by binary
    search in the cubes sorted in lexicographic order): O(V log V).
    """
    u = np.ascontiguousarray(u, dtype=np.float64)
    cell = np.floor(u / tol).astype(np.int64)
    order = np.lexsort((cell[:, 2], cell[:, 1], cell[:, 0])).astype(np.int64)
    sorted_cell = np.ascontiguousarray(cell[order])
    return _coincident(u, float(tol), np.ascontiguousarray(cell), order, sorted_cell, max_pairs, MAX_COUNTED_PAIRS)
