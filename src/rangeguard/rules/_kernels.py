"""Compiled row loops of the gate and source-disagreement rules.

Plain-float, array-in/array-out functions; the rule classes in
``boundary.py`` and ``link.py`` own the parameters and document the
semantics. Each row (or vehicle) is independent of the others.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from rangeguard.jit import kernel

# gate memory columns: previous side (+1/-1, 0 unknown), crossed, failed, frozen margin (m)
GATE_SIDE, GATE_CROSSED, GATE_FAILED, GATE_FROZEN = range(4)


PARALLEL_MIN_ROWS = 4096
"""Below this many rows the serial loop is faster than starting the thread pool."""
CHUNK_ROWS = 2048
"""Rows per parallel task."""


@kernel(parallel=True)
def gate_rows_parallel(u, ok, t_s, memory, normal, in_plane, a, length_rad, radius_m, open_t_s, close_t_s,
                       new_memory, failed_out, margin_out):
    """:func:`gate_rows` in chunks on the thread pool (rows are independent: the same results)."""
    m_rows = u.shape[0]
    for c in prange((m_rows + CHUNK_ROWS - 1) // CHUNK_ROWS):
        lo = np.int64(c) * CHUNK_ROWS  # the same argument types as the serial call: one compiled gate_rows
        gate_rows(u, ok, t_s, memory, normal, in_plane, a, length_rad, radius_m, open_t_s, close_t_s, new_memory,
                  failed_out, margin_out, lo, min(np.int64(m_rows), lo + CHUNK_ROWS))


@kernel()
def gate_rows(u, ok, t_s, memory, normal, in_plane, a, length_rad, radius_m, open_t_s, close_t_s, new_memory,
              failed_out, margin_out, start, stop):
    """One cycle of the gate rule on rows start..stop-1; see :class:`rangeguard.rules.boundary.GateRule`.

    ``u`` (M, 3) are the IIP's geocentric unit vectors (NaN without IIP);
    ``memory``/``new_memory`` (M, 4) the rule's per-row memory before and after.
    """
    for m in range(start, stop):
        px, py, pz = u[m, 0], u[m, 1], u[m, 2]
        side_val = px * normal[0] + py * normal[1] + pz * normal[2]
        along = math.atan2(px * in_plane[0] + py * in_plane[1] + pz * in_plane[2], px * a[0] + py * a[1] + pz * a[2])
        along_m = min(along, length_rad - along) * radius_m if along == along else math.nan
        cross_m = abs(math.asin(min(max(side_val, -1.0), 1.0))) * radius_m if side_val == side_val else math.nan
        side = 0.0
        if side_val > 0.0:
            side = 1.0
        elif side_val < 0.0:
            side = -1.0
        has = ok[m] and side != 0.0
        prev = memory[m, GATE_SIDE]
        crossed = memory[m, GATE_CROSSED] > 0.0
        failed = memory[m, GATE_FAILED] > 0.0
        t = t_s[m]
        crossing = has and not crossed and prev != 0.0 and side != prev
        if crossing:
            legal = along_m >= 0.0 and t >= open_t_s and t <= close_t_s
            failed = failed or not legal
        late = not crossed and not crossing and t > close_t_s and ok[m]
        failed = failed or late
        frozen = along_m if crossing else memory[m, GATE_FROZEN]
        crossed = crossed or crossing
        margin = frozen if crossed else along_m
        if late and not crossed:
            margin = -cross_m
        if failed and margin >= 0.0:  # an early crossing inside the ends: how far inside, as a negative margin
            margin = -margin
        new_memory[m, GATE_SIDE] = side if has else prev
        new_memory[m, GATE_CROSSED] = 1.0 if crossed else 0.0
        new_memory[m, GATE_FAILED] = 1.0 if failed else 0.0
        new_memory[m, GATE_FROZEN] = frozen
        failed_out[m] = failed
        margin_out[m] = margin


@kernel()
def disagreement_rows(t_a, r_a, v_a, t_b, r_b, v_b, position, max_difference, max_age_s, k_strings, margin_out,
                      violated_out):
    """Source disagreement per vehicle, written to each of its ``k_strings`` rows (string-major).

    Position: |r_b - (r_a + v_a (t_b - t_a))|; velocity: |v_b - v_a|. Samples further apart
    than ``max_age_s`` (or missing: NaN time) are not compared (margin NaN).
    """
    n = t_a.shape[0]
    for i in range(n):
        dt = t_b[i] - t_a[i]
        d2 = 0.0
        for c in range(3):
            if position:
                diff = r_b[i, c] - (r_a[i, c] + v_a[i, c] * dt)
            else:
                diff = v_b[i, c] - v_a[i, c]
            d2 += diff * diff
        margin = max_difference - math.sqrt(d2) if abs(dt) <= max_age_s else math.nan
        for s in range(k_strings):
            margin_out[s * n + i] = margin
            violated_out[s * n + i] = margin < 0.0
