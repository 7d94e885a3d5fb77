"""The engine fails safe (issue 13): the nav gate, silence judged with the time it was decided,
degenerate attitude, a failing cycle judged by the voting policy, and missions without rules.

Expected values are worked out by hand in each docstring from the sample times and the mission
numbers; nothing is copied from the engine's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rangeguard.earth.geodesy import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.engine import AfssState, Cause, Engine
from rangeguard.engine.state import Rejection
from rangeguard.mission import mission_from_dict
from rangeguard.nav import NavBatch

LAT, LON = 33.5, 135.9
SITE = {"lat_deg": LAT, "lon_deg": LON, "alt_m": 0.0, "launch_azimuth_deg": 180.0}
ARMED, TERMINATED = AfssState.ARMED, AfssState.TERMINATED
ROT = ecef_to_enu_matrix(LAT, LON)
PAD = geodetic_to_ecef(LAT, LON, 0.0)


def climb(t, speed=100.0, source=0, **kw):
    """Straight up from the pad at ``speed`` m/s from T+0: height speed * t (a consistent track)."""
    r = PAD + ROT.T @ np.array([0.0, 0.0, speed * max(t, 0.1)])
    v = ROT.T @ np.array([0.0, 0.0, speed])
    return NavBatch.from_arrays(t, r, v, source=source, **kw)


def mission(rules=(), sources=("a",), **sections):
    return mission_from_dict(
        {
            "name": "failsafe",
            "site": SITE,
            "nav_sources": [{"name": s} for s in sources],
            "rules": list(rules),
            **sections,
        }
    )


DATA_LOSS = {"name": "nav-loss", "type": "data_loss", "green_time_s": 2.0, "persistence_s": 0.0}


# --- the nav gate -----------------------------------------------------------------------------------


def test_a_time_tag_far_ahead_of_the_receive_clock_is_rejected_and_moves_no_clock():
    """Samples every 0.1 s received at their own time; at T+5.0 a sample stamped 1e9 s arrives. It is
    rejected (time ahead of the receive clock by far more than max_time_ahead_s 0.5 s), the source's last
    accepted time stays 4.9 s, and the next genuine sample (T+5.1) is accepted: nothing is blinded."""
    e = Engine(mission([DATA_LOSS]))
    for k in range(1, 50):
        e.step(climb(k / 10), k / 10)
    genuine = climb(5.0)
    d = e.step(NavBatch.from_arrays(1e9, genuine.r_ecef, genuine.v_ecef), 5.0)
    assert d.state.rejected_by[0, Rejection.TIME_AHEAD] == 1 and d.state.src_t_s[0, 0] == 4.9
    d = e.step(climb(5.1), 5.1)
    assert d.state.src_t_s[0, 0] == 5.1 and d.states[0] == ARMED and d.state.rejected[0] == 1


def test_a_time_tag_far_in_the_past_is_rejected_as_stale():
    """At receive time 10.0 a sample stamped T+3.0 is 7 s old: older than max_age_s (1 s)."""
    e = Engine(mission([DATA_LOSS]))
    for k in range(1, 100):
        e.step(climb(k / 10), k / 10)
    genuine = climb(10.0)
    d = e.step(NavBatch.from_arrays(3.0, genuine.r_ecef, genuine.v_ecef), 10.0)
    assert d.state.rejected_by[0, Rejection.STALE] == 1 and d.state.src_t_s[0, 0] == 9.9


def test_time_checks_use_the_missions_nav_gate():
    """A 0.8 s lead passes with max_time_ahead_s 1.0 and is refused with the default 0.5."""
    wide = Engine(mission([DATA_LOSS], nav_gate={"max_time_ahead_s": 1.0}))
    strict = Engine(mission([DATA_LOSS]))
    for e in (wide, strict):
        e.step(climb(1.0), 1.0)
    assert wide.step(climb(1.9), 1.1).state.src_t_s[0, 0] == 1.9
    assert strict.step(climb(1.9), 1.1).state.rejected_by[0, Rejection.TIME_AHEAD] == 1


def test_a_position_jump_no_vehicle_can_make_is_rejected_and_a_moved_track_is_reacquired():
    """Climbing at 100 m/s; from T+3.0 the source reports 5 km east. Between 0.1 s samples the gate allows
    1000 m + 300 m/s^2 * 0.1^2 / 2 = 1001.5 m of position error, so 5 km is a jump: rejected. The new track
    agrees with itself, so after resync_samples (3) samples it is re-acquired: T+3.0 and 3.1 rejected,
    T+3.2 accepted, one resync counted."""
    e = Engine(mission([DATA_LOSS]))
    for k in range(1, 30):
        e.step(climb(k / 10), k / 10)
    east = ROT.T @ np.array([5000.0, 0.0, 0.0])
    out = []
    for k in range(30, 34):
        n = climb(k / 10)
        out.append(e.step(NavBatch.from_arrays(n.t_s, n.r_ecef + east, n.v_ecef), k / 10))
    assert [int(d.state.src_t_s[0, 0] * 10 + 0.5) for d in out] == [29, 29, 32, 33]
    assert out[-1].state.rejected_by[0, Rejection.JUMP] == 2 and out[-1].state.resynced[0] == 1


def test_one_glitched_position_is_rejected_and_the_track_goes_on():
    """A single sample 50 km off is rejected as a jump; the next genuine one is accepted (the candidate
    track of one sample never reaches resync_samples)."""
    e = Engine(mission([DATA_LOSS]))
    for k in range(1, 30):
        e.step(climb(k / 10), k / 10)
    n = climb(3.0)
    d = e.step(NavBatch.from_arrays(3.0, n.r_ecef + 5e4, n.v_ecef), 3.0)
    assert d.state.rejected_by[0, Rejection.JUMP] == 1 and d.state.src_t_s[0, 0] == 2.9
    d = e.step(climb(3.1), 3.1)
    assert d.state.src_t_s[0, 0] == 3.1 and d.state.resynced[0] == 0


def test_rows_that_are_not_present_are_silence_not_rejections():
    """A batch of 3 vehicles where vehicle 1's sample never arrived: it is neither accepted nor rejected."""
    e = Engine(mission([DATA_LOSS]), n=3)
    b = climb(1.0)
    nav = NavBatch(
        np.full(3, 1.0),
        np.repeat(b.r_ecef, 3, 0),
        np.repeat(b.v_ecef, 3, 0),
        np.full((3, 4), np.nan),
        np.full((3, 3), np.nan),
        np.array([True, False, True]),
        0,
        np.array([True, False, True]),
    )
    d = e.step(nav, 1.0)
    assert d.state.samples.tolist() == [1, 0, 1] and d.state.rejected.tolist() == [0, 0, 0]


