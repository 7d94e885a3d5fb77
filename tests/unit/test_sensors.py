"""Sensor models and nav faults (rangeguard.sim.sensors, .navfaults, rangeguard.mission.sensors).

References used here are independent of the code under test: hand-computed
trajectories (straight line, constant acceleration, constant-rate rotation),
scipy's Rotation for attitude errors, pymap3d for local ENU axes, and the
chi-square / binomial distributions for the noise statistics.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy import stats
from scipy.spatial.transform import Rotation

from rangeguard.errors import InputError
from rangeguard.formats.navlog import nav_log_from_batches
from rangeguard.mission.sensors import (
    NAV_FAULT_ADAPTER,
    NAV_FAULT_KINDS,
    NavSourceModelSpec,
    SensorsSpec,
    check_nav_fault_names,
)
from rangeguard.nav import NavBatch
from rangeguard.sim.sensors import STREAM_BLOCK, SensorModel, nav_log_from_truth

R_EQ = np.array([6378137.0, 0.0, 0.0])  # on the equator at longitude 0 (hand-checkable ENU axes)
DEG = math.pi / 180.0


def perfect(rate_hz=50.0, **kw) -> NavSourceModelSpec:
    return NavSourceModelSpec.perfect(rate_hz).model_copy(update=kw)


def spec_of(model: NavSourceModelSpec) -> SensorsSpec:
    return SensorsSpec(default=model)


def static_truth(n, r=R_EQ, v=(0.0, 0.0, 100.0), q=None, w=(0.01, -0.02, 0.03)):
    return {
        "r_ecef": np.tile(np.asarray(r, float), (n, 1)),
        "v_ecef": np.tile(np.asarray(v, float), (n, 1)),
        "q_body_to_ecef": np.tile([1.0, 0.0, 0.0, 0.0] if q is None else q, (n, 1)),
        "omega_body_rad_s": np.tile(np.asarray(w, float), (n, 1)),
    }


def run(model: SensorModel, times, truth_at):
    """All batches produced over ``times``, as (call time, batch) pairs."""
    out = []
    for t in times:
        for b in model.measure(t, truth_at(t)):
            out.append((t, b))
    return out


def chi2_sigma_ok(errors: np.ndarray, sigma: float, p: float = 1e-6) -> bool:
    """Zero-mean Gaussian errors with 1-sigma ``sigma``: sum(e^2)/sigma^2 ~ chi2(k).

    Accept when the statistic lies inside the central 1 - p interval; with the
    k >= 30 000 draws used here that interval is about +-2.8 % in sigma, and a
    sigma wrong by 5 % falls outside it.
    """
    e = np.asarray(errors, float).ravel()
    k = e.size
    q = np.sum(e**2) / sigma**2
    return stats.chi2.ppf(p / 2, k) < q < stats.chi2.ppf(1 - p / 2, k)


# --- specs ------------------------------------------------------------------------------


def test_spec_defaults_are_a_gps_ins_and_extra_fields_are_refused():
    m = SensorsSpec().for_source("anything")
    assert 0 < m.position_noise_m <= 10 and 0 < m.velocity_noise_mps <= 0.5 and m.output_rate_hz >= 10
    with pytest.raises(ValidationError, match="extra"):
        NavSourceModelSpec(position_noise_mm=3)
    with pytest.raises(ValidationError):
        NavSourceModelSpec(dropout_probability=1.5)
    for name, field in NavSourceModelSpec.model_fields.items():
        assert field.description, name


def test_sensors_spec_per_source_entry_and_unknown_source_message():
    spec = SensorsSpec(sources={"a": {"latency_s": 0.1}})
    assert spec.for_source("a").latency_s == 0.1
    assert spec.for_source("b") == spec.default
    with pytest.raises(ValueError, match=r"unknown nav sources \['a'\].*allowed.*\['x'\]"):
        spec.check_sources(["x"])
    with pytest.raises(InputError, match="allowed"):
        SensorModel(spec, ["x"], 1, np.random.default_rng(0))


def test_nav_fault_union_messages_say_what_is_allowed():
    with pytest.raises(ValidationError) as err:
        NAV_FAULT_ADAPTER.validate_python({"kind": "gps_loss", "source": "a"})
    for kind in NAV_FAULT_KINDS:
        assert kind in str(err.value)
    with pytest.raises(ValidationError, match="offset_m.*or as magnitude_m"):
        NAV_FAULT_ADAPTER.validate_python({"kind": "position_jump", "source": "a", "at_t_s": 1.0})
    with pytest.raises(ValidationError, match="magnitude_m and direction go together"):
        NAV_FAULT_ADAPTER.validate_python({"kind": "position_bias", "source": "a", "from_t_s": 1, "magnitude_m": 5})
    with pytest.raises(ValidationError, match="to_t_s must be greater than from_t_s"):
        NAV_FAULT_ADAPTER.validate_python({"kind": "gps_dropout", "source": "a", "from_t_s": 5, "to_t_s": 4})
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        NAV_FAULT_ADAPTER.validate_python({"kind": "noise_increase", "source": "a", "from_t_s": 5, "factor": 0.5})
    with pytest.raises(ValidationError, match="'east'"):
        NAV_FAULT_ADAPTER.validate_python(
            {"kind": "position_jump", "source": "a", "at_t_s": 1, "magnitude_m": 5, "direction": "sideways"}
        )
    f = NAV_FAULT_ADAPTER.validate_python({"kind": "string_fault", "string": "B", "at_t_s": 68.8})
    with pytest.raises(ValueError, match=r"string 'B'; allowed strings: \['A'\]"):
        check_nav_fault_names([f], ["a"], ["A"])
    with pytest.raises(InputError, match=r"allowed sources: \['a', 'b'\]"):
        SensorModel(None, ["a", "b"], 1, np.random.default_rng(0),
                    faults=[{"kind": "gps_dropout", "source": "c", "from_t_s": 0, "to_t_s": 1}])  # fmt: skip


# --- noise ------------------------------------------------------------------------------


def test_noise_statistics_match_the_spec():
    """Per-axis errors over 12 000 vehicles x 2 samples are N(0, sigma^2).

    Position/velocity/rate: the error is the reported minus the true value.
    Attitude: the error rotation q_true^-1 q_meas computed with scipy is, by
    construction of the model, exp(dtheta) exactly, so its rotation vector is
    the body-frame noise draw. Chi-square bounds: see chi2_sigma_ok.
    """
    n = 12_000
    model_spec = NavSourceModelSpec(
        position_noise_m=3.0, velocity_noise_mps=0.2, attitude_noise_deg=0.5, rate_noise_deg_s=0.3,
        latency_s=0.0, output_rate_hz=10.0,
    )  # fmt: skip
    rot = Rotation.random(n, rng=np.random.default_rng(7))
    xyzw = rot.as_quat()
    q_true = np.column_stack([xyzw[:, 3], xyzw[:, :3]])
    truth = static_truth(n)
    truth["q_body_to_ecef"] = q_true
    model = SensorModel(spec_of(model_spec), ["a"], n, np.random.default_rng(1))
    batches = [b for _, b in run(model, [0.0, 0.1], lambda t: truth)]
    assert len(batches) == 2
    dr = np.concatenate([b.r_ecef - truth["r_ecef"] for b in batches])
    dv = np.concatenate([b.v_ecef - truth["v_ecef"] for b in batches])
    dw = np.concatenate([b.omega_body_rad_s - truth["omega_body_rad_s"] for b in batches])
    datt = np.concatenate(
        [
            (rot.inv() * Rotation.from_quat(np.column_stack([b.q_body_to_ecef[:, 1:], b.q_body_to_ecef[:, 0]])))
            .as_rotvec()
            for b in batches
        ]
    )  # fmt: skip
    assert chi2_sigma_ok(dr, 3.0) and chi2_sigma_ok(dv, 0.2)
    assert chi2_sigma_ok(datt, 0.5 * DEG) and chi2_sigma_ok(dw, 0.3 * DEG)
    # Zero mean: |mean| < 5 standard errors on every axis.
    for e, sigma in ((dr, 3.0), (dv, 0.2), (datt, 0.5 * DEG), (dw, 0.3 * DEG)):
        assert np.all(np.abs(e.mean(axis=0)) < 5 * sigma / math.sqrt(e.shape[0]))
    # The measured attitude is still a unit quaternion.
    np.testing.assert_allclose(np.linalg.norm(batches[0].q_body_to_ecef, axis=1), 1.0, rtol=0, atol=1e-12)
    # And a wrong sigma is rejected by the same check (the check can fail).
    assert not chi2_sigma_ok(dr, 3.0 * 1.05)


def test_sources_axes_and_samples_have_independent_noise():
    """Correlation of position errors between sources, between axes and between
    successive samples is ~0: |rho| < 5 / sqrt(n) (5 standard errors of rho = 0)."""
    n = 20_000
    spec = spec_of(NavSourceModelSpec(position_noise_m=2.0, latency_s=0.0, output_rate_hz=10.0))
    model = SensorModel(spec, ["a", "b"], n, np.random.default_rng(3))
    truth = static_truth(n)
    out = run(model, [0.0, 0.1], lambda t: truth)
    err = {(round(t, 3), b.source): b.r_ecef - R_EQ for t, b in out}
    limit = 5 / math.sqrt(n)

    def rho(x, y):
        return np.corrcoef(x, y)[0, 1]

    a0, b0, a1 = err[(0.0, 0)], err[(0.0, 1)], err[(0.1, 0)]
    for k in range(3):
        assert abs(rho(a0[:, k], b0[:, k])) < limit
        assert abs(rho(a0[:, k], a1[:, k])) < limit
    assert abs(rho(a0[:, 0], a0[:, 1])) < limit
    assert not np.allclose(a0, b0)


def test_same_seed_same_output_different_seed_different():
    n = 50
    spec = SensorsSpec(default=NavSourceModelSpec(dropout_probability=0.2))

    def log(seed):
        model = SensorModel(spec, ["a", "b"], n, np.random.default_rng(seed))
        out = run(model, np.arange(0, 0.5, 0.01), lambda t: static_truth(n))
        return np.concatenate([np.nan_to_num(np.column_stack([b.r_ecef, b.q_body_to_ecef, b.valid])) for _, b in out])

    assert np.array_equal(log(11), log(11))
    assert not np.array_equal(log(11), log(12))


# --- latency and rate -------------------------------------------------------------------


def test_latency_reports_the_state_latency_earlier_on_a_hand_computed_trajectory():
    """Constant acceleration a from r0, v0, and a constant body rate w about a fixed axis u:

        r(t) = r0 + v0 t + a t^2 / 2,  v(t) = v0 + a t,  q(t) = [cos(w t / 2), sin(w t / 2) u].

    A source with latency L, called at irregular steps (2..20 ms, like a sim
    hitting event times), must report r(t - L), v(t - L), q(t - L) stamped
    t - L. Cubic Hermite is exact for this r, linear interpolation exact for
    this v; nlerp is within ~1e-10 rad of the true rotation for steps of
    2e-3 rad.
    """
    r0, v0, acc = np.array([6378137.0, 100.0, -50.0]), np.array([10.0, -300.0, 2000.0]), np.array([3.0, -20.0, 45.0])
    u, w = np.array([0.0, 0.6, 0.8]), 0.1

    def truth(t):
        half = 0.5 * w * t
        return {
            "r_ecef": (r0 + v0 * t + 0.5 * acc * t * t)[None],
            "v_ecef": (v0 + acc * t)[None],
            "q_body_to_ecef": np.concatenate([[math.cos(half)], math.sin(half) * u])[None],
            "omega_body_rad_s": (w * u)[None],
        }

    def truth_sign_flipping(t):
        """The same states, with the quaternion's sign flipped on every other call
        (q and -q are the same rotation; interpolation must take the short arc)."""
        x = truth(t)
        truth_sign_flipping.calls += 1
        x["q_body_to_ecef"] = x["q_body_to_ecef"] * (-1.0) ** truth_sign_flipping.calls
        return x

    truth_sign_flipping.calls = 0
    latency = 0.235  # longer than 8 steps: the truth ring buffer has to grow
    model = SensorModel(spec_of(perfect(20.0, latency_s=latency)), ["a"], 1, np.random.default_rng(0))
    steps = np.random.default_rng(5).uniform(0.002, 0.02, size=400)
    times = np.concatenate([[0.0], np.cumsum(steps)])
    out = run(model, times, truth_sign_flipping)
    assert len(out) > 50
    checked = 0
    for t_call, b in out:
        tv = t_call - latency
        assert b.t_s[0] == pytest.approx(tv, abs=1e-12)
        if tv < 0.0:  # before the first truth sample: no data yet
            assert not b.valid[0]
            continue
        ref = truth(tv)
        assert b.valid[0]
        np.testing.assert_allclose(b.r_ecef, ref["r_ecef"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(b.v_ecef, ref["v_ecef"], rtol=0, atol=1e-9)
        q, q_ref = b.q_body_to_ecef[0], ref["q_body_to_ecef"][0]
        np.testing.assert_allclose(q * np.sign(q @ q_ref), q_ref, rtol=0, atol=1e-9)
        checked += 1
    assert checked > 40


def test_a_10hz_source_called_at_100hz_gives_10_samples_per_second():
    model = SensorModel(
        SensorsSpec(sources={"slow": perfect(10.0), "fast": perfect(50.0)}), ["slow", "fast"], 1,
        np.random.default_rng(0),
    )  # fmt: skip
    times = np.arange(1000) * 0.01  # 0 .. 9.99 s
    out = run(model, times, lambda t: static_truth(1))
    slow = np.array([b.t_s[0] for _, b in out if b.source == 0])
    fast = np.array([b.t_s[0] for _, b in out if b.source == 1])
    assert slow.size == 100 and fast.size == 500
    np.testing.assert_allclose(slow, np.arange(100) * 0.1, atol=1e-9)
    for second in range(10):
        assert np.count_nonzero((slow >= second - 1e-9) & (slow < second + 1 - 1e-9)) == 10


@settings(max_examples=40, deadline=None)
@given(
    rate_hz=st.floats(0.5, 100.0),
    step_fraction=st.floats(0.05, 1.0),
    t_start_s=st.floats(-3.0, 3.0),
)
def test_each_output_time_gets_exactly_one_sample_at_the_first_call_after_it(rate_hz, step_fraction, t_start_s):
    """With calls at least as frequent as the output rate, the sample times are
    the first call times at or after each grid time t_start + k / rate (a call
    within 1e-6 of a period before a grid time counts as at it: clock round-off)."""
    period, tol = 1.0 / rate_hz, 1e-6
    dt = period * step_fraction
    times = -1.0 + dt * np.arange(int(4.0 / dt))
    model = SensorModel(spec_of(perfect(rate_hz)), ["a"], 1, np.random.default_rng(0), t_start_s=t_start_s)
    got = np.array([t for t, _ in run(model, times, lambda t: static_truth(1))])
    grid = t_start_s + period * np.arange(-math.ceil(10 * rate_hz) - 10, math.ceil(10 * rate_hz) + 10)
    grid = grid[(grid >= times[0] - tol * period) & (grid <= times[-1] + tol * period)]
    expected = np.array([times[np.searchsorted(times, g - tol * period)] for g in grid])
    assert got.size == grid.size
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_calls_slower_than_the_rate_give_one_sample_per_call():
    model = SensorModel(spec_of(perfect(50.0)), ["a"], 1, np.random.default_rng(0))
    out = run(model, np.arange(20) * 0.1, lambda t: static_truth(1))
    assert len(out) == 20


# --- dropouts and bad input -------------------------------------------------------------


def test_dropout_fraction_matches_the_probability():
    """10 000 vehicles x 5 samples at p = 0.1: the lost count is Binomial(50 000, 0.1),
    standard deviation sqrt(n p (1 - p)) = 67; accept within 5 of them."""
    n, p = 10_000, 0.1
    model = SensorModel(spec_of(perfect(10.0, dropout_probability=p)), ["a"], n, np.random.default_rng(9))
    out = run(model, np.arange(5) * 0.1, lambda t: static_truth(n))
    valid = np.concatenate([b.valid for _, b in out])
    lost = np.count_nonzero(~valid)
    assert abs(lost - valid.size * p) < 5 * math.sqrt(valid.size * p * (1 - p))
    b = out[0][1]
    assert np.isnan(b.r_ecef[~b.valid]).all() and np.isfinite(b.r_ecef[b.valid]).all()


def test_nan_truth_gives_invalid_rows_and_no_exception():
    n = 4
    truth = static_truth(n)
    truth["r_ecef"][1] = np.nan
    truth["v_ecef"][2, 0] = np.nan
    truth["q_body_to_ecef"][3] = np.nan
    faults = [
        {"kind": "position_jump", "source": "a", "at_t_s": 0.0, "magnitude_m": 10.0, "direction": "north"},
        {"kind": "position_bias", "source": "a", "from_t_s": 0.0, "magnitude_m": 1.0, "direction": "along_velocity"},
    ]
    spec = SensorsSpec(default=NavSourceModelSpec(latency_s=0.015))
    model = SensorModel(spec, ["a"], n, np.random.default_rng(0), faults=faults)
    out = run(model, np.arange(10) * 0.01, lambda t: truth)
    b = out[-1][1]
    assert b.valid.tolist() == [True, False, False, True]
    assert np.isnan(b.q_body_to_ecef[3]).all() and np.isfinite(b.r_ecef[3]).all()


def test_bad_calls_raise_input_errors():
    model = SensorModel(None, ["a"], 2, np.random.default_rng(0))
    with pytest.raises(InputError, match=r"r_ecef must have shape \(2, 3\)"):
        model.measure(0.0, {"r_ecef": np.zeros((3, 3)), "v_ecef": np.zeros((2, 3))})
    with pytest.raises(InputError, match="no v_ecef"):
        model.measure(0.0, {"r_ecef": np.zeros((2, 3))})
    model.measure(1.0, static_truth(2))
    with pytest.raises(InputError, match="must not decrease"):
        model.measure(0.5, static_truth(2))
    with pytest.raises(InputError, match="Generator"):
        SensorModel(None, ["a"], 2, 42)


def test_single_vehicle_vectors_broadcast():
    model = SensorModel(spec_of(perfect()), ["a"], 1, np.random.default_rng(0))
    (b,) = model.measure(0.0, {"r_ecef": R_EQ, "v_ecef": [1.0, 2.0, 3.0]})
    assert b.r_ecef.shape == (1, 3) and b.valid.tolist() == [True]
    np.testing.assert_array_equal(b.v_ecef[0], [1.0, 2.0, 3.0])
    assert np.isnan(b.q_body_to_ecef).all()


# --- nav faults -------------------------------------------------------------------------


def one_source(faults, model=None, n=2, times=None, truth=None):
    model = model or perfect(10.0)
    sm = SensorModel(spec_of(model), ["a", "b"], n, np.random.default_rng(0), faults=faults, strings=["A", "B"])
    times = np.arange(0, 3.0, 0.05) if times is None else times
    truth = truth or (lambda t: static_truth(n))
    out = run(sm, times, truth)
    return [b for _, b in out if b.source == 0], [b for _, b in out if b.source == 1]


def test_gps_dropout_invalidates_the_window_of_that_source_only():
    a, b = one_source([{"kind": "gps_dropout", "source": "a", "from_t_s": 1.0, "to_t_s": 2.0}])
    for batch in a:
        inside = 1.0 <= batch.t_s[0] < 2.0
        assert batch.valid.tolist() == [not inside] * 2
    assert all(batch.valid.all() for batch in b)


def test_position_jump_with_named_directions_matches_hand_axes():
    """At lat 0, lon 0 the local axes are east = +y, north = +z, up = +x (ECEF);
    along_velocity with v = (0, 0, 100) is +z."""
    for direction, axis in (("east", [0, 1, 0]), ("north", [0, 0, 1]), ("up", [1, 0, 0]), ("down", [-1, 0, 0]),
                            ("along_velocity", [0, 0, 1]), ("against_velocity", [0, 0, -1])):  # fmt: skip
        fault = {"kind": "position_jump", "source": "a", "at_t_s": 1.0, "magnitude_m": 250.0, "direction": direction}
        a, b = one_source([fault])
        for batch in a:
            expected = R_EQ + (250.0 * np.array(axis) if batch.t_s[0] >= 1.0 else 0.0)
            np.testing.assert_allclose(batch.r_ecef, np.tile(expected, (2, 1)), rtol=0, atol=1e-6)
        assert all(np.allclose(batch.r_ecef, R_EQ, rtol=0, atol=1e-9) for batch in b)


def test_position_offset_in_enu_matches_pymap3d_at_the_kii_site():
    lat, lon = 33.54, 135.89
    r_site = np.array(pymap3d.geodetic2ecef(lat, lon, 0.0))
    enu = (120.0, -40.0, 15.0)
    ref = np.array(pymap3d.enu2uvw(*enu, lat, lon))
    fault = {"kind": "position_bias", "source": "a", "from_t_s": 0.5, "to_t_s": 1.5, "offset_m": enu}
    a, _ = one_source([fault], truth=lambda t: static_truth(2, r=r_site))
    for batch in a:
        inside = 0.5 <= batch.t_s[0] < 1.5
        np.testing.assert_allclose(batch.r_ecef[0] - r_site, ref if inside else 0.0, rtol=0, atol=1e-6)


def test_position_jump_ecef_vector_and_glitch_duration():
    fault = {"kind": "position_jump", "source": "a", "at_t_s": 1.0, "duration_s": 0.5,
             "offset_m": [10.0, -20.0, 30.0], "frame": "ecef"}  # fmt: skip
    a, _ = one_source([fault])
    for batch in a:
        inside = 1.0 <= batch.t_s[0] < 1.5
        np.testing.assert_allclose(batch.r_ecef[0] - R_EQ, [10.0, -20.0, 30.0] if inside else 0.0, atol=1e-6)


def test_frozen_output_repeats_the_last_sample():
    """Position moves at 100 m/s along z; from t = 1 s the source repeats the
    sample of t = 0.9 s (values and, with freeze_time_tag, the time tag), then
    tracks again from to_t_s = 2 s."""

    def moving(t):
        return static_truth(2, r=R_EQ + np.array([0.0, 0.0, 100.0 * t]))

    for freeze_tag in (False, True):
        fault = {"kind": "frozen_output", "source": "a", "from_t_s": 1.0, "to_t_s": 2.0, "freeze_time_tag": freeze_tag}
        a, b = one_source([fault], truth=moving)
        for batch in a:
            t = round(batch.t_s[0], 6)
            if freeze_tag and 0.9 < t < 2.0:
                pytest.fail(f"time tag {t} should be frozen at 0.9")
            inside = 1.0 <= t < 2.0 or (freeze_tag and t == 0.9)
            z_expected = 90.0 if inside else 100.0 * t
            assert batch.r_ecef[0, 2] == pytest.approx(z_expected, abs=1e-6)
            assert batch.valid.all()
        tags = [round(batch.t_s[0], 6) for batch in a]
        assert tags.count(0.9) == (11 if freeze_tag else 1)
        assert all(batch.r_ecef[0, 2] == pytest.approx(100.0 * batch.t_s[0], abs=1e-6) for batch in b)


def test_noise_increase_scales_the_noise_exactly():
    """Each sample draws the same numbers whatever the faults, so with the same
    seed the errors after from_t_s are exactly `factor` times the nominal ones,
    and identical before."""
    model = NavSourceModelSpec(latency_s=0.0, output_rate_hz=10.0)
    fault = {"kind": "noise_increase", "source": "a", "from_t_s": 1.0, "factor": 4.0}
    nominal, _ = one_source([], model=model, n=50)
    faulty, _ = one_source([fault], model=model, n=50)
    for x, y in zip(nominal, faulty, strict=True):
        k = 4.0 if x.t_s[0] >= 1.0 else 1.0
        np.testing.assert_allclose(y.r_ecef - R_EQ, k * (x.r_ecef - R_EQ), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(y.v_ecef - [0, 0, 100.0], k * (x.v_ecef - [0, 0, 100.0]), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(y.omega_body_rad_s - [0.01, -0.02, 0.03],
                                   k * (x.omega_body_rad_s - [0.01, -0.02, 0.03]), rtol=1e-6, atol=1e-12)  # fmt: skip


def test_string_fault_flips_health_at_its_time_and_latches():
    model = SensorModel(None, ["a", "b"], 3, np.random.default_rng(0), strings=["A", "B"],
                        faults=[{"kind": "string_fault", "string": "B", "at_t_s": 68.8}])  # fmt: skip
    assert model.health(0.0).shape == (3, 2)
    assert model.health(68.79).all()
    for t in (68.8, 69.0, 500.0):
        h = model.health(t)
        assert h[:, 0].all() and not h[:, 1].any()
    # Default strings: one per source, named like it.
    default = SensorModel(None, ["a", "b"], 1, np.random.default_rng(0),
                          faults=[{"kind": "string_fault", "string": "a", "at_t_s": 1.0}])  # fmt: skip
    assert default.health(2.0).tolist() == [[False, True]]


# --- nav log ----------------------------------------------------------------------------


def test_nav_log_from_truth_has_the_replay_columns_sorted_by_time():
    """Straight line r = r0 + v t sampled at 100 Hz; source a: 10 Hz, latency 0;
    source b: 5 Hz, latency 0.05 s. Over 0..1.99 s: 20 + 10 rows."""
    t = np.arange(200) * 0.01
    r0, v = R_EQ, np.array([0.0, 50.0, 200.0])
    truth = {"t_s": t, "r_ecef": r0 + v * t[:, None], "v_ecef": np.tile(v, (t.size, 1))}
    spec = SensorsSpec(sources={"a": perfect(10.0), "b": perfect(5.0, latency_s=0.05)})
    table = nav_log_from_truth(truth, sources=["a", "b"], rng=np.random.default_rng(0), sensors=spec)
    assert isinstance(table, pa.Table)
    assert tuple(table.column_names) == (
        "t_s",
        "x_ecef_m",
        "y_ecef_m",
        "z_ecef_m",
        "vx_ecef_mps",
        "vy_ecef_mps",
        "vz_ecef_mps",
        "qw",
        "qx",
        "qy",
        "qz",
        "p_rad_s",
        "q_rad_s",
        "r_rad_s",
        "source",
        "valid",
        "receive_time_s",
        "health_a",
        "health_b",
    )  # the nav log format, docs/navlog.md
    d = table.to_pydict()
    assert d["source"].count("a") == 20 and d["source"].count("b") == 10
    assert np.all(np.diff(d["t_s"]) >= 0)
    for i, name in enumerate(d["source"]):
        ts = d["t_s"][i]
        if name == "b" and ts < 0:
            assert not d["valid"][i]
            continue
        assert d["valid"][i]
        np.testing.assert_allclose([d["x_ecef_m"][i], d["y_ecef_m"][i], d["z_ecef_m"][i]], r0 + v * ts, atol=1e-6)
        assert d["vz_ecef_mps"][i] == pytest.approx(200.0)
        assert d["receive_time_s"][i] == pytest.approx(ts + (0.05 if name == "b" else 0.0), abs=1e-9)
    assert all(d["health_a"]) and all(d["health_b"])
    assert table.schema.field("valid").type == pa.bool_() and table.schema.field("source").type == pa.string()


def test_nav_log_from_trajectories_like_object_needs_a_vehicle_and_drops_padding():
    class Traj:
        t_s = np.arange(100) * 0.1
        r_ecef = np.tile(R_EQ, (3, 100, 1))
        v_ecef = np.zeros((3, 100, 3))
        q_body_to_ecef = np.tile([1.0, 0.0, 0.0, 0.0], (3, 100, 1))
        omega_body_rad_s = np.zeros((3, 100, 3))

    Traj.r_ecef[1, 60:] = np.nan  # vehicle 1 ended (impact) at sample 60
    with pytest.raises(InputError, match="vehicle=k"):
        nav_log_from_truth(Traj, sources=["a"], rng=np.random.default_rng(0))
    spec = spec_of(perfect(10.0))
    fault = {"kind": "string_fault", "string": "B", "at_t_s": 6.85}
    full = nav_log_from_truth(
        Traj, sources=["a"], rng=np.random.default_rng(0), sensors=spec, vehicle=0, strings=["A", "B"], faults=[fault]
    )
    health_b = np.array(full.column("health_B").to_pylist())
    t_full = np.array(full.column("t_s").to_pylist())
    assert full.column("health_A").to_pylist() == [True] * 100
    np.testing.assert_array_equal(health_b, t_full < 6.85)
    cut = nav_log_from_truth(Traj, sources=["a"], rng=np.random.default_rng(0), sensors=spec, vehicle=1)
    assert full.num_rows == 100 and cut.num_rows == 60
    assert all(cut.column("valid").to_pylist()) and cut.column("qw").to_pylist()[0] == 1.0


# --- silence: missing samples, nav_silence, link_outage ---------------------------------


def _binomial_ok(count: int, trials: int, p: float, k_sigma: float = 5.0) -> bool:
    """``count`` successes of Binomial(trials, p) within k_sigma standard deviations of the mean."""
    return abs(count - trials * p) < k_sigma * math.sqrt(trials * p * (1 - p))


def test_silence_kinds_parse_and_a_link_outage_names_no_source():
    assert {"nav_silence", "link_outage"} <= set(NAV_FAULT_KINDS)
    silence = NAV_FAULT_ADAPTER.validate_python({"kind": "nav_silence", "source": "a", "from_t_s": 1.0, "to_t_s": 2.0})
    outage = NAV_FAULT_ADAPTER.validate_python({"kind": "link_outage", "from_t_s": 40.0, "to_t_s": 45.0})
    assert silence.missing_probability == 1.0 and outage.missing_probability == 1.0  # total silence by default
    assert outage.to_t_s == 45.0 and not hasattr(outage, "source")
    check_nav_fault_names([silence, outage], ["a", "b"], ["A", "B"])  # nothing to name for the outage
    with pytest.raises(ValueError, match=r"nav fault 0 \(nav_silence\) names nav source 'c'.*\['a', 'b'\]"):
        check_nav_fault_names([silence.model_copy(update={"source": "c"}), outage], ["a", "b"], ["A", "B"])
    with pytest.raises(ValidationError, match="greater than 0"):
        NAV_FAULT_ADAPTER.validate_python({"kind": "link_outage", "from_t_s": 0.0, "missing_probability": 0.0})
    with pytest.raises(ValidationError, match="extra"):
        NAV_FAULT_ADAPTER.validate_python({"kind": "link_outage", "source": "a", "from_t_s": 0.0})
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        NavSourceModelSpec(missing_probability=1.5)


def test_every_nav_fault_kind_says_when_it_starts():
    """Failure-onset bookkeeping (montecarlo.chunks) reads ``onset_t_s`` of every kind."""
    examples = {
        "gps_dropout": {"source": "a", "from_t_s": 3.0, "to_t_s": 4.0},
        "position_jump": {"source": "a", "at_t_s": 3.0, "magnitude_m": 1.0, "direction": "up"},
        "position_bias": {"source": "a", "from_t_s": 3.0, "offset_m": [1.0, 0.0, 0.0]},
        "frozen_output": {"source": "a", "from_t_s": 3.0},
        "noise_increase": {"source": "a", "from_t_s": 3.0, "factor": 2.0},
        "string_fault": {"string": "A", "at_t_s": 3.0},
        "nav_silence": {"source": "a", "from_t_s": 3.0},
        "link_outage": {"from_t_s": 3.0, "to_t_s": 5.0},
    }
    assert set(examples) == set(NAV_FAULT_KINDS)
    for kind, fields in examples.items():
        assert NAV_FAULT_ADAPTER.validate_python({"kind": kind, **fields}).onset_t_s == 3.0, kind


def test_nav_silence_sends_no_batch_in_its_window_and_only_for_that_source():
    """10 Hz sources called at 20 Hz over 0..3 s: 30 samples each; source a silent for
    the 10 samples with time of validity in [1, 2); b untouched; the schedule is not shifted."""
    a, b = one_source([{"kind": "nav_silence", "source": "a", "from_t_s": 1.0, "to_t_s": 2.0}])
    t_a = np.array([batch.t_s[0] for batch in a])
    assert len(a) == 20 and len(b) == 30
    assert not np.any((t_a >= 1.0 - 1e-9) & (t_a < 2.0 - 1e-9))
    np.testing.assert_allclose(t_a, np.concatenate([np.arange(10), np.arange(20, 30)]) * 0.1, atol=1e-9)
    assert all(batch.valid.all() and batch.present is None for batch in a + b)


def test_link_outage_silences_every_source_by_time_of_validity():
    """With a latency of 0.05 s, the sample output at call time t is in the window when
    t - 0.05 is: a link cut from receive time 1.05 s is the window [1.0, 1.5)."""
    model = perfect(10.0, latency_s=0.05)
    a, b = one_source([{"kind": "link_outage", "from_t_s": 1.0, "to_t_s": 1.5}], model=model)
    for batches in (a, b):
        t = np.array([batch.t_s[0] for batch in batches])
        assert not np.any((t >= 1.0) & (t < 1.5))
        assert np.count_nonzero(t >= 1.5) > 0 and np.count_nonzero(t < 1.0) > 0
        assert len(batches) == 30 - 5


@pytest.mark.parametrize("per_vehicle", [False, True])
def test_silence_draws_and_discards_its_noise_so_later_samples_are_unchanged(per_vehicle):
    """Common random numbers: a silent sample still draws its numbers, so every sample outside
    the window is bit-identical to the nominal run of the same seed (noise and dropouts)."""
    n = 40
    spec = spec_of(NavSourceModelSpec(latency_s=0.0, output_rate_hz=10.0, dropout_probability=0.2))

    def batches(faults):
        rng = [np.random.default_rng([5, i]) for i in range(n)] if per_vehicle else np.random.default_rng(5)
        model = SensorModel(spec, ["a", "b"], n, rng, faults=faults)
        return {
            (round(float(b.t_s[0]), 6), b.source): b
            for _, b in run(model, np.arange(0, 3.0, 0.1), lambda t: static_truth(n))
        }

    nominal = batches([])
    silent = batches([{"kind": "nav_silence", "source": "a", "from_t_s": 0.5, "to_t_s": 1.0},
                      {"kind": "link_outage", "from_t_s": 2.0, "to_t_s": 2.3}])  # fmt: skip
    assert set(silent) < set(nominal) and len(nominal) - len(silent) == 5 + 2 * 3
    for key, b in silent.items():
        ref = nominal[key]
        np.testing.assert_array_equal(b.valid, ref.valid)
        np.testing.assert_array_equal(b.r_ecef, ref.r_ecef)
        np.testing.assert_array_equal(b.q_body_to_ecef, ref.q_body_to_ecef)


def test_missing_fraction_matches_the_probability_and_is_independent_of_dropouts():
    """10 000 vehicles x 5 samples, missing_probability 0.2 and dropout_probability 0.1:
    missing ~ Binomial(50 000, 0.2); among the samples that arrive, invalid ~ Binomial(., 0.1);
    both ~ Binomial(50 000, 0.02) (independent draws). Accept within 5 standard deviations."""
    n, p_miss, p_drop = 10_000, 0.2, 0.1
    spec = spec_of(perfect(10.0, missing_probability=p_miss, dropout_probability=p_drop))
    out = run(SensorModel(spec, ["a"], n, np.random.default_rng(9)), np.arange(5) * 0.1, lambda t: static_truth(n))
    assert len(out) == 5
    present = np.concatenate([b.present for _, b in out])
    valid = np.concatenate([b.valid for _, b in out])
    assert _binomial_ok(np.count_nonzero(~present), present.size, p_miss)
    assert not valid[~present].any()  # a missing sample is never valid
    assert _binomial_ok(np.count_nonzero(~valid[present]), np.count_nonzero(present), p_drop)
    # dropouts are drawn for missing samples too (the same draws whatever arrives)
    b = out[0][1]
    assert np.isnan(b.r_ecef[~b.present]).all() and np.isfinite(b.r_ecef[b.valid]).all()
    # a binomial check that can fail: the same counts do not fit p = 0.22
    assert not _binomial_ok(np.count_nonzero(~present), present.size, 0.22)


def test_missing_probability_zero_draws_nothing_more():
    """With missing_probability 0 the source's numbers are exactly the documented stream: its
    child of ``rng.spawn(len(sources))`` gives (N, 3) normals per sample for position noise only;
    batches carry no present mask."""
    n, sigma = 7, 3.0
    model = NavSourceModelSpec.perfect(10.0).model_copy(update={"position_noise_m": sigma})
    sm = SensorModel(spec_of(model), ["a", "b"], n, np.random.default_rng(21))
    ref = np.random.default_rng(21).spawn(2)
    for t in (0.0, 0.1, 0.2):
        for b in sm.measure(t, static_truth(n)):
            assert b.present is None
            np.testing.assert_allclose(
                b.r_ecef - R_EQ, sigma * ref[b.source].standard_normal((n, 3)), rtol=0, atol=1e-9
            )


@pytest.mark.parametrize("per_vehicle", [False, True])
def test_turning_misses_on_leaves_the_noise_of_the_samples_that_arrive(per_vehicle):
    """The miss uniforms come from a link stream of their own: every sample that arrives
    carries the same noise and dropouts as with missing_probability 0."""
    n = 30
    base = NavSourceModelSpec(latency_s=0.0, output_rate_hz=10.0, dropout_probability=0.1)

    def batches(p):
        rng = [np.random.default_rng([8, i]) for i in range(n)] if per_vehicle else np.random.default_rng(8)
        sm = SensorModel(spec_of(base.model_copy(update={"missing_probability": p})), ["a", "b"], n, rng)
        return [b for _, b in run(sm, np.arange(0, 2.0, 0.1), lambda t: static_truth(n))]

    off, on = batches(0.0), batches(0.4)
    assert len(off) == len(on) == 40
    missing = 0
    for x, y in zip(off, on, strict=True):
        arrived = y.present
        missing += np.count_nonzero(~arrived)
        np.testing.assert_array_equal(y.r_ecef[arrived], x.r_ecef[arrived])
        np.testing.assert_array_equal(y.valid[arrived], x.valid[arrived])
        assert not y.valid[~arrived].any() and np.isnan(y.v_ecef[~arrived]).all()
    assert 0 < missing < 40 * n


def test_intermittent_silence_adds_to_the_random_misses_and_keeps_theirs():
    """missing_probability 0.2 on the source and a nav_silence at 0.5 in [1, 2): inside the window
    a sample is missing with 1 - 0.8 x 0.5 = 0.6; every sample missing without the fault is
    missing with it too (one uniform, a higher threshold)."""
    n = 5000
    spec = spec_of(perfect(10.0, missing_probability=0.2))
    times = np.arange(0, 3.0, 0.1)

    def batches(faults):
        sm = SensorModel(spec, ["a"], n, np.random.default_rng(4), faults=faults)
        return [b for _, b in run(sm, times, lambda t: static_truth(n))]

    nominal = batches([])
    lossy = batches(
        [{"kind": "nav_silence", "source": "a", "from_t_s": 1.0, "to_t_s": 2.0, "missing_probability": 0.5}]
    )
    inside = outside = trials_in = trials_out = 0
    for x, y in zip(nominal, lossy, strict=True):
        assert not np.any(~x.present & y.present)
        if 1.0 <= y.t_s[0] < 2.0 - 1e-9:
            inside += np.count_nonzero(~y.present)
            trials_in += n
        else:
            np.testing.assert_array_equal(x.present, y.present)
            outside += np.count_nonzero(~y.present)
            trials_out += n
    assert trials_in == 10 * n
    assert _binomial_ok(inside, trials_in, 0.6) and _binomial_ok(outside, trials_out, 0.2)


def test_a_vehicle_misses_the_same_samples_in_any_batch():
    """Per-vehicle generators: the link stream is the vehicle's own too (over more than one block)."""
    spec = spec_of(perfect(10.0, missing_probability=0.3))
    steps = STREAM_BLOCK + 10

    def mask(runs):
        sm = SensorModel(spec, ["a", "b"], len(runs), [np.random.default_rng([3, k]) for k in runs])
        return np.array([[b.present for b in sm.measure(0.1 * k, static_truth(len(runs)))] for k in range(steps)])

    alone = mask([6])[:, :, 0]
    np.testing.assert_array_equal(alone, mask([1, 6, 2])[:, :, 1])
    assert alone.any() and not alone.all()


