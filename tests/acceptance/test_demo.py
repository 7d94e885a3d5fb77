"""`rangeguard demo --json`: the Kairos flights 1-3 on the bundled Kii missions, end to end.

Each expectation is the lesson of a real flight (Space One's Kairos), not a
number read off our own output: F1 was terminated by a speed band tighter than
a flyable motor; F2's nozzle fault sent it across its limit line and the
termination was correct; F3 was a false termination because one of two strings
judged itself faulty. The times are worked out here from the mission files and
the simulator, not from the engine: F1's from the strict band's table and the
weak motor's simulated speed (no AFSS in the loop), with the rule's persistence
and the nav sample times; F3's from the scenario's fault time and the nav
sample times.
"""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pyarrow.parquet as pq
import pymap3d
import pytest

from rangeguard.cli import main
from rangeguard.mission import load_mission
from rangeguard.sim import simulate_vehicle
from rangeguard.sim.api import scenario_failures

MISSIONS = pathlib.Path(__file__).resolve().parents[2] / "missions"

# The inclination of a 500 km sun-synchronous orbit: cos i = -(2 n_ss a^3.5) / (3 J2 R^2 sqrt(mu)),
# with n_ss = 360 deg / 365.2422 d: i = 97.40 deg (e.g. Vallado 2013, eq. 9-44).
SSO_500_INCLINATION_DEG = 97.40


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["demo", "--json", "--out", str(out)]) == 0
    runs = json.loads(buf.getvalue())
    return out, {(r["scenario"], r["rules"], r["policy"]): r for r in runs}, runs


def test_json_lists_the_six_runs_with_the_documented_keys(demo):
    _, _, runs = demo
    assert len(runs) == 6
    keys = {"scenario", "rules", "policy", "terminated", "t_terminate_s", "rule", "iip_entered_protected_area", "orbit"}
    for r in runs:
        assert set(r) == keys
        assert r["scenario"] in ("nominal", "f1-thrust-low", "f2-nozzle", "f3-string-fault")
        assert r["rules"] in ("strict", "validated") and r["policy"] in ("1oo2", "2oo2", "health_degraded")


def test_nominal_reaches_orbit_untouched(demo):
    r = demo[1][("nominal", "validated", "health_degraded")]
    assert not r["terminated"] and not r["iip_entered_protected_area"]
    assert r["orbit"]["perigee_km"] >= 450.0
    assert abs(r["orbit"]["inclination_deg"] - SSO_500_INCLINATION_DEG) <= 0.5


@pytest.fixture(scope="module")
def kii():
    """The demo's two rule sets: the validated mission (which it also flies) and the strict one."""
    return load_mission(MISSIONS / "kii-sso.yaml"), load_mission(MISSIONS / "kii-sso-strict.yaml")


def _nav_sample_times(flown, engine_mission, t_end_s):
    """Times of validity of the nav samples the engine judges, cycle k = 1, 2, ...: the closed loop steps the
    engine at t_k = k / cycle_hz, and each source outputs then (its rate equals the cycle rate here) the
    state at t_k - latency_s (rangeguard.sim.sensors: "a sample output at call time t reports the state at
    t - latency_s")."""
    models = [flown.sensors.for_source(s.name) for s in engine_mission.nav_sources]
    assert all(m.output_rate_hz == engine_mission.cycle_hz for m in models)  # one sample per source per cycle
    assert len({m.latency_s for m in models}) == 1
    dt = 1.0 / engine_mission.cycle_hz
    t_cycle = np.arange(1, int(t_end_s / dt) + 1) * dt
    return t_cycle - models[0].latency_s, models[0]


def _first_persistent_violation(t_s, value, table, persistence_s):
    """The first sample time at which ``value`` has been outside the envelope ``table`` (lower/upper linearly
    interpolated in time, numbers only; judged only inside the table's times) on every sample for
    ``persistence_s`` (DESIGN.md, rule semantics 2), and the first of those samples; NaN if never."""
    judged = (t_s >= table.t_s[0]) & (t_s <= table.t_s[-1])
    lower, upper = np.interp(t_s, table.t_s, table.lower), np.interp(t_s, table.t_s, table.upper)
    outside = judged & ((value < lower) | (value > upper))
    since = math.nan
    for t, j, o in zip(t_s, judged, outside, strict=True):
        if j and o:
            since = t if math.isnan(since) else since
            if t - since >= persistence_s - 1e-9:
                return t, since
        else:
            since = math.nan
    return math.nan, math.nan


