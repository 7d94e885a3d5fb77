"""Engine semantics (DESIGN.md "Rule semantics"): arming, windows/events/phases,
persistence, bad samples, latching, safing, voting among AFTS strings, time
stamps, data loss, and batch == alone.

States are hand-made: a vehicle at a chosen geodetic point with a velocity in
its local ENU frame. Expected times are worked out in each docstring from the
sample times and the mission numbers (never copied from the engine's output).
"""

from __future__ import annotations

import numpy as np
import pytest

from rangeguard.earth.geodesy import ecef_to_enu_matrix, enu_to_ecef, geodetic_to_ecef
from rangeguard.engine import AfssState, Cause, Engine
from rangeguard.iip import impact_point
from rangeguard.mission import mission_from_dict
from rangeguard.nav import NavBatch

PAD_LAT, PAD_LON = 33.5, 135.9
SITE = {"lat_deg": PAD_LAT, "lon_deg": PAD_LON, "alt_m": 0.0, "launch_azimuth_deg": 180.0}
SPEED = {
    "name": "speed",
    "type": "envelope",
    "quantity": "speed_mps",
    "table": {"t_s": [-100.0, 1000.0], "upper": [100.0, 100.0]},
}
ARMED, SAFE, TERMINATED, SAFED = AfssState.ARMED, AfssState.SAFE, AfssState.TERMINATED, AfssState.SAFED


def make_mission(rules=(SPEED,), *, sources=("nav",), site=None, **sections):
    data = {"name": "t", "site": site or SITE, "nav_sources": [{"name": s} for s in sources], "rules": list(rules)}
    data.update(sections)
    return mission_from_dict(data)


def state(lat=PAD_LAT, lon=PAD_LON, h=1000.0, v_enu=(0.0, 0.0, 0.0)):
    """ECEF position and Earth-relative velocity of a vehicle at (lat, lon, h) moving v_enu in its local ENU."""
    return geodetic_to_ecef(lat, lon, h), ecef_to_enu_matrix(lat, lon).T @ np.asarray(v_enu, float)


def nav(t, speed=50.0, h=1000.0, source=0, lat=PAD_LAT, lon=PAD_LON, **kw):
    """One sample: climbing vertically at ``speed`` m/s at height h over (lat, lon)."""
    r, v = state(lat, lon, h, (0.0, 0.0, speed))
    return NavBatch.from_arrays(t, r, v, source=source, **kw)


def fly(engine, samples):
    """Step (t, speed) samples with receive time = t; returns the list of Decisions."""
    return [engine.step(nav(t, s), t) for t, s in samples]


def ticks(t0, t1, dt=0.1):
    """Sample times t0, t0+dt, ... < t1 as k/10-style exact decimals."""
    k0, k1 = round(t0 / dt), round(t1 / dt)
    return [k * dt if dt != 0.1 else k / 10 for k in range(k0, k1)]


# --- arming -------------------------------------------------------------------------------


def test_safe_before_liftoff_then_armed_at_the_height_cue():
    """On the pad (h = 0) a rule that would be violated (altitude floor 100 m) is not judged: SAFE.
    The first sample more than 5 m above the pad (T+0.0 at 6 m) arms; liftoff is recorded at T+0.0."""
    floor = {
        "name": "floor",
        "type": "envelope",
        "quantity": "altitude_m",
        "table": {"t_s": [-100.0, 1000.0], "lower": [100.0, 100.0]},
        "persistence_s": 0.0,
    }
    e = Engine(make_mission([floor]))
    for t in ticks(-3.0, 0.0):
        d = e.step(nav(t, speed=0.0, h=0.0), t)
        assert d.state_name(0) == "SAFE"
        assert not d.active.any() and np.isnan(d.margins).all()
        assert d.reason(0).startswith("SAFE")
    d = e.step(nav(0.0, speed=0.0, h=6.0), 0.0)
    assert d.states[0] == TERMINATED  # armed in this cycle, and the floor (6 m < 100 m, persistence 0) counts at once
    assert d.state.event_t_s[0, 0] == 0.0


def test_arming_cues_are_height_above_the_pad_and_speed():
    """Pad at 20 m: 24 m is 4 m above it (no cue), 26 m is 6 m above it (cue). Speed cue 3 m/s: 2.9 no, 3.1 yes."""
    site = {**SITE, "alt_m": 20.0}
    e = Engine(make_mission(site=site))
    assert e.step(nav(-1.0, speed=2.9, h=24.0), -1.0).states[0] == SAFE
    assert e.step(nav(-0.5, speed=0.0, h=26.0), -0.5).states[0] == ARMED
    e = Engine(make_mission(site=site))
    assert e.step(nav(-1.0, speed=2.9, h=20.0), -1.0).states[0] == SAFE
    d = e.step(nav(-0.9, speed=3.1, h=20.0), -0.9)
    assert d.states[0] == ARMED and d.state.event_t_s[0, 0] == -0.9
    assert d.reason(0) == "ARMED since T+-0.90 s; no rule violation has persisted"


