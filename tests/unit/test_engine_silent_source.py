"""A nav source that never delivers is still judged by the data-loss rule, from arming on."""

from __future__ import annotations

import numpy as np

from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.engine import AfssState, Engine
from rangeguard.mission import mission_from_dict
from rangeguard.nav import NavBatch

SITE = {"lat_deg": 33.54, "lon_deg": 135.89, "alt_m": 0.0, "launch_azimuth_deg": 180.0}


def _mission(policy):
    return mission_from_dict(
        {
            "name": "silent",
            "site": SITE,
            "nav_sources": [{"name": "a"}, {"name": "b"}],
            "rules": [{"name": "dl", "type": "data_loss", "green_time_s": 1.0, "persistence_s": 0.0}],
            "termination": {"policy": policy},
        }
    )


def _climb(t):
    """Straight up at 100 m/s from the pad: height 100 t (hand calculation)."""
    rot = ecef_to_enu_matrix(SITE["lat_deg"], SITE["lon_deg"])
    r = geodetic_to_ecef(SITE["lat_deg"], SITE["lon_deg"], 0.0) + rot.T @ np.array([0.0, 0.0, 100.0 * t])
    return r, rot.T @ np.array([0.0, 0.0, 100.0])


def test_silent_source_trips_data_loss_one_green_time_after_arming():
    """Source b never speaks. Arming happens at the first sample (speed 100 m/s > 3 m/s), t = 0.1 s.
    With a 1.0 s green time and no persistence, string B's data-loss margin 1.0 - (t - 0.1)
    goes negative first at t = 1.2 s (10 Hz samples); under 1oo2 that terminates."""
    engine = Engine(_mission("1oo2"))
    t_term = None
    for k in range(1, 40):
        t = 0.1 * k
        r, v = _climb(t)
        d = engine.step(NavBatch.from_arrays(t, r, v, source=0), t)
        if d.terminate_now[0]:
            t_term = t
    assert t_term is not None and abs(t_term - 1.2) < 1e-9
    assert d.fired_by(0) == "dl"


def test_silent_source_under_2oo2_needs_the_other_string_too():
    engine = Engine(_mission("2oo2"))
    for k in range(1, 40):
        t = 0.1 * k
        r, v = _climb(t)
        d = engine.step(NavBatch.from_arrays(t, r, v, source=0), t)
    assert d.states[0] == AfssState.ARMED
