"""Unit tests of the vacuum IIP: hand calculations, special cases, shapes, symmetry.

The accuracy sweep against an independent numerical propagation is in
tests/integration/test_iip_accuracy.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from rangeguard.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, WGS84_A_M, WGS84_B_M
from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.errors import InputError
from rangeguard.iip import impact_point, impact_point_nb

MU = MU_EARTH_M3_S2
OMEGA = OMEGA_EARTH_RAD_S
_TO_GEODETIC = pyproj.Transformer.from_crs("EPSG:4978", "EPSG:4979")


def enu_velocity(lat_deg, lon_deg, east, north, up):
    """Earth-relative ECEF velocity from local east/north/up components (m/s)."""
    return ecef_to_enu_matrix(lat_deg, lon_deg).T @ np.array([east, north, up], dtype=float)


# --- hand calculations ---------------------------------------------------------


def test_radial_free_fall_over_the_pole_matches_the_closed_form():
    """Drop from rest 100 km above the north pole (on the axis, so the inertial
    velocity is also zero: a degenerate e = 1 conic).

    Radial free fall from rest at r0 (e.g. Vallado 2013, or by energy):
    r = r0 cos^2(eta), t = sqrt(r0^3 / (2 mu)) (eta + sin(eta) cos(eta)).
    The ground is r = b, so cos^2(eta) = b / r0 = u and
    t = sqrt(r0^3 / (2 mu)) (acos(sqrt(u)) + sqrt(u (1 - u))).
    The impact is the pole itself: latitude 90 deg.
    """
    r0 = WGS84_B_M + 100e3
    u = WGS84_B_M / r0
    t_expected = math.sqrt(r0**3 / (2 * MU)) * (math.acos(math.sqrt(u)) + math.sqrt(u * (1 - u)))
    lat, _lon, tof = impact_point([0.0, 0.0, r0], [0.0, 0.0, 0.0])
    assert tof == pytest.approx(t_expected, rel=1e-12)
    assert lat == pytest.approx(90.0, abs=1e-9)


@pytest.mark.parametrize("lon0_deg", [0.0, 170.0, -120.0])
def test_day_long_radial_flight_returns_to_its_inertial_start_and_wraps_longitude(lon0_deg):
    """Straight up (inertially) from 100 km above the equator at 10.9 km/s: a
    radial conic (e = 1) that rises to ~1.9e8 m and falls back along the same
    line, landing about 3 days later at the inertial direction it left from. On the
    equator the ellipsoid radius is a, so with the radial Kepler equation
    r = A (1 - cos eta), t = sqrt(A^3 / mu) (eta - sin eta), A = -mu / (2 energy):
    tof = sqrt(A^3 / mu) [(eta1 - sin eta1) - (eta0 - sin eta0)] with
    eta0 = acos(1 - r0 / A) (rising) and eta1 = 2 pi - acos(1 - a / A) (falling).
    The Earth turns omega tof (~20 rad) meanwhile, so the ECEF impact longitude is
    lon0 - omega tof, wrapped into [-180, 180): several turns of wrapping."""
    r0 = WGS84_A_M + 100e3
    lon0 = math.radians(lon0_deg)
    rhat = np.array([math.cos(lon0), math.sin(lon0), 0.0])
    v_i = 10900.0 * rhat
    v_ecef = v_i - np.cross([0.0, 0.0, OMEGA], r0 * rhat)
    big_a = -MU / (2.0 * (0.5 * 10900.0**2 - MU / r0))
    eta0 = math.acos(1.0 - r0 / big_a)
    eta1 = 2.0 * math.pi - math.acos(1.0 - WGS84_A_M / big_a)
    tof_expected = math.sqrt(big_a**3 / MU) * ((eta1 - math.sin(eta1)) - (eta0 - math.sin(eta0)))
    lon_expected = (lon0_deg - math.degrees(OMEGA * tof_expected) + 180.0) % 360.0 - 180.0
    lat, lon, tof = impact_point(r0 * rhat, v_ecef)
    assert OMEGA * tof_expected > 6 * math.pi  # the longitude wraps several times
    assert tof == pytest.approx(tof_expected, rel=1e-9)
    assert lat == pytest.approx(0.0, abs=1e-9)
    assert -180.0 <= lon <= 180.0
    assert ((lon - lon_expected + 180.0) % 360.0) - 180.0 == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("h_m, v_rel", [(100e3, 3000.0), (250e3, 6500.0), (20e3, 200.0)])
def test_equatorial_horizontal_shot_matches_classical_conic(h_m, v_rel):
    """Eastward horizontal shot on the equator. In the equatorial plane the
    ellipsoid is the circle r = a, so the textbook true-anomaly formulas give
    the answer (a different route from the code's f and g functions):

    inertial speed v = v_rel + omega r0, horizontal, so the start is apogee
    (sub-circular): p = (r0 v)^2 / mu, e = 1 - p / r0. Impact where
    r = p / (1 + e cos nu) = a: cos nu = (p / a - 1) / e, nu in (pi, 2 pi).
    Eccentric anomaly tan(E/2) = sqrt((1-e)/(1+e)) tan(nu/2), mean anomaly
    M = E - e sin E, n = sqrt(mu / sma^3), sma = p / (1 - e^2);
    tof = (M_impact - pi) / n. Longitude travelled: (nu - pi) - omega tof.
    """
    lon0 = 20.0
    r0 = WGS84_A_M + h_m
    v = v_rel + OMEGA * r0
    p = (r0 * v) ** 2 / MU
    e = 1.0 - p / r0
    nu = 2 * math.pi - math.acos((p / WGS84_A_M - 1.0) / e)
    big_e = 2 * math.atan(math.sqrt((1 - e) / (1 + e)) * math.tan(nu / 2)) % (2 * math.pi)
    sma = p / (1 - e * e)
    tof_expected = (big_e - e * math.sin(big_e) - math.pi) / math.sqrt(MU / sma**3)
    lon_expected = lon0 + math.degrees(nu - math.pi - OMEGA * tof_expected)

    r = geodetic_to_ecef(0.0, lon0, h_m)
    lat, lon, tof = impact_point(r, enu_velocity(0.0, lon0, v_rel, 0.0, 0.0))
    assert tof == pytest.approx(tof_expected, rel=1e-9, abs=1e-6)
    assert lat == pytest.approx(0.0, abs=1e-9)
    assert lon == pytest.approx(lon_expected, abs=1e-8)  # 1e-8 deg ~ 1 mm


def test_short_drop_from_a_few_metres_lands_under_the_pad():
    """At rest 3 m above the pad: it falls t = sqrt(2 h / g) with
    g = mu / r^2 - omega^2 r cos^2(lat) (the centrifugal part along the
    vertical) ~ 9.79 m/s^2, so ~0.78 s, and lands within millimetres of the
    pad (plumb-line deflection from the normal ~0.1 deg -> ~5 mm; Coriolis
    ~1e-5 m)."""
    lat0, lon0 = 30.4, 131.0
    r = geodetic_to_ecef(lat0, lon0, 3.0)
    rn = np.linalg.norm(r)
    g = MU / rn**2 - OMEGA**2 * rn * math.cos(math.radians(lat0)) ** 2
    lat, lon, tof = impact_point(r, [0.0, 0.0, 0.0])
    assert tof == pytest.approx(math.sqrt(2 * 3.0 / g), rel=2e-3)
    dist = pyproj.Geod(ellps="WGS84").inv(lon0, lat0, lon, lat)[2]
    assert dist < 0.02


# --- special cases ---------------------------------------------------------------


@pytest.mark.parametrize("h_m", [0.0, -5.0, -2000.0])
def test_state_at_or_below_the_surface_is_its_own_impact_point(h_m):
    """Decision: geodetic height <= 0 -> tof = 0 and the point itself (its
    geodetic lat/lon, checked with pyproj), whatever the velocity."""
    r = geodetic_to_ecef(35.0, -120.0, h_m)
    lat_ref, lon_ref, _ = _TO_GEODETIC.transform(*r)
    lat, lon, tof = impact_point(r, enu_velocity(35.0, -120.0, 10.0, 0.0, 50.0))
    # exactly 0 m may round to either side of the surface: tof is then tiny
    assert tof == 0.0 or (h_m == 0.0 and tof < 1e-3)
    assert lat == pytest.approx(lat_ref, abs=1e-9)
    assert lon == pytest.approx(lon_ref, abs=1e-9)


def _inertial_speed_state(lat_deg, lon_deg, h_m, v_inertial, up_fraction=0.0):
    """ECEF state whose *inertial* velocity has the given size, horizontal
    (plus an optional radial part), heading east."""
    r = geodetic_to_ecef(lat_deg, lon_deg, h_m)
    east = ecef_to_enu_matrix(lat_deg, lon_deg)[0]
    rhat = r / np.linalg.norm(r)
    d = math.sqrt(1 - up_fraction**2) * east + up_fraction * rhat
    v_i = v_inertial * d
    return r, v_i - np.cross([0.0, 0.0, OMEGA], r)


def test_circular_orbit_has_no_impact():
    r, v = _inertial_speed_state(10.0, 0.0, 300e3, 0.0)
    v_circ = math.sqrt(MU / np.linalg.norm(r))
    r, v = _inertial_speed_state(10.0, 0.0, 300e3, v_circ)
    assert all(math.isnan(x) for x in impact_point(r, v))


@pytest.mark.parametrize("factor", [1.0, 1.0 + 1e-12, 1.2])
def test_parabolic_and_hyperbolic_have_no_impact(factor):
    """Inertial speed >= escape speed sqrt(2 mu / r): no impact, even flying down."""
    r = geodetic_to_ecef(-30.0, 60.0, 150e3)
    v_esc = math.sqrt(2 * MU / np.linalg.norm(r))
    r, v = _inertial_speed_state(-30.0, 60.0, 150e3, factor * v_esc, up_fraction=-0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(math.isnan(x) for x in impact_point(r, v))


def test_nan_and_inf_give_nan_without_warnings_and_leave_other_rows_alone():
    r = np.tile(geodetic_to_ecef(28.5, -80.6, 50e3), (5, 1))
    v = np.tile(enu_velocity(28.5, -80.6, 1000.0, 500.0, 800.0), (5, 1))
    r[1, 0] = np.nan
    v[2, 2] = np.inf
    r[3, 1] = -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lat, lon, tof = impact_point(r, v)
        single = impact_point(r[1], v[1])
    assert np.isnan(lat[1:4]).all() and np.isnan(lon[1:4]).all() and np.isnan(tof[1:4]).all()
    assert np.isfinite(lat[[0, 4]]).all()
    assert lat[0] == lat[4] and tof[0] == tof[4]
    assert all(math.isnan(x) for x in single)


# --- shapes and input checks ---------------------------------------------------


def test_single_state_returns_floats_and_batch_matches_row_by_row(rng):
    n = 50
    lat0 = rng.uniform(-60, 60, n)
    lon0 = rng.uniform(-180, 180, n)
    r = geodetic_to_ecef(lat0, lon0, rng.uniform(1e3, 200e3, n))
    v = rng.normal(0.0, 2000.0, (n, 3))
    lat, lon, tof = impact_point(r, v)
    assert lat.shape == lon.shape == tof.shape == (n,)
    for i in range(0, n, 7):
        one = impact_point(r[i], v[i])
        assert all(isinstance(x, float) for x in one)
        np.testing.assert_array_equal(one, (lat[i], lon[i], tof[i]))
    # lists work, and a single (3,) vector broadcasts against (N, 3)
    lat_b, _, _ = impact_point(r[0].tolist(), v[:3])
    np.testing.assert_array_equal(lat_b, impact_point(np.tile(r[0], (3, 1)), v[:3])[0])


def test_large_batch_uses_the_parallel_path_with_the_same_answers(rng):
    n = 5000
    r = geodetic_to_ecef(rng.uniform(-60, 60, n), rng.uniform(-180, 180, n), rng.uniform(1e3, 2e5, n))
    v = rng.normal(0.0, 2000.0, (n, 3))
    lat, lon, tof = impact_point(r, v)
    small = impact_point(r[:1000], v[:1000])
    np.testing.assert_array_equal(lat[:1000], small[0])
    np.testing.assert_array_equal(tof[:1000], small[2])


@pytest.mark.parametrize(
    "r, v",
    [
        (np.zeros(2), np.zeros(3)),
        (np.zeros((4, 3)), np.zeros((5, 3))),
        (np.zeros((2, 2, 3)), np.zeros((2, 2, 3))),
        (np.zeros((4, 3)), np.zeros(4)),
    ],
)
def test_bad_shapes_raise_input_error_naming_the_argument(r, v):
    with pytest.raises(InputError, match=r"r_ecef|v_ecef"):
        impact_point(r, v)


# --- properties ------------------------------------------------------------------

_states = st.tuples(
    st.floats(-70, 70),  # lat_deg
    st.floats(-180, 180),  # lon_deg
    st.floats(500, 250e3),  # h_m
    st.floats(100, 7300),  # speed
    st.floats(-20, 85),  # flight-path angle, deg
    st.floats(0, 360),  # heading, deg
)


def _state(lat, lon, h, speed, fpa, hdg):
    f, a = math.radians(fpa), math.radians(hdg)
    r = geodetic_to_ecef(lat, lon, h)
    v = enu_velocity(
        lat, lon, speed * math.cos(f) * math.sin(a), speed * math.cos(f) * math.cos(a), speed * math.sin(f)
    )
    return r, v


@settings(max_examples=60, deadline=None)
@given(_states, st.floats(-180, 180))
def test_rotating_the_state_about_the_axis_rotates_the_impact_point(s, dlon):
    """The Earth and gravity are symmetric about z: rotating the state by dlon
    moves the impact longitude by dlon and changes nothing else."""
    r, v = _state(*s)
    c, sn = math.cos(math.radians(dlon)), math.sin(math.radians(dlon))
    rot = np.array([[c, -sn, 0.0], [sn, c, 0.0], [0.0, 0.0, 1.0]])
    lat1, lon1, tof1 = impact_point(r, v)
    lat2, lon2, tof2 = impact_point(rot @ r, rot @ v)
    assert lat2 == pytest.approx(lat1, abs=1e-9)
    assert ((lon2 - lon1 - dlon + 180.0) % 360.0) - 180.0 == pytest.approx(0.0, abs=1e-8)
    assert tof2 == pytest.approx(tof1, rel=1e-10, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(_states)
def test_mirroring_through_the_equator_mirrors_the_impact_point(s):
    """z -> -z (with the velocity) is a symmetry of the model: lat -> -lat."""
    r, v = _state(*s)
    m = np.array([1.0, 1.0, -1.0])
    lat1, lon1, tof1 = impact_point(r, v)
    lat2, lon2, tof2 = impact_point(r * m, v * m)
    assert lat2 == pytest.approx(-lat1, abs=1e-9)
    assert lon2 == pytest.approx(lon1, abs=1e-9)
    assert tof2 == pytest.approx(tof1, rel=1e-10, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(_states)
def test_the_impact_point_is_on_the_ellipsoid_and_its_own_impact_point(s):
    """Consistency: restarting from the impact point gives tof 0 there."""
    r, v = _state(*s)
    lat, lon, tof = impact_point(r, v)
    if math.isnan(lat):
        return
    assert tof > 0.0
    r_imp = geodetic_to_ecef(lat, lon, -1e-6)
    lat2, lon2, tof2 = impact_point(r_imp, v)
    assert (lat2, tof2) == (pytest.approx(lat, abs=1e-12), 0.0)


# --- the numba kernel ------------------------------------------------------------


@njit
def _user_kernel(r, v):
    out = np.empty((r.shape[0], 3))
    for i in range(r.shape[0]):
        la, lo, t = impact_point_nb(r[i, 0], r[i, 1], r[i, 2], v[i, 0], v[i, 1], v[i, 2])
        out[i, 0] = la
        out[i, 1] = lo
        out[i, 2] = t
    return out


def test_numba_kernel_is_callable_from_user_numba_code_in_radians(rng):
    r = geodetic_to_ecef(rng.uniform(-60, 60, 20), rng.uniform(-180, 180, 20), rng.uniform(1e3, 1e5, 20))
    v = rng.normal(0.0, 1500.0, (20, 3))
    out = _user_kernel(r, v)
    lat, lon, tof = impact_point(r, v)
    np.testing.assert_allclose(np.degrees(out[:, 0]), lat, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.degrees(out[:, 1]), lon, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(out[:, 2], tof)


# --- the Lagrange f and g functions (one definition: vacuum._lagrange_fg) --------------------------


@pytest.mark.parametrize("dE", [1e-6, 0.3, 1.5, 3.0, 4.5, 6.0])
@pytest.mark.parametrize(
    "state",
    [
        ([6.6e6, 0.0, 1.0e5], [-200.0, 7.1e3, 900.0]),  # near-circular, ascending
        ([6.5e6, 1.0e6, -2.0e5], [-3.0e3, 2.0e3, 2.5e3]),  # sub-orbital, descending later
        ([6.45e6, 0.0, 0.0], [4.0e3, 1.0e2, -1.0e2]),  # nearly radial (e close to 1)
    ],
)
def test_conic_point_from_f_and_g_is_the_two_body_flight_by_dop853(state, dE):
    """r(dE) = f r0 + g v0 and its derivative against scipy's DOP853 on r'' = -mu r / r^3 for the
    Kepler time t(dE) = sqrt(a^3/mu) (dE - e cos E0 sin dE + e sin E0 (1 - cos dE)) (Battin 1999,
    sec. 4.6), with every conic constant computed here from the state."""
    from scipy.integrate import solve_ivp

    from rangeguard.iip.vacuum import _conic_point

    r0v, v0v = np.array(state[0]), np.array(state[1])
    r0 = np.linalg.norm(r0v)
    alpha = 2.0 / r0 - v0v @ v0v / MU
    a = 1.0 / alpha
    n_inv = math.sqrt(a**3 / MU)
    ecos0 = 1.0 - r0 / a
    esin0 = (r0v @ v0v) / math.sqrt(MU * a)
    s, c = math.sin(dE), math.cos(dE)
    t = n_inv * (dE - ecos0 * s + esin0 * (1.0 - c))
    px, py, pz, dx, dy, dz, s_out, c_out, omc = _conic_point(dE, *r0v, *v0v, a / r0, n_inv * r0 / a, n_inv * esin0)
    assert (s_out, c_out) == pytest.approx((s, c), abs=1e-15)
    assert omc == pytest.approx(1.0 - c, abs=1e-15)

    def rhs(_t, y):
        return np.concatenate([y[3:], -MU * y[:3] / np.linalg.norm(y[:3]) ** 3])

    sol = solve_ivp(rhs, (0.0, t), np.concatenate([r0v, v0v]), method="DOP853", rtol=1e-12, atol=1e-6)
    r_ref, v_ref = sol.y[:3, -1], sol.y[3:, -1]
    np.testing.assert_allclose([px, py, pz], r_ref, rtol=0, atol=5e-3)  # m: DOP853's own error over hours
    dt_de = n_inv * (1.0 - (ecos0 * c - esin0 * s))  # dt/dE = r / (a n) = sqrt(a^3/mu) (1 - e cos E)
    np.testing.assert_allclose([dx, dy, dz], v_ref * dt_de, rtol=1e-9, atol=1e-6 * np.linalg.norm(v_ref) * dt_de)