def test_liftoff_cues_before_not_before_t_s_are_ignored():
    e = Engine(make_mission(arming={"not_before_t_s": 0.0}))
    assert e.step(nav(-1.0, h=100.0), -1.0).states[0] == SAFE
    assert e.step(nav(-0.1, h=100.0), -0.1).states[0] == SAFE
    d = e.step(nav(0.0, h=100.0), 0.0)
    assert d.states[0] == ARMED and d.state.event_t_s[0, 0] == 0.0


# --- windows, events, phases ---------------------------------------------------------------


def _active(d, j):
    return bool(d.active[0, 0, j])


def test_rule_window_from_and_to():
    """Active on [5, 10): judged at T+5.0 and T+9.9, not at T+4.9 or T+10.0."""
    rule = {**SPEED, "active": {"from_t_s": 5.0, "to_t_s": 10.0}}
    e = Engine(make_mission([rule]))
    ds = {t: d for t, d in zip(ticks(0, 12), fly(e, [(t, 50.0) for t in ticks(0, 12)]), strict=True)}
    assert [_active(ds[t], 0) for t in (4.9, 5.0, 9.9, 10.0, 11.9)] == [False, True, True, False, False]
    assert np.isnan(ds[4.9].margins[0, 0]) and ds[5.0].margins[0, 0] == pytest.approx(50.0)


def test_violation_outside_the_window_never_terminates():
    rule = {**SPEED, "active": {"from_t_s": 5.0}, "persistence_s": 0.0}
    e = Engine(make_mission([rule]))
    ds = fly(e, [(t, 500.0) for t in ticks(0, 5)])
    assert all(d.states[0] == ARMED for d in ds)
    assert e.step(nav(5.0, 500.0), 5.0).states[0] == TERMINATED


def test_scheduled_and_detected_events_and_phases():
    """Events: 'sep' scheduled at T+20; 'high' detected when altitude first exceeds 1500 m.
    Phase 'boost' runs from liftoff until 'sep'. The vehicle climbs 100 m/s from 1000 m at T+0,
    so it passes 1500 m between T+5.0 (1500 m, not above) and T+5.1 (1510 m): 'high' at T+5.1."""
    rules = [
        {**SPEED, "name": "after-sep", "active": {"after_event": "sep"}},
        {**SPEED, "name": "until-sep", "active": {"until_event": "sep"}},
        {**SPEED, "name": "after-high", "active": {"after_event": "high"}},
        {**SPEED, "name": "in-boost", "active": {"phase": "boost"}},
        {**SPEED, "name": "in-late", "active": {"phase": "late"}},
    ]
    m = make_mission(
        rules,
        events=[{"name": "sep", "t_s": 20.0}, {"name": "high", "when": {"quantity": "altitude_m", "above": 1500.0}}],
        phases=[{"name": "boost", "end_event": "sep"}, {"name": "late", "start_event": "sep", "from_t_s": 25.0}],
    )
    e = Engine(m)
    ds = {}
    for t in ticks(0, 30):
        ds[t] = e.step(nav(t, 50.0, h=1000.0 + 100.0 * t), t)
    act = {t: [_active(d, j) for j in range(5)] for t, d in ds.items()}
    assert act[0.0] == [False, True, False, True, False]
    assert act[5.0] == [False, True, False, True, False]
    assert act[5.1] == [False, True, True, True, False]
    assert act[19.9] == [False, True, True, True, False]
    assert act[20.0] == [True, False, True, False, False]
    assert act[24.9] == [True, False, True, False, False]
    assert act[25.0] == [True, False, True, False, True]
    names = e.setup.event_names
    assert ds[29.9].state.event_t_s[0, names.index("sep")] == 20.0
    assert ds[29.9].state.event_t_s[0, names.index("high")] == 5.1


def test_detected_event_below():
    rules = [{**SPEED, "name": "after-slow", "active": {"after_event": "slow"}}]
    m = make_mission(rules, events=[{"name": "slow", "when": {"quantity": "speed_mps", "below": 40.0}}])
    e = Engine(m)
    assert not _active(e.step(nav(0.0, 50.0), 0.0), 0)
    assert _active(e.step(nav(0.1, 39.0), 0.1), 0)


# --- persistence ------------------------------------------------------------------------------


def _p_mission(p=1.0):
    return make_mission([{**SPEED, "persistence_s": p}])


def test_short_violation_never_terminates():
    """Persistence 1 s; violation T+1.0..T+1.8 (held 0.8 s), then clean, then T+3.0..T+3.9 (0.9 s)."""
    e = Engine(_p_mission())
    samples = [(t, 150.0 if (1.0 <= t <= 1.8 or 3.0 <= t <= 3.9) else 50.0) for t in ticks(0, 6)]
    assert all(d.states[0] == ARMED for d in fly(e, samples))


