"""The compiled pass behind :mod:`rangeguard.rules.program`: every rule of a mission on every row.

One compiled pass evaluates a mission's envelope, attitude-error,
body-rate, data-loss, IIP-polygon, present-position-polygon and
source-disagreement rules from packed parameters, writing each rule's
margin and violation flag into its row of the engine's (R, M) arrays. Rows
are taken a chunk at a time; within a chunk each rule runs as its own tight loop, and
a table is interpolated only when the row's time differs from the previous
row's (the rows of one batch mostly share a time). Large batches run in
chunks of :data:`rangeguard.jit.CHUNK_ROWS` rows on the thread pool; rows are
independent, so the parallel loop is bit-identical to the serial one.

Packed parameters, one row per rule (``ints``: ``I_*`` columns; ``floats``:
``F_*`` columns); tables are slices of the flat arrays ``tab_t``, ``tab_a``,
``tab_b`` (envelope: lower, upper; attitude: azimuth, elevation in rad;
data loss: green time, in ``tab_a``). A null limit is NaN. Polygons are the
arrays of :class:`~rangeguard.earth.polygon.GreatCirclePolygon` concatenated
(``poly_*``), polygon p being the slices ``poly_off[p]:poly_off[p + 1]`` (one
column per array); each polygon's own indices stay valid in its slices.

The row inputs (:class:`Rows`) are the engine's kinematics table with its
unit vectors, the row times and clocks, attitude and rates, and every nav
source's latest sample per vehicle (for the disagreement rule).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from rangeguard.earth._polygon_kernels import PARALLEL_CHUNK as POLYGON_CHUNK
from rangeguard.earth._polygon_kernels import evaluate_range as polygon_range
from rangeguard.earth.interp import interp_clamped, interp_inside
from rangeguard.jit import kernel, rows_kernel
from rangeguard.mission.quantities import IIP_LAT, H

(
    KIND_ENVELOPE,
    KIND_ATTITUDE,
    KIND_BODY_RATE,
    KIND_DATA_LOSS,
    KIND_IIP_POLYGON,
    KIND_POSITION_POLYGON,
    KIND_DISAGREEMENT,
) = range(7)
N_KINDS = 7

# integer parameter columns: kind, output row in (R, M), value column (envelope) or polygon index,
# table start, table length, flag A, flag B (envelope: has lower / has upper; data loss: has a table;
# polygons: exclusion / violate without IIP; disagreement: compares position), nav sources A and B
I_KIND, I_ROW, I_COL, I_TAB, I_LEN, I_FLAG_A, I_FLAG_B, I_SRC_A, I_SRC_B = range(9)
N_INT = 9
# float parameter columns: the limit (deg, deg/s, m or m/s) or constant green time (s); a second value
# (prism: bottom and top altitude, m; disagreement: max age, s)
F_LIMIT, F_LOW, F_HIGH = range(3)
N_FLOAT = 3
# polygon slice columns of ``poly_off``: edges, grid parameters, cell starts, cell edges, tree floats, tree ints
P_EDGES, P_GRID, P_CELL_START, P_CELL_EDGES, P_TREE_F, P_TREE_I = range(6)
N_POLY = 6


class Rows(NamedTuple):
    """One cycle's row inputs of the rule pass (M rows: vehicle x string, string-major)."""

    values: NDArray[np.float64]  # (M, C) kinematics table (rangeguard.rules.kinematics columns)
    pos_unit: NDArray[np.float64]  # (M, 3) geocentric unit vector below the vehicle
    iip_unit: NDArray[np.float64]  # (M, 3) the same at the IIP (NaN without IIP)
    ok: NDArray[np.bool_]  # (M,) the row has a valid sample
    t_s: NDArray[np.float64]  # (M,) sample time (NaN without sample)
    flight_t_s: NDArray[np.float64]  # (M,) estimated flight time
    since_s: NDArray[np.float64]  # (M,) receive time since the row's last valid sample
    q: NDArray[np.float64]  # (M, 4) attitude quaternion body -> ECEF, scalar first
    w: NDArray[np.float64]  # (M, 3) body rates, rad/s
    src_t_s: NDArray[np.float64]  # (S, N) each source's latest valid sample time per vehicle (NaN: none)
    src_r_ecef: NDArray[np.float64]  # (S, N, 3)
    src_v_ecef: NDArray[np.float64]  # (S, N, 3)


@kernel(inline="always")
def _limits(
    k: int, ints: NDArray[np.int64], tab_t: NDArray[np.float64], tab_a: NDArray[np.float64],
    tab_b: NDArray[np.float64], t: float,
) -> tuple[float, float]:  # fmt: skip
    """The rule's two table values at time t (NaN outside the table or where a limit is null)."""
    start, length = ints[k, I_TAB], ints[k, I_LEN]
    a = interp_inside(t, tab_t, tab_a, start, length) if ints[k, I_FLAG_A] else math.nan
    b = interp_inside(t, tab_t, tab_b, start, length) if ints[k, I_FLAG_B] else math.nan
    return a, b


