"""Per-vehicle random streams in the sensor models: a run's noise does not depend on its batch."""

from __future__ import annotations

import numpy as np
import pytest

from rangeguard.errors import InputError
from rangeguard.mission.sensors import NavSourceModelSpec, SensorsSpec
from rangeguard.sim.sensors import STREAM_BLOCK, SensorModel

R0 = np.array([6378137.0, 0.0, 0.0])


def _truth(n, t):
    r = np.tile(R0 + np.array([0.0, 0.0, 100.0 * t]), (n, 1))
    return {
        "r_ecef": r,
        "v_ecef": np.tile([0.0, 0.0, 100.0], (n, 1)),
        "q_body_to_ecef": np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)),
        "omega_body_rad_s": np.zeros((n, 3)),
    }


def _spec(**kw):
    model = NavSourceModelSpec(
        position_noise_m=3.0, velocity_noise_mps=0.1, output_rate_hz=10.0, latency_s=0.0, dropout_probability=0.05, **kw
    )
    return SensorsSpec(default=model)


def _gens(runs):
    return [np.random.default_rng(np.random.SeedSequence([42, k])) for k in runs]


def _fly(runs, steps, noise_scale=None):
    """(steps, sources, n, 6) measured position/velocity (NaN where a sample was lost)."""
    n = len(runs)
    m = SensorModel(_spec(), ["a", "b"], n, _gens(runs), noise_scale=noise_scale)
    out = []
    for k in range(1, steps + 1):
        t = k * 0.1
        out.append([np.column_stack([b.r_ecef, b.v_ecef]) for b in m.measure(t, _truth(n, t))])
    return np.array(out)


def test_a_vehicle_draws_the_same_noise_in_any_batch():
    """Run 3 alone, in a batch of 5 and in a batch of 2 in another position: bit-identical samples,
    over more than one block of draws (STREAM_BLOCK samples per refill)."""
    steps = STREAM_BLOCK + 20
    alone = _fly([3], steps)[:, :, 0]
    batch = _fly([0, 1, 2, 3, 4], steps)[:, :, 3]
    other = _fly([3, 9], steps)[:, :, 0]
    np.testing.assert_array_equal(alone, batch)
    np.testing.assert_array_equal(alone, other)
    assert np.isnan(alone).any() and not np.isnan(alone).all()  # dropouts happen, per vehicle
    # different vehicles, different noise
    assert not np.allclose(batch[:, :, 0], batch[:, :, 1], equal_nan=True)


def test_noise_scale_multiplies_the_error():
    """The same stream with every sigma doubled (or halved, per source) gives exactly 2x (0.5x) the error."""
    steps = 30
    ref = _fly([1, 2], steps)
    truth = np.array(
        [[np.concatenate([_truth(1, 0.1 * k)["r_ecef"][0], [0.0, 0.0, 100.0]])] for k in range(1, steps + 1)]
    )
    err = ref - truth[:, :, None, :]
    scaled = _fly([1, 2], steps, noise_scale=np.array([[2.0, 0.5], [2.0, 0.5]]))
    err2 = scaled - truth[:, :, None, :]
    np.testing.assert_allclose(err2[:, 0], 2.0 * err[:, 0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(err2[:, 1], 0.5 * err[:, 1], rtol=1e-6, atol=1e-6)
    zero = _fly([1, 2], steps, noise_scale=0.0) - truth[:, :, None, :]
    ok = np.isfinite(zero)
    assert np.all(np.abs(zero[ok]) < 1e-6)  # truth exactly, but the dropouts are still drawn


def test_bad_generator_lists_and_scales_are_refused():
    with pytest.raises(InputError, match="sequence of 3 Generators"):
        SensorModel(_spec(), ["a"], 3, _gens([0, 1]))
    with pytest.raises(InputError, match="noise_scale"):
        SensorModel(_spec(), ["a"], 2, _gens([0, 1]), noise_scale=np.ones(3))
    with pytest.raises(InputError, match=">= 0"):
        SensorModel(_spec(), ["a"], 2, _gens([0, 1]), noise_scale=-1.0)
