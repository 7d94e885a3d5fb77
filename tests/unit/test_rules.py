"""Each rule type on hand-made states, against hand calculations and independent
references: pyproj's WGS84 geodesic (Karney 2013) for distances, shapely in a
gnomonic projection written here for inside/outside, pymap3d for local frames,
scipy's Rotation for quaternions.

Rules are evaluated directly on a :class:`RuleContext` built in this file, so the
margins are those of the rule alone (engine semantics are in test_engine.py).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pymap3d
import pytest
import shapely
from pyproj import Geod
from scipy.spatial.transform import Rotation

from rangeguard.constants import WGS84_E2
from rangeguard.earth.geodesy import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.earth.polygon import unit_vectors
from rangeguard.mission import mission_from_dict
from rangeguard.nav import NavBatch
from rangeguard.rules import RuleContext, Site, build_rules, kinematics, quantities
from rangeguard.rules.base import rule_context

GEOD = Geod(ellps="WGS84")
PAD_LAT, PAD_LON, PAD_ALT = 33.5, 135.9, 0.0
SITE = {"lat_deg": PAD_LAT, "lon_deg": PAD_LON, "alt_m": PAD_ALT, "launch_azimuth_deg": 150.0}

# A box with 600 km long northern and southern edges (great-circle arcs).
BOX = {"name": "box", "kind": "protected", "lat_deg": [35.0, 35.0, 31.0, 31.0], "lon_deg": [133.0, 139.6, 139.6, 133.0]}


# --- helpers ---------------------------------------------------------------------------


def build(rule: dict, areas=(), nav_sources=None):
    data = {"name": "t", "site": SITE, "areas": list(areas), "rules": [rule]}
    if nav_sources:
        data["nav_sources"] = [{"name": s} for s in nav_sources]
    mission = mission_from_dict(data)
    return build_rules(mission)[0], mission


def ctx_for(
    mission, t_s, r_ecef, v_ecef=(0.0, 0.0, 0.0), *, q=None, w=None, iip=None, since_valid_s=0.0, source_navs=None
) -> RuleContext:
    """One context row per state (one string), built by the engine's own factory. ``iip``
    places the IIP at given points instead of the states' own (its range is then not known: NaN)."""
    nav = NavBatch.from_arrays(t_s, r_ecef, v_ecef, q, w)
    n = nav.n
    navs = [nav] if source_navs is None else source_navs
    ctx = rule_context(
        Site.from_spec(mission.site),
        nav.t_s,
        nav.r_ecef,
        nav.v_ecef,
        nav.q_body_to_ecef,
        nav.omega_body_rad_s,
        nav.valid,
        np.broadcast_to(np.asarray(since_valid_s, float), (n,)),
        source_t_s=np.stack([np.where(s.valid, s.t_s, np.nan) for s in navs]),
        source_r_ecef=np.stack([s.r_ecef for s in navs]),
        source_v_ecef=np.stack([s.v_ecef for s in navs]),
    )
    if iip is not None:
        lat = np.broadcast_to(np.asarray(iip[0], float), (n,))
        lon = np.broadcast_to(np.asarray(iip[1], float), (n,))
        table = ctx.kin.table.copy()
        table[:, kinematics.IIP_LAT], table[:, kinematics.IIP_LON] = lat, lon
        table[:, kinematics.IIP_TOF] = table[:, kinematics.IIP_RANGE] = np.nan
        ctx = dataclasses.replace(ctx, kin=kinematics.Kinematics(table, ctx.kin.pos_unit, unit_vectors(lat, lon)))
    return ctx


def pad_ecef(n=1):
    return np.tile(geodetic_to_ecef(PAD_LAT, PAD_LON, PAD_ALT), (n, 1))


def speed_states(speeds):
    """States on the pad moving straight east at the given speeds (ECEF vector along local east)."""
    east = ecef_to_enu_matrix(PAD_LAT, PAD_LON)[0]
    return pad_ecef(len(speeds)), np.outer(speeds, east)


def _surface_point(u):
    """Geodetic (lat, lon) of the ellipsoid point whose geocentric direction is u (...,3).
    tan(geodetic lat) = tan(geocentric lat) / (1 - e^2) for a point on the surface."""
    psi = np.arctan2(u[..., 2], np.hypot(u[..., 0], u[..., 1]))
    return np.degrees(np.arctan(np.tan(psi) / (1.0 - WGS84_E2))), np.degrees(np.arctan2(u[..., 1], u[..., 0]))


def _direction(lat_deg, lon_deg):
    x, y, z = pymap3d.geodetic2ecef(np.asarray(lat_deg, float), np.asarray(lon_deg, float), 0.0)
    u = np.stack([x, y, z], axis=-1)
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