def test_held_violation_terminates_at_the_first_sample_reaching_persistence():
    """Violation from T+3.0 at 10 Hz; held = t - 3.0 reaches 1.0 s first at T+4.0."""
    e = Engine(_p_mission())
    ds = fly(e, [(t, 150.0 if t >= 3.0 else 50.0) for t in ticks(0, 6)])
    states = [d.states[0] for d in ds]
    first = states.index(TERMINATED)
    assert ticks(0, 6)[first] == 4.0
    assert ds[first].state.t_terminate_s[0] == 4.0
    assert ds[first].terminate_now[0] and not ds[first - 1].terminate[0]
    assert ds[first].state.fired_held_s[0] == pytest.approx(1.0)
    assert ds[first].state.fired_margin[0] == pytest.approx(-50.0)


def test_persistence_with_irregular_samples():
    """Violation starts at T+3.0; samples at 3.0, 3.55, 3.95, 4.05: 4.05 is the first with held >= 1 s."""
    e = Engine(_p_mission())
    fly(e, [(0.0, 50.0), (2.9, 50.0)])
    ds = fly(e, [(3.0, 150.0), (3.55, 150.0), (3.95, 150.0), (4.05, 150.0)])
    assert [d.states[0] for d in ds] == [ARMED, ARMED, ARMED, TERMINATED]
    assert ds[-1].state.t_terminate_s[0] == 4.05


def test_persistence_zero_terminates_on_the_first_violating_sample():
    e = Engine(_p_mission(0.0))
    ds = fly(e, [(0.0, 50.0), (0.1, 101.0)])
    assert ds[1].state.t_terminate_s[0] == 0.1


def test_default_persistence_comes_from_termination_section():
    """No rule persistence: termination.persistence_s = 0.3 applies. Violation from T+1.0 -> terminates at T+1.3."""
    e = Engine(make_mission(termination={"persistence_s": 0.3}))
    ds = fly(e, [(t, 150.0 if t >= 1.0 else 50.0) for t in ticks(0, 3)])
    assert ds[-1].state.t_terminate_s[0] == 1.3


def test_single_nan_sample_never_terminates_and_is_counted():
    e = Engine(_p_mission(0.0))
    fly(e, [(t, 50.0) for t in ticks(0, 1)])
    r = np.full(3, np.nan)
    d = e.step(NavBatch.from_arrays(1.0, r, r), 1.0)
    assert d.states[0] == ARMED and d.state.rejected[0] == 1
    d = e.step(NavBatch.from_arrays(np.nan, *state()), 1.1)
    assert d.states[0] == ARMED and d.state.rejected[0] == 2
    ds = fly(e, [(t, 50.0) for t in ticks(1.2, 3)])
    assert ds[-1].states[0] == ARMED and ds[-1].state.samples[0] == 10 + 18


def test_single_outlier_sample_never_terminates_with_persistence():
    """150 m/s for one sample among 50 m/s ones is a jump of 100 m/s in 0.1 s, inside the nav gate's
    bound (100 m/s + 300 m/s^2 x 0.1 s = 130 m/s): it is judged, violates once, and persistence holds."""
    e = Engine(_p_mission(0.5))
    ds = fly(e, [(t, 150.0 if t == 2.0 else 50.0) for t in ticks(0, 5)])
    assert all(d.states[0] == ARMED for d in ds)
    assert ds[20].violated[0, 0, 0] and not ds[21].violated[0, 0, 0]


def test_single_impossible_sample_is_rejected_by_the_nav_gate():
    """1e4 m/s for one sample among 50 m/s ones: a velocity jump far beyond 130 m/s in 0.1 s. The gate
    rejects it (counted as a jump), so it is never judged and no clock moves."""
    from rangeguard.engine.state import Rejection

    e = Engine(_p_mission(0.0))
    ds = fly(e, [(t, 1e4 if t == 2.0 else 50.0) for t in ticks(0, 5)])
    assert all(d.states[0] == ARMED for d in ds)
    assert not ds[20].violated.any() and ds[20].state.rejected_by[0, Rejection.JUMP] == 1
    assert ds[-1].state.rejected[0] == 1


def test_nan_sample_does_not_reset_persistence():
    """Violation from T+3.0; T+3.5 is a NaN sample (rejected). The violation still counts from 3.0: terminate at 4.0."""
    e = Engine(_p_mission())
    fly(e, [(t, 50.0) for t in ticks(0, 3)])
    bad = np.full(3, np.nan)
    for t in ticks(3.0, 4.1):
        d = e.step(NavBatch.from_arrays(t, bad, bad), t) if t == 3.5 else e.step(nav(t, 150.0), t)
        if t < 4.0:
            assert d.states[0] == ARMED
    assert d.states[0] == TERMINATED and d.state.t_terminate_s[0] == 4.0


def test_termination_latches():
    e = Engine(_p_mission(0.0))
    ds = fly(e, [(0.0, 50.0), (0.1, 150.0)] + [(t, 50.0) for t in ticks(0.2, 5)])
    first = ds[1]
    assert first.terminate_now[0]
    for d in ds[2:]:
        assert d.states[0] == TERMINATED and d.terminate[0] and not d.terminate_now[0]
        assert d.state.t_terminate_s[0] == 0.1
        assert d.rule(0) == "speed" and d.reason(0) == first.reason(0)


