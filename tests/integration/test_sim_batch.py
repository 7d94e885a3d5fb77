"""Batch behaviour: the parallel N-vehicle kernel equals N single runs; dispersions and wind."""

from __future__ import annotations

import numpy as np
import pytest

from rangeguard.earth.geodesy import ecef_to_enu
from rangeguard.mission.site import SiteSpec
from rangeguard.mission.vehicle import WindSpec, load_vehicle
from rangeguard.sim import PerVehicleParams, Simulator, simulate_vehicle

KII = SiteSpec(name="Spaceport Kii", lat_deg=33.54, lon_deg=135.89, alt_m=0.0, launch_azimuth_deg=180.0)


@pytest.fixture(scope="module")
def sounding():
    return load_vehicle("missions/vehicles/sounding.yaml")


def test_batch_equals_single_runs(sounding, rng):
    n = 40  # above the threshold where the parallel kernel may be used
    p = PerVehicleParams(
        thrust_scale=rng.normal(1, 0.03, n), cd_scale=rng.normal(1, 0.1, n), attitude_bias_pitch_deg=rng.normal(0, 1, n)
    )
    batch = Simulator(sounding, KII, n=n, per_vehicle_params=p, parallel=True)
    batch.advance_to(70.0)
    for k in (0, 17, 39):
        one = Simulator(
            sounding,
            KII,
            n=1,
            per_vehicle_params=PerVehicleParams(
                thrust_scale=p.thrust_scale[k],
                cd_scale=p.cd_scale[k],
                attitude_bias_pitch_deg=p.attitude_bias_pitch_deg[k],
            ),
        )
        one.advance_to(70.0)
        np.testing.assert_array_equal(one.state.r_ecef[0], batch.state.r_ecef[k])
    assert np.ptp(batch.state.r_ecef[:, 2]) > 100.0  # the dispersions do disperse


def test_burn_rate_scale_keeps_the_impulse(sounding):
    """A 10 % faster burn ends at 60/1.1 s having used the same propellant."""
    fast = Simulator(sounding, KII, n=1, per_vehicle_params=PerVehicleParams(burn_rate_scale=1.1))
    slow = Simulator(sounding, KII, n=1)
    fast.advance_to(61.0)
    slow.advance_to(61.0)
    assert fast.state.mass_kg[0] == pytest.approx(slow.state.mass_kg[0], rel=1e-9)
    assert [t for _, t, n in fast.events if n == "burnout"] == [pytest.approx(60.0 / 1.1)]


def test_a_fin_stabilised_rocket_turns_into_the_wind(sounding):
    """Zero angle of attack means weathercocking: with a wind blowing FROM the west the
    thrust axis tilts west (upwind), so the impact moves west of the calm-day impact."""
    calm = simulate_vehicle(sounding, KII, record_dt=5.0)
    wind = WindSpec(altitude_m=[0.0, 10e3], speed_mps=[15.0, 30.0], direction_from_deg=[270.0, 270.0])
    windy = simulate_vehicle(sounding, KII, record_dt=5.0, wind=wind)
    e_calm = ecef_to_enu(calm.r_ecef[0, -1], 33.54, 135.89)[0]
    e_windy = ecef_to_enu(windy.r_ecef[0, -1], 33.54, 135.89)[0]
    assert e_windy < e_calm - 1000.0
