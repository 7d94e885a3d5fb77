"""The engine's compiled passes against independent numpy formulations.

The threshold rules (envelope, attitude error, body rate, data loss) are
evaluated together by one compiled pass; here every rule type is checked,
on many random rows, against the definition written directly with numpy
(np.interp, np.fmin, scipy's Rotation for body +x, vector norms). The
persistence/vote loop runs over vehicles in parallel for large batches; its
parallel and serial kernels must agree exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from rangeguard.engine import _kernels as ek
from rangeguard.mission import mission_from_dict
from rangeguard.rules import Site, build_rules
from rangeguard.rules import _program_kernels as tk
from rangeguard.rules.program import RuleProgram

SITE = {"lat_deg": 33.5, "lon_deg": 135.9, "alt_m": 0.0, "launch_azimuth_deg": 170.0}

RULES = [
    {
        "name": "speed",
        "type": "envelope",
        "quantity": "speed_mps",
        "table": {"t_s": [0, 10, 20, 40], "lower": [None, 100, 200, 250], "upper": [500, 600, None, 900]},
    },
    {"name": "alt", "type": "envelope", "quantity": "altitude_m", "table": {"t_s": [5, 30], "upper": [1e4, 5e4]}},
    {
        "name": "att",
        "type": "attitude_error",
        "max_error_deg": 20.0,
        "commanded": {"t_s": [0, 15, 40], "azimuth_deg": [350, 10, 20], "elevation_deg": [90, 70, 40]},
    },
    {"name": "rate", "type": "body_rate", "max_rate_deg_s": 15.0},
    {"name": "loss", "type": "data_loss", "table": {"t_s": [0, 20, 30], "green_time_s": [1.0, 3.0, 0.5]}},
    {"name": "loss-const", "type": "data_loss", "green_time_s": 2.0},
]


@st.composite
def tables(draw):
    n = draw(st.integers(2, 6))
    xs = sorted(draw(st.lists(st.floats(-50, 50, allow_nan=False), min_size=n, max_size=n, unique=True)))
    finite = st.floats(-1e3, 1e3, allow_nan=False)
    ys = draw(st.lists(st.one_of(finite, st.just(np.nan)), min_size=n, max_size=n))
    return np.array(xs), np.array(ys)


@settings(max_examples=300, deadline=None)
@given(tables(), st.lists(st.one_of(st.floats(-60, 60), st.just(np.nan)), min_size=1, max_size=8), st.data())
def test_table_interpolation_is_numpys(table, ts, data):
    """interp_inside == np.interp(left=right=nan) and interp_clamped == np.interp, bit for bit, at
    arbitrary times, at the table's own points and with null (NaN) limits."""
    xp, fp = table
    ts = ts + [float(data.draw(st.sampled_from(list(xp))))]
    for t in ts:
        want_inside = np.interp(t, xp, fp, left=np.nan, right=np.nan)
        want_clamped = np.interp(t, xp, fp)
        got_inside = tk.interp_inside(t, xp, fp, 0, len(xp))
        got_clamped = tk.interp_clamped(t, xp, fp, 0, len(xp))
        np.testing.assert_array_equal(got_inside, want_inside)
        np.testing.assert_array_equal(got_clamped, want_clamped)