# --- safing ---------------------------------------------------------------------------------------


def orbit_nav(t, h=200e3):
    """200 km up, 7800 m/s east relative to the Earth (inertial ~8.2 km/s > circular 7.78 km/s): no impact.

    The position moves along the velocity from T+100 (a straight line: over the tests' 10 s it stays within
    a kilometre of the 200 km height), so consecutive samples are a track the nav gate accepts."""
    r, v = state(PAD_LAT - 5.0, PAD_LON, h, (7800.0, 0.0, 0.0))
    return NavBatch.from_arrays(t, r + v * (t - 100.0), v)


def test_orbit_state_has_no_impact_point():
    n = orbit_nav(100.0)
    assert np.isnan(impact_point(n.r_ecef, n.v_ecef)[0]).all()


def test_safed_by_orbit_after_its_persistence_and_then_nothing_terminates():
    """Orbit safing: no IIP and above 100 km, held 2 s. Samples every 0.5 s from T+100: SAFED at T+102.
    A speed rule active from T+103 (7.8 km/s >> 100 m/s limit, persistence 0) then never terminates, and
    under 1oo2 a string declaring itself faulty does not either."""
    rule = {**SPEED, "persistence_s": 0.0, "active": {"from_t_s": 103.0}}
    m = make_mission(
        [rule],
        sources=("a", "b"),
        termination={"policy": "1oo2"},
        safing={"orbit": {"persistence_s": 2.0, "min_altitude_m": 100e3}},
    )
    e = Engine(m)
    times = [100.0 + 0.5 * k for k in range(20)]
    ds = [
        e.step(
            [orbit_nav(t), NavBatch.from_arrays(t, orbit_nav(t).r_ecef, orbit_nav(t).v_ecef, source=1)],
            t,
            health=[True, t < 105.0],
        )
        for t in times
    ]
    states = [d.states[0] for d in ds]
    assert states[:4] == [ARMED] * 4 and states[4:] == [SAFED] * 16
    assert ds[4].state.t_safed_s[0] == 102.0 and ds[4].state.cause[0] == Cause.ORBIT
    assert ds[-1].reason(0).startswith("SAFED at T+102.00 s")
    assert not any(d.terminate[0] for d in ds)


def test_no_orbit_safing_below_the_minimum_altitude():
    m = make_mission([], safing={"orbit": {"persistence_s": 1.0, "min_altitude_m": 300e3}})
    e = Engine(m)
    ds = [e.step(orbit_nav(100.0 + k), 100.0 + k) for k in range(5)]
    assert all(d.states[0] == ARMED for d in ds)


LAND = {
    "name": "land",
    "kind": "protected",
    "lat_deg": [33.8, 33.8, 34.5, 34.5],
    "lon_deg": [135.5, 136.3, 136.3, 135.5],
}


def test_safed_by_iip_clear():
    """A vehicle hovering 1 km over 26.3 N has its IIP right below it: ~800 km from the pad, beyond
    min_iip_range_m = 500 km and far outside the protected area. Held 2 s at 1 Hz from T+50: SAFED at T+52."""
    m = make_mission(
        [], areas=[LAND], safing={"iip_clear": {"min_iip_range_m": 500e3, "clearance_m": 100e3, "persistence_s": 2.0}}
    )
    e = Engine(m)
    ds = [e.step(nav(50.0 + k, 0.0, lat=26.3), 50.0 + k) for k in range(5)]
    assert [d.states[0] for d in ds] == [ARMED, ARMED, SAFED, SAFED, SAFED]
    assert ds[2].state.cause[0] == Cause.IIP_CLEAR and ds[2].state.t_safed_s[0] == 52.0
    assert "IIP beyond every protected area" in ds[2].reason(0)


def test_no_iip_clear_safing_within_clearance_of_a_protected_area():
    """A second protected area 25.0..25.6 N lies ~80 km south of the IIP at 26.3 N: within the 100 km clearance."""
    south = {
        "name": "isle",
        "kind": "protected",
        "lat_deg": [25.0, 25.0, 25.6, 25.6],
        "lon_deg": [135.5, 136.3, 136.3, 135.5],
    }
    m = make_mission(
        [],
        areas=[LAND, south],
        safing={"iip_clear": {"min_iip_range_m": 1000e3, "clearance_m": 100e3, "persistence_s": 2.0}},
    )
    e = Engine(m)
    ds = [e.step(nav(50.0 + k, 0.0, lat=25.3 + 1.0), 50.0 + k) for k in range(5)]
    assert all(d.states[0] == ARMED for d in ds)


def test_iip_clear_timer_restarts_when_the_condition_breaks():
    """The vehicle is teleported between far out and over the pad (a nav gate wide enough to let it)."""
    m = make_mission(
        [],
        areas=[LAND],
        safing={"iip_clear": {"min_iip_range_m": 500e3, "persistence_s": 2.0}},
        nav_gate={"position_tolerance_m": 1e7},
    )
    e = Engine(m)
    lats = [26.3, 26.3, PAD_LAT, 26.3, 26.3, 26.3]
    ds = [e.step(nav(50.0 + k, 0.0, lat=lat), 50.0 + k) for k, lat in enumerate(lats)]
    assert [d.states[0] for d in ds] == [ARMED] * 5 + [SAFED]
    assert ds[-1].state.t_safed_s[0] == 55.0