def test_nav_logs_have_no_row_for_a_missing_sample():
    """nav_log_from_batches keeps vehicle k's row of a batch only where it arrived, with its own
    receive time and health; nav_log_from_truth has no rows in a silence window."""
    r = np.tile(R_EQ, (2, 1))
    v = np.zeros((2, 3))
    batches = [
        NavBatch.from_arrays([0.0, 0.0], r, v),
        NavBatch(np.array([0.1, 0.1]), r, v, np.full((2, 4), np.nan), np.full((2, 3), np.nan),
                 np.array([False, True]), 0, np.array([False, True])),
        NavBatch.from_arrays([0.2, 0.2], r, v),
    ]  # fmt: skip
    health = [np.array([True]), np.array([False]), np.array([True])]
    kw = {"receive_time_s": [0.01, 0.11, 0.21], "health": health, "strings": ["A"]}
    log0 = nav_log_from_batches(batches, ["a"], 0, **kw).to_pydict()
    log1 = nav_log_from_batches(batches, ["a"], 1, **kw).to_pydict()
    assert log0["t_s"] == [0.0, 0.2] and log0["receive_time_s"] == [0.01, 0.21] and log0["health_A"] == [True, True]
    assert log1["t_s"] == [0.0, 0.1, 0.2] and log1["health_A"] == [True, False, True]
    with pytest.raises(InputError, match="one entry per batch"):
        nav_log_from_batches(batches, ["a"], 0, receive_time_s=[0.0])

    t = np.arange(300) * 0.01
    truth = {"t_s": t, "r_ecef": np.tile(R_EQ, (t.size, 1)), "v_ecef": np.zeros((t.size, 3))}
    table = nav_log_from_truth(
        truth,
        sources=["a", "b"],
        rng=np.random.default_rng(0),
        sensors=spec_of(perfect(10.0, missing_probability=0.25)),
        faults=[{"kind": "nav_silence", "source": "a", "from_t_s": 1.0, "to_t_s": 2.0}],
    ).to_pydict()
    ts, src = np.array(table["t_s"]), np.array(table["source"])
    assert not np.any((src == "a") & (ts >= 1.0 - 1e-9) & (ts < 2.0 - 1e-9))
    assert all(table["valid"])  # perfect sources: every row that is there is valid; the missing are not rows
    # 30 + 20 due samples, each kept with probability 0.75
    assert _binomial_ok(len(ts), 50, 0.75) and len(ts) < 50