def _reference(mission, rules, ctx, speed, alt):
    """Each rule's margin written directly from its definition with numpy and scipy."""
    site = Site.from_spec(mission.site)
    out = {}
    t = ctx.t_s
    env = {"speed": speed, "alt": alt}
    for rule in rules:
        spec = rule.spec
        if spec.type == "envelope":
            tab = spec.table
            lo = (
                None
                if tab.lower is None
                else np.interp(t, tab.t_s, [np.nan if v is None else v for v in tab.lower], left=np.nan, right=np.nan)
            )
            hi = (
                None
                if tab.upper is None
                else np.interp(t, tab.t_s, [np.nan if v is None else v for v in tab.upper], left=np.nan, right=np.nan)
            )
            value = env[rule.name]
            if lo is None:
                out[rule.name] = hi - value
            elif hi is None:
                out[rule.name] = value - lo
            else:
                out[rule.name] = np.fmin(value - lo, hi - value)
        elif spec.type == "attitude_error":
            cmd = spec.commanded
            az = np.interp(t, cmd.t_s, np.unwrap(np.radians(cmd.azimuth_deg)), left=np.nan, right=np.nan)
            el = np.interp(t, cmd.t_s, np.radians(cmd.elevation_deg), left=np.nan, right=np.nan)
            enu = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)
            c_ecef = enu @ site.enu_from_ecef
            q = ctx.q
            body_x = Rotation.from_quat(q[:, [1, 2, 3, 0]]).apply([1.0, 0.0, 0.0])
            cosang = np.einsum("ij,ij->i", body_x, c_ecef) / np.linalg.norm(c_ecef, axis=1)
            out[rule.name] = spec.max_error_deg - np.degrees(np.arccos(np.clip(cosang, -1, 1)))
        elif spec.type == "body_rate":
            out[rule.name] = spec.max_rate_deg_s - np.degrees(np.linalg.norm(ctx.w, axis=1))
        elif spec.type == "data_loss":
            if spec.table is None:
                green = np.full(t.shape, spec.green_time_s)
            else:
                green = np.interp(ctx.flight_t_s, spec.table["t_s"], spec.table["green_time_s"])
            out[rule.name] = green - ctx.since_s
    return out


@pytest.mark.parametrize("m_rows", [257, 9000])  # serial and parallel kernels
def test_fused_threshold_pass_matches_each_rules_definition(m_rows):
    rng = np.random.default_rng(5)
    mission = mission_from_dict({"name": "t", "site": SITE, "rules": RULES})
    rules = build_rules(mission)
    t = rng.choice([-1.0, 0.0, 5.0, 10.0, 12.5, 20.0, 33.3, 40.0, 55.0], m_rows)  # shared times, table points, outside
    t[::7] = np.nan  # rows without a valid sample
    q = Rotation.random(m_rows, random_state=3).as_quat()[:, [3, 0, 1, 2]] * rng.uniform(0.5, 2, (m_rows, 1))
    w = rng.normal(0, 0.2, (m_rows, 3))
    speed = rng.uniform(0, 1000, m_rows)
    alt = rng.uniform(0, 6e4, m_rows)
    since = rng.uniform(0, 4, m_rows)
    flight_t = np.where(np.isfinite(t), t, 25.0)
    nan3 = np.full((m_rows, 3), np.nan)
    ctx = tk.Rows(
        values=np.column_stack([speed, alt]),
        pos_unit=nan3,
        iip_unit=nan3,
        ok=np.isfinite(t),
        t_s=t,
        flight_t_s=flight_t,
        since_s=since,
        q=q,
        w=w,
        src_t_s=t[None],
        src_r_ecef=np.zeros((1, m_rows, 3)),
        src_v_ecef=np.zeros((1, m_rows, 3)),
    )
    site = Site.from_spec(mission.site)
    program = RuleProgram(list(enumerate(rules)), site, columns={"speed_mps": 0, "altitude_m": 1})
    active = rng.random((len(rules), m_rows)) < 0.9
    margin = np.full((len(rules), m_rows), np.nan)
    violated = np.zeros((len(rules), m_rows), bool)
    program.evaluate(ctx, active, margin, violated)

    want = _reference(mission, rules, ctx, speed, alt)
    for j, rule in enumerate(rules):
        expect = np.where(active[j], want[rule.name], np.nan)
        np.testing.assert_allclose(margin[j], expect, rtol=0, atol=1e-9, err_msg=rule.name)
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(violated[j], active[j] & (want[rule.name] < 0), err_msg=rule.name)
    # the attitude comparison above is not vacuous: both signs of margin occur
    assert (margin[2] > 0).any() and (margin[2] < 0).any()