# --- voting ---------------------------------------------------------------------------------------


def two(t, speed_a, speed_b):
    return [nav(t, speed_a, source=0), nav(t, speed_b, source=1)]


def vote_engine(policy, persistence=0.2, **termination):
    rule = {**SPEED, "persistence_s": persistence}
    return Engine(make_mission([rule], sources=("a", "b"), termination={"policy": policy, **termination}))


def run_two(e, samples, health=None):
    return [e.step(two(t, a, b), t, health=None if health is None else health(t)) for t, a, b in samples]


def test_1oo2_one_strings_violation_terminates():
    """String a sees 150 m/s from T+1.0, b 50 m/s. Persistence 0.2 s: terminate at T+1.2, by string a."""
    e = vote_engine("1oo2")
    ds = run_two(e, [(t, 150.0 if t >= 1.0 else 50.0, 50.0) for t in ticks(0, 2)])
    assert ds[-1].state.t_terminate_s[0] == 1.2
    assert ds[-1].fired_by(0) == "speed"
    reason = ds[-1].reason(0)
    assert "rule 'speed'" in reason and "string a" in reason and "policy 1oo2" in reason
    assert "T+1.20" in reason


def test_2oo2_needs_both_strings():
    """a violates from T+1.0 (alone: never terminates over 3 s); b joins at T+4.0 -> terminate at T+4.2."""
    e = vote_engine("2oo2")
    ds = run_two(e, [(t, 150.0 if t >= 1.0 else 50.0, 150.0 if t >= 4.0 else 50.0) for t in ticks(0, 5)])
    states = [d.states[0] for d in ds]
    assert TERMINATED not in states[:42]
    assert ds[42].terminate_now[0] and ds[42].state.t_terminate_s[0] == 4.2
    assert "policy 2oo2" in ds[42].reason(0)


def test_health_degraded_faulty_string_drops_out():
    """a declares itself faulty and sees 150 m/s: ignored. b then violates from T+2.0: terminate at T+2.2 by b.
    The reported margins are b's alone (a's violation is not in them)."""
    e = vote_engine("health_degraded")
    health = lambda t: [False, True]  # noqa: E731 - a one-line stand-in, named for the reader
    ds = run_two(e, [(t, 150.0, 150.0 if t >= 2.0 else 50.0) for t in ticks(0, 3)], health)
    assert ds[10].states[0] == ARMED and ds[10].margins[0, 0] == pytest.approx(50.0)
    assert ds[10].margin[0, 0, 0] == pytest.approx(-50.0)
    assert ds[22].terminate_now[0] and ds[22].state.t_terminate_s[0] == 2.2
    assert "string b" in ds[22].reason(0) and "policy health_degraded" in ds[22].reason(0)


def test_health_degraded_all_strings_faulty():
    e = vote_engine("health_degraded")
    ds = run_two(e, [(0.0, 50.0, 50.0), (0.1, 50.0, 50.0)], lambda t: [True, True] if t < 0.1 else [False, False])
    assert ds[1].terminate_now[0] and ds[1].state.cause[0] == Cause.NO_HEALTHY_STRING
    assert ds[1].fired_by(0) == "no-healthy-string" and "no healthy AFTS string" in ds[1].reason(0)
    e = vote_engine("health_degraded", all_strings_faulty="continue")
    ds = run_two(e, [(t, 50.0, 50.0) for t in ticks(0, 2)], lambda t: [False, False])
    assert all(d.states[0] == ARMED for d in ds)


def kairos3(policy, **termination):
    """A nominal flight; at T+68.8 string b judges itself faulty (Kairos flight 3)."""
    e = vote_engine(policy, **termination)
    samples = [(60.0 + k / 10, 50.0, 50.0) for k in range(200)]
    return run_two(e, samples, lambda t: [True, t < 68.8 - 1e-9])


def test_kairos_flight_3_faulty_string_under_1oo2_terminates():
    ds = kairos3("1oo2")
    first = next(i for i, d in enumerate(ds) if d.terminate[0])
    assert ds[first].state.t_terminate_s[0] == 68.8
    assert ds[first].state.cause[0] == Cause.FAULTY_STRING
    assert ds[first].fired_by(0) == "string-fault:b"
    assert "string b declared itself faulty" in ds[first].reason(0) and "1oo2" in ds[first].reason(0)


def test_kairos_flight_3_faulty_string_under_health_degraded_does_not():
    assert all(d.states[0] == ARMED for d in kairos3("health_degraded"))


def test_faulty_string_alone_does_not_terminate_under_2oo2_or_when_it_does_not_vote():
    assert all(d.states[0] == ARMED for d in kairos3("2oo2"))
    assert all(d.states[0] == ARMED for d in kairos3("1oo2", faulty_string_votes=False))