@kernel(inline="always")
def _envelope(
    k: int, ints: NDArray[np.int64], tab_t: NDArray[np.float64], tab_a: NDArray[np.float64],
    tab_b: NDArray[np.float64], values: NDArray[np.float64], t_s: NDArray[np.float64], active: NDArray[np.bool_],
    margin: NDArray[np.float64], violated: NDArray[np.bool_], lo_row: int, hi_row: int,
) -> None:  # fmt: skip
    j = ints[k, I_ROW]
    col = ints[k, I_COL]
    has_lo = ints[k, I_FLAG_A] != 0
    has_hi = ints[k, I_FLAG_B] != 0
    t_prev = math.nan
    lo = hi = math.nan
    for m in range(lo_row, hi_row):
        if not active[j, m]:
            continue
        t = t_s[m]
        if t != t_prev:  # rows of one batch mostly share a time: interpolate once per time
            lo, hi = _limits(k, ints, tab_t, tab_a, tab_b, t)
            t_prev = t
        value = values[m, col]
        below = value - lo
        above = hi - value
        if not has_lo:
            mg = above
        elif not has_hi:
            mg = below
        elif below != below:  # fmin: a null limit is ignored
            mg = above
        elif above != above:
            mg = below
        else:
            mg = min(below, above)
        margin[j, m] = mg
        violated[j, m] = mg < 0.0


@kernel(inline="always")
def _attitude(
    k: int, ints: NDArray[np.int64], floats: NDArray[np.float64], tab_t: NDArray[np.float64],
    tab_a: NDArray[np.float64], tab_b: NDArray[np.float64], frame: NDArray[np.float64], t_s: NDArray[np.float64],
    q: NDArray[np.float64], active: NDArray[np.bool_], margin: NDArray[np.float64], violated: NDArray[np.bool_],
    lo_row: int, hi_row: int,
) -> None:  # fmt: skip
    j = ints[k, I_ROW]
    limit = floats[k, F_LIMIT]
    t_prev = math.nan
    cx = cy = cz = math.nan
    for m in range(lo_row, hi_row):
        if not active[j, m]:
            continue
        t = t_s[m]
        if t != t_prev:
            az = interp_inside(t, tab_t, tab_a, ints[k, I_TAB], ints[k, I_LEN])
            el = interp_inside(t, tab_t, tab_b, ints[k, I_TAB], ints[k, I_LEN])
            ce = math.cos(el)
            e, n, u = ce * math.sin(az), ce * math.cos(az), math.sin(el)
            # commanded direction in ECEF: the rows of ``frame`` are the pad's E, N, U axes
            cx = e * frame[0, 0] + n * frame[1, 0] + u * frame[2, 0]
            cy = e * frame[0, 1] + n * frame[1, 1] + u * frame[2, 1]
            cz = e * frame[0, 2] + n * frame[1, 2] + u * frame[2, 2]
            t_prev = t
        # body +x from the normalised scalar-first quaternion (Diebel 2006, eq. 125). Any finite,
        # non-zero quaternion is a rotation: scaled by its largest component first, so a denormal or a
        # huge one normalises without underflow or overflow. A zero, NaN or infinite one is no
        # attitude: the row is left unjudged (margin NaN, not violated; the rule's history holds).
        q0, q1, q2, q3 = q[m, 0], q[m, 1], q[m, 2], q[m, 3]
        big = max(abs(q0), abs(q1), abs(q2), abs(q3))
        if not (big > 0.0 and big < math.inf):
            continue
        q0, q1, q2, q3 = q0 / big, q1 / big, q2 / big, q3 / big
        norm = math.sqrt(q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3)
        q0, q1, q2, q3 = q0 / norm, q1 / norm, q2 / norm, q3 / norm
        xx = 1.0 - 2.0 * (q2 * q2 + q3 * q3)
        xy = 2.0 * (q1 * q2 + q0 * q3)
        xz = 2.0 * (q1 * q3 - q0 * q2)
        sx = xy * cz - xz * cy
        sy = xz * cx - xx * cz
        sz = xx * cy - xy * cx
        err = math.degrees(math.atan2(math.sqrt(sx * sx + sy * sy + sz * sz), xx * cx + xy * cy + xz * cz))
        mg = limit - err
        margin[j, m] = mg
        violated[j, m] = mg < 0.0