# --- silence ----------------------------------------------------------------------------------------


def test_a_data_loss_termination_carries_the_time_it_was_decided_and_a_finite_margin():
    """Last sample T+10.0 received at 10.0; then silent cycles every 0.1 s. Green time 2 s: at receive 12.1
    the silence is 2.1 s > 2.0 (the 12.0 cycle is exactly at the green time, not beyond). The single
    string degrades; with none healthy, health_degraded terminates at the estimated flight time
    10.0 + 2.1 = 12.1 s (not at the last fix's 10.0), with the rule's margin 2.0 - 2.1 = -0.1 s."""
    e = Engine(mission([DATA_LOSS]))
    for k in range(1, 101):
        e.step(climb(k / 10), k / 10)
    decided = None
    for k in range(1, 40):
        d = e.step([], 10.0 + k / 10)
        if d.terminate_now[0]:
            decided = d
            break
    assert decided is not None and decided.state.cause[0] == Cause.NO_HEALTHY_STRING
    assert decided.fired_by(0) == "nav-loss"
    assert decided.state.t_terminate_s[0] == pytest.approx(12.1, abs=1e-9)
    assert decided.state.fired_margin[0] == pytest.approx(-0.1, abs=1e-9)
    assert decided.margins[0, 0] == pytest.approx(-0.1, abs=1e-9)  # shown, though no string is healthy
    assert "nan" not in decided.reason(0) and "T+12.10" in decided.reason(0)


# --- degenerate attitude ----------------------------------------------------------------------------

ATTITUDE = {
    "name": "att",
    "type": "attitude_error",
    "max_error_deg": 10.0,
    "persistence_s": 0.0,
    "commanded": {"t_s": [0.0, 100.0], "azimuth_deg": [0.0, 0.0], "elevation_deg": [90.0, 90.0]},
}


def _up_quaternion():
    """Body +x along the local up: the rotation taking body x to ENU up, composed into ECEF."""
    from scipy.spatial.transform import Rotation

    up_ecef = ROT.T @ np.array([0.0, 0.0, 1.0])
    rot, _ = Rotation.align_vectors([up_ecef], [[1.0, 0.0, 0.0]])
    x, y, z, w = rot.as_quat()
    return np.array([w, x, y, z])