# --- time stamps ----------------------------------------------------------------------------------


def test_duplicate_and_out_of_order_samples_are_rejected_and_counted():
    """T+1.0 accepted; a second T+1.0 (duplicate) and T+0.9 (out of order), both at 1e4 m/s, are rejected:
    the rule still sees the accepted sample (margin 50) and nothing terminates (persistence 0)."""
    e = Engine(_p_mission(0.0))
    e.step(nav(1.0, 50.0), 1.0)
    d = e.step(nav(1.0, 1e4), 1.05)
    d = e.step(nav(0.9, 1e4), 1.1)
    assert d.states[0] == ARMED
    assert d.state.samples[0] == 1 and d.state.rejected[0] == 2
    assert d.margins[0, 0] == pytest.approx(50.0)
    d = e.step(nav(1.1, 50.0), 1.15)
    assert d.state.samples[0] == 2 and d.state.rejected[0] == 2


def test_invalid_flag_is_rejected():
    e = Engine(_p_mission(0.0))
    e.step(nav(1.0, 50.0), 1.0)
    d = e.step(nav(1.1, 1e4, valid=False), 1.1)
    assert d.states[0] == ARMED and d.state.rejected[0] == 1


# --- data loss -------------------------------------------------------------------------------------


LINK = {"name": "link", "type": "data_loss", "green_time_s": 0.5, "persistence_s": 0.0}


def test_data_loss_runs_on_receive_time():
    """One source; last sample T+10.0 received at 10.0. Cycles without data at receive 10.1, 10.2, ...:
    since-valid 0.5 at 10.5 (margin 0, not violated), 0.6 at 10.6 -> terminate in that cycle."""
    e = Engine(make_mission([SPEED, LINK]))
    fly(e, [(t, 50.0) for t in ticks(0, 10.1)])
    for k in range(101, 110):
        d = e.step([], k / 10)
        if k < 106:
            assert d.states[0] == ARMED, k
        else:
            break
    assert k == 106 and d.terminate_now[0] and d.fired_by(0) == "link"
    assert "no valid nav" in d.reason(0)


def test_data_loss_counts_stale_duplicates_as_no_data():
    """A source repeating its last time stamp delivers nothing new: the link rule fires as above."""
    e = Engine(make_mission([SPEED, LINK]))
    fly(e, [(t, 50.0) for t in ticks(0, 10.1)])
    ds = [e.step(nav(10.0, 50.0), k / 10) for k in range(101, 107)]
    assert [d.states[0] for d in ds] == [ARMED] * 5 + [TERMINATED]


def test_data_loss_green_time_table_and_receive_clock_persistence():
    """Green time 1 s before T+20 rising to 3 s at T+40; rule persistence 0.5 s (on the receive clock).
    Source stops after T+30.0. Persistence runs on the receive clock (last data time + time since it arrived)."""
    link = {
        "name": "link",
        "type": "data_loss",
        "persistence_s": 0.5,
        "table": {"t_s": [0.0, 20.0, 40.0], "green_time_s": [1.0, 1.0, 3.0]},
    }
    e = Engine(make_mission([link]))
    fly(e, [(t, 50.0) for t in ticks(0, 30.1)])
    # the green time is read at the estimated flight time 30 + s (s = time since the last sample):
    # green(30 + s) = 1 + (10 + s) * 2/20 = 2 + s/10; violated when s > 2 + s/10, i.e. s > 2.222
    ks = list(range(301, 340))
    states = [e.step([], k / 10).states[0] for k in ks]
    first = ks[states.index(TERMINATED)] / 10
    # first receive time with s > 2.2222 is 32.3 (s = 2.3); counted once held >= 0.5 on that clock: 32.8
    assert first == pytest.approx(32.8)


def test_source_that_stops_under_1oo2_terminates_by_data_loss_on_its_string():
    """a stops after T+10.0 (received at 10.0); b keeps delivering at 10 Hz, clean. Green time 0.5 s on the
    receive clock: string a's link rule is violated at receive 10.6 (0.6 s > 0.5 s) and, under 1oo2, terminates."""
    e = Engine(make_mission([SPEED, LINK], sources=("a", "b"), termination={"policy": "1oo2"}))
    run_two(e, [(t, 50.0, 50.0) for t in ticks(0, 10.1)])
    ds = {t: e.step(nav(t, 50.0, source=1), t) for t in ticks(10.1, 11)}
    assert all(ds[t].states[0] == ARMED for t in ticks(10.1, 10.6))
    assert ds[10.6].terminate_now[0] and ds[10.6].fired_by(0) == "link"
    assert "string a" in ds[10.6].reason(0) and "policy 1oo2" in ds[10.6].reason(0)