def dense_arc(lat1, lon1, lat2, lon2, step_m=100.0):
    """Points along the great-circle arc between two vertices' geocentric directions (slerp)."""
    a, b = _direction(lat1, lon1), _direction(lat2, lon2)
    omega = math.atan2(np.linalg.norm(np.cross(a, b)), a @ b)
    k = max(2, int(omega * 6.4e6 / step_m) + 1)
    t = np.linspace(0.0, 1.0, k)[:, None]
    u = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)
    return _surface_point(u)


def dense_ring(lat, lon, step_m=100.0):
    pts = [dense_arc(lat[i], lon[i], lat[(i + 1) % len(lat)], lon[(i + 1) % len(lat)], step_m) for i in range(len(lat))]
    return np.concatenate([p[0] for p in pts]), np.concatenate([p[1] for p in pts])


def geod_distance_to(lat, lon, ring_lat, ring_lon) -> float:
    """pyproj geodesic distance from a point to the nearest of the dense boundary points, m."""
    _, _, d = GEOD.inv(np.full_like(ring_lon, lon), np.full_like(ring_lat, lat), ring_lon, ring_lat)
    return float(d.min())


def gnomonic_inside(lat, lon, ring_lat, ring_lon, c_lat, c_lon) -> np.ndarray:
    """Inside test with shapely on a gnomonic projection (great circles -> straight lines)."""
    c = _direction(c_lat, c_lon)
    east = np.cross([0.0, 0.0, 1.0], c)
    east /= np.linalg.norm(east)
    north = np.cross(c, east)

    def proj(la, lo):
        u = _direction(la, lo)
        d = u @ c
        return np.stack([(u @ east) / d, (u @ north) / d], axis=-1)

    poly = shapely.Polygon(proj(np.asarray(ring_lat), np.asarray(ring_lon)))
    xy = proj(np.asarray(lat), np.asarray(lon))
    return shapely.contains_xy(poly, xy[..., 0], xy[..., 1])


# --- envelope ---------------------------------------------------------------------------


ENVELOPE = {
    "name": "speed",
    "type": "envelope",
    "quantity": "speed_mps",
    "table": {"t_s": [0.0, 10.0, 20.0], "lower": [None, 100.0, 200.0], "upper": [50.0, 300.0, None]},
}


@pytest.mark.parametrize(
    ("t_s", "speed", "margin"),
    [
        # t=5: upper halfway between 50 and 300 = 175; lower is null at t=0, so no lower limit on [0, 10]
        (5.0, 160.0, 15.0),
        (5.0, 180.0, -5.0),
        (5.0, 0.0, 175.0),
        # t=15: lower halfway between 100 and 200 = 150; upper null at t=20, so no upper limit on [10, 20]
        (15.0, 140.0, -10.0),
        (15.0, 1000.0, 850.0),
        # t=12.5: lower 125 -> margin min(value - 125) only
        (12.5, 130.0, 5.0),
    ],
)
def test_envelope_interpolates_and_ignores_null_limits(t_s, speed, margin):
    rule, m = build(ENVELOPE)
    r, v = speed_states([speed])
    out = rule.evaluate(ctx_for(m, t_s, r, v), None)
    assert out.margin[0] == pytest.approx(margin, abs=1e-9)
    assert bool(out.violated[0]) == (margin < 0)


def test_envelope_at_a_table_point_uses_both_limits_given_there():
    """At t = 10 the table gives lower 100 and upper 300: both apply at that instant.
    Speed 320 -> margin min(320 - 100, 300 - 320) = -20; speed 90 -> -10; speed 120 -> +20."""
    rule, m = build(ENVELOPE)
    r, v = speed_states([320.0, 90.0, 120.0])
    out = rule.evaluate(ctx_for(m, [10.0, 10.0, 10.0], r, v), None)
    np.testing.assert_allclose(out.margin, [-20.0, -10.0, 20.0], atol=1e-9)
    np.testing.assert_array_equal(out.violated, [True, True, False])


def test_envelope_outside_the_table_is_not_judged():
    rule, m = build(ENVELOPE)
    r, v = speed_states([1e5, 1e5, 1e5])
    out = rule.evaluate(ctx_for(m, [-0.1, 20.1, np.nan], r, v), None)
    assert np.isnan(out.margin).all()
    assert not out.violated.any()


def test_envelope_batch_matches_rows():
    rule, m = build(ENVELOPE)
    speeds = np.array([160.0, 180.0, 140.0, 1000.0])
    t = np.array([5.0, 5.0, 15.0, 15.0])
    r, v = speed_states(speeds)
    out = rule.evaluate(ctx_for(m, t, r, v), None)
    np.testing.assert_allclose(out.margin, [15.0, -5.0, -10.0, 850.0], atol=1e-9)


