"""rangeguard.sim: the batched 3-DoF launch-vehicle simulator (see design/sim.md).

Public API::

    simulate(mission, n=1, scenario=None, seed=None, dt=None) -> Trajectories
    simulate_vehicle(vehicle, site, n=1, failures=(), dt=0.1, record_dt=1.0, seed=None,
                     per_vehicle_params=None) -> Trajectories
    Simulator(vehicle, site, n, failures=..., per_vehicle_params=..., dt=..., seed=...)
        .t_s, .state, .advance_to(t_s), .terminate(mask), .done
    orbit_elements(r_ecef, v_ecef) -> OrbitElements(perigee_km, apogee_km, inclination_deg)
    read_eng(path), write_eng(motor, path), parse_eng(text)
"""

from rangeguard.sim.api import simulate, simulate_vehicle
from rangeguard.sim.motors import EngMotor, parse_eng, read_eng, write_eng
from rangeguard.sim.params import PerVehicleParams
from rangeguard.sim.simulator import DEFAULT_DT_S, EVENT_NAMES, FAILURE_EVENTS, SimState, Simulator
from rangeguard.sim.trajectories import OrbitElements, Trajectories, orbit_elements

__all__ = [
    "DEFAULT_DT_S",
    "EVENT_NAMES",
    "FAILURE_EVENTS",
    "EngMotor",
    "OrbitElements",
    "PerVehicleParams",
    "SimState",
    "Simulator",
    "Trajectories",
    "orbit_elements",
    "parse_eng",
    "read_eng",
    "simulate",
    "simulate_vehicle",
    "write_eng",
]
