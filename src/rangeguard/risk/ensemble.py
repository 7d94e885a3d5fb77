"""The flights the risk analysis breaks up: the nominal vehicle and a few dispersed ones.

A failure at flight time t starts from where the vehicle is at t. That place is uncertain: the
vehicle's own dispersions (thrust, Isp, mass, aerodynamics, wind, misalignments; the mission's
``dispersions`` section, as ``rangeguard validate`` draws them) spread it. :func:`fly_ensemble` flies
the nominal vehicle (index 0) and ``n_vehicles - 1`` dispersed ones (Monte Carlo runs 1..n-1 of the
mission's seed, the same draws as ``validate``'s runs) with the batched simulator, recording every
``record_dt_s``. A break-up at t then draws each fragment's parent state from the vehicles flying at
t (:meth:`FlightEnsemble.states_at`): the state uncertainty of 14 CFR 450.121(c) without a fitted
covariance.

Each flight's wind is recorded with it (:attr:`FlightEnsemble.winds`): the nominal flies the vehicle's
own ``wind``; a dispersed one, like ``validate``'s runs, the ``dispersions.wind_profile`` (or the
vehicle's wind) scaled by its ``wind_scale`` and turned by its ``wind_rotation_deg``. A fragment then
flies its parent's wind: the wind uncertainty of the flights is the fragments' too.

Flight events (ignition, burnout, separation, fairing jettison, orbit) are the nominal vehicle's: they
give the burn intervals the failure model spreads over (:mod:`rangeguard.risk.failures`) and the
release times of planned drops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rangeguard.constants import DEG
from rangeguard.errors import InputError
from rangeguard.iip.drag import WindTable
from rangeguard.mission.model import Mission
from rangeguard.mission.vehicle import WindSpec
from rangeguard.montecarlo.sampling import DispersionSampler
from rangeguard.risk.breakup import ParentWind
from rangeguard.sim import PerVehicleParams, Trajectories, simulate_vehicle

DEFAULT_VEHICLES = 32
"""Flights in the ensemble (the nominal and 31 dispersed): their spread at a failure time is the
break-up state's uncertainty. 32 keep the ensemble's cost near a second on this machine; the spread
of a 32-sample set is known to about +-13 % (1 / sqrt(2 (n - 1)))."""
RECORD_DT_S = 0.5
"""Recording interval, s: failure times fall on the midpoints of 1 s intervals."""
_BURN_START = "ignition"
_BURN_END = ("burnout", "guided_cutoff")


@dataclass(frozen=True, eq=False)
class FlightEnsemble:
    """Recorded states of the nominal vehicle (index 0) and the dispersed ones, on one time grid.

    ``t_s`` (T,); ``r_ecef``, ``v_ecef`` (M, T, 3), m and m/s, NaN after a vehicle's flight ended;
    ``mass_kg`` (M, T); ``stage`` (T,): the nominal's lowest attached stage; ``events``: the nominal's
    (t_s, name), in time order.
    """

    t_s: NDArray[np.float64]
    r_ecef: NDArray[np.float64]
    v_ecef: NDArray[np.float64]
    mass_kg: NDArray[np.float64]
    stage: NDArray[np.int64]
    events: tuple[tuple[float, str], ...]
    winds: tuple[ParentWind, ...] = ()  # (M,) the wind each flight flew in

    @property
    def n_vehicles(self) -> int:
        return int(self.r_ecef.shape[0])

    def index(self, t_s: float) -> int:
        """The recorded time nearest ``t_s`` (clamped to the record)."""
        k = int(np.searchsorted(self.t_s, t_s))
        if k >= self.t_s.size:
            return int(self.t_s.size - 1)
        if k > 0 and t_s - self.t_s[k - 1] <= self.t_s[k] - t_s:
            return k - 1
        return k

    def _flying(self, t_s: float) -> tuple[int, NDArray[np.bool_]]:
        k = self.index(t_s)
        ok = np.all(np.isfinite(self.r_ecef[:, k, :]), axis=1) & np.all(np.isfinite(self.v_ecef[:, k, :]), axis=1)
        if not ok[0]:
            raise InputError(f"risk: the nominal vehicle is not flying at T+{t_s:g} s (its flight ended before)")
        return k, ok

    def states_at(self, t_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(r_ecef, v_ecef), each (m, 3): the vehicles still flying at the recorded time nearest ``t_s``."""
        k, ok = self._flying(t_s)
        return np.array(self.r_ecef[ok, k, :]), np.array(self.v_ecef[ok, k, :])

    def winds_at(self, t_s: float) -> tuple[ParentWind, ...]:
        """The winds of the vehicles :meth:`states_at` returns, in the same order."""
        _, ok = self._flying(t_s)
        winds = self.winds or (ParentWind(None),) * self.n_vehicles
        return tuple(w for w, flying in zip(winds, ok, strict=True) if flying)

    def stage_at(self, t_s: float) -> int:
        return int(self.stage[self.index(t_s)])

    def burns(self) -> list[tuple[int, float, float]]:
        """(stage, ignition t_s, burnout t_s) of each burn of the nominal flight, in order."""
        out: list[tuple[int, float, float]] = []
        start: float | None = None
        for t, name in self.events:
            if name == _BURN_START:
                start = t
            elif name in _BURN_END and start is not None:
                out.append((len(out), start, t))
                start = None
        return out

    def release_time(self, release: str, stage: int | None) -> float:
        """When a planned drop is released: the separation of ``stage`` (its (stage+1)-th separation
        event) or the fairing's jettison. InputError if the nominal flight has no such event."""
        if release == "fairing_jettison":
            times = [t for t, name in self.events if name == "fairing_jettison"]
            what = "a fairing jettison"
        else:
            separations = [t for t, name in self.events if name == "separation"]
            times = separations[stage : stage + 1] if stage is not None else []
            what = f"a separation of stage {stage}"
        if not times:
            raise InputError(f"jettisoned: the nominal flight has no {what}; check the vehicle or the release")
        return times[0]