def test_envelope_on_other_quantities_uses_their_definition():
    """Altitude floor: lower 1000 m at all times; a vehicle 700 m above the ellipsoid -> margin -300 m."""
    rule, m = build(
        {
            "name": "alt",
            "type": "envelope",
            "quantity": "altitude_m",
            "table": {"t_s": [0.0, 100.0], "lower": [1000.0, 1000.0]},
        }
    )
    r = geodetic_to_ecef(PAD_LAT, PAD_LON, 700.0)
    out = rule.evaluate(ctx_for(m, 50.0, r), None)
    assert out.margin[0] == pytest.approx(-300.0, abs=1e-6)
    assert out.violated[0]


# --- attitude error --------------------------------------------------------------------


def quat_pointing(az_deg, el_deg, roll_deg=0.0):
    """Scalar-first quaternion rotating body vectors into ECEF, body +x along (az, el) in the pad's ENU frame.

    Built from an orthonormal body frame with scipy's Rotation (scalar-last output, reordered)."""
    az, el = math.radians(az_deg), math.radians(el_deg)
    x_enu = np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])
    helper = np.array([0.0, 0.0, 1.0]) if abs(x_enu[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    y_enu = np.cross(helper, x_enu)
    y_enu /= np.linalg.norm(y_enu)
    z_enu = np.cross(x_enu, y_enu)
    enu_to_ecef = ecef_to_enu_matrix(PAD_LAT, PAD_LON).T
    body_to_ecef = enu_to_ecef @ np.column_stack([x_enu, y_enu, z_enu])
    body_to_ecef = body_to_ecef @ Rotation.from_euler("x", roll_deg, degrees=True).as_matrix()  # roll about body x
    xyzw = Rotation.from_matrix(body_to_ecef).as_quat()
    return np.array([xyzw[3], xyzw[0], xyzw[1], xyzw[2]])


def angle_between_deg(az1, el1, az2, el2):
    """Spherical law of cosines: cos d = sin e1 sin e2 + cos e1 cos e2 cos(az1 - az2)."""
    a1, e1, a2, e2 = map(math.radians, (az1, el1, az2, el2))
    c = math.sin(e1) * math.sin(e2) + math.cos(e1) * math.cos(e2) * math.cos(a1 - a2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


ATT = {
    "name": "att",
    "type": "attitude_error",
    "max_error_deg": 15.0,
    "commanded": {"t_s": [0.0, 10.0], "azimuth_deg": [90.0, 90.0], "elevation_deg": [90.0, 70.0]},
}


def test_attitude_error_hand_computed_angle_with_interpolated_command():
    """At t = 5 the command is az 90, el 80 (halfway). Body +x at az 90, el 60 -> 20 deg off: margin 15 - 20 = -5.
    Roll about body x does not change the pointing error."""
    rule, m = build(ATT)
    q = np.stack([quat_pointing(90.0, 60.0, roll) for roll in (0.0, 37.0, -120.0)])
    out = rule.evaluate(ctx_for(m, [5.0] * 3, pad_ecef(3), q=q), None)
    np.testing.assert_allclose(out.margin, [-5.0] * 3, atol=1e-9)
    assert out.violated.all()


def test_attitude_error_perpendicular_and_unnormalised_quaternion():
    """Body +x north (az 0, el 0) against a command east (az 90, el 0): 90 deg. A quaternion scaled by 3
    is the same rotation."""
    rule, m = build(
        {
            **ATT,
            "max_error_deg": 100.0,
            "commanded": {"t_s": [0.0, 10.0], "azimuth_deg": [90.0, 90.0], "elevation_deg": [0.0, 0.0]},
        }
    )
    q = quat_pointing(0.0, 0.0)
    out = rule.evaluate(ctx_for(m, [3.0, 3.0], pad_ecef(2), q=np.stack([q, 3.0 * q])), None)
    np.testing.assert_allclose(out.margin, [10.0, 10.0], atol=1e-9)
    assert not out.violated.any()


def test_attitude_command_azimuth_wraps_through_north():
    """Command az 350 -> 10 deg over t 0..10: at t = 5 it is az 0 (north), not az 180.
    Body +x at az 0, el 30 is on the command: error 0, margin 15."""
    rule, m = build(
        {**ATT, "commanded": {"t_s": [0.0, 10.0], "azimuth_deg": [350.0, 10.0], "elevation_deg": [30.0, 30.0]}}
    )
    out = rule.evaluate(ctx_for(m, 5.0, pad_ecef(), q=quat_pointing(0.0, 30.0)), None)
    assert out.margin[0] == pytest.approx(15.0, abs=1e-9)


def test_attitude_error_matches_law_of_cosines_far_from_the_pad(rng):
    """The command is in the pad's ENU frame even when the vehicle is 300 km away."""
    rule, m = build(
        {
            **ATT,
            "max_error_deg": 180.0,
            "commanded": {"t_s": [0.0, 100.0], "azimuth_deg": [150.0, 150.0], "elevation_deg": [40.0, 40.0]},
        }
    )
    az = rng.uniform(0, 360, 20)
    el = rng.uniform(-80, 80, 20)
    q = np.stack([quat_pointing(a, e, r) for a, e, r in zip(az, el, rng.uniform(-180, 180, 20), strict=True)])
    r = np.tile(geodetic_to_ecef(31.0, 137.0, 80e3), (20, 1))
    out = rule.evaluate(ctx_for(m, np.full(20, 50.0), r, q=q), None)
    want = [180.0 - angle_between_deg(a, e, 150.0, 40.0) for a, e in zip(az, el, strict=True)]
    np.testing.assert_allclose(out.margin, want, atol=1e-7)


def test_attitude_without_quaternion_is_not_judged():
    rule, m = build(ATT)
    out = rule.evaluate(ctx_for(m, 5.0, pad_ecef()), None)  # q defaults to NaN
    assert np.isnan(out.margin[0]) and not out.violated[0]


# --- body rate ----------------------------------------------------------------------------


def test_body_rate_magnitude_in_deg_per_s():
    """|(0.1, 0.2, -0.2)| = 0.3 rad/s = 0.3 * 180/pi = 17.188733853924695 deg/s; limit 15 -> margin -2.1887."""
    rule, m = build({"name": "tumble", "type": "body_rate", "max_rate_deg_s": 15.0})
    w = np.array([[0.1, 0.2, -0.2], [0.0, 0.0, 0.2], [np.nan, 0.0, 0.0]])
    out = rule.evaluate(ctx_for(m, [1.0] * 3, pad_ecef(3), w=w), None)
    assert out.margin[0] == pytest.approx(15.0 - 17.188733853924695, abs=1e-12)
    assert out.margin[1] == pytest.approx(15.0 - 11.459155902616464, abs=1e-12)  # 0.2 rad/s
    assert np.isnan(out.margin[2])
    np.testing.assert_array_equal(out.violated, [True, False, False])


# --- data loss --------------------------------------------------------------------------------


def test_data_loss_constant_green_time():
    rule, m = build({"name": "link", "type": "data_loss", "green_time_s": 0.5})
    assert rule.clock == "receive"
    out = rule.evaluate(ctx_for(m, [10.0] * 3, pad_ecef(3), since_valid_s=[0.3, 0.5, 0.8]), None)
    np.testing.assert_allclose(out.margin, [0.2, 0.0, -0.3], atol=1e-12)
    np.testing.assert_array_equal(out.violated, [False, False, True])


def test_data_loss_table_uses_estimated_flight_time_and_holds_the_ends():
    """Green time 0.5 s at T+0 rising to 2 s at T+60, held after.
    Last valid sample at T+50, 3 s ago: flight time ~T+53 -> green 0.5 + 1.5 * 53/60 = 1.825 -> margin -1.175.
    At T+200 (beyond the table): green 2.0. At T-5 (before it): green 0.5."""
    rule, m = build(
        {"name": "link", "type": "data_loss", "table": {"t_s": [0.0, 60.0, 120.0], "green_time_s": [0.5, 2.0, 2.0]}}
    )
    out = rule.evaluate(ctx_for(m, [50.0, 200.0, -5.0], pad_ecef(3), since_valid_s=[3.0, 1.0, 0.25]), None)
    np.testing.assert_allclose(out.margin, [1.825 - 3.0, 1.0, 0.25], atol=1e-12)
    np.testing.assert_array_equal(out.violated, [True, False, False])


# --- source disagreement -------------------------------------------------------------------------


def _two_sources(t_a, r_a, v_a, t_b, r_b, v_b):
    a = NavBatch.from_arrays(t_a, r_a, v_a, source=0)
    b = NavBatch.from_arrays(t_b, r_b, v_b, source=1)
    return a, b


def test_source_disagreement_position_is_time_aligned():
    """A at T+10.0 at r0 moving 1000 m/s east; B at T+10.2 at r0 + 0.2 s * v + 30 m north.
    A propagated to T+10.2 is 30 m from B: margin 50 - 30 = 20 m. Without the alignment they would be
    sqrt(200^2 + 30^2) = 202 m apart."""
    rule, m = build(
        {"name": "agree", "type": "source_disagreement", "sources": ["a", "b"], "max_difference": 50.0},
        nav_sources=["a", "b"],
    )
    enu = ecef_to_enu_matrix(PAD_LAT, PAD_LON)
    r0 = geodetic_to_ecef(PAD_LAT, PAD_LON, 20e3)
    v = 1000.0 * enu[0]
    a, b = _two_sources(10.0, r0, v, 10.2, r0 + 0.2 * v + 30.0 * enu[1], v)
    out = rule.evaluate(ctx_for(m, 10.0, r0, v, source_navs=[a, b]), None)
    assert out.margin[0] == pytest.approx(20.0, abs=1e-6)
    assert not out.violated[0]
    # and the other way round (B older than A) gives the same answer
    out = rule.evaluate(ctx_for(m, 10.0, r0, v, source_navs=[b, a]), None)
    assert out.margin[0] == pytest.approx(20.0, abs=1e-6)


def test_source_disagreement_velocity_and_max_age():
    """Velocity differs by (3, 4, 0) m/s -> 5 m/s against a 2 m/s limit: margin -3.
    Samples 1.5 s apart with max_age_s 1.0 are not compared (NaN, not violated)."""
    rule, m = build(
        {
            "name": "agree",
            "type": "source_disagreement",
            "sources": ["a", "b"],
            "quantity": "velocity_mps",
            "max_difference": 2.0,
            "max_age_s": 1.0,
        },
        nav_sources=["a", "b"],
    )
    r0 = pad_ecef(2)
    va = np.array([[100.0, 0.0, 0.0], [100.0, 0.0, 0.0]])
    vb = va + [3.0, 4.0, 0.0]
    a, b = _two_sources([5.0, 5.0], r0, va, [5.1, 6.5], r0, vb)
    out = rule.evaluate(ctx_for(m, [5.0, 5.0], r0, va, source_navs=[a, b]), None)
    assert out.margin[0] == pytest.approx(-3.0, abs=1e-12)
    assert out.violated[0]
    assert np.isnan(out.margin[1]) and not out.violated[1]


def test_source_disagreement_without_a_sample_is_not_judged():
    rule, m = build(
        {"name": "agree", "type": "source_disagreement", "sources": ["a", "b"], "max_difference": 2.0},
        nav_sources=["a", "b"],
    )
    r0 = pad_ecef()
    a = NavBatch.from_arrays(1.0, r0[0], [0, 0, 0], source=0)
    b = NavBatch.from_arrays(np.nan, [np.nan] * 3, [np.nan] * 3, source=1)
    out = rule.evaluate(ctx_for(m, 1.0, r0, source_navs=[a, b]), None)
    assert np.isnan(out.margin[0]) and not out.violated[0]


# --- IIP polygon ----------------------------------------------------------------------------------


def test_iip_polygon_uses_great_circle_edges():
    """The northern edge of BOX runs 600 km from (35 N, 133 E) to (35 N, 139.6 E); its great circle bulges
    poleward of the parallel: its vertex latitude is atan(tan 35 / cos 3.3) = 35.043 deg. A point at 35.03 N,
    136.3 E is therefore inside (shapely on the gnomonic projection agrees), although north of 35 N."""
    rule, m = build({"name": "land", "type": "iip_polygon", "area": "box"}, areas=[BOX])
    ring_lat, ring_lon = dense_ring(BOX["lat_deg"], BOX["lon_deg"])
    assert gnomonic_inside(35.03, 136.3, BOX["lat_deg"], BOX["lon_deg"], 33.0, 136.3)
    out = rule.evaluate(ctx_for(m, 50.0, pad_ecef(), iip=(35.03, 136.3)), None)
    d = geod_distance_to(35.03, 136.3, ring_lat, ring_lon)
    assert out.violated[0]  # exclusion (protected area): inside violates
    assert out.margin[0] == pytest.approx(-d, rel=2e-3, abs=20.0)


def test_iip_polygon_margin_against_pyproj_and_shapely(rng):
    """Random IIPs around BOX: inside/outside agrees with shapely on the gnomonic projection and the
    margin magnitude with the pyproj distance to the densely sampled great-circle boundary, within
    0.2 % or 20 m (the geometry module documents 5e-5 relative to the WGS84 geodesic)."""
    lat = rng.uniform(29.0, 37.0, 150)
    lon = rng.uniform(131.0, 141.5, 150)
    ring_lat, ring_lon = dense_ring(BOX["lat_deg"], BOX["lon_deg"], step_m=200.0)
    inside = gnomonic_inside(lat, lon, BOX["lat_deg"], BOX["lon_deg"], 33.0, 136.3)
    dist = np.array([geod_distance_to(a, b, ring_lat, ring_lon) for a, b in zip(lat, lon, strict=True)])
    for mode, sign in (("exclusion", -1.0), ("inclusion", 1.0)):
        rule, m = build({"name": "land", "type": "iip_polygon", "area": "box", "mode": mode}, areas=[BOX])
        out = rule.evaluate(ctx_for(m, np.full(150, 50.0), pad_ecef(150), iip=(lat, lon)), None)
        want = sign * np.where(inside, dist, -dist)
        np.testing.assert_allclose(out.margin, want, rtol=2e-3, atol=20.0)
        clear = dist > 50.0
        np.testing.assert_array_equal(out.violated[clear], (want < 0)[clear])


def test_iip_polygon_mode_defaults_from_area_kind():
    corridor = {**BOX, "name": "corr", "kind": "corridor"}
    rule, m = build({"name": "stay", "type": "iip_polygon", "area": "corr"}, areas=[corridor])
    out = rule.evaluate(ctx_for(m, [5.0, 5.0], pad_ecef(2), iip=([33.0, 40.0], [136.0, 136.0])), None)
    np.testing.assert_array_equal(out.violated, [False, True])  # inclusion: outside violates
    assert out.margin[0] > 0 > out.margin[1]


def test_iip_polygon_reads_the_contexts_own_iip_after_an_envelope_filled_the_cache():
    """A hand-made context whose given IIP (40 N, outside the box) differs from the IIP of
    its nav state (the pad, inside the box): evaluating an envelope first derives every
    quantity from the nav state, and the polygon rule must still judge the given IIP (as it
    does on a fresh context: the margin tests above check that path against pyproj and shapely)."""
    mission = mission_from_dict(
        {
            "name": "t",
            "site": SITE,
            "areas": [BOX],
            "rules": [
                {
                    "name": "speed",
                    "type": "envelope",
                    "quantity": "speed_mps",
                    "table": {"t_s": [0, 100], "upper": [1e4, 1e4]},
                },
                {"name": "land", "type": "iip_polygon", "area": "box"},
            ],
        }
    )
    envelope, polygon = build_rules(mission)
    ctx = ctx_for(mission, 5.0, pad_ecef(), iip=(40.0, 136.0))
    envelope.evaluate(ctx, None)
    out = polygon.evaluate(ctx, None)
    fresh = polygon.evaluate(ctx_for(mission, 5.0, pad_ecef(), iip=(40.0, 136.0)), None)
    assert not out.violated[0]
    assert out.margin[0] == fresh.margin[0] > 500e3  # ~5 degrees north of the box's northern edge


def test_iip_polygon_without_impact_point():
    """No IIP (orbit): 'pass' gives no violation and no margin; 'violate' violates rows with valid nav."""
    for no_impact, want in (("pass", False), ("violate", True)):
        rule, m = build({"name": "land", "type": "iip_polygon", "area": "box", "no_impact": no_impact}, areas=[BOX])
        out = rule.evaluate(ctx_for(m, 5.0, pad_ecef(), iip=(np.nan, np.nan)), None)
        assert np.isnan(out.margin[0])
        assert bool(out.violated[0]) is want


def test_iip_polygon_with_real_impact_point():
    """A vehicle hovering 1 km above a point (zero Earth-relative velocity) falls straight down in 14 s:
    the Coriolis drift is (1/3) w g t^3 cos(lat) ~ 0.5 m, so the IIP is the point below it."""
    rule, m = build({"name": "land", "type": "iip_polygon", "area": "box"}, areas=[BOX])
    ring_lat, ring_lon = dense_ring(BOX["lat_deg"], BOX["lon_deg"])
    r = geodetic_to_ecef(34.0, 136.0, 1000.0)
    out = rule.evaluate(ctx_for(m, 5.0, r), None)
    d = geod_distance_to(34.0, 136.0, ring_lat, ring_lon)
    assert out.margin[0] == pytest.approx(-d, rel=2e-3, abs=20.0)


# --- present-position polygon with altitude band -----------------------------------------------------


@pytest.mark.parametrize(
    ("h_m", "inside_m_fn"),
    [
        # prism 0..50 km over BOX; point 1 km-ish inside horizontally (distance d):
        (30e3, lambda d: min(d, 30e3, 20e3)),
        (49.5e3, lambda d: min(d, 49.5e3, 0.5e3)),
        (60e3, lambda d: min(d, 60e3, -10e3)),  # above the top: outside by 10 km
        (-100.0, lambda d: min(d, -100.0, 50.1e3)),  # below the bottom
    ],
)
def test_position_polygon_prism_margin(h_m, inside_m_fn):
    """Signed distance to the prism = min(horizontal distance inside, height above bottom, depth below top).
    Exclusion: margin = -that; inclusion: margin = +that."""
    lat, lon = 34.98, 136.3
    ring_lat, ring_lon = dense_ring(BOX["lat_deg"], BOX["lon_deg"])
    d = geod_distance_to(lat, lon, ring_lat, ring_lon)
    assert gnomonic_inside(lat, lon, BOX["lat_deg"], BOX["lon_deg"], 33.0, 136.3)
    want_inside = inside_m_fn(d)
    r = geodetic_to_ecef(lat, lon, h_m)
    for mode, sign in (("exclusion", -1.0), ("inclusion", 1.0)):
        rule, m = build(
            {
                "name": "keepout",
                "type": "position_polygon",
                "area": "box",
                "mode": mode,
                "alt_min_m": 0.0,
                "alt_max_m": 50e3,
            },
            areas=[BOX],
        )
        out = rule.evaluate(ctx_for(m, 10.0, r), None)
        tol = 2e-3 * d + 20.0 if want_inside == d else 1e-6
        assert out.margin[0] == pytest.approx(sign * want_inside, abs=tol)
        assert bool(out.violated[0]) == (sign * want_inside < 0)


def test_position_polygon_outside_horizontally():
    """At 30 km altitude, 0.3 deg west of the western edge: outside, margin (exclusion) = +distance."""
    lat, lon = 33.0, 132.7
    ring_lat, ring_lon = dense_ring(BOX["lat_deg"], BOX["lon_deg"])
    d = geod_distance_to(lat, lon, ring_lat, ring_lon)
    rule, m = build({"name": "keepout", "type": "position_polygon", "area": "box", "alt_max_m": 50e3}, areas=[BOX])
    out = rule.evaluate(ctx_for(m, 10.0, geodetic_to_ecef(lat, lon, 30e3)), None)
    assert out.margin[0] == pytest.approx(d, rel=2e-3, abs=20.0)
    assert not out.violated[0]


# --- gate ------------------------------------------------------------------------------------------------

GATE = {
    "name": "gate",
    "type": "gate",
    "start_lat_deg": 32.0,
    "start_lon_deg": 135.5,
    "end_lat_deg": 32.0,
    "end_lon_deg": 136.5,
    "open_t_s": 40.0,
    "close_t_s": 140.0,
}


def run_gate(track, gate=GATE):
    """Step the gate rule through a list of (t_s, iip_lat, iip_lon); returns [(violated, margin), ...]."""
    rule, m = build(gate)
    memory = rule.initial_memory(1)
    out = []
    for t, lat, lon in track:
        res = rule.evaluate(ctx_for(m, t, pad_ecef(), iip=(lat, lon)), memory)
        memory = res.memory
        out.append((bool(res.violated[0]), float(res.margin[0])))
    return out


def southward(lon, t0, lat0=32.35, steps=8):
    """IIP moving south 0.1 deg per second along a meridian: crosses 32 N between steps 3 and 4."""
    return [(t0 + k, lat0 - 0.1 * k, lon) for k in range(steps)]


def test_gate_legal_crossing():
    """Crossing at 136.0 E, in the window: never violated; the margin is frozen at the crossing at the
    along-gate distance to the nearer end, ~ the geodesic from (32, 136) to (32, 136.5) (pyproj)."""
    res = run_gate(southward(136.0, 50.0))
    assert not any(v for v, _ in res)
    _, _, half = GEOD.inv(136.0, 32.0, 136.5, 32.0)
    after = [mg for _, mg in res[4:]]
    assert after[0] == pytest.approx(half, rel=5e-3)
    assert all(mg == after[0] for mg in after)  # frozen


def test_gate_crossing_outside_the_ends_violates_and_latches():
    """Crossing at 137.0 E, 0.5 deg east of the east end: violated from the crossing on, margin ~ -47 km."""
    res = run_gate(southward(137.0, 50.0))
    assert [v for v, _ in res] == [False] * 4 + [True] * 4
    _, _, beyond = GEOD.inv(136.5, 32.0, 137.0, 32.0)
    assert res[4][1] == pytest.approx(-beyond, rel=5e-3)
    assert res[0][1] < 0  # before the crossing: the IIP's foot is already beyond the end


def test_gate_early_crossing_violates():
    """Crossing at T+34, before open_t_s = 40: violated, negative margin ~ minus the along-gate distance."""
    res = run_gate(southward(136.0, 30.0))
    assert [v for v, _ in res] == [False] * 4 + [True] * 4
    _, _, half = GEOD.inv(136.0, 32.0, 136.5, 32.0)
    assert res[4][1] == pytest.approx(-half, rel=5e-3)


def test_gate_not_crossed_by_close_time_violates():
    """IIP stops 0.3 deg north of the gate; at T+141 (> close 140) the gate was missed: violated with a margin
    of minus the IIP's distance short of the gate arc (pyproj distance to the densified arc)."""
    track = [(130.0 + k, 32.3, 136.0) for k in range(13)]
    res = run_gate(track)
    assert [v for v, _ in res] == [False] * 11 + [True] * 2
    assert res[0][1] > 0
    arc_lat, arc_lon = dense_arc(32.0, 135.5, 32.0, 136.5)
    short = geod_distance_to(32.3, 136.0, arc_lat, arc_lon)
    assert res[11][1] == pytest.approx(-short, rel=5e-3)


# --- quantities ----------------------------------------------------------------------------------------------


def _quantity_ctx(r, v, iip=None):
    _, m = build({"name": "x", "type": "body_rate", "max_rate_deg_s": 1.0})
    return ctx_for(m, np.full(len(r), 1.0), r, v, iip=iip)


def test_downrange_crossrange_hand_cases():
    """Launch azimuth 150 deg. 1 km along azimuth 150 -> downrange 1000, crossrange 0; 1 km along
    azimuth 240 (to the right of the flight direction) -> downrange 0, crossrange +1000; 1 km up -> 0, 0."""
    e = np.array([math.sin(math.radians(a)) for a in (150.0, 240.0)])
    n = np.array([math.cos(math.radians(a)) for a in (150.0, 240.0)])
    enu = np.array([[1000 * e[0], 1000 * n[0], 0.0], [1000 * e[1], 1000 * n[1], 0.0], [0.0, 0.0, 1000.0]])
    x, y, z = pymap3d.enu2ecef(enu[:, 0], enu[:, 1], enu[:, 2], PAD_LAT, PAD_LON, PAD_ALT)
    ctx = _quantity_ctx(np.stack([x, y, z], axis=-1), np.zeros((3, 3)))
    np.testing.assert_allclose(quantities.get(ctx, "downrange_m"), [1000.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(quantities.get(ctx, "crossrange_m"), [0.0, 1000.0, 0.0], atol=1e-6)


def test_quantities_against_pymap3d(rng):
    """Random states within 500 km of the pad: downrange/crossrange from pymap3d's pad ENU, vertical speed
    and flight-path angle from pymap3d's ENU at the vehicle, altitude from pymap3d's geodetic height."""
    k = 40
    lat = PAD_LAT + rng.uniform(-4, 4, k)
    lon = PAD_LON + rng.uniform(-4, 4, k)
    h = rng.uniform(0, 300e3, k)
    x, y, z = pymap3d.geodetic2ecef(lat, lon, h)
    r = np.stack([x, y, z], axis=-1)
    v = rng.normal(0, 2000.0, (k, 3))
    ctx = _quantity_ctx(r, v)
    e, n, _u = pymap3d.ecef2enu(x, y, z, PAD_LAT, PAD_LON, PAD_ALT)
    az = math.radians(150.0)
    np.testing.assert_allclose(quantities.get(ctx, "downrange_m"), e * math.sin(az) + n * math.cos(az), atol=1e-4)
    np.testing.assert_allclose(quantities.get(ctx, "crossrange_m"), e * math.cos(az) - n * math.sin(az), atol=1e-4)
    ve, vn, vu = pymap3d.ecef2enuv(v[:, 0], v[:, 1], v[:, 2], lat, lon)
    np.testing.assert_allclose(quantities.get(ctx, "vertical_speed_mps"), vu, atol=1e-6)
    np.testing.assert_allclose(
        quantities.get(ctx, "flight_path_angle_deg"), np.degrees(np.arctan2(vu, np.hypot(ve, vn))), atol=1e-7
    )
    np.testing.assert_allclose(quantities.get(ctx, "speed_mps"), np.linalg.norm(v, axis=1), rtol=1e-14)
    np.testing.assert_allclose(quantities.get(ctx, "altitude_m"), h, atol=1e-3)


def test_flight_path_angle_hand_cases():
    """Straight up: +90 deg; level east: 0; 100 m/s down and 100 m/s north: -45 deg; at rest: not judged (NaN)."""
    enu = ecef_to_enu_matrix(PAD_LAT, PAD_LON)
    v = np.stack([enu[2] * 50.0, enu[0] * 300.0, 100.0 * enu[1] - 100.0 * enu[2], np.zeros(3)])
    ctx = _quantity_ctx(pad_ecef(4), v)
    fpa = quantities.get(ctx, "flight_path_angle_deg")
    np.testing.assert_allclose(fpa[:3], [90.0, 0.0, -45.0], atol=1e-9)
    assert np.isnan(fpa[3])
    np.testing.assert_allclose(quantities.get(ctx, "vertical_speed_mps")[:3], [50.0, 0.0, -100.0], atol=1e-9)


def test_iip_range_against_pyproj(rng):
    """pyproj's exact geodesic within the 10 m the engine's distance formula documents, out to 3000 km.
    Each state is at rest 100 m above its point: it falls within a metre of it (Coriolis and the
    tilt of gravity against the vertical move it by centimetres to decimetres). An escaping state
    has no IIP (NaN)."""
    k = 30
    lat = np.concatenate([[30.0, PAD_LAT], rng.uniform(10.0, 55.0, k)])
    lon = np.concatenate([[137.0, PAD_LON], rng.uniform(120.0, 152.0, k)])
    _, _, d = GEOD.inv(np.full(k + 2, PAD_LON), np.full(k + 2, PAD_LAT), lon, lat)
    x, y, z = pymap3d.geodetic2ecef(lat, lon, np.full(k + 2, 100.0))
    up = np.array([pymap3d.geodetic2ecef(PAD_LAT, PAD_LON, 100e3)])
    r = np.concatenate([np.stack([x, y, z], axis=-1), up])
    v = np.concatenate([np.zeros((k + 2, 3)), 20e3 * up / np.linalg.norm(up)])  # last: 100 km up, rising at 20 km/s
    rng_m = quantities.get(_quantity_ctx(r, v), "iip_range_m")
    assert rng_m[0] == pytest.approx(d[0], abs=11.0)
    assert rng_m[1] == pytest.approx(0.0, abs=1.0)
    np.testing.assert_allclose(rng_m[2:-1], d[2:], atol=11.0)
    assert np.isnan(rng_m[-1])
