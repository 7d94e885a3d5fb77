"""GreatCirclePolygon: containment, signed distance, validation.

Independent references:
- containment: shapely.contains_xy on the polygon's gnomonic projection, built
  here from pyproj's WGS84 geodetic -> ECEF transform (EPSG:4326 -> EPSG:4978):
  the geocentric direction of a point is its ECEF position normalized, and
  the gnomonic projection about c maps u to (u.e, u.n) / (u.c);
- distance: pyproj.Geod (Karney's WGS84 geodesics) to the boundary sampled
  densely here (slerp between the vertices' ECEF directions, back to geodetic
  with pyproj), refined around the closest sample;
- hand calculations written out in the docstrings.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from rangeguard.constants import WGS84_A_M, WGS84_B_M
from rangeguard.earth.polygon import GreatCirclePolygon
from rangeguard.errors import InputError

GEOD = pyproj.Geod(ellps="WGS84")
TO_ECEF = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True)
TO_GEODETIC = pyproj.Transformer.from_crs("EPSG:4978", "EPSG:4326", always_xy=True)

SITE = (33.5, 136.0)  # a launch site on the Kii peninsula, used as projection centre


# --- independent reference helpers -------------------------------------------------


def direction(lat_deg, lon_deg):
    """Geocentric unit vectors (N, 3) from pyproj's geodetic -> ECEF."""
    x, y, z = TO_ECEF.transform(np.atleast_1d(lon_deg), np.atleast_1d(lat_deg), np.zeros(np.size(lat_deg)))
    r = np.stack([x, y, z], axis=-1)
    return r / np.linalg.norm(r, axis=-1, keepdims=True)


def gnomonic(lat_deg, lon_deg, center):
    """(x, y, w): gnomonic plane coordinates about centre (lat, lon), and u.c."""
    c = direction(*center)[0]
    east = np.cross([0.0, 0.0, 1.0], c)
    east /= np.linalg.norm(east)
    north = np.cross(c, east)
    u = direction(lat_deg, lon_deg)
    w = u @ c
    return (u @ east) / w, (u @ north) / w, w


def shapely_contains(vlat, vlon, center, lat, lon):
    """Reference containment: planar test in the gnomonic plane (False beyond 90 deg)."""
    vx, vy, _ = gnomonic(vlat, vlon, center)
    poly = shapely.Polygon(np.column_stack([vx, vy]))
    x, y, w = gnomonic(lat, lon, center)
    return np.where(w > 0, shapely.contains_xy(poly, np.where(w > 0, x, 0.0), np.where(w > 0, y, 0.0)), False), poly


def _on_ellipsoid(p):
    """Geodetic (lat, lon) of the ellipsoid surface points along unit vectors p (N, 3)."""
    scale = 1.0 / np.sqrt((p[:, 0] ** 2 + p[:, 1] ** 2) / WGS84_A_M**2 + p[:, 2] ** 2 / WGS84_B_M**2)
    lon, lat, _ = TO_GEODETIC.transform(p[:, 0] * scale, p[:, 1] * scale, p[:, 2] * scale)
    return np.asarray(lat), np.asarray(lon)


def _edge_points(a, b, t):
    """Points at fractions t of the great-circle arc a -> b (slerp), unit vectors."""
    om = math.acos(np.clip(a @ b, -1, 1))
    t = np.asarray(t)[:, None]
    return (np.sin((1 - t) * om) * a + np.sin(t * om) * b) / math.sin(om), om


def boundary_samples(vlat, vlon, step_rad):
    """Points on every great-circle edge at most step_rad apart: (lat, lon, edge index, t)."""
    u = direction(vlat, vlon)
    pts, edge, frac = [], [], []
    for k, (a, b) in enumerate(zip(u, np.roll(u, -1, axis=0), strict=True)):
        om = math.acos(np.clip(a @ b, -1, 1))
        t = np.linspace(0.0, 1.0, max(2, int(om / step_rad) + 2))
        pts.append(_edge_points(a, b, t)[0])
        edge.append(np.full(t.size, k))
        frac.append(t)
    lat, lon = _on_ellipsoid(np.concatenate(pts))
    return lat, lon, np.concatenate(edge), np.concatenate(frac)


