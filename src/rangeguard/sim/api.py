"""Convenience entry points: simulate a vehicle (recording) or a mission scenario."""

from __future__ import annotations

import numpy as np

from rangeguard.errors import InputError
from rangeguard.mission.vehicle import VehicleSpec
from rangeguard.sim.params import PerVehicleParams
from rangeguard.sim.simulator import DEFAULT_COAST_DT_S, DEFAULT_DT_S, Simulator
from rangeguard.sim.trajectories import Trajectories

DEFAULT_RECORD_DT_S = 1.0
DEFAULT_T_MAX_S = 7200.0


def simulate_vehicle(
    vehicle: VehicleSpec,
    site,
    n: int = 1,
    failures=(),
    dt: float = DEFAULT_DT_S,
    record_dt: float = DEFAULT_RECORD_DT_S,
    seed: int | None = None,
    per_vehicle_params: PerVehicleParams | None = None,
    t_max_s: float = DEFAULT_T_MAX_S,
    wind=None,
    coast_dt: float | None = None,
) -> Trajectories:
    """Fly N vehicles from liftoff until every one has impacted or reached orbit (or ``t_max_s``),
    recording the state every ``record_dt`` seconds (and at the end)."""
    if not (record_dt > 0):
        raise InputError(f"record_dt must be > 0 s; got {record_dt!r}")
    sim = Simulator(
        vehicle,
        site,
        n=n,
        failures=failures,
        per_vehicle_params=per_vehicle_params,
        dt=dt,
        seed=seed,
        wind=wind,
        coast_dt=DEFAULT_COAST_DT_S if coast_dt is None else coast_dt,
    )
    times, rows = [], []

    def record():
        s = sim.state
        times.append(sim.t_s)
        rows.append(
            (
                s.r_ecef.copy(),
                s.v_ecef.copy(),
                s.mass_kg.copy(),
                s.q_body_to_ecef.copy(),
                s.omega_body_rad_s.copy(),
                s.q_cmd_body_to_ecef.copy(),
                s.stage.copy(),
            )
        )

    record()
    k = 0
    while not sim.done and sim.t_s < t_max_s:
        k += 1
        sim.advance_to(min(k * record_dt, t_max_s))
        record()
    cols = list(zip(*rows, strict=True))
    st = [np.stack(c, axis=1) for c in cols]
    return Trajectories(
        t_s=np.asarray(times),
        r_ecef=st[0],
        v_ecef=st[1],
        mass_kg=st[2],
        q_body_to_ecef=st[3],
        omega_body_rad_s=st[4],
        q_cmd_body_to_ecef=st[5],
        stage=st[6],
        events=list(sim.events),
        impact_t_s=sim.impact_t_s,
        terminated=sim.terminated,
        in_orbit=sim.in_orbit,
    )


def _mission_wind(mission):
    for path in (("wind",), ("environment", "wind")):
        obj = mission
        for name in path:
            obj = getattr(obj, name, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    return None


def scenario_failures(mission, scenario: str | None) -> list:
    """The failures of ``mission.scenarios[scenario]`` (empty for None); InputError if unknown."""
    if scenario is None:
        return []
    scenarios = getattr(mission, "scenarios", None) or {}
    if scenario not in scenarios:
        allowed = ", ".join(sorted(scenarios)) or "(the mission defines none)"
        raise InputError(f"unknown scenario {scenario!r}; allowed: {allowed}")
    sc = scenarios[scenario]
    return list(getattr(sc, "failures", None) or (sc.get("failures", []) if isinstance(sc, dict) else []))


def simulate(
    mission,
    n: int = 1,
    scenario: str | None = None,
    seed: int | None = None,
    dt: float | None = None,
    record_dt: float = DEFAULT_RECORD_DT_S,
    per_vehicle_params: PerVehicleParams | None = None,
) -> Trajectories:
    """Simulate ``mission`` (anything with ``.site``, ``.vehicle`` and optionally ``.scenarios``).

    ``scenario`` selects ``mission.scenarios[scenario].failures``; nav-side
    faults in that list are left to the sensor models. Returns the recorded
    :class:`Trajectories`.
    """
    vehicle = getattr(mission, "vehicle", None)
    site = getattr(mission, "site", None)
    if not isinstance(vehicle, VehicleSpec) or site is None:
        raise InputError("simulate(mission): the mission needs a 'site' and a 'vehicle' (a VehicleSpec)")
    return simulate_vehicle(
        vehicle,
        site,
        n=n,
        failures=scenario_failures(mission, scenario),
        dt=DEFAULT_DT_S if dt is None else dt,
        record_dt=record_dt,
        seed=seed,
        per_vehicle_params=per_vehicle_params,
        wind=_mission_wind(mission),
    )
