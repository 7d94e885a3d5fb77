"""Lambert's ellipsoidal distance against Karney's exact geodesic (pyproj.Geod)."""

from __future__ import annotations

import numpy as np
from pyproj import Geod

from rangeguard.earth.geodesy import geodesic_distance_m

GEOD = Geod(ellps="WGS84")


def test_within_10_m_of_the_exact_geodesic_up_to_4000_km(rng):
    n = 20_000
    lat1 = rng.uniform(-70, 70, n)
    lon1 = rng.uniform(-180, 180, n)
    lat2 = np.clip(lat1 + rng.uniform(-25, 25, n), -85, 85)
    lon2 = lon1 + rng.uniform(-25, 25, n)
    _, _, exact = GEOD.inv(lon1, lat1, lon2, lat2)
    err = np.abs(geodesic_distance_m(lat1, lon1, lat2, lon2) - exact)
    assert err.max() < 10.0


def test_meridian_arc_of_one_degree_at_the_equator():
    """A 1-degree meridian arc starting at the equator is 110 574.4 m on WGS84 (Karney/pyproj),
    and 1 degree of the equator is a * pi / 180 = 111 319.49 m (hand calculation)."""
    _, _, exact = GEOD.inv(0.0, 0.0, 0.0, 1.0)
    assert abs(geodesic_distance_m(0.0, 0.0, 1.0, 0.0) - exact) < 1.0
    assert abs(geodesic_distance_m(0.0, 0.0, 0.0, 1.0) - 6378137.0 * np.pi / 180) < 0.5


def test_zero_distance_nan_and_broadcasting():
    assert geodesic_distance_m(33.5, 135.9, 33.5, 135.9) == 0.0
    assert np.isnan(geodesic_distance_m(33.5, 135.9, np.nan, 135.9))
    out = geodesic_distance_m(33.5, 135.9, np.array([30.0, 31.0]), np.array([135.0, 136.0]))
    assert out.shape == (2,)