def geodesic_to_boundary_m(vlat, vlon, lat, lon):
    """Shortest WGS84 geodesic (pyproj.Geod) from each point to the boundary.

    Samples every ~2 km, then every ~5 m within 4 km of the best sample on its
    edge and the two neighbouring edges.
    """
    u = direction(vlat, vlon)
    v = len(u)
    blat, blon, bedge, bt = boundary_samples(vlat, vlon, 2000.0 / 6.371e6)
    out = []
    for la, lo in zip(np.atleast_1d(lat), np.atleast_1d(lon), strict=True):
        _, _, d = GEOD.inv(np.full(blat.size, lo), np.full(blat.size, la), blon, blat)
        i = int(np.argmin(d))
        best = d[i]
        q = direction(blat[i], blon[i])[0]
        for k in ((bedge[i] - 1) % v, bedge[i], (bedge[i] + 1) % v):
            a, b = u[k], u[(k + 1) % v]
            om = math.acos(np.clip(a @ b, -1, 1))
            tc = np.clip(math.atan2(np.linalg.norm(np.cross(a, q)), a @ q) / om, 0, 1)
            half = 4000.0 / 6.371e6 / om
            pts, _ = _edge_points(a, b, np.linspace(max(0.0, tc - half), min(1.0, tc + half), 1601))
            flat, flon = _on_ellipsoid(pts)
            best = min(best, GEOD.inv(np.full(flat.size, lo), np.full(flat.size, la), flon, flat)[2].min())
        out.append(best)
    return np.array(out)


def star(n, center, r_min_km, r_max_km, seed):
    """Irregular (concave) star polygon, radii in km approximated in degrees."""
    rng = np.random.default_rng(seed)
    az = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = rng.uniform(r_min_km, r_max_km, n) / 111.0
    lat = center[0] + r * np.cos(az)
    lon = center[1] + r * np.sin(az) / math.cos(math.radians(center[0]))
    return lat, lon


STAR = star(200, SITE, 150.0, 400.0, seed=1)
# A 3000 km long, 300 km wide corridor heading south-east (long great-circle edges).
CORRIDOR = (np.array([33.0, 34.5, 20.0, 18.5]), np.array([135.0, 137.5, 152.0, 149.5]))
# Across the antimeridian, and around the North Pole (centre given explicitly).
DATELINE = (np.array([-10.0, -12.0, 5.0, 8.0, 0.0]), np.array([175.0, -170.0, -172.0, 178.0, 171.0]))
POLAR = (np.array([80.0, 82.0, 81.0, 84.0]), np.array([0.0, 90.0, 180.0, -90.0]))


@pytest.fixture(scope="module")
def star_polygon():
    return GreatCirclePolygon(*STAR, name="star", center_lat_deg=SITE[0], center_lon_deg=SITE[1])


# --- hand-made cases -----------------------------------------------------------------


SQUARE = (np.array([0.0, 0.0, 2.0, 2.0]), np.array([0.0, 2.0, 2.0, 0.0]))


def test_square_on_equator_and_meridians():
    """Quadrilateral (0,0)-(0,2)-(2,2)-(2,0) (lat, lon deg).

    Three edges are exact great circles that are also WGS84 geodesics: the
    equator (lat 0) and the meridians lon 0 and lon 2 (planes through the
    polar axis). The fourth joins (2,2)-(2,0) and bulges poleward by only
    atan(tan 2 deg / cos 1 deg) - 2 deg = 0.0003 deg.

    - (0.5, 1.0): inside; nearest boundary is the equator straight south
      (the meridians are ~111 km away), so the distance is the meridian arc
      from lat 0.5 to 0 = pyproj.Geod.inv(1, 0.5, 1, 0) ~ 55.3 km.
    - (1.0, 2.3): outside, nearest is the meridian lon 2; the true distance is
      the minimum over lat of Geod.inv((2.3, 1.0), (2, lat)).
    - (-0.4, 1.0): outside, south of the equator: meridian arc 0.4 deg.
    """
    poly = GreatCirclePolygon(*SQUARE, name="square")
    inside, d = poly.evaluate(0.5, 1.0)
    ref = GEOD.inv(1.0, 0.5, 1.0, 0.0)[2]
    assert inside and d == pytest.approx(ref, rel=1e-4)

    lats = np.linspace(0.9, 1.1, 20001)
    ref = GEOD.inv(np.full(lats.size, 2.3), np.full(lats.size, 1.0), np.full(lats.size, 2.0), lats)[2].min()
    inside, d = poly.evaluate(1.0, 2.3)
    assert not inside and -d == pytest.approx(ref, rel=1e-4)

    inside, d = poly.evaluate(-0.4, 1.0)
    assert not inside and -d == pytest.approx(GEOD.inv(1.0, -0.4, 1.0, 0.0)[2], rel=1e-4)


def _edge_latitude_on_meridian(vlat, vlon, lon_deg, lat_lo_deg, lat_hi_deg):
    """Geodetic latitude at which the great-circle edge between two vertices crosses the meridian
    ``lon_deg``: the edge is the cut of the WGS84 surface by the plane through the Earth's centre and
    the vertices' ECEF positions (pyproj, EPSG:4978), so the root in latitude of n . r_ecef(lat, lon),
    n = r_a x r_b, found by scipy's brentq (to 1e-12 deg) in the bracket given."""
    from scipy.optimize import brentq

    x, y, z = TO_ECEF.transform(np.asarray(vlon, float), np.asarray(vlat, float), np.zeros(2))
    pole = np.cross([x[0], y[0], z[0]], [x[1], y[1], z[1]])

    def height_above_plane(lat_deg):
        return pole @ np.array(TO_ECEF.transform(lon_deg, lat_deg, 0.0))

    return brentq(height_above_plane, lat_lo_deg, lat_hi_deg, xtol=1e-12)


