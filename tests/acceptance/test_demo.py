"""`rangeguard demo --json`: the Kairos flights 1-3 on the bundled Kii missions, end to end.

Each expectation is the lesson of a real flight (Space One's Kairos), not a
number read off our own output: F1 was terminated at T+5.3 s by a speed band
tighter than a flyable motor; F2's nozzle fault at T+80 s sent it across its
limit line and the termination was correct; F3 was a false termination
because one of two strings judged itself faulty.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from rangeguard.cli import main

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


def test_f1_strict_band_terminates_near_t_plus_5_3_s(demo):
    r = demo[1][("f1-thrust-low", "strict", "health_degraded")]
    assert r["terminated"] and r["rule"] == "speed"
    assert abs(r["t_terminate_s"] - 5.3) <= 1.0


def test_f1_validated_flies_on_with_a_legal_iip(demo):
    r = demo[1][("f1-thrust-low", "validated", "health_degraded")]
    assert not r["terminated"] and not r["iip_entered_protected_area"]


def test_f2_is_terminated_by_a_boundary_rule_before_its_iip_reaches_land(demo):
    r = demo[1][("f2-nozzle", "validated", "health_degraded")]
    assert r["terminated"] and not r["iip_entered_protected_area"]
    assert r["rule"].startswith("iip-")  # a boundary (IIP polygon) rule
    assert r["t_terminate_s"] > 80.0  # after the fault


def test_f3_string_fault_false_terminates_under_1oo2_only(demo):
    one = demo[1][("f3-string-fault", "validated", "1oo2")]
    assert one["terminated"] and one["rule"] == "string-fault:B"
    assert abs(one["t_terminate_s"] - 68.8) <= 0.2
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
