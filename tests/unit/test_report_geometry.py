"""Drawable mission geometry: great-circle densification of areas and gates (rangeguard.report.geometry)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rangeguard.earth.geodesy import geodetic_to_ecef
from rangeguard.mission import load_mission
from rangeguard.report.geometry import area_rings, great_circle_points, unwrap_lon


def _geocentric_unit(lat_deg, lon_deg):
    """Independent route to the edge directions: WGS84 surface points in ECEF, normalised."""
    r = geodetic_to_ecef(np.asarray(lat_deg, float), np.asarray(lon_deg, float), np.zeros(np.shape(lat_deg)))
    return r / np.linalg.norm(r, axis=-1, keepdims=True)


def test_unwrap_lon():
    assert unwrap_lon([-170.0, 10.0, 190.0, np.nan], 170.0)[:3].tolist() == [190.0, 10.0, 190.0]
    assert np.isnan(unwrap_lon([np.nan], 0.0)[0])


@settings(max_examples=40, deadline=None)
@given(st.floats(-60, 60), st.floats(-180, 180), st.floats(-60, 60), st.floats(-180, 180))
def test_great_circle_points_lie_on_the_plane_of_their_ends(lat1, lon1, lat2, lon2):
    """Every point is on the great circle through the ends: its geocentric direction is
    perpendicular to a x b (a, b the ends' directions), and ends are kept."""
    a, b = _geocentric_unit(lat1, lon1), _geocentric_unit(lat2, lon2)
    n = np.cross(a, b)
    if np.linalg.norm(n) < 1e-6 or a @ b < -0.99:
        return  # coincident or antipodal ends: no unique circle
    lat, lon = great_circle_points(lat1, lon1, lat2, lon2, max_step_deg=1.0)
    u = _geocentric_unit(lat, lon)
    assert np.abs(u @ (n / np.linalg.norm(n))).max() < 1e-9
    assert (lat[0], lat[-1]) == pytest.approx((lat1, lat2), abs=1e-9)
    steps = np.degrees(np.arccos(np.clip(np.sum(u[1:] * u[:-1], axis=1), -1, 1)))
    assert steps.max() <= 1.0 + 1e-9


def test_equator_midpoint():
    lat, lon = great_circle_points(0.0, 0.0, 0.0, 10.0, max_step_deg=5.0)
    assert lat == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    assert lon == pytest.approx([0.0, 5.0, 10.0])


def test_area_rings_are_closed_and_keep_every_vertex(kii):
    for ring in area_rings(kii, max_step_deg=0.1):
        lat, lon = kii.area_outline(ring.name)
        assert (ring.lat_deg[0], ring.lon_deg[0]) == pytest.approx((ring.lat_deg[-1], ring.lon_deg[-1]))
        pts = np.column_stack([ring.lat_deg, ring.lon_deg])
        for la, lo in zip(lat, lon, strict=True):
            assert np.min(np.hypot(pts[:, 0] - la, pts[:, 1] - lo)) < 1e-6, (ring.name, la, lo)
        u = _geocentric_unit(ring.lat_deg, ring.lon_deg)
        steps = np.degrees(np.arccos(np.clip(np.sum(u[1:] * u[:-1], axis=1), -1, 1)))
        assert steps.max() <= 0.1 + 1e-9


@pytest.fixture(scope="module")
def kii():
    from rangeguard.demo import missions_dir

    return load_mission(missions_dir() / "kii-sso.yaml")