@pytest.mark.parametrize(
    "q, judged",
    [
        ([0.0, 0.0, 0.0, 0.0], False),
        ([math.nan, 0.0, 0.0, 0.0], False),
        ([math.inf, 0.0, 0.0, 0.0], False),
        ("tiny", True),
        ("denormal", True),
        ("scaled", True),
    ],
)
def test_a_degenerate_quaternion_never_raises_and_is_normalised_or_unjudged(q, judged):
    """Zero, NaN or infinite: the attitude row is not judged (margin NaN, not violated). A tiny one (the up
    quaternion times 1e-200: its squares underflow to 0) or scaled one (times 1e6) is the same rotation:
    judged, pointing error 0 against the commanded vertical, margin 10 deg. A denormal one (times 1e-320)
    keeps only a few bits of each component: judged, within a twentieth of a degree."""
    up = _up_quaternion()
    tol = 0.05 if q == "denormal" else 1e-6
    q = {"tiny": up * 1e-200, "denormal": up * 1e-320, "scaled": up * 1e6}[q] if isinstance(q, str) else np.array(q)
    e = Engine(mission([ATTITUDE]))
    e.step(climb(1.0), 1.0)
    d = e.step(climb(1.1, q_body_to_ecef=q), 1.1)
    assert e.faults == [] and d.states[0] == ARMED
    if judged:
        assert d.margins[0, 0] == pytest.approx(10.0, abs=tol)
    else:
        assert np.isnan(d.margins[0, 0]) and not d.violated.any()


# --- a cycle that fails anyway ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy, all_faulty, expect",
    [
        ("health_degraded", "terminate", TERMINATED),
        ("health_degraded", "continue", ARMED),
        ("1oo2", "terminate", TERMINATED),
    ],
)
def test_a_failing_cycle_counts_every_string_faulty_and_the_policy_decides(monkeypatch, policy, all_faulty, expect):
    """Should the decision function raise, the step does not: the cycle is judged as every string faulty
    (health_degraded: all_strings_faulty decides; 1oo2: a faulty string votes), and it is logged."""
    import rangeguard.engine.engine as engine_module

    m = mission([DATA_LOSS], sources=("a", "b"), termination={"policy": policy, "all_strings_faulty": all_faulty})
    e = Engine(m)
    e.step([climb(1.0), climb(1.0, source=1)], 1.0)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(engine_module, "decide", broken)
    d = e.step([climb(1.1), climb(1.1, source=1)], 1.1)
    assert d.states[0] == expect and d.state.cycle_faults[0] == 1
    assert e.faults == [(1.1, "ZeroDivisionError: float division by zero")]
    if expect == TERMINATED:
        assert d.fired_by(0) == "cycle-fault" and d.state.t_terminate_s[0] == 1.1
        assert "cycle failed" in d.reason(0)


def test_a_mission_without_rules_steps_and_logs():
    """No rules: the engine arms and steps; the decision log has no rule columns but writes."""
    import pyarrow.parquet as pq

    from rangeguard.formats.decisionlog import DecisionLog

    e = Engine(mission([]))
    log = DecisionLog(e.setup.rule_names)
    for k in range(1, 5):
        log.add(e.step(climb(k / 10), k / 10))
    assert e.state.mode[0] == ARMED and log.table().num_rows == 4
    import io

    buf = io.BytesIO()
    pq.write_table(log.table(), buf)
    assert pq.read_table(io.BytesIO(buf.getvalue())).num_rows == 4


@pytest.mark.parametrize("t, r_bad", [(1.0, False), (math.nan, False), (1.0, True)])
def test_the_real_time_single_sample_batch_equals_from_arrays(t, r_bad):
    """NavBatch.single (the real-time shell's fast path) builds what from_arrays builds, invalid rows included."""
    n = climb(1.0)
    r = (math.nan, 0.0, 0.0) if r_bad else tuple(n.r_ecef[0])
    q, w = (1.0, 0.0, 0.0, 0.0), (0.1, 0.2, 0.3)
    a = NavBatch.single(t, r, tuple(n.v_ecef[0]), q, w, True, 1)
    b = NavBatch.from_arrays(t, r, n.v_ecef[0], q, w, True, source=1)
    for name in ("t_s", "r_ecef", "v_ecef", "q_body_to_ecef", "omega_body_rad_s", "valid"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).shape == getattr(b, name).shape
    assert a.source == b.source == 1 and a.valid[0] == (not r_bad and t == t)
