"""Property: whatever the nav data, the engine never raises (not even into its own fail-safe
path), never un-terminates, and never terminates a vehicle it has safed.

Hypothesis drives ``Engine.step`` with arbitrary batches: NaN and inf anywhere,
huge values, times out of order and repeated, random validity flags, sources
that come and go, random string health and receive times.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rangeguard.earth.geodesy import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.engine import AfssState, Engine
from rangeguard.mission import mission_from_dict
from rangeguard.nav import NavBatch

N = 3
PAD_LAT, PAD_LON = 33.5, 135.9
LAND = {
    "name": "land",
    "kind": "protected",
    "lat_deg": [33.8, 33.8, 34.5, 34.5],
    "lon_deg": [135.5, 136.3, 136.3, 135.5],
}
CORRIDOR = {
    "name": "corr",
    "kind": "corridor",
    "lat_deg": [33.7, 33.7, 25.0, 25.0],
    "lon_deg": [135.5, 136.3, 137.0, 134.8],
}
RULES = [
    {
        "name": "speed",
        "type": "envelope",
        "quantity": "speed_mps",
        "table": {"t_s": [0, 100], "lower": [None, 50], "upper": [300, 3000]},
        "persistence_s": 0.0,
    },
    {"name": "floor", "type": "envelope", "quantity": "altitude_m", "table": {"t_s": [5, 100], "lower": [10, 5000]}},
    {
        "name": "fpa",
        "type": "envelope",
        "quantity": "flight_path_angle_deg",
        "table": {"t_s": [0, 100], "lower": [60, 10]},
        "active": {"phase": "boost"},
    },
    {"name": "land", "type": "iip_polygon", "area": "land", "persistence_s": 0.2},
    {"name": "corr", "type": "iip_polygon", "area": "corr", "no_impact": "violate", "active": {"until_event": "high"}},
    {"name": "keepout", "type": "position_polygon", "area": "land", "alt_max_m": 20000.0},
    {
        "name": "gate",
        "type": "gate",
        "start_lat_deg": 32.0,
        "start_lon_deg": 135.5,
        "end_lat_deg": 32.0,
        "end_lon_deg": 136.5,
        "open_t_s": 10,
        "close_t_s": 60,
    },
    {
        "name": "att",
        "type": "attitude_error",
        "max_error_deg": 20.0,
        "commanded": {"t_s": [0, 100], "azimuth_deg": [180, 180], "elevation_deg": [90, 30]},
    },
    {"name": "tumble", "type": "body_rate", "max_rate_deg_s": 30.0, "active": {"after_event": "sep"}},
    {"name": "link", "type": "data_loss", "table": {"t_s": [0, 50], "green_time_s": [0.3, 1.0]}, "persistence_s": 0.0},
    {"name": "agree", "type": "source_disagreement", "sources": ["a", "b"], "max_difference": 100.0},
]


def mission(policy: str, all_faulty: str):
    return mission_from_dict(
        {
            "name": "prop",
            "site": {"lat_deg": PAD_LAT, "lon_deg": PAD_LON, "launch_azimuth_deg": 180.0},
            "nav_sources": [{"name": "a"}, {"name": "b"}],
            "areas": [LAND, CORRIDOR],
            "events": [
                {"name": "sep", "t_s": 20.0},
                {"name": "high", "when": {"quantity": "altitude_m", "above": 3000.0}},
            ],
            "phases": [{"name": "boost", "end_event": "sep"}],
            "rules": RULES,
            "termination": {"policy": policy, "persistence_s": 0.1, "all_strings_faulty": all_faulty},
            "safing": {
                "orbit": {"persistence_s": 0.2, "min_altitude_m": 100e3},
                "iip_clear": {"min_iip_range_m": 300e3, "clearance_m": 50e3, "persistence_s": 0.2},
            },
        }
    )


MISSIONS = {(p, f): mission(p, f) for p in ("1oo2", "2oo2", "health_degraded") for f in ("terminate", "continue")}


def _base_states():
    """Plausible states the random ones are built around: pad, climbing, over land, far south, orbit."""
    out = []
    for lat, lon, h, v_enu in [
        (PAD_LAT, PAD_LON, 0.0, (0.0, 0.0, 0.0)),
        (PAD_LAT, PAD_LON, 2000.0, (0.0, -30.0, 200.0)),
        (34.1, 135.9, 1000.0, (0.0, 0.0, 0.0)),
        (27.0, 136.0, 1000.0, (0.0, 0.0, 0.0)),
        (28.5, 135.9, 200e3, (7800.0, 0.0, 0.0)),
    ]:
        r = geodetic_to_ecef(lat, lon, h)
        out.append((r, ecef_to_enu_matrix(lat, lon).T @ np.array(v_enu)))
    return out


BASES = _base_states()
NONFINITE = st.sampled_from([math.nan, math.inf, -math.inf])
EXTREME = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e300, -1e300])
QUATERNIONS = st.sampled_from(
    [
        [0.0, 0.0, 0.0, 0.0],
        [5e-324, 0.0, 0.0, 0.0],
        [0.0, 1e-310, -1e-310, 0.0],
        [1e300, 1e300, 0.0, 0.0],
        [0.5, 0.5, 0.5, 0.5],
        [2.0, 0.0, 0.0, 0.0],
        [math.nan, 0.0, 0.0, 0.0],
        [math.inf, 0.0, 0.0, 0.0],
    ]
)
TIMES = st.one_of(
    st.sampled_from([-1.0, 0.0, 0.0, 0.1, 0.2, 1.0, 5.0, 10.0, 10.0, 20.0, 30.0, 61.0]),
    st.floats(-50.0, 400.0),
    EXTREME,
)


@st.composite
def vectors(draw, base, scale, special):
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return np.array([draw(special) for _ in range(3)])
    if kind == 1:
        return base + np.array([draw(st.floats(-1e7, 1e7)) for _ in range(3)])
    return base + np.array([draw(st.floats(-scale, scale)) for _ in range(3)])


@st.composite
def batch(draw, source, special):
    rows = [draw(st.integers(0, len(BASES) - 1)) for _ in range(N)]
    r = np.stack([draw(vectors(BASES[i][0], 2000.0, special)) for i in rows])
    v = np.stack([draw(vectors(BASES[i][1], 50.0, special)) for i in rows])
    t = np.array([draw(TIMES) for _ in range(N)])
    q = None
    kind = draw(st.integers(0, 3))
    if kind == 1:
        q = np.array([[draw(st.one_of(st.floats(-1.0, 1.0), special)) for _ in range(4)] for _ in range(N)])
    elif kind == 2:  # degenerate quaternions: zero, denormal, huge (a zero one crashed the attitude kernel)
        q = np.array([draw(QUATERNIONS) for _ in range(N)], dtype=np.float64)
    w = None
    if draw(st.booleans()):
        w = np.array([[draw(st.one_of(st.floats(-3.0, 3.0), special)) for _ in range(3)] for _ in range(N)])
    valid = np.array([draw(st.booleans()) for _ in range(N)])
    return NavBatch.from_arrays(t, r, v, q, w, valid, source=source)


@st.composite
def step_input(draw, special):
    navs = [draw(batch(s, special)) for s in (0, 1) if draw(st.integers(0, 3)) > 0]
    receive_special = [math.nan, math.inf, -math.inf] if special is EXTREME else []
    receive = draw(st.one_of(st.floats(-50.0, 400.0), st.sampled_from([0.0, 10.0, 10.0] + receive_special)))
    health = (
        None if draw(st.booleans()) else np.array([[draw(st.integers(0, 5)) > 0 for _ in range(2)] for _ in range(N)])
    )
    return navs, receive, health


def check_invariants(key, steps):
    """Step the engine through ``steps``; after every step check the latching invariants."""
    engine = Engine(MISSIONS[key], n=N)
    prev_mode = np.zeros(N, np.int8)
    prev_t_term = np.full(N, np.nan)
    prev_t_safed = np.full(N, np.nan)
    for navs, receive, health in steps:
        d = engine.step(navs, receive, health=health)
        mode = d.states.copy()
        t_term = d.state.t_terminate_s.copy()
        was_term = prev_mode == AfssState.TERMINATED
        was_safed = prev_mode == AfssState.SAFED
        was_armed = prev_mode == AfssState.ARMED
        assert (mode[was_term] == AfssState.TERMINATED).all()
        np.testing.assert_array_equal(t_term[was_term], prev_t_term[was_term])
        assert (mode[was_safed] == AfssState.SAFED).all()
        np.testing.assert_array_equal(d.state.t_safed_s[was_safed], prev_t_safed[was_safed])
        assert (mode[was_armed] != AfssState.SAFE).all()
        assert d.margins.shape == (N, len(RULES))
        assert np.array_equal(d.terminate, mode == AfssState.TERMINATED)
        for i in range(N):
            assert isinstance(d.reason(i), str)
        # nothing raised inside the cycle: the engine's fail-safe path (every string faulty) was not needed
        assert engine.faults == [] and not d.state.cycle_faults.any(), engine.faults
        prev_mode, prev_t_term, prev_t_safed = mode, t_term, d.state.t_safed_s.copy()


# Derandomized, so `make test` explores the same large set of cases every time (a random draw found a
# zero-quaternion crash only on some runs); the budget is what the 2-core CI machine affords (~1 min).
SETTINGS = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(key=st.sampled_from(sorted(MISSIONS)), steps=st.lists(step_input(NONFINITE), min_size=1, max_size=25))
def test_step_with_nan_and_inf_never_raises_never_unterminates_never_terminates_a_safed_vehicle(key, steps):
    """Nav values: plausible states, far-off finite values, NaN and +-inf; data times anything."""
    check_invariants(key, steps)


@SETTINGS
@given(key=st.sampled_from(sorted(MISSIONS)), steps=st.lists(step_input(EXTREME), min_size=1, max_size=25))
def test_step_with_extreme_finite_values_never_raises(key, steps):
    """As above, plus the finite garbage a failed nav unit emits: all-zero positions (the Earth's centre),
    1e300 components, and non-finite receive times."""
    check_invariants(key, steps)