@kernel(inline="always")
def _body_rate(
    k: int, ints: NDArray[np.int64], floats: NDArray[np.float64], w: NDArray[np.float64], active: NDArray[np.bool_],
    margin: NDArray[np.float64], violated: NDArray[np.bool_], lo_row: int, hi_row: int,
) -> None:  # fmt: skip
    j = ints[k, I_ROW]
    limit = floats[k, F_LIMIT]
    for m in range(lo_row, hi_row):
        if not active[j, m]:
            continue
        w0, w1, w2 = w[m, 0], w[m, 1], w[m, 2]
        mg = limit - math.degrees(math.sqrt(w0 * w0 + w1 * w1 + w2 * w2))
        margin[j, m] = mg
        violated[j, m] = mg < 0.0


@kernel(inline="always")
def _data_loss(
    k: int, ints: NDArray[np.int64], floats: NDArray[np.float64], tab_t: NDArray[np.float64],
    tab_a: NDArray[np.float64], flight_t_s: NDArray[np.float64], since_s: NDArray[np.float64],
    active: NDArray[np.bool_], margin: NDArray[np.float64], violated: NDArray[np.bool_], lo_row: int, hi_row: int,
) -> None:  # fmt: skip
    j = ints[k, I_ROW]
    table = ints[k, I_FLAG_A] != 0
    green = floats[k, F_LIMIT]
    t_prev = math.nan
    for m in range(lo_row, hi_row):
        if not active[j, m]:
            continue
        if table:  # the green time at the estimated flight time; end values hold outside the table
            t = flight_t_s[m]
            if t != t_prev:
                green = interp_clamped(t, tab_t, tab_a, ints[k, I_TAB], ints[k, I_LEN])
                t_prev = t
        mg = green - since_s[m]
        margin[j, m] = mg
        violated[j, m] = mg < 0.0


@kernel(inline="always")
def _polygon(
    k: int, ints: NDArray[np.int64], floats: NDArray[np.float64], poly_off: NDArray[np.int64],
    poly_e: NDArray[np.float64], poly_gp: NDArray[np.float64], poly_cs: NDArray[np.int64],
    poly_ce: NDArray[np.int32], poly_tf: NDArray[np.float64], poly_ti: NDArray[np.int64],
    values: NDArray[np.float64], pos_u: NDArray[np.float64], iip_u: NDArray[np.float64], ok: NDArray[np.bool_],
    active: NDArray[np.bool_], margin: NDArray[np.float64], violated: NDArray[np.bool_], inside: NDArray[np.bool_],
    dist: NDArray[np.float64], lo_row: int, hi_row: int,
) -> None:  # fmt: skip
    """An IIP polygon (inclusion corridor / exclusion area) or a present-position prism."""
    j = ints[k, I_ROW]
    p = ints[k, I_COL]
    iip = ints[k, I_KIND] == KIND_IIP_POLYGON
    exclusion = ints[k, I_FLAG_A] != 0
    o0, o1 = poly_off[p], poly_off[p + 1]
    u = iip_u if iip else pos_u
    for lo in range(lo_row, hi_row, POLYGON_CHUNK):  # the polygon loop takes at most POLYGON_CHUNK points a call
        polygon_range(
            u,
            lo,
            min(hi_row, lo + POLYGON_CHUNK),
            poly_e[o0[P_EDGES] : o1[P_EDGES]],
            poly_gp[o0[P_GRID] : o1[P_GRID]],
            poly_cs[o0[P_CELL_START] : o1[P_CELL_START]],
            poly_ce[o0[P_CELL_EDGES] : o1[P_CELL_EDGES]],
            poly_tf[o0[P_TREE_F] : o1[P_TREE_F]],
            poly_ti[o0[P_TREE_I] : o1[P_TREE_I]],
            True,
            inside,
            dist,
        )
    without_iip = ints[k, I_FLAG_B] != 0
    low, high = floats[k, F_LOW], floats[k, F_HIGH]
    for m in range(lo_row, hi_row):
        if not active[j, m]:
            continue
        d = dist[m]
        if iip:
            mg = -d if exclusion else d
            bad = mg < 0.0  # NaN (no IIP) compares False
            if without_iip and ok[m] and not math.isfinite(values[m, IIP_LAT]):
                bad = True
        else:  # the prism: min(horizontal distance inside, height above the bottom, depth below the top)
            if d != d:
                inner = math.nan
            else:
                h = values[m, H]
                inner = _fmin(_fmin(d, h - low), high - h)
            mg = -inner if exclusion else inner
            bad = mg < 0.0
        margin[j, m] = mg
        violated[j, m] = bad


@kernel(inline="always")
def _fmin(a: float, b: float) -> float:
    """np.fmin: a NaN operand is ignored."""
    if a != a:
        return b
    if b != b:
        return a
    return min(a, b)


