"""Convenience entry points: simulate a vehicle (recording) or a mission scenario, or record a flight again."""

from __future__ import annotations

import numpy as np

from rangeguard.errors import InputError
from rangeguard.mission.vehicle import VehicleSpec
from rangeguard.sim.params import PerVehicleParams
from rangeguard.sim.simulator import DEFAULT_COAST_DT_S, DEFAULT_DT_S, Simulator
from rangeguard.sim.trajectories import EventState, Trajectories, VehicleRecord

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


RECORD_STOP_EVENTS = ("impact", "orbit")
"""Events that end a vehicle's flight: its last recorded sample is the state there."""


def record_flight(
    sim: Simulator,
    record_dt: float,
    events,
    t_max_s: float = DEFAULT_T_MAX_S,
) -> list[VehicleRecord]:
    """Fly ``sim`` (a fresh :class:`Simulator`, at t = 0) again along a flight already flown, recording.

    ``events``: the (vehicle, t_s, name) list of that first flight (e.g. a closed-loop run's
    ``FlightResult.events``). The simulator is deterministic and its steps do not depend on the
    times it is asked for, so the replay repeats the flight exactly; its 'termination' events
    are re-applied at their times. Each vehicle's record holds samples every ``record_dt``
    seconds from liftoff while it flies, then its state at impact or orbit insertion as the
    last sample, and the exact state at each of its events (:class:`EventState`).
    """
    if not (record_dt > 0 and np.isfinite(record_dt)):
        raise InputError(f"record_dt must be a positive number of seconds; got {record_dt!r}")
    if sim.t_s != 0.0:
        raise InputError("record_flight needs a simulator at t = 0")
    n = sim.n
    stop_t = np.full(n, np.inf)
    by_time: dict[float, list[tuple[int, str]]] = {}
    for i, t, name in events:
        by_time.setdefault(float(t), []).append((int(i), str(name)))
        if name in RECORD_STOP_EVENTS:
            stop_t[int(i)] = min(stop_t[int(i)], float(t))
    t_end = min(t_max_s, float(np.max(np.where(np.isfinite(stop_t), stop_t, t_max_s))))
    grid = record_dt * np.arange(1, int(np.floor(t_end / record_dt + 1e-9)) + 1)
    times = np.unique(np.concatenate([grid, np.fromiter(by_time, float, len(by_time))]))
    grid_set = set(grid.tolist())
    chunks_t, chunks_i, chunks_x = [], [], []

    def keep(t: float, idx: np.ndarray) -> None:
        st = sim.state
        chunks_t.append(np.full(idx.size, t))
        chunks_i.append(idx)
        chunks_x.append(np.column_stack([st.r_ecef[idx], st.v_ecef[idx], st.mass_kg[idx]]))

    keep(0.0, np.arange(n))
    ev_states: list[list[EventState]] = [[] for _ in range(n)]
    for t in times:
        if t > t_max_s:
            break
        sim.advance_to(t)
        here = by_time.get(float(t), [])
        term = [i for i, name in here if name == "termination"]
        if term:
            sim.terminate(np.asarray(term))
        st = sim.state
        for i, name in here:
            ev_states[i].append(
                EventState(
                    float(t), name, st.r_ecef[i].copy(), st.v_ecef[i].copy(), float(st.mass_kg[i]), int(st.stage[i])
                )
            )
        flying = (t < stop_t - 1e-9) if float(t) in grid_set else np.zeros(n, bool)
        keep(float(t), np.flatnonzero(flying | (np.abs(t - stop_t) <= 1e-9)))
    t_all = np.concatenate(chunks_t)
    i_all = np.concatenate(chunks_i)
    x_all = np.concatenate(chunks_x)
    order = np.lexsort((t_all, i_all))
    t_all, i_all, x_all = t_all[order], i_all[order], x_all[order]
    bounds = np.searchsorted(i_all, np.arange(n + 1))
    out = []
    for i in range(n):
        sl = slice(bounds[i], bounds[i + 1])
        t_i, x = t_all[sl], x_all[sl]
        first = np.concatenate([[True], np.diff(t_i) > 0])  # a stop on a grid time is kept once
        t_i, x = t_i[first], x[first]
        out.append(
            VehicleRecord(
                vehicle=i,
                t_s=t_i,
                r_ecef=x[:, 0:3],
                v_ecef=x[:, 3:6],
                mass_kg=x[:, 6],
                events=ev_states[i],
                stopped=bool(stop_t[i] <= t_max_s),
            )
        )
    return out