def test_parallel_and_serial_vote_loops_agree_exactly():
    """Random activity, violations and margins on 2 strings x 3000 vehicles: same votes, clocks and stats."""
    rng = np.random.default_rng(11)
    n, k, r = 3000, 2, 6
    m = n * k
    active = rng.random((r, m)) < 0.8
    violated = rng.random((r, m)) < 0.3
    margin = np.where(rng.random((r, m)) < 0.1, np.nan, rng.normal(0, 1, (r, m)))
    since = np.where(rng.random((r, m)) < 0.5, np.nan, rng.uniform(0, 10, (r, m)))
    t_rows = rng.uniform(10, 11, m)
    t_est = t_rows + rng.uniform(0, 1, m)
    receive_clock = np.array([False] * (r - 1) + [True])
    persistence = rng.uniform(0, 2, r)
    action = rng.integers(0, 3, r).astype(np.int64)
    t_vehicle = rng.uniform(10, 11, n)
    first = np.where(rng.random((n, r)) < 0.5, np.nan, 5.0)
    minm = rng.normal(0, 1, (n, r))
    outs = []
    for parallel in (False, True):
        s, f, mm = since.copy(), first.copy(), minm.copy()
        res = ek._new_vote_arrays(n, k)
        ek._votes(
            n,
            active,
            violated,
            margin,
            s,
            t_rows,
            t_est,
            receive_clock,
            persistence,
            action,
            n,
            k,
            1e-9,
            t_vehicle,
            f,
            mm,
            *res,
            parallel=parallel,
        )
        outs.append((*res, s, f, mm))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert outs[0][0].any() and not outs[0][0].all()  # some strings vote, some don't


