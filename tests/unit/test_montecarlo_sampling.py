"""Dispersion sampling: marginals against scipy.stats, the copula's correlation, per-run streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rangeguard.mission.dispersions import DispersionsSpec
from rangeguard.montecarlo.sampling import DispersionSampler, run_seed_sequence, transform

N = 4000


def _spec(**kw) -> DispersionsSpec:
    return DispersionsSpec.model_validate(kw)


def _draw(spec, runs=N, seed=11, n_stages=2, sources=("a", "b")):
    return DispersionSampler(spec, n_stages, list(sources)).draw(seed, np.arange(runs))


def test_marginals_match_scipy_distributions():
    """Kolmogorov-Smirnov against scipy.stats: norm(1, 0.01) for a 3-sigma of 0.03;
    truncnorm cut to [0, 1.6] around 1 with sigma 0.2; uniform on [-2, 2]."""
    spec = _spec(
        cd_scale={"dist": "normal", "three_sigma": 0.03},
        wind_scale={"dist": "truncated_normal", "three_sigma": 0.6, "low": 0.0, "high": 1.6},
        failure_time_s={"dist": "uniform", "low": -2.0, "high": 2.0},
    )
    d = _draw(spec)
    col = dict(zip(d.names, d.values.T, strict=True))
    assert stats.kstest(col["cd_scale"], stats.norm(1.0, 0.01).cdf).pvalue > 1e-3
    a, b = (0.0 - 1.0) / 0.2, (1.6 - 1.0) / 0.2
    assert stats.kstest(col["wind_scale"], stats.truncnorm(a, b, loc=1.0, scale=0.2).cdf).pvalue > 1e-3
    assert col["wind_scale"].min() >= 0.0 and col["wind_scale"].max() <= 1.6
    assert stats.kstest(col["failure_time_s"], stats.uniform(-2.0, 4.0).cdf).pvalue > 1e-3
    np.testing.assert_array_equal(d.failure_time_shift_s, col["failure_time_s"])
    # undispersed parameters stay nominal: scales 1, offsets 0
    assert np.all(col["stages[0].thrust_scale"] == 1.0) and np.all(col["attitude_bias_yaw_deg"] == 0.0)


def test_copula_correlation():
    """Normal marginals keep the copula's rho (Pearson); uniform marginals have Spearman's
    rho_s = (6/pi) asin(rho/2) (Pearson 1907's formula for a bivariate normal's ranks)."""
    rho = 0.6
    spec = _spec(
        stages={"burn_rate_scale": {"dist": "normal", "three_sigma": 0.03}},
        sensor_noise_scale={"dist": "uniform", "low": 0.5, "high": 1.5},
        correlations=[
            {"between": ["stages[0].burn_rate_scale", "stages[1].burn_rate_scale"], "rho": rho},
            {"between": ["sensor_noise_scale.a", "sensor_noise_scale.b"], "rho": rho},
        ],
    )
    d = _draw(spec)
    br = d.params.burn_rate_scale
    assert br.shape == (N, 2)
    assert np.corrcoef(br[:, 0], br[:, 1])[0, 1] == pytest.approx(rho, abs=0.04)
    rs = stats.spearmanr(d.noise_scale[:, 0], d.noise_scale[:, 1]).statistic
    assert rs == pytest.approx(6 / math.pi * math.asin(rho / 2), abs=0.04)
    # an uncorrelated pair stays uncorrelated
    assert abs(np.corrcoef(br[:, 0], d.noise_scale[:, 0])[0, 1]) < 0.06


def test_run_k_is_the_same_in_any_batch_and_order():
    spec = _spec(
        cd_scale={"dist": "normal", "three_sigma": 0.15}, stages={"isp_scale": {"dist": "normal", "three_sigma": 0.01}}
    )
    s = DispersionSampler(spec, 2, ["a"])
    whole = s.draw(5, np.arange(40))
    parts = [s.draw(5, np.arange(0, 13)), s.draw(5, np.arange(13, 40))]
    np.testing.assert_array_equal(whole.values, np.concatenate([p.values for p in parts]))
    backwards = s.draw(5, np.arange(39, -1, -1))
    np.testing.assert_array_equal(whole.values, backwards.values[::-1])
    # the sensor streams too: the same first numbers for run 7 wherever it is drawn
    a = whole.sensor_rngs[7].standard_normal(4)
    b = parts[0].sensor_rngs[7].standard_normal(4)
    np.testing.assert_array_equal(a, b)
    # and they come from SeedSequence([seed, k]) (DESIGN.md)
    expect = np.random.default_rng(run_seed_sequence(5, 7).spawn(2)[1]).standard_normal(4)
    np.testing.assert_array_equal(a, expect)
    assert not np.array_equal(s.draw(6, np.arange(40)).values, whole.values)


def test_adding_a_dispersion_leaves_the_others_alone():
    one = _spec(cd_scale={"dist": "normal", "three_sigma": 0.15})
    two = _spec(cd_scale={"dist": "normal", "three_sigma": 0.15}, wind_scale={"dist": "uniform", "low": 0, "high": 2})
    a, b = _draw(one, 50), _draw(two, 50)
    np.testing.assert_array_equal(a.params.cd_scale, b.params.cd_scale)


def test_no_dispersions_is_the_nominal_vehicle():
    d = _draw(None, 5)
    assert np.all(
        d.values[:, [i for i, n in enumerate(d.names) if n.endswith("_scale") or n.startswith("sensor_noise_scale.")]]
        == 1.0
    )
    assert np.all(d.failure_time_shift_s == 0.0)
    assert np.all(transform(None, np.array([-3.0, 3.0]), 1.0) == 1.0)


def test_truncated_normal_by_inverse_cdf_matches_scipy_ppf():
    """transform() maps z through Phi then the truncated normal's quantile function: compare
    with scipy.stats.truncnorm.ppf(Phi(z)) point by point."""
    spec = _spec(wind_scale={"dist": "truncated_normal", "mean": 0.8, "three_sigma": 0.9, "low": 0.0, "high": 1.5})
    z = np.linspace(-4, 4, 41)
    got = transform(spec.wind_scale, z, 1.0)
    a, b = (0.0 - 0.8) / 0.3, (1.5 - 0.8) / 0.3
    np.testing.assert_allclose(
        got, stats.truncnorm(a, b, loc=0.8, scale=0.3).ppf(stats.norm.cdf(z)), rtol=1e-9, atol=1e-12
    )
