"""The ground height of a mission (site.ground_height_m) reaches the engine's IIP (issue 16).

References: the vacuum IIP of the same state on the same ground through the public
``impact_point`` (itself checked against DOP853 in tests/integration/test_iip_accuracy.py), and
the ellipsoid foot of a latitude/longitude written out here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rangeguard.constants import WGS84_E2
from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.iip import impact_point
from rangeguard.mission.site import SiteSpec
from rangeguard.rules.base import Site
from rangeguard.rules.kinematics import IIP_LAT, IIP_LON, IIP_TOF, kinematics


def _site(**extra: float) -> SiteSpec:
    return SiteSpec(lat_deg=32.99, lon_deg=-106.97, alt_m=1401.0, launch_azimuth_deg=0.0, **extra)


def _states() -> tuple[np.ndarray, np.ndarray]:
    r = np.array([geodetic_to_ecef(33.2, -106.9, h) for h in (20e3, 60e3, 110e3)])
    enu = np.array([[300.0, 900.0, 400.0], [100.0, 1500.0, -200.0], [-50.0, 700.0, 900.0]])
    v = np.array([ecef_to_enu_matrix(33.2, -106.9).T @ e for e in enu])
    return r, v


def test_ground_height_defaults_to_the_pad_and_can_be_set() -> None:
    assert _site().impact_height_m == 1401.0
    assert _site(ground_height_m=0.0).impact_height_m == 0.0
    assert _site(ground_height_m=1200.0).impact_height_m == 1200.0


@pytest.mark.parametrize("ground_m", [0.0, 1200.0])
def test_engine_iip_lands_on_the_mission_ground(ground_m: float) -> None:
    r, v = _states()
    kin = kinematics(r, v, Site.from_spec(_site(ground_height_m=ground_m)))
    lat, lon, tof = impact_point(r, v, ground_m)
    np.testing.assert_allclose(kin.table[:, IIP_LAT], lat, rtol=0, atol=1e-12)
    np.testing.assert_allclose(kin.table[:, IIP_LON], lon, rtol=0, atol=1e-12)
    np.testing.assert_allclose(kin.table[:, IIP_TOF], tof, rtol=0, atol=1e-9)
    # the polygon kernels' unit vector is the ellipsoid foot of the IIP's latitude and longitude
    for k in range(len(r)):
        la, lo = math.radians(lat[k]), math.radians(lon[k])
        u = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), (1 - WGS84_E2) * math.sin(la)])
        np.testing.assert_allclose(kin.iip_unit[k], u / np.linalg.norm(u), atol=1e-12)


def test_raised_ground_moves_the_iip_toward_the_vehicle() -> None:
    r, v = _states()
    on_ellipsoid = kinematics(r, v, Site.from_spec(_site(ground_height_m=0.0))).table
    raised = kinematics(r, v, Site.from_spec(_site(ground_height_m=1400.0))).table
    assert np.all(raised[:, IIP_TOF] < on_ellipsoid[:, IIP_TOF])
    # northward flight: the raised ground is met further south
    assert np.all(raised[:, IIP_LAT] < on_ellipsoid[:, IIP_LAT])


def test_simulate_trajectory_iip_lands_on_the_mission_ground() -> None:
    """`simulate`'s trajectories.parquet: the IIP column is the vacuum IIP on the mission's ground."""
    from types import SimpleNamespace

    from rangeguard.cli.simulate import trajectory_table

    r, v = _states()
    record = SimpleNamespace(vehicle=0, t_s=np.arange(3.0), r_ecef=r, v_ecef=v, mass_kg=np.full(3, 100.0))
    table = trajectory_table([record], 1200.0)
    lat, lon, _tof = impact_point(r, v, 1200.0)
    np.testing.assert_allclose(table.column("iip_lat_deg").to_numpy(), lat, atol=1e-12)
    np.testing.assert_allclose(table.column("iip_lon_deg").to_numpy(), lon, atol=1e-12)
    lat0, _lon0, _ = impact_point(r, v)
    assert np.all(np.abs(table.column("iip_lat_deg").to_numpy() - lat0) > 1e-4)
