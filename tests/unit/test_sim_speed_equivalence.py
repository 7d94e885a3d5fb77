"""What the simulator's and the sensor model's speed work must keep (design/sim.md "Speed").

- Every simulator kernel called only from another kernel is compiled without
  numba's reference counting (it was 70 % of a step); the kernels called from
  Python keep it.
- The sensor model's per-vehicle streams still hand vehicle i exactly the
  numbers its own generator draws, in the documented order (per block of
  STREAM_BLOCK samples: the dropout uniforms, then the normals), whatever the
  storage layout: the reference here draws them by hand with numpy.
- A lost or non-finite sample is all NaN and invalid; the others are untouched.
"""

from __future__ import annotations

import numpy as np
from numba.core.registry import CPUDispatcher

from rangeguard.jit import RowsKernel
from rangeguard.mission.sensors import NavSourceModelSpec, SensorsSpec
from rangeguard.sim import batch_kernels, kernel_math, kernels
from rangeguard.sim.sensors import STREAM_BLOCK, SensorModel

ENTRY_POINTS = {"advance", "advance_chunks", "terminate_at", "drain_events"}


def _dispatchers(module):
    found = {}
    for f in vars(module).values():
        compiled = (f.serial, f.parallel) if isinstance(f, RowsKernel) else (f,)
        for c in compiled:
            if isinstance(c, CPUDispatcher) and c.py_func.__module__ == module.__name__:
                found[c.py_func.__name__] = c
    return found


def test_kernels_called_from_kernels_have_no_reference_counting_and_entry_points_do():
    found = {**_dispatchers(kernels), **_dispatchers(batch_kernels), **_dispatchers(kernel_math)}
    assert ENTRY_POINTS <= set(found)
    assert {"deriv", "rk4_step", "_one_step", "qmul", "q_from_direction"} <= set(found)
    for name, f in found.items():
        nrt = f.targetoptions.get("_nrt", True)
        assert nrt is (name in ENTRY_POINTS), f"{name}: _nrt={nrt}"


def test_per_vehicle_streams_are_each_vehicles_own_draws_across_block_refills():
    """Zero latency, noise on position only: r_meas - r_true = sigma * z, where vehicle i's
    z and dropout uniforms come from the one child that ``spawn(1)`` gives its generator,
    drawn as random(B) then standard_normal((B, 3)) per block of B samples."""
    n, sigma, p_drop = 5, 2.0, 0.3
    model = NavSourceModelSpec.perfect(10.0).model_copy(
        update={"position_noise_m": sigma, "dropout_probability": p_drop}
    )
    seeds = np.random.SeedSequence(42).spawn(n)
    sm = SensorModel(SensorsSpec(default=model), ["gps"], n, [np.random.default_rng(s) for s in seeds])
    # fresh SeedSequences: spawning counts on the SeedSequence object itself
    ref = [np.random.default_rng(s).spawn(1)[0] for s in np.random.SeedSequence(42).spawn(n)]
    r_true = np.tile([6378137.0, 0.0, 0.0], (n, 1)) + np.arange(n)[:, None]
    truth = {"r_ecef": r_true, "v_ecef": np.zeros((n, 3))}
    n_samples = STREAM_BLOCK + 10  # crosses one refill
    u_ref, z_ref = [], []
    for g in ref:
        u, z = [], []
        for _ in range(2):
            u.append(g.random(STREAM_BLOCK))
            z.append(g.standard_normal((STREAM_BLOCK, 3)))
        u_ref.append(np.concatenate(u))
        z_ref.append(np.concatenate(z))
    for k in range(n_samples):
        (b,) = sm.measure(0.1 * k, truth)
        for i in range(n):
            lost = u_ref[i][k] < p_drop
            assert b.valid[i] == (not lost)
            if lost:
                assert np.isnan(b.r_ecef[i]).all() and np.isnan(b.q_body_to_ecef[i]).all()
            else:
                np.testing.assert_allclose(b.r_ecef[i] - r_true[i], sigma * z_ref[i][k], rtol=0, atol=1e-8)
                np.testing.assert_array_equal(b.v_ecef[i], 0.0)
    for arr in (b.r_ecef, b.v_ecef, b.q_body_to_ecef, b.omega_body_rad_s):
        assert arr.flags.c_contiguous


def test_non_finite_rows_are_all_nan_and_invalid_and_finite_rows_are_untouched():
    n = 4
    sm = SensorModel(SensorsSpec(default=NavSourceModelSpec.perfect(10.0)), ["gps"], n, np.random.default_rng(1))
    r = np.tile([6378137.0, 1.0, 2.0], (n, 1))
    v = np.tile([3.0, 4.0, 5.0], (n, 1))
    q = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    w = np.tile([0.1, 0.2, 0.3], (n, 1))
    r[1, 2] = np.nan
    v[2, 0] = np.inf
    (b,) = sm.measure(0.0, {"r_ecef": r, "v_ecef": v, "q_body_to_ecef": q, "omega_body_rad_s": w})
    np.testing.assert_array_equal(b.valid, [True, False, False, True])
    for i in (1, 2):
        for arr in (b.r_ecef, b.v_ecef, b.q_body_to_ecef, b.omega_body_rad_s):
            assert np.isnan(arr[i]).all()
    for i in (0, 3):
        np.testing.assert_array_equal(b.r_ecef[i], r[0])
        np.testing.assert_array_equal(b.v_ecef[i], v[0])
        np.testing.assert_array_equal(b.q_body_to_ecef[i], q[0])
        np.testing.assert_array_equal(b.omega_body_rad_s[i], w[0])
