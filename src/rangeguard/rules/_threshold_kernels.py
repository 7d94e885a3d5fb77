"""Compiled pass behind :mod:`rangeguard.rules.thresholds`: every threshold rule on every row.

One compiled pass evaluates all envelope, attitude-error, body-rate and
data-loss rules of a mission from packed parameters, writing each rule's
margin and violation flag into its row of the engine's (R, M) arrays. Rows
are split in chunks; within a chunk each rule runs as its own tight loop, and
a table is interpolated only when the row's time differs from the previous
row's (the rows of one batch mostly share a time). Rows are independent, so
the parallel loop is bit-identical to the serial one.

Packed parameters, one row per rule (``ints``: ``I_*`` columns; ``floats``:
``F_*`` columns); tables are slices of the flat arrays ``tab_t``, ``tab_a``,
``tab_b`` (envelope: lower, upper; attitude: azimuth, elevation in rad;
data loss: green time, in ``tab_a``). A null limit is NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from rangeguard.jit import kernel

KIND_ENVELOPE, KIND_ATTITUDE, KIND_BODY_RATE, KIND_DATA_LOSS = range(4)

# integer parameter columns: kind, output row in (R, M), value column, table start, table length,
# has lower (envelope) / has table (data loss), has upper (envelope)
I_KIND, I_ROW, I_COL, I_TAB, I_LEN, I_FLAG_A, I_FLAG_B = range(7)
N_INT = 7
# float parameter columns: the limit (deg, deg/s) or constant green time (s)
F_LIMIT = 0
N_FLOAT = 1

PARALLEL_MIN_ROWS = 4096
"""Below this many rows the serial loop is faster than starting the thread pool."""
CHUNK_ROWS = 2048
"""Rows per parallel task: every rule runs over a task's rows before the next task."""


@kernel(inline="always")
def interp_inside(t, xp, fp, start, length):
    """np.interp(t, xp, fp, left=nan, right=nan) on the table slice, with numpy's own arithmetic."""
    if not (t >= xp[start] and t <= xp[start + length - 1]):
        return math.nan
    last = start + length - 1
    if t == xp[last]:
        return fp[last]
    j = start
    while xp[j + 1] <= t:
        j += 1
    if xp[j] == t:  # numpy: a table point gives its own value (no non-finite interpolation)
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    y = slope * (t - xp[j]) + fp[j]
    if y != y:  # numpy retries from the right end, then takes a flat segment's value
        y = slope * (t - xp[j + 1]) + fp[j + 1]
        if y != y and fp[j] == fp[j + 1]:
            y = fp[j]
    return y


@kernel(inline="always")
def interp_clamped(t, xp, fp, start, length):
    """np.interp(t, xp, fp) on the table slice: the end values hold outside the table."""
    if t != t:
        return math.nan
    if t <= xp[start]:
        return fp[start]
    if t >= xp[start + length - 1]:
        return fp[start + length - 1]
    return interp_inside(t, xp, fp, start, length)


@kernel(inline="always")
def _limits(k, ints, tab_t, tab_a, tab_b, t):
    """The rule's two table values at time t (NaN outside the table or where a limit is null)."""
    start, length = ints[k, I_TAB], ints[k, I_LEN]
    a = interp_inside(t, tab_t, tab_a, start, length) if ints[k, I_FLAG_A] else math.nan
    b = interp_inside(t, tab_t, tab_b, start, length) if ints[k, I_FLAG_B] else math.nan
    return a, b


@kernel(inline="always")
def _envelope(k, ints, tab_t, tab_a, tab_b, values, t_s, active, margin, violated, lo_row, hi_row):
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
def _attitude(k, ints, floats, tab_t, tab_a, tab_b, frame, t_s, q, active, margin, violated, lo_row, hi_row):
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
def _body_rate(k, ints, floats, w, active, margin, violated, lo_row, hi_row):
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
def _data_loss(k, ints, floats, tab_t, tab_a, flight_t_s, since_s, active, margin, violated, lo_row, hi_row):
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


@kernel()
def _rows(ints, floats, tab_t, tab_a, tab_b, frame, values, t_s, flight_t_s, since_s, q, w, active, margin,
          violated, lo_row, hi_row):
    """Every rule on rows lo_row..hi_row-1, one rule at a time (a tight loop per rule kind).

    Compiled on its own and called per chunk: numba's code for a loop body inlined into a
    ``prange`` loop measured slower than the same body compiled as a function."""
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


def evaluate_serial(ints, floats, tab_t, tab_a, tab_b, frame, values, t_s, flight_t_s, since_s, q, w, active,
                    margin, violated):
    """Every rule on every row, one thread."""
    _rows(ints, floats, tab_t, tab_a, tab_b, frame, values, t_s, flight_t_s, since_s, q, w, active, margin,
          violated, 0, t_s.shape[0])


@kernel(parallel=True)
def evaluate_parallel(ints, floats, tab_t, tab_a, tab_b, frame, values, t_s, flight_t_s, since_s, q, w, active,
                      margin, violated):
    """Every rule on every row, chunks of rows on the thread pool (the serial loop's results)."""
    m_rows = t_s.shape[0]
    n_chunks = (m_rows + CHUNK_ROWS - 1) // CHUNK_ROWS
    for c in prange(n_chunks):
        lo = np.int64(c) * CHUNK_ROWS  # the same argument types as the serial call: one compiled _rows
        _rows(ints, floats, tab_t, tab_a, tab_b, frame, values, t_s, flight_t_s, since_s, q, w, active, margin,
              violated, lo, min(np.int64(m_rows), lo + CHUNK_ROWS))
