"""Linear interpolation in tables, compiled: numpy's ``np.interp``, bit for bit, on a slice of a table.

One definition for every compiled kernel that reads a table: the simulator
(thrust curves, the axial-force coefficient against Mach, the wind profile,
the guidance programme) and the rules (envelope limits, green times). The
arithmetic is numpy's own (``numpy/core/src/multiarray/compiled_base.c``,
``arr_interp``), so a kernel's value equals ``np.interp`` on the same table:

- ``t`` at or beyond an end: that end's value (:func:`interp_clamped`), or NaN
  (:func:`interp_inside`);
- ``t`` on a table point: that point's value; where the table repeats an
  abscissa (a step), the value of the last point with that abscissa;
- otherwise ``slope * (t - xp[j]) + fp[j]`` on the segment ``xp[j] <= t < xp[j+1]``;
- ``t`` NaN: NaN (a one-point table: its value, as numpy).

``xp`` must be non-decreasing on the slice ``start .. start + length - 1``
(``length >= 1``); tables are short, so the segment is found by a linear scan.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from rangeguard.jit import kernel


@kernel(inline="always")
def _interp_within(t: float, xp: NDArray[np.float64], fp: NDArray[np.float64], start: int) -> float:
    """np.interp for xp[start] <= t < xp[last] on a slice of at least two points."""
    j = start
    while xp[j + 1] <= t:
        j += 1
    if xp[j] == t:  # numpy: a table point gives its own value (no non-finite interpolation)
        at_point: float = fp[j]
        return at_point
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    y: float = slope * (t - xp[j]) + fp[j]
    if y != y:  # numpy retries from the right end, then takes a flat segment's value
        y = slope * (t - xp[j + 1]) + fp[j + 1]
        if y != y and fp[j] == fp[j + 1]:
            y = fp[j]
    return y


@kernel(inline="always")
def interp_inside(t: float, xp: NDArray[np.float64], fp: NDArray[np.float64], start: int, length: int) -> float:
    """np.interp(t, xp, fp, left=nan, right=nan) on the table slice, with numpy's own arithmetic."""
    last = start + length - 1
    if t < xp[start] or t > xp[last]:
        return math.nan
    if t == xp[last]:  # (also a one-point table's own abscissa)
        at_last: float = fp[last]
        return at_last
    if t != t:
        of_nan: float = fp[start] if length == 1 else math.nan  # numpy: a one-point table's value, even for NaN
        return of_nan
    return _interp_within(t, xp, fp, start)


@kernel(inline="always")
def interp_clamped(t: float, xp: NDArray[np.float64], fp: NDArray[np.float64], start: int, length: int) -> float:
    """np.interp(t, xp, fp) on the table slice: the end values hold outside the table."""
    last = start + length - 1
    if t < xp[start]:
        first: float = fp[start]
        return first
    if not t < xp[last]:  # beyond the end, on the last abscissa (also a one-point table's), or NaN
        if t != t and length > 1:
            return math.nan  # (numpy: a one-point table gives its value even for NaN)
        last_value: float = fp[last]
        return last_value
    return _interp_within(t, xp, fp, start)
