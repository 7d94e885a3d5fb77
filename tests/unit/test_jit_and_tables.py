"""The shared kernel plumbing and table interpolation (rangeguard.jit, rangeguard.earth.interp).

- ``interp_clamped`` is the one table interpolation of the compiled kernels (the simulator's
  thrust, aero, wind and programme tables; the rules' green times). It replaced a simulator copy
  that interpolated as ``y0 + f (y1 - y0)`` and, at a repeated abscissa (a step in a thrust
  curve), took the value on the left of the step; the kept semantics are numpy's ``np.interp``,
  checked here bit for bit, at and beyond the table ends, on table points, on steps and on a
  slice of a longer table (how each stage's thrust curve is stored).
- ``rows_kernel`` runs every row once, serially or in chunks on the thread pool, with the same
  results, whatever the row count relative to the chunk size and the threshold.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rangeguard.earth.interp import interp_clamped, interp_inside
from rangeguard.jit import CHUNK_ROWS, PARALLEL_MIN_ROWS, rows_kernel
from rangeguard.sim import kernels as K


@st.composite
def tables(draw):
    """A non-decreasing table, possibly with steps (repeated abscissae), inside a longer array."""
    n = draw(st.integers(1, 7))
    xs = sorted(draw(st.lists(st.floats(-50, 50, allow_nan=False), min_size=n, max_size=n)))
    if n > 2 and draw(st.booleans()):
        j = draw(st.integers(1, n - 1))
        xs[j] = xs[j - 1]  # a step
        xs = sorted(xs)
    ys = draw(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=n, max_size=n))
    pad_lo = draw(st.integers(0, 3))
    pad_hi = draw(st.integers(0, 3))
    # the slice start..start+n-1 of arrays with other stages' rows around it
    xp = np.concatenate([np.full(pad_lo, -1e9), xs, np.full(pad_hi, 1e9)])
    fp = np.concatenate([np.full(pad_lo, 7.0), ys, np.full(pad_hi, -7.0)])
    return xp, fp, pad_lo, n


@settings(max_examples=400, deadline=None)
@given(
    tables(),
    st.lists(st.one_of(st.floats(-80, 80), st.just(np.nan), st.just(np.inf), st.just(-np.inf)), min_size=1, max_size=6),
    st.data(),
)
def test_interp_clamped_is_numpys_interp_on_a_table_slice(table, ts, data):
    xp, fp, start, n = table
    x, y = xp[start : start + n], fp[start : start + n]
    ts = ts + [float(data.draw(st.sampled_from(list(x))))]  # a table point (on a step: its value there)
    for t in ts:
        np.testing.assert_array_equal(interp_clamped(t, xp, fp, start, n), np.interp(t, x, y))
        np.testing.assert_array_equal(interp_inside(t, xp, fp, start, n), np.interp(t, x, y, left=np.nan, right=np.nan))


def test_interp_ends_steps_and_linear_closed_form():
    """Held beyond both ends, exact at the ends and at every node, the right value on a step, and
    a straight line y = 3 x - 2 reproduced between nodes."""
    xp = np.array([0.0, 1.0, 1.0, 4.0])
    fp = np.array([10.0, 20.0, 30.0, 60.0])
    assert interp_clamped(-5.0, xp, fp, 0, 4) == 10.0
    assert interp_clamped(0.0, xp, fp, 0, 4) == 10.0
    assert interp_clamped(4.0, xp, fp, 0, 4) == 60.0
    assert interp_clamped(1e300, xp, fp, 0, 4) == 60.0
    assert interp_clamped(1.0, xp, fp, 0, 4) == 30.0  # the step: the value after it, as np.interp
    assert interp_clamped(0.5, xp, fp, 0, 4) == 15.0
    assert np.isnan(interp_clamped(np.nan, xp, fp, 0, 4))
    line_x = np.linspace(-3.0, 5.0, 9)
    for t in np.linspace(-3.0, 5.0, 101):
        assert interp_clamped(t, line_x, 3.0 * line_x - 2.0, 0, 9) == pytest.approx(3.0 * t - 2.0, abs=1e-13)


def test_the_simulator_interpolates_with_the_shared_function():
    assert K.interp_clamped is interp_clamped


class _Pair(NamedTuple):
    a: np.ndarray
    out: np.ndarray


@rows_kernel()
def _scaled_rows(pair, scale, count, lo, hi):
    for i in range(lo, hi):
        pair.out[i] = pair.a[i] * scale + i
        count[i] += 1


@pytest.mark.parametrize(
    "n", [0, 1, CHUNK_ROWS - 1, CHUNK_ROWS + 1, PARALLEL_MIN_ROWS - 1, PARALLEL_MIN_ROWS, 3 * CHUNK_ROWS + 17]
)
def test_rows_kernel_runs_every_row_once_serial_or_chunked_with_the_same_result(n):
    a = np.random.default_rng(n).normal(size=n)
    results = []
    for parallel in (False, True):
        pair = _Pair(a, np.full(n, np.nan))
        count = np.zeros(n, dtype=np.int64)
        _scaled_rows(n, pair, 2.5, count, parallel=parallel)
        np.testing.assert_array_equal(count, 1)
        results.append(pair.out)
    for parallel in (False, True):  # the choice made once
        pair = _Pair(a, np.full(n, np.nan))
        count = np.zeros(n, dtype=np.int64)
        _scaled_rows.bind(n, parallel=parallel)(pair, 2.5, count)
        np.testing.assert_array_equal(count, 1)
        results.append(pair.out)
    np.testing.assert_array_equal(results[0], a * 2.5 + np.arange(n))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_rows_kernel_parts_are_the_flight_options():
    for compiled in (_scaled_rows.serial, _scaled_rows.parallel):
        assert compiled.targetoptions["error_model"] == "numpy"
    assert _scaled_rows.parallel.targetoptions["parallel"]
    assert _scaled_rows.parallel.py_func.__name__ == "_scaled_rows_chunks"