def test_edge_is_a_great_circle_not_a_parallel():
    """A 600 km edge between (35, 0) and (35, L), L = 600 km / (111.32 km cos 35) = 6.58 deg.

    Reference: where the edge's plane (through the Earth's centre and both vertices' ECEF positions
    from pyproj) cuts the meridian L/2, found here by root-finding (scipy brentq, no rangeguard
    code). By hand it is phi_mid = atan(tan 35 / cos(L/2)) = 35.0444 deg (the geocentric latitude
    obeys tan(phi_c) = tan(phi_c,35) / cos(L/2) and the (1 - e^2) factors of tan phi_c = (1 - e^2) tan phi
    cancel), about 4.9 km north of the parallel. So (35.02, L/2) is inside, about 2.7 km from the
    edge (pyproj.Geod to the edge's crossing with the meridian, the nearest boundary point by the
    edge's symmetry about that meridian), although a polygon with lat/lon-straight edges (shapely on
    raw degrees) says outside. Points 0.001 deg (about 110 m) either side of the crossing are inside
    and outside, which a parallel (35.0) or a rhumb line would get wrong by about 40 times that.
    """
    half = 600.0 / (111.32 * math.cos(math.radians(35.0))) / 2
    vlat, vlon = np.array([35.0, 35.0, 30.0]), np.array([0.0, 2 * half, half])
    poly = GreatCirclePolygon(vlat, vlon, name="wedge")
    phi_mid = _edge_latitude_on_meridian(vlat[:2], vlon[:2], half, 35.0, 36.0)

    inside, d = poly.evaluate(35.02, half)
    assert inside
    assert d == pytest.approx(GEOD.inv(half, 35.02, half, phi_mid)[2], rel=1e-4)  # the file's distance tolerance
    assert not shapely.contains_xy(shapely.Polygon(np.column_stack([vlon, vlat])), half, 35.02)
    assert poly.contains(phi_mid - 1e-3, half) and not poly.contains(phi_mid + 1e-3, half)
    # the densified boundary follows the great circle: its northernmost point is the crossing
    blat, blon = poly.densified_boundary(0.01)
    assert blat.max() == pytest.approx(phi_mid, abs=1e-5)


def test_concave_notch():
    """A "U": square (0..3 lat, 0..3 lon) with a notch lon 1..2 cut from lat 1 up to 3.

    (2.0, 1.5) is in the notch: outside, nearest boundary the notch sides lon 1
    and lon 2 (meridians), ~0.5 deg of longitude at lat 2 ~ 55.6 km away;
    (0.5, 1.5) is inside below the notch, 0.5 deg of latitude from the equator
    and from the notch floor (lat 1, a short near-parallel great circle).
    """
    vlat = np.array([0.0, 0.0, 3.0, 3.0, 1.0, 1.0, 3.0, 3.0])
    vlon = np.array([0.0, 3.0, 3.0, 2.0, 2.0, 1.0, 1.0, 0.0])
    poly = GreatCirclePolygon(vlat, vlon, name="u")
    inside, d = poly.evaluate(np.array([2.0, 0.5]), np.array([1.5, 1.5]))
    assert inside.tolist() == [False, True]
    ref = geodesic_to_boundary_m(vlat, vlon, np.array([2.0, 0.5]), np.array([1.5, 1.5]))
    np.testing.assert_allclose(np.abs(d), ref, rtol=1e-3)
    assert -d[0] == pytest.approx(55.6e3, rel=0.01)


# --- containment against shapely -----------------------------------------------------


