"""Rule actions: terminate, degrade (the string counts as faulty) and monitor."""

from __future__ import annotations

import numpy as np

from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.engine import AfssState, Engine
from rangeguard.mission import mission_from_dict
from rangeguard.nav import NavBatch

SITE = {"lat_deg": 33.54, "lon_deg": 135.89, "alt_m": 0.0, "launch_azimuth_deg": 180.0}


def _mission(policy, link_action=None, disagree_action=None):
    link = {"name": "link", "type": "data_loss", "green_time_s": 1.05, "persistence_s": 0.0}
    if link_action:
        link["action"] = link_action
    agree = {
        "name": "agree",
        "type": "source_disagreement",
        "sources": ["a", "b"],
        "max_difference": 100.0,
        "persistence_s": 0.0,
    }
    if disagree_action:
        agree["action"] = disagree_action
    return mission_from_dict(
        {
            "name": "actions",
            "site": SITE,
            "nav_sources": [{"name": "a"}, {"name": "b"}],
            "rules": [link, agree],
            "termination": {"policy": policy},
        }
    )


def _climb(t, east_m=0.0):
    """Straight up at 100 m/s (height 100 t), optionally shifted east (hand-made states)."""
    rot = ecef_to_enu_matrix(SITE["lat_deg"], SITE["lon_deg"])
    r = geodetic_to_ecef(SITE["lat_deg"], SITE["lon_deg"], 0.0) + rot.T @ np.array([east_m, 0.0, 100.0 * t])
    return r, rot.T @ np.array([0.0, 0.0, 100.0])


def _fly(engine, until_s, b_stops_at=None, b_offset_m=0.0, a_stops_at=None):
    d = None
    for k in range(1, int(round(until_s * 10)) + 1):
        t = 0.1 * k
        navs = []
        if a_stops_at is None or t < a_stops_at:
            navs.append(NavBatch.from_arrays(t, *_climb(t), source=0))
        if b_stops_at is None or t < b_stops_at:
            navs.append(NavBatch.from_arrays(t, *_climb(t, b_offset_m), source=1))
        d = engine.step(navs, t)
    return d


def test_data_loss_on_one_string_degrades_it_and_the_other_decides():
    """health_degraded: B's source stops at T+2 s; B is degraded from T+3.0 s (green 1.05 s) and drops out;
    A still sees clean nav, so the vehicle flies on."""
    d = _fly(Engine(_mission("health_degraded")), 6.0, b_stops_at=2.0)
    assert d.states[0] == AfssState.ARMED


def test_data_loss_on_every_string_terminates_naming_the_rule():
    """Both sources stop at T+2 s: last samples at 1.9 s, margin 1.05 - (t - 1.9) < 0 first at t = 3.0 s
    (10 Hz); no healthy string is left, so the vehicle is terminated and the rule is named."""
    engine = Engine(_mission("health_degraded"))
    t_term = None
    for k in range(1, 60):
        t = 0.1 * k
        navs = [NavBatch.from_arrays(t, *_climb(t), source=s) for s in (0, 1)] if t < 2.0 else []
        d = engine.step(navs, t)
        if d.terminate_now[0]:
            t_term = t
    assert t_term is not None and abs(t_term - 3.0) < 1e-9
    assert d.fired_by(0) == "link"
    assert "no healthy AFTS string" in d.reason(0) and "no valid nav" in d.reason(0)


def test_degraded_string_votes_under_1oo2():
    """1oo2 with faulty_string_votes (default): a degraded string is a terminate vote."""
    d = _fly(Engine(_mission("1oo2")), 6.0, b_stops_at=2.0)
    assert d.states[0] == AfssState.TERMINATED and d.fired_by(0) == "link"
    assert "string B" not in d.reason(0)  # strings take the source names here
    assert "degraded by rule 'link'" in d.reason(0)


def test_explicit_terminate_action_on_data_loss():
    d = _fly(Engine(_mission("health_degraded", link_action="terminate")), 6.0, b_stops_at=2.0)
    assert d.states[0] == AfssState.TERMINATED and d.fired_by(0) == "link"


def test_monitor_action_records_but_never_terminates():
    """Source b is 5 km east of a: disagreement margin 100 - 5000 < 0 every cycle, recorded but harmless."""
    engine = Engine(_mission("1oo2", disagree_action="monitor"))
    d = _fly(engine, 3.0, b_offset_m=5000.0)
    assert d.states[0] == AfssState.ARMED
    j = d.rule_names.index("agree")
    assert np.isfinite(engine.state.first_violation_t_s[0, j])
    assert engine.state.min_margin[0, j] < -4800.0


def test_disagreement_terminates_by_default():
    d = _fly(Engine(_mission("1oo2")), 3.0, b_offset_m=5000.0)
    assert d.states[0] == AfssState.TERMINATED and d.fired_by(0) == "agree"
