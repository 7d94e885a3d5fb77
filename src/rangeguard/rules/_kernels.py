"""Compiled row loop of the gate rule (stateful: it evaluates itself, outside the rule program).

Plain-float, array-in/array-out functions; the rule class in ``boundary.py``
owns the parameters and documents the semantics. Each row is independent of
the others.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from rangeguard.jit import rows_kernel

# gate memory columns: previous side (+1/-1, 0 unknown), crossed, failed, frozen margin (m)
GATE_SIDE, GATE_CROSSED, GATE_FAILED, GATE_FROZEN = range(4)


@rows_kernel()
def gate_rows(
    u: NDArray[np.float64], ok: NDArray[np.bool_], t_s: NDArray[np.float64], memory: NDArray[np.float64],
    normal: NDArray[np.float64], in_plane: NDArray[np.float64], a: NDArray[np.float64], length_rad: float,
    radius_m: float, open_t_s: float, close_t_s: float, new_memory: NDArray[np.float64], failed_out: NDArray[np.bool_],
    margin_out: NDArray[np.float64], start: int, stop: int,
) -> None:  # fmt: skip
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