def test_gate_rows_in_parallel_equal_the_serial_loop():
    """The gate's parallel chunked loop against its serial loop on random IIPs, memories and times."""
    from rangeguard.rules import _kernels as rk

    rng = np.random.default_rng(2)
    m = 9000
    u = rng.normal(size=(m, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    u[::11] = np.nan
    ok = rng.random(m) < 0.9
    t = rng.uniform(0, 100, m)
    memory = np.column_stack(
        [rng.choice([-1.0, 0.0, 1.0], m), rng.random(m) < 0.3, rng.random(m) < 0.2, rng.normal(0, 1e4, m)]
    ).astype(float)
    a = np.array([1.0, 0.0, 0.0])
    normal = np.array([0.0, 0.0, 1.0])
    in_plane = np.cross(normal, a)
    outs = []
    for parallel in (False, True):
        new_mem, failed, margin = np.empty((m, 4)), np.empty(m, bool), np.empty(m)
        args = (u, ok, t, memory, normal, in_plane, a, 0.3, 6.37e6, 20.0, 80.0, new_mem, failed, margin)
        rk.gate_rows(m, *args, parallel=parallel)
        outs.append((new_mem, failed, margin))
    for x, y in zip(*outs, strict=True):
        np.testing.assert_array_equal(x, y)
    assert outs[0][1].any() and not outs[0][1].all()


def test_kinematics_unit_vectors_are_those_of_the_reported_latitudes_and_longitudes():
    """The kinematics pass derives the polygon kernels' unit vectors without going through
    latitude and longitude (the IIP's from the rotated impact point, the position's from
    x/rho, y/rho); they must equal the polygon module's own conversion of the reported
    lat/lon, and the direction of the ECEF surface point pyproj gives for them."""
    from pyproj import Transformer

    from rangeguard.earth.polygon import unit_vectors
    from rangeguard.rules.kinematics import (
        IIP_LAT,
        IIP_LON,
        IIP_TOF,
        LAT,
        LON,
        kinematics,
    )

    rng = np.random.default_rng(8)
    n = 3000
    mission = mission_from_dict({"name": "t", "site": SITE, "rules": []})
    site = Site.from_spec(mission.site)
    lat = np.radians(rng.uniform(-89, 89, n))
    lon = np.radians(rng.uniform(-180, 180, n))
    radius = rng.uniform(6.40e6, 6.75e6, n)
    radius[::10] = rng.uniform(6.2e6, 6.34e6, radius[::10].shape)  # below the surface: the IIP is the state's foot
    r = radius[:, None] * np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    v = rng.normal(0, 2500, (n, 3))
    kin = kinematics(r, v, site)
    has_iip = np.isfinite(kin.table[:, IIP_LAT])
    assert 0.3 < has_iip.mean() < 1.0  # impacts and orbits/escapes both occur
    assert (kin.table[::10, IIP_TOF] == 0.0).all()  # time of flight 0: the below-surface branch is exercised
    np.testing.assert_allclose(kin.pos_unit, unit_vectors(kin.table[:, LAT], kin.table[:, LON]), atol=2e-15)
    np.testing.assert_allclose(
        kin.iip_unit[has_iip], unit_vectors(kin.table[has_iip, IIP_LAT], kin.table[has_iip, IIP_LON]), atol=2e-15
    )
    assert np.isnan(kin.iip_unit[~has_iip]).all()
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    x, y, z = to_ecef.transform(kin.table[has_iip, IIP_LON], kin.table[has_iip, IIP_LAT], np.zeros(has_iip.sum()))
    p = np.column_stack([x, y, z])
    np.testing.assert_allclose(kin.iip_unit[has_iip], p / np.linalg.norm(p, axis=1)[:, None], atol=1e-12)


POLYGON_AREAS = [
    {
        "name": "corridor",
        "kind": "corridor",
        "lat_deg": [36.0, 36.0, 30.0, 30.0],
        "lon_deg": [134.0, 138.0, 138.0, 134.0],
    },
    {
        "name": "island",
        "kind": "protected",
        "lat_deg": [33.0, 33.0, 32.0, 32.0],
        "lon_deg": [135.0, 136.5, 136.5, 135.0],
    },
]
POLYGON_RULES = [
    {"name": "iip-corridor", "type": "iip_polygon", "area": "corridor"},
    {"name": "iip-island", "type": "iip_polygon", "area": "island", "no_impact": "violate"},
    {"name": "over-island", "type": "position_polygon", "area": "island", "alt_min_m": 1000.0, "alt_max_m": 5e4},
    {
        "name": "agree",
        "type": "source_disagreement",
        "sources": ["a", "b"],
        "quantity": "position_m",
        "max_difference": 300.0,
        "max_age_s": 0.5,
    },
    {
        "name": "agree-v",
        "type": "source_disagreement",
        "sources": ["b", "a"],
        "quantity": "velocity_mps",
        "max_difference": 5.0,
        "max_age_s": 0.5,
    },
]


@pytest.mark.parametrize("n", [97, 3000])  # serial and parallel passes (2 strings: M = 2 n rows)
def test_fused_pass_polygons_and_disagreement_match_their_definitions(n):
    """IIP polygons (two areas, one shared by a prism), a present-position prism and two disagreement
    rules packed in one program: each row's margin against the definition written here, the
    polygon distance from the polygon's own signed distance (tested against pyproj and shapely in
    test_polygon.py), the prism with numpy's fmin, disagreement from the sources' samples."""
    from rangeguard.earth.polygon import GreatCirclePolygon, unit_vectors
    from rangeguard.rules.kinematics import IIP_LAT, IIP_LON, LAT, LON, N_COLS, H

    rng = np.random.default_rng(3)
    mission = mission_from_dict(
        {
            "name": "t",
            "site": SITE,
            "areas": POLYGON_AREAS,
            "rules": POLYGON_RULES,
            "nav_sources": [{"name": "a"}, {"name": "b"}],
            "strings": [{"name": "A", "nav_source": "a"}, {"name": "B", "nav_source": "b"}],
        }
    )
    rules = build_rules(mission)
    m_rows = 2 * n
    table = np.full((m_rows, N_COLS), np.nan)
    table[:, LAT], table[:, LON] = rng.uniform(29, 37, m_rows), rng.uniform(133, 139, m_rows)
    table[:, IIP_LAT], table[:, IIP_LON] = rng.uniform(29, 37, m_rows), rng.uniform(133, 139, m_rows)
    table[::9, IIP_LAT] = table[::9, IIP_LON] = np.nan  # no impact (orbit)
    table[:, H] = rng.uniform(0, 6e4, m_rows)
    ok = rng.random(m_rows) < 0.95
    t = np.where(ok, 10.0, np.nan)
    src_t = 10.0 + rng.uniform(-0.8, 0.8, (2, n))
    src_t[0, ::13] = np.nan  # source a has no sample yet
    src_r = rng.normal(6.4e6, 100.0, (2, n, 3))
    src_v = rng.normal(0.0, 4.0, (2, n, 3))
    nan3 = np.full((m_rows, 3), np.nan)
    rows = tk.Rows(
        values=table,
        pos_unit=unit_vectors(table[:, LAT], table[:, LON]),
        iip_unit=np.where(
            np.isnan(table[:, [IIP_LAT]]),
            nan3,
            unit_vectors(np.nan_to_num(table[:, IIP_LAT]), np.nan_to_num(table[:, IIP_LON])),
        ),
        ok=ok,
        t_s=t,
        flight_t_s=t,
        since_s=np.zeros(m_rows),
        q=np.zeros((m_rows, 4)),
        w=nan3,
        src_t_s=src_t,
        src_r_ecef=src_r,
        src_v_ecef=src_v,
    )
    active = ok[None, :] & (rng.random((len(rules), m_rows)) < 0.9)
    margin = np.full((len(rules), m_rows), np.nan)
    violated = np.zeros((len(rules), m_rows), bool)
    RuleProgram(list(enumerate(rules)), Site.from_spec(mission.site)).evaluate(rows, active, margin, violated)

    corridor = GreatCirclePolygon(POLYGON_AREAS[0]["lat_deg"], POLYGON_AREAS[0]["lon_deg"])
    island = GreatCirclePolygon(POLYGON_AREAS[1]["lat_deg"], POLYGON_AREAS[1]["lon_deg"])
    d_corr = corridor.signed_distance_m(table[:, IIP_LAT], table[:, IIP_LON])
    d_isl = island.signed_distance_m(table[:, IIP_LAT], table[:, IIP_LON])
    d_pos = island.signed_distance_m(table[:, LAT], table[:, LON])
    prism = np.fmin(np.fmin(d_pos, table[:, H] - 1000.0), 5e4 - table[:, H])
    dt = np.tile(src_t[1] - src_t[0], 2)
    ra, rb, va, vb = (np.concatenate([x, x]) for x in (src_r[0], src_r[1], src_v[0], src_v[1]))
    within = np.abs(dt) <= 0.5
    want = {
        "iip-corridor": d_corr,
        "iip-island": -d_isl,
        "over-island": -prism,
        "agree": np.where(within, 300.0 - np.linalg.norm(rb - (ra + va * dt[:, None]), axis=1), np.nan),
        "agree-v": np.where(within, 5.0 - np.linalg.norm(va - vb, axis=1), np.nan),
    }
    no_iip = np.isnan(table[:, IIP_LAT])
    for j, rule in enumerate(rules):
        expect = np.where(active[j], want[rule.name], np.nan)
        np.testing.assert_allclose(margin[j], expect, rtol=0, atol=1e-6, err_msg=rule.name)
        bad = want[rule.name] < 0
        if rule.name == "iip-island":
            bad = bad | no_iip  # no_impact: violate
        np.testing.assert_array_equal(violated[j], active[j] & bad, err_msg=rule.name)
        assert (margin[j] > 0).any() and (violated[j]).any(), rule.name  # both sides occur: not vacuous


def test_the_pass_refuses_a_kind_it_does_not_know():
    """A packed kind the dispatch does not know is an error, never silently evaluated as another rule."""
    mission = mission_from_dict({"name": "t", "site": SITE, "rules": [RULES[3]]})
    program = RuleProgram(list(enumerate(build_rules(mission))), Site.from_spec(mission.site))
    program.ints[0, tk.I_KIND] = tk.N_KINDS  # corrupted after packing
    m_rows = 4
    nan3 = np.full((m_rows, 3), np.nan)
    rows = tk.Rows(
        values=np.zeros((m_rows, 12)),
        pos_unit=nan3,
        iip_unit=nan3,
        ok=np.ones(m_rows, bool),
        t_s=np.ones(m_rows),
        flight_t_s=np.ones(m_rows),
        since_s=np.zeros(m_rows),
        q=np.zeros((m_rows, 4)),
        w=np.zeros((m_rows, 3)),
        src_t_s=np.ones((1, m_rows)),
        src_r_ecef=np.zeros((1, m_rows, 3)),
        src_v_ecef=np.zeros((1, m_rows, 3)),
    )
    with pytest.raises(ValueError, match="unknown rule kind"):
        program.evaluate(rows, np.ones((1, m_rows), bool), np.full((1, m_rows), np.nan), np.zeros((1, m_rows), bool))
