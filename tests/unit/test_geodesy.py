"""Tests for rangeguard.earth.geodesy against pyproj and pymap3d.

References:

* pyproj (PROJ): ``Transformer`` EPSG:4979 (WGS84 geographic 3-D) <-> EPSG:4978
  (WGS84 geocentric). Its geodetic -> ECEF direction is the exact closed form;
  its ECEF -> geodetic direction is a non-iterative approximation that is
  exact only near the ellipsoid (measured: 8e-12 deg / 1e-6 m below 10 km,
  1.4e-7 deg / 2.4 cm at 2000 km altitude).
* pymap3d: ``geodetic2ecef``/``ecef2geodetic`` (measured ecef2geodetic error:
  1e-14 deg below 10 km, up to 7e-7 deg at 2000 km; heights to 3e-9 m),
  ``ecef2enu``/``enu2ecef``/``ecef2ned`` and the vector rotations
  ``ecef2enuv``/``ecef2nedv``.

So the ECEF -> geodetic direction is checked at the full 1e-9 deg / 1 mm
tolerance (a) against both libraries where they are themselves that exact
(h <= 10 km), and (b) over the whole range -5 km..2000 km against the exact
truth: random geodetic points, converted to ECEF by pyproj's exact forward
transform, must come back to the same latitude, longitude and height. Above
10 km the comparison with the libraries' inverses uses their own (looser,
stated) accuracy.
"""

from __future__ import annotations

import numpy as np
import pymap3d as pm
import pytest
from pyproj import Transformer

from rangeguard.earth.geodesy import (
    ecef_from_geodetic_nb,
    ecef_to_enu,
    ecef_to_enu_matrix,
    ecef_to_geodetic,
    ecef_to_ned,
    ecef_to_ned_matrix,
    enu_to_ecef,
    geodetic_frame_nb,
    geodetic_from_ecef_nb,
    geodetic_height_nb,
    geodetic_to_ecef,
)
from rangeguard.errors import InputError

DEG_TOL = 1e-9  # deg
M_TOL = 1e-3  # m

GEO_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
ECEF_TO_GEO = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


def random_geodetic(rng, n, h_min=-5e3, h_max=2e6):
    """Latitudes uniform on the sphere plus exact poles, near-poles and the equator."""
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    special = np.array([90.0, -90.0, 90.0 - 1e-7, -90.0 + 1e-7, 0.0, 89.999, -45.0])
    lat[: len(special)] = special
    lon = rng.uniform(-180.0, 180.0, n)
    h = rng.uniform(h_min, h_max, n)
    h[:4] = [h_min, h_max, 0.0, h_max]
    return lat, lon, h


def pyproj_ecef(lat, lon, h):
    x, y, z = GEO_TO_ECEF.transform(lon, lat, h)
    return np.column_stack([x, y, z])


def assert_geodetic_close(lat, lon, h, lat_ref, lon_ref, h_ref, deg_tol=DEG_TOL, m_tol=M_TOL):
    """Latitude and height directly; longitude wrapped and scaled by cos(lat)
    (it is undefined at the poles, so compare the east-west arc instead)."""
    np.testing.assert_allclose(lat, lat_ref, rtol=0, atol=deg_tol)
    np.testing.assert_allclose(h, h_ref, rtol=0, atol=m_tol)
    dlon = (np.asarray(lon) - lon_ref + 180.0) % 360.0 - 180.0
    np.testing.assert_allclose(dlon * np.cos(np.radians(lat_ref)), 0.0, rtol=0, atol=deg_tol)


def test_geodetic_to_ecef_matches_pyproj_and_pymap3d(rng):
    lat, lon, h = random_geodetic(rng, 5000)
    r = geodetic_to_ecef(lat, lon, h)
    np.testing.assert_allclose(r, pyproj_ecef(lat, lon, h), rtol=0, atol=M_TOL)
    np.testing.assert_allclose(r, np.column_stack(pm.geodetic2ecef(lat, lon, h)), rtol=0, atol=M_TOL)