@pytest.mark.parametrize(
    ("vertices", "center", "spread_deg"),
    [(STAR, SITE, 6.0), (CORRIDOR, SITE, 25.0), (DATELINE, (0.0, 180.0), 25.0), (POLAR, (90.0, 0.0), 15.0)],
    ids=["star", "corridor", "dateline", "polar"],
)
def test_containment_matches_shapely_on_gnomonic_plane(vertices, center, spread_deg, rng):
    poly = GreatCirclePolygon(*vertices, center_lat_deg=center[0], center_lon_deg=center[1])
    mean_lat, mean_lon = np.mean(vertices[0]), center[1]
    lat = np.clip(mean_lat + rng.uniform(-spread_deg, spread_deg, 20000), -90, 90)
    lon = mean_lon + rng.uniform(-2 * spread_deg, 2 * spread_deg, 20000)
    expected, ref_poly = shapely_contains(*vertices, center, lat, lon)
    x, y, _ = gnomonic(lat, lon, center)
    clear = shapely.distance(ref_poly.boundary, shapely.points(x, y)) > 1e-9  # not within ~6 mm
    got, d = poly.evaluate(lat, lon)
    assert expected[clear].sum() > 100 and (~expected[clear]).sum() > 100
    np.testing.assert_array_equal(got[clear], expected[clear])
    np.testing.assert_array_equal(d > 0, got)


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(20.0, 47.0), lon=st.floats(120.0, 152.0))
def test_containment_property_star(star_polygon, lat, lon):
    expected, ref_poly = shapely_contains(*STAR, SITE, lat, lon)
    x, y, _ = gnomonic(lat, lon, SITE)
    if shapely.distance(ref_poly.boundary, shapely.Point(x[0], y[0])) < 1e-9:
        return  # on the boundary (within ~6 mm): either answer is right
    inside, d = star_polygon.evaluate(lat, lon)
    assert bool(inside) == bool(expected[0])
    assert (d > 0) == bool(inside)