def test_source_that_stops_fires_data_loss_while_the_other_string_keeps_deciding():
    """2oo2 with sources a and b. a stops after T+10.0; its string's link rule is violated from receive 10.6,
    alone not enough to terminate. b keeps delivering; its speed rule is judged on fresh data (margin follows
    b's speed) and when b violates from T+12.0 (persistence 0.2) both strings vote: terminate at T+12.2."""
    rule = {**SPEED, "persistence_s": 0.2}
    e = Engine(make_mission([rule, LINK], sources=("a", "b"), termination={"policy": "2oo2"}))
    run_two(e, [(t, 50.0, 50.0) for t in ticks(0, 10.1)])
    ds = {}
    for t in ticks(10.1, 13):
        ds[t] = e.step(nav(t, 150.0 if t >= 12.0 else 60.0 + t, source=1), t)
    assert not ds[10.5].violated[0, 0, 1] and ds[10.6].violated[0, 0, 1]
    assert ds[11.0].margin[1, 0, 0] == pytest.approx(100.0 - 71.0)
    assert ds[11.5].margin[1, 0, 0] == pytest.approx(100.0 - 71.5)
    assert all(ds[t].states[0] == ARMED for t in ticks(10.1, 12.2))
    assert ds[12.2].terminate_now[0] and ds[12.2].state.t_terminate_s[0] == 12.2


def test_health_degraded_string_with_stopped_source_declared_faulty_is_ignored():
    """Under health_degraded, once a's string declares itself faulty its data-loss vote is dropped; b decides."""
    e = Engine(make_mission([{**SPEED, "persistence_s": 0.2}, LINK], sources=("a", "b")))
    run_two(e, [(t, 50.0, 50.0) for t in ticks(0, 10.1)])
    ds = {t: e.step(nav(t, 150.0 if t >= 12.0 else 50.0, source=1), t, health=[False, True]) for t in ticks(10.1, 13)}
    assert all(ds[t].states[0] == ARMED for t in ticks(10.1, 12.2))
    assert ds[12.2].terminate_now[0] and "string b" in ds[12.2].reason(0)


# --- batch == alone ---------------------------------------------------------------------------------


def batch_mission():
    rules = [
        {
            **SPEED,
            "table": {"t_s": [0.0, 10.0, 30.0], "lower": [None, 20.0, 100.0], "upper": [150.0, 400.0, 900.0]},
            "persistence_s": 0.5,
        },
        {
            "name": "floor",
            "type": "envelope",
            "quantity": "altitude_m",
            "table": {"t_s": [5.0, 30.0], "lower": [100.0, 3000.0]},
        },
        {"name": "land", "type": "iip_polygon", "area": "land", "persistence_s": 0.3},
        {
            "name": "cross",
            "type": "envelope",
            "quantity": "crossrange_m",
            "table": {"t_s": [0.0, 30.0], "lower": [-3e3, -3e3], "upper": [3e3, 3e3]},
        },
        {"name": "tumble", "type": "body_rate", "max_rate_deg_s": 20.0, "active": {"after_event": "pitch"}},
        {"name": "link", "type": "data_loss", "green_time_s": 0.5, "action": "terminate"},
        {"name": "agree", "type": "source_disagreement", "sources": ["a", "b"], "max_difference": 200.0},
    ]
    return make_mission(
        rules,
        sources=("a", "b"),
        areas=[LAND],
        events=[{"name": "pitch", "t_s": 8.0}],
        safing={"orbit": {"persistence_s": 0.5}},
    )


def batch_inputs(n, steps, rng):
    """Per-vehicle ascents (vertical, then pitching toward the launch azimuth) with vehicle-specific
    accelerations and small crossrange drifts, and one designed failure each:
    0 tumbles from T+15; 1 pitches north so its IIP reaches the protected area; 2 has occasional NaN samples;
    3's source b drifts 400 m away from T+12; 4's source b stops at T+10; 5's string b declares itself faulty
    at T+9 and its source then reports a wild velocity (dropped by health_degraded)."""
    acc = rng.uniform(14.0, 22.0, n)
    drift = rng.uniform(-40.0, 40.0, n)
    north = np.where(np.arange(n) == 1, 3.0, -1.0)
    out = []
    for k in range(steps):
        t = -0.5 + 0.1 * k
        tt = max(t, 0.0)
        tp = max(tt - 5.0, 0.0)
        enu = np.stack([drift * tt, north * 0.15 * acc * tp**2, 0.5 * acc * tt**2], axis=-1)
        v_enu = np.stack([drift, north * 0.3 * acc * tp, acc * tt], axis=-1)
        r = enu_to_ecef(enu, PAD_LAT, PAD_LON, 0.0)
        v = v_enu @ ecef_to_enu_matrix(PAD_LAT, PAD_LON)
        w = np.zeros((n, 3))
        w[0, 1] = np.radians(30.0) * (t > 15.0)
        r_b = r + rng.normal(0.0, 5.0, (n, 3))
        r_b[3] += 400.0 * (t > 12.0)
        v_b = v.copy()
        v_b[5] *= 1.0 + 10.0 * (t > 12.0)
        valid_b = ~((np.arange(n) == 4) & (t > 10.0))
        r_a = r.copy()
        if k % 37 == 5:
            r_a[2] = np.nan
        a = NavBatch.from_arrays(np.full(n, t), r_a, v, omega_body_rad_s=w, source=0)
        b = NavBatch.from_arrays(np.full(n, t), r_b, v_b, omega_body_rad_s=w, valid=valid_b, source=1)
        health = np.ones((n, 2), bool)
        health[5, 1] = t < 9.0
        out.append((t, [a, b], health))
    return out