def test_ecef_to_geodetic_exact_over_full_range(rng):
    """pyproj forward (exact) then ours back: the original point, -5 km..2000 km, all latitudes."""
    lat, lon, h = random_geodetic(rng, 20_000)
    lat_o, lon_o, h_o = ecef_to_geodetic(pyproj_ecef(lat, lon, h))
    assert_geodetic_close(lat_o, lon_o, h_o, lat, lon, h)


def test_ecef_to_geodetic_matches_libraries_near_surface(rng):
    lat, lon, h = random_geodetic(rng, 5000, h_min=-5e3, h_max=10e3)
    r = pyproj_ecef(lat, lon, h)
    lat_o, lon_o, h_o = ecef_to_geodetic(r)
    lon_p, lat_p, h_p = ECEF_TO_GEO.transform(r[:, 0], r[:, 1], r[:, 2])
    assert_geodetic_close(lat_o, lon_o, h_o, lat_p, lon_p, h_p)
    lat_m, lon_m, h_m = pm.ecef2geodetic(r[:, 0], r[:, 1], r[:, 2])
    assert_geodetic_close(lat_o, lon_o, h_o, lat_m, lon_m, h_m)


def test_ecef_to_geodetic_matches_libraries_to_their_accuracy_at_altitude(rng):
    lat, lon, h = random_geodetic(rng, 5000, h_min=10e3, h_max=2e6)
    r = pyproj_ecef(lat, lon, h)
    lat_o, lon_o, h_o = ecef_to_geodetic(r)
    lon_p, lat_p, h_p = ECEF_TO_GEO.transform(r[:, 0], r[:, 1], r[:, 2])
    assert_geodetic_close(lat_o, lon_o, h_o, lat_p, lon_p, h_p, deg_tol=3e-7, m_tol=0.05)
    lat_m, lon_m, h_m = pm.ecef2geodetic(r[:, 0], r[:, 1], r[:, 2])
    assert_geodetic_close(lat_o, lon_o, h_o, lat_m, lon_m, h_m, deg_tol=2e-6, m_tol=M_TOL)


def test_round_trip(rng):
    lat, lon, h = random_geodetic(rng, 20_000)
    r = geodetic_to_ecef(lat, lon, h)
    lat_o, lon_o, h_o = ecef_to_geodetic(r)
    assert_geodetic_close(lat_o, lon_o, h_o, lat, lon, h)
    np.testing.assert_allclose(geodetic_to_ecef(lat_o, lon_o, h_o), r, rtol=0, atol=M_TOL)


def test_poles_and_axis_points():
    """On the z axis: latitude +-90 exactly enough, height = |z| - b."""
    b = 6356752.314245
    r = np.array([[0.0, 0.0, b + 1000.0], [0.0, 0.0, -(b - 4000.0)], [0.0, 0.0, b + 2e6]])
    lat, _, h = ecef_to_geodetic(r)
    np.testing.assert_allclose(lat, [90.0, -90.0, 90.0], rtol=0, atol=DEG_TOL)
    np.testing.assert_allclose(h, [1000.0, -4000.0, 2e6], rtol=0, atol=M_TOL)


def test_numba_kernels_agree_with_numpy_functions(rng):
    lat, lon, h = random_geodetic(rng, 300)
    r = geodetic_to_ecef(lat, lon, h)
    lat_np, lon_np, h_np = ecef_to_geodetic(r)
    for k in range(len(lat)):
        la, lo, hh = geodetic_from_ecef_nb(r[k, 0], r[k, 1], r[k, 2])
        assert np.degrees(la) == pytest.approx(lat_np[k], abs=1e-12)
        assert np.degrees(lo) == pytest.approx(lon_np[k], abs=1e-12)
        assert hh == pytest.approx(h_np[k], abs=1e-6)
        x, y, z = ecef_from_geodetic_nb(np.radians(lat[k]), np.radians(lon[k]), h[k])
        np.testing.assert_allclose([x, y, z], r[k], rtol=0, atol=1e-6)