def wind_table_of(spec: WindSpec | None, scale: float = 1.0, rotation_deg: float = 0.0) -> WindTable | None:
    """The drag propagation's table of a wind profile, its speed times ``scale`` and turned clockwise
    seen from above by ``rotation_deg`` (the simulator's dispersion of the wind); None for no profile."""
    if spec is None:
        return None
    toward = (np.asarray(spec.direction_from_deg, dtype=np.float64) + 180.0) * DEG
    speed = np.asarray(spec.speed_mps, dtype=np.float64)
    east, north = speed * np.sin(toward), speed * np.cos(toward)
    c, s = np.cos(rotation_deg * DEG), np.sin(rotation_deg * DEG)
    return WindTable(
        np.asarray(spec.altitude_m, dtype=np.float64), scale * (east * c + north * s), scale * (-east * s + north * c)
    )


def _fly(
    mission: Mission, n: int, dispersed: bool, vehicle_table: WindTable | None
) -> tuple[Trajectories, list[ParentWind]]:
    """Fly ``n`` vehicles: the nominal (``dispersed`` False) or runs 1..n of the dispersions, with the
    wind each flies in (``vehicle_table``: the vehicle's own wind's table, shared with the dispersed
    flights when they fly it too, so that their fragments fly in one call)."""
    vehicle = mission.vehicle
    assert vehicle is not None  # fly_ensemble checks it
    if not dispersed:
        flown = simulate_vehicle(vehicle, mission.site, n=n, record_dt=RECORD_DT_S)
        return flown, [ParentWind(vehicle_table)] * n
    assert mission.dispersions is not None
    sources = [s.name for s in mission.nav_sources]
    sampler = DispersionSampler(mission.dispersions, len(vehicle.stages), sources)
    params: PerVehicleParams = sampler.draw(mission.seed, np.arange(1, n + 1)).params
    profile = mission.dispersions.wind_profile  # as validate flies them (null: the vehicle's own)
    flown = simulate_vehicle(vehicle, mission.site, n=n, record_dt=RECORD_DT_S, per_vehicle_params=params, wind=profile)
    table = vehicle_table if profile is None else wind_table_of(profile)
    scale = params.scalar_array("wind_scale", n)
    rotation = params.scalar_array("wind_rotation_deg", n)
    return flown, [ParentWind(table, float(a), float(b)) for a, b in zip(scale, rotation, strict=True)]


def fly_ensemble(mission: Mission, n_vehicles: int = DEFAULT_VEHICLES) -> FlightEnsemble:
    """Fly the nominal vehicle and ``n_vehicles - 1`` dispersed ones (module docstring)."""
    if not (isinstance(n_vehicles, int) and n_vehicles >= 1):
        raise InputError(f"risk: the ensemble needs at least one vehicle, got {n_vehicles!r}")
    if mission.vehicle is None:
        raise InputError("risk: the mission has no vehicle to fly; add a `vehicle` section")
    vehicle_table = wind_table_of(mission.vehicle.wind)
    nominal, winds = _fly(mission, 1, False, vehicle_table)
    events = tuple(sorted((float(t), str(name)) for _, t, name in nominal.events))
    n = n_vehicles if mission.dispersions is not None else 1  # without dispersions every flight is the nominal
    t_s = nominal.t_s
    r_all = np.full((n, t_s.size, 3), np.nan)
    v_all = np.full((n, t_s.size, 3), np.nan)
    m_all = np.full((n, t_s.size), np.nan)
    r_all[0], v_all[0], m_all[0] = nominal.r_ecef[0], nominal.v_ecef[0], nominal.mass_kg[0]
    if n > 1:
        dispersed, dispersed_winds = _fly(mission, n - 1, True, vehicle_table)
        winds += dispersed_winds
        k = min(dispersed.t_s.size, t_s.size)
        r_all[1:, :k], v_all[1:, :k], m_all[1:, :k] = (
            dispersed.r_ecef[:, :k],
            dispersed.v_ecef[:, :k],
            dispersed.mass_kg[:, :k],
        )
    stage = np.asarray(nominal.stage[0], dtype=np.int64)
    return FlightEnsemble(t_s, r_all, v_all, m_all, stage, events, tuple(winds))