def test_f1_strict_band_terminates_when_the_weak_motor_leaves_it(demo, kii):
    """Kairos flight 1: the termination time follows from the strict speed band and the weak motor's deficit.

    The weak motor (the f1-thrust-low scenario, flown here by the simulator alone, no AFSS) is sampled at the
    engine's nav sample times; the first time its speed has been outside the strict band's table for the
    rule's persistence is when the engine must terminate, dated by that sample's time. A half-cycle tolerance:
    the sample times are modelled exactly, so a termination one cycle early or late fails.
    """
    validated, strict = kii
    rule = strict.rule("speed")
    assert rule.quantity == "speed_mps"
    persistence_s = strict.termination.persistence_s if rule.persistence_s is None else rule.persistence_s
    t_end_s = 12.0
    tau, nav = _nav_sample_times(validated, strict, t_end_s)
    weak, nominal = (
        simulate_vehicle(
            validated.vehicle,
            validated.site,
            failures=scenario_failures(validated, sc),
            record_dt=0.01,
            t_max_s=t_end_s + 0.1,
        )
        for sc in ("f1-thrust-low", None)
    )

    def speed_at(tr, t):  # |v_ecef| (Earth-relative), linearly between 10 ms records
        return np.interp(t, tr.t_s, np.linalg.norm(tr.v_ecef[0], axis=1))

    expected, t_first = _first_persistent_violation(tau, speed_at(weak, tau), rule.table, persistence_s)
    assert np.isfinite(expected)
    # it is the motor's deficit, far beyond the nav noise, that trips the band; the nominal flight stays inside
    deficit = np.interp(t_first, rule.table.t_s, rule.table.lower) - speed_at(weak, t_first)
    assert deficit > 20 * nav.velocity_noise_mps * math.sqrt(3)
    assert np.isnan(_first_persistent_violation(tau, speed_at(nominal, tau), rule.table, persistence_s)[0])
    # a liftoff cue (height above the pad or speed, mission.arming) comes well before the band starts: the
    # engine is armed by then, so the band alone decides the time
    _, _, h = pymap3d.ecef2geodetic(*weak.r_ecef[0].T)
    arming = strict.arming
    cue = (h - h[0] > arming.liftoff_height_m) | (speed_at(weak, weak.t_s) > arming.liftoff_speed_mps)
    assert cue.any() and weak.t_s[np.argmax(cue)] < rule.table.t_s[0] - 1.0

    r = demo[1][("f1-thrust-low", "strict", "health_degraded")]
    assert r["terminated"] and r["rule"] == "speed"
    assert abs(r["t_terminate_s"] - expected) <= 0.5 / strict.cycle_hz, (r["t_terminate_s"], expected)


def test_f1_validated_flies_on_with_a_legal_iip(demo):
    r = demo[1][("f1-thrust-low", "validated", "health_degraded")]
    assert not r["terminated"] and not r["iip_entered_protected_area"]


def test_f2_is_terminated_by_a_boundary_rule_before_its_iip_reaches_land(demo, kii):
    r = demo[1][("f2-nozzle", "validated", "health_degraded")]
    assert r["terminated"] and not r["iip_entered_protected_area"]
    assert r["rule"].startswith("iip-")  # a boundary (IIP polygon) rule
    [fault] = kii[0].scenarios["f2-nozzle"].failures
    assert r["t_terminate_s"] > fault.from_t_s  # after the fault


def test_f3_string_fault_false_terminates_under_1oo2_only(demo, kii):
    """Kairos flight 3: string B declares itself faulty at the scenario's time on a nominal path.

    Under 1oo2 a faulty string's self-report is a vote to terminate (termination.faulty_string_votes, no
    persistence: the string says so itself), so the engine terminates in the first cycle at or after the
    fault time, dated by its flight-time estimate then: that cycle's nav sample time (cycle time minus the
    sensor latency). Under health_degraded the faulty string drops out and the healthy one flies on to orbit.
    """
    validated = kii[0]
    assert validated.termination.faulty_string_votes
    [fault] = validated.scenarios["f3-string-fault"].nav_faults
    assert fault.kind == "string_fault"
    dt = 1.0 / validated.cycle_hz
    tau, _ = _nav_sample_times(validated, validated, fault.at_t_s + 1.0)
    expected = tau[math.ceil(fault.at_t_s / dt - 1e-9) - 1]  # the sample of the first cycle k with k dt >= fault time

    one = demo[1][("f3-string-fault", "validated", "1oo2")]
    assert one["terminated"] and one["rule"] == f"string-fault:{fault.string}"
    assert abs(one["t_terminate_s"] - expected) <= 0.5 * dt, (one["t_terminate_s"], expected)
    hd = demo[1][("f3-string-fault", "validated", "health_degraded")]
    assert not hd["terminated"] and hd["orbit"] is not None


def test_results_are_written(demo):
    out, _, _ = demo
    assert json.loads((out / "demo.json").read_text())
    d = out / "f2-nozzle-validated-health_degraded"
    log = pq.read_table(d / "decisions.parquet")
    assert "TERMINATED" in log.column("state").to_pylist()
    track = pq.read_table(d / "track.parquet")
    assert {"t_s", "lat_deg", "iip_lat_deg"} <= set(track.column_names)