def random_origins(rng, n):
    lat0 = rng.uniform(-89.0, 89.0, n)
    lon0 = rng.uniform(-180.0, 180.0, n)
    h0 = rng.uniform(-100.0, 3000.0, n)
    return lat0, lon0, h0


def test_enu_and_ned_match_pymap3d(rng):
    lat0, lon0, h0 = random_origins(rng, 200)
    # targets within a few thousand km of each origin, up to orbit height
    lat = np.clip(lat0 + rng.uniform(-20, 20, 200), -90, 90)
    lon = lon0 + rng.uniform(-20, 20, 200)
    h = rng.uniform(-5e3, 2e6, 200)
    r = geodetic_to_ecef(lat, lon, h)
    enu = ecef_to_enu(r, lat0, lon0, h0)
    e, n, u = pm.ecef2enu(r[:, 0], r[:, 1], r[:, 2], lat0, lon0, h0)
    np.testing.assert_allclose(enu, np.column_stack([e, n, u]), rtol=0, atol=M_TOL)
    ned = ecef_to_ned(r, lat0, lon0, h0)
    nn, ee, d = pm.ecef2ned(r[:, 0], r[:, 1], r[:, 2], lat0, lon0, h0)
    np.testing.assert_allclose(ned, np.column_stack([nn, ee, d]), rtol=0, atol=M_TOL)
    back = enu_to_ecef(enu, lat0, lon0, h0)
    x, y, z = pm.enu2ecef(enu[:, 0], enu[:, 1], enu[:, 2], lat0, lon0, h0)
    np.testing.assert_allclose(back, np.column_stack([x, y, z]), rtol=0, atol=M_TOL)
    np.testing.assert_allclose(back, r, rtol=0, atol=M_TOL)


def test_rotation_matrices_match_pymap3d_vector_rotations(rng):
    lat0, lon0, _ = random_origins(rng, 100)
    lat0[:2] = [90.0, -90.0]
    v = rng.normal(size=(100, 3)) * 1e3
    enu = np.einsum("nij,nj->ni", ecef_to_enu_matrix(lat0, lon0), v)
    enu_ref = np.column_stack(pm.ecef2enuv(v[:, 0], v[:, 1], v[:, 2], lat0, lon0))
    np.testing.assert_allclose(enu, enu_ref, rtol=0, atol=1e-9)
    ned = np.einsum("nij,nj->ni", ecef_to_ned_matrix(lat0, lon0), v)
    ned_ref = np.column_stack(pm.ecef2nedv(v[:, 0], v[:, 1], v[:, 2], lat0, lon0))
    np.testing.assert_allclose(ned, ned_ref, rtol=0, atol=1e-9)
    m = ecef_to_enu_matrix(lat0, lon0)
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), np.broadcast_to(np.eye(3), m.shape), atol=1e-15)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-14)  # proper rotation


def test_broadcasting_single_vs_batch(rng):
    lat, lon, h = random_geodetic(rng, 10)
    r = geodetic_to_ecef(lat, lon, h)
    assert r.shape == (10, 3)
    lat_b, lon_b, h_b = ecef_to_geodetic(r)
    assert lat_b.shape == lon_b.shape == h_b.shape == (10,)
    for k in range(10):
        rk = geodetic_to_ecef(lat[k], lon[k], h[k])
        assert rk.shape == (3,)
        np.testing.assert_array_equal(rk, r[k])
        la, lo, hh = ecef_to_geodetic(r[k])
        assert np.ndim(la) == np.ndim(lo) == np.ndim(hh) == 0
        assert (la, lo, hh) == (lat_b[k], lon_b[k], h_b[k])
    # scalar height broadcast against arrays; default height 0
    np.testing.assert_array_equal(geodetic_to_ecef(lat, lon, 100.0), geodetic_to_ecef(lat, lon, np.full(10, 100.0)))
    np.testing.assert_array_equal(geodetic_to_ecef(lat, lon), geodetic_to_ecef(lat, lon, 0.0))
    # matrices
    assert ecef_to_enu_matrix(10.0, 20.0).shape == (3, 3)
    assert ecef_to_ned_matrix(lat, lon).shape == (10, 3, 3)
    np.testing.assert_array_equal(ecef_to_ned_matrix(lat, lon)[2], ecef_to_ned_matrix(lat[2], lon[2]))


