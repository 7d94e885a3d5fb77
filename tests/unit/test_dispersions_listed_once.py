"""The mission's dispersion fields are the one list of dispersions, and each one acts on the flight.

The simulator's per-vehicle parameters take their names from the mission schema
(``rangeguard.mission.dispersions``), so a dispersion added to the schema is drawn
by the sampler and handed to the simulator without a second list. What this test
guards is the remaining step: a parameter the simulator receives but does not use
would disperse nothing and make validation look better than the vehicle is. Each
parameter, moved off its nominal, must move the vehicle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rangeguard.mission import load_mission
from rangeguard.mission.dispersions import (
    NOT_VEHICLE_PARAMETERS,
    STAGE_PARAMETERS,
    VEHICLE_PARAMETERS,
    DispersionsSpec,
    StageDispersionsSpec,
    nominal,
)
from rangeguard.montecarlo.sampling import DispersionSampler
from rangeguard.sim import PerVehicleParams
from rangeguard.sim.api import simulate_vehicle
from rangeguard.sim.params import FIELDS

MISSIONS = Path(__file__).resolve().parents[2] / "missions"
T_END_S = 60.0  # first-stage flight of the Kii vehicle: every parameter has acted by then
MOVED_M = 1.0  # a parameter "acts" when it moves the vehicle by more than this


def test_the_schema_is_the_list():
    distribution_fields = [
        name
        for name, f in DispersionsSpec.model_fields.items()
        if name not in ("description", "stages", "wind_profile", "correlations")
    ]
    assert set(VEHICLE_PARAMETERS) == set(distribution_fields) - set(NOT_VEHICLE_PARAMETERS)
    assert STAGE_PARAMETERS == tuple(StageDispersionsSpec.model_fields)
    assert FIELDS == STAGE_PARAMETERS + VEHICLE_PARAMETERS
    sampler = DispersionSampler(None, 2, ["a"])
    assert sampler.names == (
        *(f"stages[{k}].{p}" for k in range(2) for p in STAGE_PARAMETERS),
        *VEHICLE_PARAMETERS,
        "sensor_noise_scale.a",
        "failure_time_s",
    )


def test_unknown_parameter_is_refused():
    with pytest.raises(Exception, match="unknown parameter"):
        PerVehicleParams(cd_sclae=1.1)


@pytest.fixture(scope="module")
def flight():
    mission = load_mission(MISSIONS / "kii-sso.yaml")
    wind = mission.dispersions.wind_profile  # the reference wind that wind_scale and wind_rotation_deg act on
    assert wind is not None

    def fly(params):
        traj = simulate_vehicle(
            mission.vehicle, mission.site, n=1, per_vehicle_params=params, seed=1, t_max_s=T_END_S, wind=wind
        )
        return np.asarray(traj.r_ecef)[0, -1]  # vehicle 0 at the last record

    return fly, fly(PerVehicleParams())


@pytest.mark.parametrize("name", FIELDS)
def test_each_parameter_moves_the_vehicle(flight, name):
    fly, nominal_r = flight
    off = nominal(name) * 1.1 if nominal(name) else 5.0  # 10 % on a scale, 5 deg on an angle offset
    moved = fly(PerVehicleParams(**{name: off}))
    assert np.linalg.norm(moved - nominal_r) > MOVED_M, f"{name} does not act on the simulated flight"