@settings(max_examples=60, deadline=None)
@given(
    radii=st.lists(st.floats(50.0, 900.0), min_size=5, max_size=40),
    lat=st.floats(-60.0, 60.0),
    lon=st.floats(-180.0, 180.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_containment_property_random_stars(radii, lat, lon, seed):
    """Random star polygons anywhere on Earth (stars never self-intersect)."""
    az = np.linspace(0, 2 * np.pi, len(radii), endpoint=False)
    r = np.array(radii) / 111.0
    vlat = np.clip(lat + r * np.cos(az), -89.0, 89.0)
    vlon = lon + r * np.sin(az) / math.cos(math.radians(lat))
    center = (lat, lon)
    problems = GreatCirclePolygon.problems(vlat, vlon, center_lat_deg=lat, center_lon_deg=lon)
    if problems:  # clipping at the pole can fold a star; skip such draws
        return
    poly = GreatCirclePolygon(vlat, vlon, center_lat_deg=lat, center_lon_deg=lon)
    prng = np.random.default_rng(seed)
    plat = np.clip(lat + prng.uniform(-12, 12, 300), -90, 90)
    plon = lon + prng.uniform(-20, 20, 300)
    expected, ref_poly = shapely_contains(vlat, vlon, center, plat, plon)
    x, y, _ = gnomonic(plat, plon, center)
    clear = shapely.distance(ref_poly.boundary, shapely.points(x, y)) > 1e-9
    got = poly.contains(plat, plon)
    np.testing.assert_array_equal(got[clear], expected[clear])


def test_winding_and_closing_vertex_do_not_matter(star_polygon, rng):
    lat = SITE[0] + rng.uniform(-6, 6, 2000)
    lon = SITE[1] + rng.uniform(-7, 7, 2000)
    vlat, vlon = STAR
    closed_reversed = GreatCirclePolygon(
        np.r_[vlat, vlat[0]][::-1], np.r_[vlon, vlon[0]][::-1], center_lat_deg=SITE[0], center_lon_deg=SITE[1]
    )
    a_in, a_d = star_polygon.evaluate(lat, lon)
    b_in, b_d = closed_reversed.evaluate(lat, lon)
    np.testing.assert_array_equal(a_in, b_in)
    np.testing.assert_allclose(a_d, b_d, rtol=1e-9, atol=1e-6)


# --- distance against pyproj.Geod -----------------------------------------------------


@pytest.mark.parametrize(
    ("vertices", "center"), [(STAR, SITE), (CORRIDOR, SITE), (POLAR, (90.0, 0.0))], ids=["star", "corridor", "polar"]
)
def test_distance_matches_geodesic_to_sampled_boundary(vertices, center, rng):
    """|signed distance| within 0.5 % or 50 m of the WGS84 geodesic to the nearest
    boundary point, for points from ~0 to ~2000 km from the boundary."""
    poly = GreatCirclePolygon(*vertices, center_lat_deg=center[0], center_lon_deg=center[1])
    n = 40
    az = rng.uniform(0, 360, n)
    dist = np.concatenate([rng.uniform(0, 30e3, n // 4), rng.uniform(30e3, 2.2e6, n - n // 4)])
    start = rng.integers(0, len(vertices[0]), n)
    lon, lat, _ = GEOD.fwd(vertices[1][start], vertices[0][start], az, dist)
    ref = geodesic_to_boundary_m(*vertices, lat, lon)
    keep = ref <= 2.0e6
    d = np.abs(poly.signed_distance_m(lat, lon))
    err = np.abs(d - ref)[keep]
    assert np.all(err <= np.maximum(0.005 * ref[keep], 50.0)), err.max()
    # what the geocentric-radius scaling actually achieves (a single sphere would not)
    assert np.all(err <= 1e-4 * ref[keep] + 10.0), err.max()


def test_distance_from_long_meridian_edge():
    """The corridor-like triangle (10, 140)-(30, 140)-(20, 150) has a 2200 km
    edge on the meridian lon 140. From (20, 139) and (25, 132) the nearest
    boundary point is on that meridian, so the distance is the minimum over lat
    of pyproj.Geod.inv((139, 20), (140, lat)) (and likewise for (25, 132))."""
    poly = GreatCirclePolygon([10.0, 30.0, 20.0], [140.0, 140.0, 150.0], name="tri")
    lats = np.linspace(5.0, 35.0, 300001)
    for lat, lon in [(20.0, 139.0), (25.0, 132.0)]:
        ref = GEOD.inv(np.full(lats.size, lon), np.full(lats.size, lat), np.full(lats.size, 140.0), lats)[2].min()
        inside, d = poly.evaluate(lat, lon)
        assert not inside
        assert -d == pytest.approx(ref, rel=2e-4)


# --- grid / edge tree vs brute force, NaN, far side, shapes ---------------------------------

# The rule engine's protected area: a 200-vertex circle of radius 0.7 deg, projection centre = vertex mean.
_AZ = np.linspace(0.0, 2.0 * np.pi, 200, endpoint=False)
KII_CIRCLE = (34.0 + 0.7 * np.sin(_AZ), 136.0 + 0.7 * np.cos(_AZ) / math.cos(math.radians(34.0)))


def _assert_paths_agree(poly, lat, lon):
    """Accelerated (grid + edge tree), brute force, serial and scalar paths give the same bits."""
    g_in, g_d = poly.evaluate(lat, lon)
    b_in, b_d = poly.evaluate(lat, lon, use_grid=False)
    np.testing.assert_array_equal(g_in, b_in)
    assert np.array_equal(g_d, b_d)
    s_in, s_d = poly.evaluate(lat, lon, parallel=False)
    np.testing.assert_array_equal(s_in, g_in)
    assert np.array_equal(s_d, g_d)
    for i in range(0, lat.size, 397):  # the scalar fast path too
        assert poly.evaluate(float(lat[i]), float(lon[i])) == (g_in[i], g_d[i])


def test_grid_and_brute_force_agree_bit_for_bit(star_polygon, rng):
    vlat, vlon = STAR
    mid_lat, mid_lon, _, _ = boundary_samples(vlat, vlon, 0.01)
    # every grid level, off the grid (beyond 75 deg) and the far side: out to 12 000 km
    n_far = 3000
    far_lon, far_lat, _ = GEOD.fwd(
        np.full(n_far, SITE[1]), np.full(n_far, SITE[0]), rng.uniform(0, 360, n_far), rng.uniform(0, 12e6, n_far)
    )
    lat = np.concatenate([SITE[0] + rng.uniform(-25, 25, 30000), far_lat, vlat, mid_lat, [-SITE[0], 0.0]])
    lon = np.concatenate([SITE[1] + rng.uniform(-30, 30, 30000), far_lon, vlon, mid_lon, [SITE[1] - 180.0, 0.0]])
    _assert_paths_agree(star_polygon, lat, lon)


@pytest.mark.parametrize(
    ("vertices", "center"),
    [(KII_CIRCLE, None), (STAR, SITE), (CORRIDOR, SITE), (DATELINE, (0.0, 180.0)), (POLAR, (90.0, 0.0))],
    ids=["kii-circle", "star", "corridor", "dateline", "polar"],
)
@pytest.mark.parametrize("grid_side", [None, 0])
def test_edge_tree_agrees_with_brute_force_near_far_and_far_side(vertices, center, grid_side, rng):
    """Points on and beside the boundary, 100-3000 km away (where the edge tree
    takes over from the grid), on the far side and at the antipodes of the
    vertices: every path returns the brute-force answer bit for bit (grid_side=0:
    the edge tree alone)."""
    kw = {} if center is None else {"center_lat_deg": center[0], "center_lon_deg": center[1]}
    poly = GreatCirclePolygon(*vertices, grid_side=grid_side, **kw)
    vlat, vlon = vertices
    blat, blon, _, _ = boundary_samples(vlat, vlon, 0.002)
    n = 4000
    start = rng.integers(0, len(vlat), 3 * n)
    az = rng.uniform(0, 360, 3 * n)
    dist = np.concatenate([rng.uniform(0, 50e3, n), rng.uniform(100e3, 3000e3, n), rng.uniform(3e6, 19.9e6, n)])
    lon, lat, _ = GEOD.fwd(vlon[start], vlat[start], az, dist)
    lat = np.concatenate([lat, blat, vlat, -vlat])
    lon = np.concatenate([lon, blon, vlon, vlon - 180.0])
    _assert_paths_agree(poly, lat, lon)


def test_edge_tree_far_points_match_geodesic():
    """Far from the rule engine's small circle (300-3000 km, where the far-field
    grid cells and, beyond the grid, the edge tree answer): outside, and the
    distance matches pyproj.Geod to the sampled boundary within 0.5 % or 50 m."""
    poly = GreatCirclePolygon(*KII_CIRCLE, name="kii")
    az = np.array([0.0, 45.0, 100.0, 185.0, 200.0, 270.0, 330.0])
    lon, lat, _ = GEOD.fwd(np.full(az.size, 135.89), np.full(az.size, 33.54), az, np.linspace(3e5, 3e6, az.size))
    inside, d = poly.evaluate(lat, lon)
    assert not inside.any()
    ref = geodesic_to_boundary_m(*KII_CIRCLE, lat, lon)
    assert np.all(np.abs(-d - ref) <= np.maximum(0.005 * ref, 50.0))


def test_edge_tree_bounds_hold_every_boundary_point():
    """Each node's line-swept sphere (segment S, radius r) must contain the arcs of
    its edges: every densely sampled boundary point (slerp, built here from
    pyproj directions) of an edge of the node is within r of S. Also checks the
    tree covers each edge exactly once in its leaves."""
    from rangeguard.earth import _polygon_kernels as k

    for vertices, center in [(STAR, SITE), (CORRIDOR, SITE), (KII_CIRCLE, (34.0, 136.0))]:
        poly = GreatCirclePolygon(*vertices, center_lat_deg=center[0], center_lon_deg=center[1])
        u = direction(poly.lat_deg, poly.lon_deg)  # counter-clockwise order, as the tree's edges
        tf, ti = poly._tf, poly._ti
        pts, edge = [], []
        for j, (a, b) in enumerate(zip(u, np.roll(u, -1, axis=0), strict=True)):
            pts.append(_edge_points(a, b, np.linspace(0, 1, 201))[0])
            edge.append(np.full(201, j))
        pts, edge = np.concatenate(pts), np.concatenate(edge)
        leaves = ti[ti[:, k.T_RIGHT] < 0]
        covered = np.sort(np.concatenate([np.arange(lo, hi) for lo, hi in leaves[:, :2]]))
        assert np.array_equal(covered, np.arange(len(u)))
        for node in range(len(ti)):
            q = pts[(edge >= ti[node, k.T_LO]) & (edge < ti[node, k.T_HI])]
            s0, axis = tf[node, k.T_S0 : k.T_S0 + 3], tf[node, k.T_D : k.T_D + 3]
            t = np.clip((q - s0) @ axis, 0.0, tf[node, k.T_LEN])
            gap = np.linalg.norm(q - (s0 + t[:, None] * axis), axis=1)
            assert gap.max() <= tf[node, k.T_RAD] + 1e-12, (node, gap.max() - tf[node, k.T_RAD])


def test_ties_go_to_the_lowest_edge_like_brute_force():
    """A square symmetric about the equator and the meridian lon 0 (vertices
    (+-1, +-1)): its centre (0, 0) is equally far from the two meridian edges
    and from the two near-parallel edges; with the point on a symmetry axis,
    two edges tie exactly. Whatever the search order, the answer must be the
    brute-force loop's (lowest index among the ties)."""
    poly = GreatCirclePolygon([-1.0, -1.0, 1.0, 1.0], [-1.0, 1.0, 1.0, -1.0], grid_side=0)
    lat = np.concatenate([np.zeros(50), np.linspace(-0.9, 0.9, 50), [0.0]])
    lon = np.concatenate([np.linspace(-0.9, 0.9, 50), np.zeros(50), [0.0]])
    _assert_paths_agree(poly, lat, lon)


def test_nan_and_invalid_latitude_give_nan(star_polygon):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lat = np.array([np.nan, 33.5, 33.5, 95.0, np.inf])
        lon = np.array([136.0, np.nan, 136.0, 136.0, 136.0])
        inside, d = star_polygon.evaluate(lat, lon)
        assert inside.tolist() == [False, False, True, False, False]
        assert np.isnan(d[[0, 1, 3, 4]]).all() and d[2] > 0
        s_in, s_d = star_polygon.evaluate(float("nan"), 136.0)
        assert not s_in and np.isnan(s_d)


def test_far_side_points_are_outside_with_large_distance(star_polygon):
    """The antipode of the site and points 100-170 deg away: outside, and the
    distance matches the geodesic to the sampled boundary within 1 %."""
    az = [0, 60, 120, 180, 240, 300]
    lon, lat, _ = GEOD.fwd(np.full(6, SITE[1]), np.full(6, SITE[0]), az, [11e6, 13e6, 15e6, 17e6, 18e6, 19e6])
    lat = np.r_[lat, -SITE[0]]
    lon = np.r_[lon, SITE[1] - 180.0]
    inside, d = star_polygon.evaluate(lat, lon)
    assert not inside.any()
    ref = geodesic_to_boundary_m(*STAR, lat, lon)
    np.testing.assert_allclose(-d, ref, rtol=0.01)


def test_shapes_and_broadcasting(star_polygon):
    inside, d = star_polygon.evaluate(33.5, 136.0)
    assert inside.shape == () and d.shape == ()
    inside, d = star_polygon.evaluate(np.float32(33.5), 136)
    assert inside.shape == () and d.shape == ()
    assert star_polygon.contains(np.array(33.5), np.array(136.0)).shape == ()
    assert star_polygon.signed_distance_m(np.array([33.5, 34.0, 50.0]), 136.0).shape == (3,)
    assert star_polygon.contains(33.5, np.linspace(130, 140, 7)).shape == (7,)
    assert star_polygon.contains(np.zeros(0), np.zeros(0)).shape == (0,)
    with pytest.raises(InputError, match=r"shape \(\) or \(N,\)"):
        star_polygon.evaluate(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(InputError, match="broadcast"):
        star_polygon.evaluate(np.zeros(2), np.zeros(3))


def test_tiny_polygon_and_no_grid():
    """A 200 m triangle still works (distances of metres), with and without grid."""
    vlat, vlon = np.array([0.0, 0.0, 0.0018]), np.array([0.0, 0.0018, 0.0009])
    for grid_side in (None, 0):
        poly = GreatCirclePolygon(vlat, vlon, grid_side=grid_side)
        inside, d = poly.evaluate(np.array([0.0005, -0.0005]), np.array([0.0009, 0.0009]))
        assert inside.tolist() == [True, False]
        np.testing.assert_allclose(np.abs(d), [GEOD.inv(0.0009, 0.0005, 0.0009, 0.0)[2]] * 2, rtol=1e-3)


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        ([0.0, 1.0], [0.0, 1.0], "at least 3 distinct vertices; got 2"),
        ([0.0, 1.0, 0.0], [0.0, 1.0, 0.0], "at least 3 distinct vertices; got 2"),
        ([0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0], r"edges 0 \(vertices 0-1\) and 2 \(vertices 2-3\) cross"),
        ([0.0, 0.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0, 0.0], "vertices 2 and 3 are repeated"),
        ([0.0, 0.0, 1.0, 0.5, 1.0, 0.0], [0.0, 2.0, 2.0, 1.0, 0.0, 2.0], "vertices 1 and 5 are the same point"),
        ([0.0, 0.0, 0.0], [0.0, 1.0, 2.0], "zero area"),
        ([0.0, np.nan, 1.0], [0.0, 1.0, 1.0], r"vertices \[1\] are not finite"),
        ([0.0, 91.0, 1.0], [0.0, 1.0, 1.0], r"vertices \[1\] have latitude outside -90..90"),
        ([0.0, 0.0, 60.0, -60.0], [0.0, 170.0, 90.0, 90.0], "within 80 degrees"),
        ([[0.0, 1.0, 2.0]], [[0.0, 1.0, 0.0]], "1-D lists of equal length"),
    ],
    ids=["two", "closed-two", "bowtie", "repeat", "touch", "collinear", "nan", "lat", "huge", "2d"],
)
def test_validation_errors(lat, lon, message):
    with pytest.raises(InputError, match=r"polygon 'kii': .*" + message):
        GreatCirclePolygon(lat, lon, name="kii")
    problems = GreatCirclePolygon.problems(lat, lon, name="kii")
    assert problems and all(p.startswith("polygon 'kii': ") for p in problems)


def test_problems_lists_every_crossing_and_is_empty_when_valid():
    """A ring that crosses itself twice: edges (0,2) and (4,6) are each a bow tie."""
    lat = [0.0, 1.0, 0.0, 1.0, 1.5, 2.5, 1.5, 2.5]
    lon = [0.0, 1.0, 1.0, 0.0, -0.5, 0.5, 0.5, -0.5]
    problems = GreatCirclePolygon.problems(lat, lon, name="kii")
    assert any("edges 0 (vertices 0-1) and 2 (vertices 2-3)" in p for p in problems)
    assert any("edges 4 (vertices 4-5) and 6 (vertices 6-7)" in p for p in problems)
    assert GreatCirclePolygon.problems(*STAR, name="star") == []
    assert GreatCirclePolygon.problems([0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]) == []  # closed ring
    assert GreatCirclePolygon.problems([0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 2.0, 1.0]) == []  # straight-through vertex


def test_bad_query_arguments():
    with pytest.raises(InputError, match="grid_side"):
        GreatCirclePolygon(*SQUARE, grid_side=-1)
    with pytest.raises(InputError, match="max_step_deg"):
        GreatCirclePolygon(*SQUARE).densified_boundary(0.0)


# --- far-field grid lists (Lipschitz test) ------------------------------------------------


def _nearest_edge_reference(vlat, vlon, lat, lon):
    """Index of the nearest edge and the angle to it (rad) for each point, on the
    unit sphere of pyproj directions, written out here: the foot of p on the
    great circle of edge a -> b (pole n = a x b / |a x b|) is on the arc when it
    lies past a (p.(n x a) >= 0) and before b (p.(b x n) >= 0); the angle is then
    asin|p.n|, else the angle to the nearer end vertex (atan2(|p x v|, p.v))."""
    u = direction(vlat, vlon)
    p = direction(lat, lon)
    a, b = u, np.roll(u, -1, axis=0)
    n = np.cross(a, b)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    on_arc = (p @ np.cross(n, a).T >= 0.0) & (p @ np.cross(b, n).T >= 0.0)
    foot = np.arcsin(np.clip(np.abs(p @ n.T), 0.0, 1.0))

    def angle_to(v):
        cross = np.linalg.norm(np.cross(p[:, None, :], v[None, :, :]), axis=2)
        return np.arctan2(cross, p @ v.T)

    d = np.where(on_arc, foot, np.minimum(angle_to(a), angle_to(b)))
    return np.argmin(d, axis=1), d


def _coastline(name):
    """Outer ring (lat, lon) of a bundled mission area (GeoJSON, read directly)."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "missions" / "areas" / f"{name}.geojson"
    geom = json.loads(path.read_text())
    while "features" in geom:
        geom = geom["features"][0]
    geom = geom.get("geometry", geom)
    ring = np.array(geom["coordinates"][0] if geom["type"] == "Polygon" else geom["coordinates"][0][0])
    return ring[:, 1], ring[:, 0]


def _far_points(center, n, rng, d_min_m=100e3, d_max_m=2500e3):
    lon, lat, _ = GEOD.fwd(
        np.full(n, center[1]), np.full(n, center[0]), rng.uniform(0, 360, n), rng.uniform(d_min_m, d_max_m, n)
    )
    return lat, lon


@pytest.mark.parametrize("case", ["kii-circle", "kii-peninsula", "shikoku"])
def test_far_field_cell_lists_hold_the_nearest_edge(case, rng):
    """Every far point that lands in a grid cell with a list finds its nearest
    edge (by the reference above) in that list (up to ties within 1e-12 rad),
    and far points mostly land in such cells, with short lists: the Lipschitz
    test keeps the lists short where the old 2-rho test left cells to the tree."""
    from rangeguard.earth import _polygon_kernels as k

    vertices = KII_CIRCLE if case == "kii-circle" else _coastline(case)
    poly = GreatCirclePolygon(*vertices)
    center = poly.center_lat_lon_deg
    lat, lon = _far_points(center, 6000, rng)
    ref_k, d = _nearest_edge_reference(poly.lat_deg, poly.lon_deg, lat, lon)
    u = direction(lat, lon)
    lengths = []
    for i in range(lat.size):
        cell = k._cell_of(poly._gp, u[i, 0], u[i, 1], u[i, 2])
        if cell < 0 or poly._cell_start[cell + 1] == poly._cell_start[cell]:
            continue
        cand = poly._cell_edges[poly._cell_start[cell] : poly._cell_start[cell + 1]]
        lengths.append(cand.size)
        nearest = np.flatnonzero(d[i] <= d[i, ref_k[i]] + 1e-12)
        assert np.isin(nearest, cand).any(), (i, lat[i], lon[i], ref_k[i], cand)
    assert len(lengths) >= 0.9 * lat.size
    assert np.mean(lengths) <= 20.0


@pytest.mark.parametrize("case", ["kii-peninsula", "shikoku", "nansei-islands"])
def test_coastlines_agree_with_brute_force_near_and_far(case, rng):
    """Bundled coastline outlines: points on and near the coast and out to 3000 km
    (the IIPs of a flight), every path gives the brute-force bits."""
    vlat, vlon = _coastline(case)
    poly = GreatCirclePolygon(vlat, vlon)
    blat, blon, _, _ = boundary_samples(poly.lat_deg, poly.lon_deg, 0.0005)
    n = 3000
    start = rng.integers(0, len(vlat), n)
    lon1, lat1, _ = GEOD.fwd(vlon[start], vlat[start], rng.uniform(0, 360, n), rng.uniform(0, 30e3, n))
    lat2, lon2 = _far_points(poly.center_lat_lon_deg, n, rng, 30e3, 3000e3)
    _assert_paths_agree(poly, np.concatenate([lat1, lat2, blat]), np.concatenate([lon1, lon2, blon]))