def test_local_frames_broadcast_over_rows_and_origins(rng):
    lat0, lon0, h0 = random_origins(rng, 5)
    r = geodetic_to_ecef(lat0 + 1.0, lon0 + 1.0, 1e5)
    # one origin for all rows
    batch = ecef_to_enu(r, lat0[0], lon0[0], h0[0])
    assert batch.shape == (5, 3)
    for k in range(5):
        single = ecef_to_enu(r[k], lat0[0], lon0[0], h0[0])
        assert single.shape == (3,)
        np.testing.assert_allclose(single, batch[k], rtol=0, atol=1e-9)
    # one origin per row
    per_row = ecef_to_ned(r, lat0, lon0, h0)
    for k in range(5):
        np.testing.assert_allclose(per_row[k], ecef_to_ned(r[k], lat0[k], lon0[k], h0[k]), rtol=0, atol=1e-9)
    enu = ecef_to_enu(r, lat0, lon0, h0)
    np.testing.assert_allclose(enu_to_ecef(enu, lat0, lon0, h0), r, rtol=0, atol=1e-6)
    np.testing.assert_allclose(enu_to_ecef(enu[0], lat0[0], lon0[0], h0[0]), r[0], rtol=0, atol=1e-6)


def test_nan_in_nan_out():
    r = np.array([[np.nan, 0.0, 6.4e6], [6.4e6, 0.0, 0.0]])
    lat, lon, h = ecef_to_geodetic(r)
    assert np.isnan(lat[0]) and np.isnan(h[0])
    assert np.isfinite(lat[1]) and np.isfinite(h[1])
    assert np.all(np.isnan(geodetic_to_ecef(np.nan, 10.0, 0.0)))


@pytest.mark.parametrize("bad", [np.zeros(2), np.zeros((4, 2)), np.zeros((2, 4, 3))])
def test_bad_shape_is_rejected_with_a_message_naming_the_input(bad):
    # geodesy raises InputError (a ValueError subclass) naming the argument
    with pytest.raises(InputError, match="r_ecef"):
        ecef_to_geodetic(bad)
    with pytest.raises(InputError, match="r_ecef"):
        ecef_to_enu(bad, 0.0, 0.0)


def test_geodetic_frame_gives_the_sines_and_cosines_of_pyprojs_latitude_and_longitude(rng):
    """geodetic_frame_nb: (sin lat, cos lat, sin lon, cos lon, h) without arctangents, against pyproj's
    geodetic point; on the polar axis sin lon = cos lon = 0 (no NaN)."""
    lat, lon, h = random_geodetic(rng, 2000)
    r = pyproj_ecef(lat, lon, h)
    away = np.abs(lat) < 90.0 - 1e-6  # off the axis, where the longitude means something
    for i in np.flatnonzero(away):
        sl, cl, so, co, hh = geodetic_frame_nb(r[i, 0], r[i, 1], r[i, 2])
        lat_i, lon_i = np.radians(lat[i]), np.radians(lon[i])
        assert abs(sl - np.sin(lat_i)) < 1e-9 and abs(cl - np.cos(lat_i)) < 1e-9
        assert abs(so - np.sin(lon_i)) < 1e-9 and abs(co - np.cos(lon_i)) < 1e-9
        assert abs(hh - h[i]) < M_TOL
        assert geodetic_height_nb(r[i, 0], r[i, 1], r[i, 2]) == hh
    sl, cl, so, co, hh = geodetic_frame_nb(0.0, 0.0, 6.4e6)
    assert (sl, cl, so, co) == (1.0, 0.0, 0.0, 0.0) and np.isfinite(hh)
