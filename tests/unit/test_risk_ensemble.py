"""The flights the risk analysis breaks up (rangeguard.risk.ensemble): the dispersed ones fly validate's
wind (the dispersions' reference profile, scaled and turned per run) and carry it to their fragments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rangeguard.mission import load_mission
from rangeguard.mission.vehicle import WindSpec
from rangeguard.montecarlo.sampling import DispersionSampler
from rangeguard.risk.ensemble import fly_ensemble, wind_table_of
from rangeguard.sim import simulate_vehicle

KII = Path(__file__).resolve().parents[2] / "missions" / "kii-sso.yaml"


def test_wind_table_of_scales_and_turns_clockwise_seen_from_above():
    # from the west at 10 m/s: blowing towards the east; turned 90 deg clockwise (seen from above): south
    spec = WindSpec(altitude_m=[0.0, 1000.0], speed_mps=[10.0, 20.0], direction_from_deg=[270.0, 180.0])
    table = wind_table_of(spec, scale=0.5, rotation_deg=90.0)
    assert table is not None
    # row 0: east 10 -> south 10, halved; row 1: from the south (towards north 20) -> east 20, halved
    np.testing.assert_allclose(table.east_mps, [0.0, 10.0], atol=1e-12)
    np.testing.assert_allclose(table.north_mps, [-5.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(table.altitude_m, [0.0, 1000.0])
    assert wind_table_of(None) is None


def test_dispersed_flights_fly_validates_wind_and_record_it():
    m = load_mission(KII)
    assert m.dispersions is not None and m.dispersions.wind_profile is not None and m.vehicle is not None
    ens = fly_ensemble(m, 4)
    assert len(ens.winds) == 4 and ens.winds[0].table is None  # the nominal flies the vehicle's (calm) wind
    sampler = DispersionSampler(m.dispersions, len(m.vehicle.stages), [s.name for s in m.nav_sources])
    params = sampler.draw(m.seed, np.arange(1, 4)).params
    flown = simulate_vehicle(
        m.vehicle, m.site, n=3, record_dt=0.5, per_vehicle_params=params, wind=m.dispersions.wind_profile
    )
    k = min(flown.t_s.size, ens.t_s.size)
    np.testing.assert_array_equal(ens.r_ecef[1:, :k], flown.r_ecef[:, :k])
    reference = wind_table_of(m.dispersions.wind_profile)
    assert reference is not None
    for j in range(3):
        wind = ens.winds[j + 1]
        assert wind.table is ens.winds[1].table  # one table: their fragments fly in one call
        assert wind.table is not None
        np.testing.assert_array_equal(wind.table.east_mps, reference.east_mps)
        np.testing.assert_array_equal(wind.table.north_mps, reference.north_mps)
        assert (wind.scale, wind.rotation_deg) == (params.wind_scale[j], params.wind_rotation_deg[j])
    t = 50.0
    r, _ = ens.states_at(t)
    assert len(ens.winds_at(t)) == r.shape[0]


@pytest.mark.parametrize("n", [0, -1])
def test_an_empty_ensemble_is_refused(n):
    from rangeguard.errors import InputError

    with pytest.raises(InputError, match="at least one vehicle"):
        fly_ensemble(load_mission(KII), n)