@kernel(inline="always")
def _disagreement(
    k: int, ints: NDArray[np.int64], floats: NDArray[np.float64], src_t: NDArray[np.float64],
    src_r: NDArray[np.float64], src_v: NDArray[np.float64], active: NDArray[np.bool_], margin: NDArray[np.float64],
    violated: NDArray[np.bool_], lo_row: int, hi_row: int,
) -> None:  # fmt: skip
    """Two nav sources' latest samples of the row's vehicle; the older propagated linearly to the
    newer one's time (position) or compared as is (velocity); not compared beyond the max age."""
    j = ints[k, I_ROW]
    a, b = ints[k, I_SRC_A], ints[k, I_SRC_B]
    position = ints[k, I_FLAG_A] != 0
    limit, max_age = floats[k, F_LIMIT], floats[k, F_LOW]
    n = src_t.shape[1]
    i = lo_row % n - 1  # the row's vehicle, advanced row by row (rows string-major: row s * n + i)
    for m in range(lo_row, hi_row):
        i = 0 if i == n - 1 else i + 1
        if not active[j, m]:
            continue
        dt = src_t[b, i] - src_t[a, i]
        d2 = 0.0
        for c in range(3):
            if position:
                diff = src_r[b, i, c] - (src_r[a, i, c] + src_v[a, i, c] * dt)
            else:
                diff = src_v[b, i, c] - src_v[a, i, c]
            d2 += diff * diff
        mg = limit - math.sqrt(d2) if abs(dt) <= max_age else math.nan
        margin[j, m] = mg
        violated[j, m] = mg < 0.0


@rows_kernel()
def evaluate_rows(
    ints: NDArray[np.int64], floats: NDArray[np.float64], tab_t: NDArray[np.float64], tab_a: NDArray[np.float64],
    tab_b: NDArray[np.float64], frame: NDArray[np.float64], poly_off: NDArray[np.int64], poly_e: NDArray[np.float64],
    poly_gp: NDArray[np.float64], poly_cs: NDArray[np.int64], poly_ce: NDArray[np.int32],
    poly_tf: NDArray[np.float64], poly_ti: NDArray[np.int64], values: NDArray[np.float64],
    pos_unit: NDArray[np.float64], iip_unit: NDArray[np.float64], ok: NDArray[np.bool_], t_s: NDArray[np.float64],
    flight_t_s: NDArray[np.float64], since_s: NDArray[np.float64], q: NDArray[np.float64], w: NDArray[np.float64],
    src_t_s: NDArray[np.float64], src_r_ecef: NDArray[np.float64], src_v_ecef: NDArray[np.float64],
    active: NDArray[np.bool_], margin: NDArray[np.float64], violated: NDArray[np.bool_], inside: NDArray[np.bool_],
    dist: NDArray[np.float64], lo_row: int, hi_row: int,
) -> None:  # fmt: skip
    """Every rule on rows lo_row..hi_row-1, one rule at a time (a tight loop per rule kind);
    ``inside`` and ``dist`` (M,) are the polygon loop's scratch. A kind this pass does not know
    is an error (never silently another rule). Run as ``evaluate_rows(M, ...)``
    (:func:`rangeguard.jit.rows_kernel`: chunks of rows on the thread pool for large batches)."""
    for k in range(ints.shape[0]):
        kind = ints[k, I_KIND]
        if kind == KIND_ENVELOPE:
            _envelope(k, ints, tab_t, tab_a, tab_b, values, t_s, active, margin, violated, lo_row, hi_row)
        elif kind == KIND_ATTITUDE:
            _attitude(k, ints, floats, tab_t, tab_a, tab_b, frame, t_s, q, active, margin, violated, lo_row, hi_row)
        elif kind == KIND_BODY_RATE:
            _body_rate(k, ints, floats, w, active, margin, violated, lo_row, hi_row)
        elif kind == KIND_DATA_LOSS:
            _data_loss(k, ints, floats, tab_t, tab_a, flight_t_s, since_s, active, margin, violated, lo_row, hi_row)
        elif kind == KIND_IIP_POLYGON or kind == KIND_POSITION_POLYGON:
            _polygon(
                k, ints, floats, poly_off, poly_e, poly_gp, poly_cs, poly_ce, poly_tf, poly_ti, values, pos_unit,
                iip_unit, ok, active, margin, violated, inside, dist, lo_row, hi_row,
            )  # fmt: skip
        elif kind == KIND_DISAGREEMENT:
            _disagreement(k, ints, floats, src_t_s, src_r_ecef, src_v_ecef, active, margin, violated, lo_row, hi_row)
        else:
            raise ValueError("unknown rule kind in the packed rule program")