def test_batch_decides_exactly_as_each_vehicle_alone(rng):
    n, steps = 6, 300
    m = batch_mission()
    inputs = batch_inputs(n, steps, rng)
    batch = Engine(m, n=n)
    alone = [Engine(m) for _ in range(n)]
    for t, navs, health in inputs:
        db = batch.step(navs, t, health=health)
        for i, e in enumerate(alone):
            di = e.step([x.take(np.array([i])) for x in navs], t, health=health[i : i + 1])
            np.testing.assert_array_equal(db.states[i : i + 1], di.states)
            np.testing.assert_array_equal(db.state.t_terminate_s[i : i + 1], di.state.t_terminate_s)
            np.testing.assert_array_equal(db.state.t_safed_s[i : i + 1], di.state.t_safed_s)
            np.testing.assert_array_equal(db.margins[i : i + 1], di.margins)
            np.testing.assert_array_equal(db.margin[:, i : i + 1], di.margin)
            assert db.fired_by(i) == di.fired_by(0)
            assert db.reason(i) == di.reason(0)
    # each vehicle met the outcome designed for it
    assert [db.fired_by(i) for i in range(n)] == ["tumble", "land", None, "agree", "link", None]
    assert [db.state_name(i) for i in range(n)] == [
        "TERMINATED",
        "TERMINATED",
        "ARMED",
        "TERMINATED",
        "TERMINATED",
        "ARMED",
    ]


# --- bad arguments ----------------------------------------------------------------------------------


def test_faulty_string_before_liftoff_does_not_terminate_under_1oo2():
    e = vote_engine("1oo2")
    on_pad = lambda t: [nav(t, 0.0, h=0.0, source=0), nav(t, 0.0, h=0.0, source=1)]  # noqa: E731 - a one-line stand-in, named for the reader
    ds = [e.step(on_pad(t), t, health=[True, False]) for t in ticks(-2, 0)]
    assert all(d.states[0] == SAFE for d in ds)


def test_bad_arguments_raise_input_errors_naming_the_problem():
    from rangeguard.errors import InputError

    with pytest.raises(InputError, match="at least 1 vehicle"):
        Engine(_p_mission(), n=0)
    e = Engine(_p_mission(), n=2)
    with pytest.raises(InputError, match="health must have shape"):
        e.step(NavBatch.concat([nav(0.0), nav(0.0)]), 0.0, health=np.ones((3, 1), bool))
    with pytest.raises(InputError, match="3 rows"):  # a batch of the wrong size is a caller error, named as such
        e.step(NavBatch.concat([nav(0.0), nav(0.0), nav(0.0)]), 0.0)


def test_all_zero_position_from_a_failed_nav_unit_does_not_crash():
    """A nav unit without a fix often reports zeros: r = (0, 0, 0) is the Earth's centre, finite but absurd.
    The engine must answer (the sample cannot arm or terminate by itself), not raise."""
    e = Engine(_p_mission(0.5))
    fly(e, [(t, 50.0) for t in ticks(0, 1)])
    d = e.step(NavBatch.from_arrays(1.0, np.zeros(3), np.zeros(3)), 1.0)
    assert d.states[0] == ARMED


def test_huge_finite_position_does_not_warn_or_raise():
    """1e300 m components overflow squared norms: NaN quietly (the suite turns rangeguard warnings into errors)."""
    e = Engine(_p_mission(0.5))
    fly(e, [(t, 50.0) for t in ticks(0, 1)])
    d = e.step(NavBatch.from_arrays(1.0, [1e300, 0.0, 0.0], [0.0, 0.0, 1.0]), 1.0)
    assert d.states[0] != SAFE


def test_infinite_receive_time_does_not_warn_or_raise():
    """Two cycles received at +inf: the time since the last valid sample is inf - inf; NaN quietly."""
    e = Engine(_p_mission(0.5))
    fly(e, [(t, 50.0) for t in ticks(0, 1)])
    d = e.step(nav(1.0), np.inf)
    d = e.step(nav(1.1), np.inf)
    assert d.states[0] != SAFE


def test_full_mission_fixture_builds_an_engine_and_steps():
    """The complete fixture (every rule type) builds every enabled rule and decides on a pad sample."""
    from pathlib import Path

    from rangeguard.mission import load_mission

    m = load_mission(Path(__file__).resolve().parents[1] / "fixtures" / "full-mission.yaml")
    e = Engine(m)
    assert len(e.setup.rules) == sum(r.enabled for r in m.rules)
    r, v = state(m.site.lat_deg, m.site.lon_deg, m.site.alt_m)
    d = e.step([NavBatch.from_arrays(-1.0, r, v, source=0), NavBatch.from_arrays(-1.0, r, v, source=1)], -1.0)
    assert d.state_name(0) == "SAFE" and d.margins.shape == (1, len(e.setup.rules))
