"""Closed loop: simulator -> sensor models -> AFSS engine -> commands, for N vehicles in lock-step.

This is where the outer layers meet (DESIGN.md: the simulator knows nothing
of the engine; the Monte Carlo layer wires them). Every ``nav_dt_s`` the
simulator advances, the sensor models turn truth into nav samples for each
source, the engine decides, and vehicles it terminates lose thrust and fly
ballistic to impact, intact (the thrust termination command); a destruct
command breaks the vehicle up (``Simulator.destruct``): it stops flying, its
footprint is the vacuum IIP of the break-up state, and ``destructed`` /
``t_destruct_s`` / ``destructed_by`` say so. A vehicle whose mission may
destruct after a thrust termination stays in the loop (its engine judged)
until the destruct. Alongside, the *truth* impact point is checked against
every protected area: a run whose truth IIP entered one before termination
is a missed termination (the thing the AFSS exists to prevent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rangeguard.engine import AfssState, Engine
from rangeguard.errors import InputError
from rangeguard.formats.decisionlog import DecisionLog
from rangeguard.iip import impact_point
from rangeguard.sim import Simulator, orbit_elements
from rangeguard.sim.api import scenario_failures
from rangeguard.sim.sensors import SensorModel

DEFAULT_NAV_DT_S = 0.1
"""Shortest failure onset after liftoff when onsets are dispersed, s (one cycle at the default 10 Hz).
The closed loop itself steps the engine at the mission's ``cycle_hz`` (the sim step divides it)."""
DEFAULT_T_MAX_S = 7200.0
AFTER_DECISION_STEP_S = 1.0
"""Once every vehicle is terminated or safed the loop only flies the physics, this many seconds a step."""


@dataclass
class Track:
    """Recorded truth of every vehicle: one (N, ...) snapshot per recorded time."""

    t_s: list = field(default_factory=list)
    r_ecef: list = field(default_factory=list)
    v_ecef: list = field(default_factory=list)
    iip_lat_deg: list = field(default_factory=list)
    iip_lon_deg: list = field(default_factory=list)
    ground_height_m: float = 0.0
    """The ground the recorded IIPs land on, m (the mission's site.impact_height_m)."""

    def add(self, t: float, truth) -> None:
        lat, lon, _ = impact_point(truth.r_ecef, truth.v_ecef, self.ground_height_m)
        self.t_s.append(t)
        self.r_ecef.append(truth.r_ecef.copy())
        self.v_ecef.append(truth.v_ecef.copy())
        self.iip_lat_deg.append(np.atleast_1d(lat))
        self.iip_lon_deg.append(np.atleast_1d(lon))

    def table(self):
        """Long-format pyarrow Table (one row per vehicle and time): :func:`track_table`'s columns."""
        if not self.t_s:
            return track_table(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)), [], [])
        r = np.stack(self.r_ecef, axis=1)  # (N, T, 3)
        v = np.stack(self.v_ecef, axis=1)
        n, t_count = r.shape[:2]
        return track_table(
            np.repeat(np.arange(n), t_count),
            np.tile(np.asarray(self.t_s, dtype=np.float64), n),
            r.reshape(-1, 3),
            v.reshape(-1, 3),
            np.stack(self.iip_lat_deg, axis=1).reshape(-1),
            np.stack(self.iip_lon_deg, axis=1).reshape(-1),
        )


def track_table(vehicle, t_s, r_ecef, v_ecef, iip_lat_deg, iip_lon_deg, mass_kg=None):
    """The long-format truth table (one row per vehicle and sample) that ``trajectories.parquet`` holds:
    vehicle, t_s, ECEF state (m, m/s), geodetic position (lat_deg, lon_deg, alt_m), the vacuum IIP, and
    ``mass_kg`` when given."""
    import pyarrow as pa

    from rangeguard.earth import ecef_to_geodetic

    r = np.asarray(r_ecef, dtype=np.float64).reshape(-1, 3)
    v = np.asarray(v_ecef, dtype=np.float64).reshape(-1, 3)
    lat, lon, h = ecef_to_geodetic(r) if len(r) else (np.zeros(0), np.zeros(0), np.zeros(0))
    cols = {
        "vehicle": np.asarray(vehicle, dtype=np.int64),
        "t_s": np.asarray(t_s, dtype=np.float64),
        "x_ecef_m": r[:, 0],
        "y_ecef_m": r[:, 1],
        "z_ecef_m": r[:, 2],
        "vx_ecef_mps": v[:, 0],
        "vy_ecef_mps": v[:, 1],
        "vz_ecef_mps": v[:, 2],
        "lat_deg": np.atleast_1d(lat),
        "lon_deg": np.atleast_1d(lon),
        "alt_m": np.atleast_1d(h),
        "iip_lat_deg": np.atleast_1d(np.asarray(iip_lat_deg, dtype=np.float64)),
        "iip_lon_deg": np.atleast_1d(np.asarray(iip_lon_deg, dtype=np.float64)),
    }
    if mass_kg is not None:
        cols["mass_kg"] = np.asarray(mass_kg, dtype=np.float64)
    return pa.table({k: pa.array(val) for k, val in cols.items()})


@dataclass
class FlightResult:
    """Per-vehicle outcome of a closed-loop flight (arrays, first axis vehicles)."""

    terminated: np.ndarray
    t_terminate_s: np.ndarray
    fired_by: list
    state: list
    iip_entered_protected_area: np.ndarray
    t_iip_entered_s: np.ndarray
    area_entered: list
    in_orbit: np.ndarray
    perigee_km: np.ndarray
    apogee_km: np.ndarray
    inclination_deg: np.ndarray
    impact_t_s: np.ndarray
    engine_state: object
    rule_names: tuple
    decision_log: DecisionLog | None = None
    track: Track | None = None
    events: list = field(default_factory=list)
    t_final_s: np.ndarray | None = None
    """(N,) flight time at which each vehicle's AFSS outcome became final: terminated, safed, or the
    vehicle stopped (impact, orbit); later cycles of its batch no longer change it (NaN: still open at the end)."""
    min_margin: np.ndarray | None = None
    """(N, R) smallest margin of each rule while it was active, up to ``t_final_s`` (inf: never active)."""
    cause: np.ndarray | None = None
    """(N,) engine ``Cause`` code of the final state."""
    t_safed_s: np.ndarray | None = None
    iip_lat_deg: np.ndarray | None = None
    """(N,) true vacuum IIP when the vehicle was decided (terminated, safed) or came down, degrees;
    for one still flying at the end its last IIP (NaN in orbit)."""
    iip_lon_deg: np.ndarray | None = None
    destructed: np.ndarray | None = None
    """(N,) bool: the destruct command fired (the simulator broke the vehicle up then)."""
    t_destruct_s: np.ndarray | None = None
    destructed_by: list | None = None
    """What fired each vehicle's destruct (a destruct rule, destruct-after:SECONDS; None: none)."""

    def summary(self, i: int = 0) -> dict:
        orbit = None
        if self.in_orbit[i]:
            orbit = {
                "perigee_km": round(float(self.perigee_km[i]), 2),
                "apogee_km": round(float(self.apogee_km[i]), 2),
                "inclination_deg": round(float(self.inclination_deg[i]), 3),
            }
        t_destruct = None
        if self.destructed is not None and self.t_destruct_s is not None and self.destructed[i]:
            t_destruct = round(float(self.t_destruct_s[i]), 3)
        return {
            "terminated": bool(self.terminated[i]),
            "t_terminate_s": None if not self.terminated[i] else round(float(self.t_terminate_s[i]), 3),
            "rule": self.fired_by[i],
            "state": self.state[i],
            "iip_entered_protected_area": bool(self.iip_entered_protected_area[i]),
            "orbit": orbit,
            "destructed": t_destruct is not None,
            "t_destruct_s": t_destruct,
            "destructed_by": None if self.destructed_by is None else self.destructed_by[i],
        }


def fly(
    mission,
    n: int = 1,
    scenario: str | None = None,
    seed: int | None = None,
    engine_mission=None,
    per_vehicle_params=None,
    nav_dt_s: float | None = None,
    t_max_s: float = DEFAULT_T_MAX_S,
    record: bool = False,
    record_every: int = 1,
    rng: np.random.Generator | Sequence[np.random.Generator] | None = None,
    stop_when_decided: bool = False,
    noise_scale=None,
    failure_time_shift_s=None,
    wind=None,
    observer=None,
) -> FlightResult:
    """Fly ``n`` vehicles of ``mission`` through ``scenario`` with the AFSS in the loop.

    ``engine_mission`` (default: ``mission``) supplies the rules, e.g. a
    strict or validated variant of the same flight. ``record`` keeps vehicle
    0's decision log and every vehicle's truth track (every ``record_every``-th
    engine cycle, then every AFTER_DECISION_STEP_S once all are decided).
    ``stop_when_decided`` ends the run once every vehicle is terminated,
    safed or no longer flying (for statistics that need no impact).

    Monte Carlo inputs: ``rng`` is one Generator for the batch or a sequence
    of ``n`` (one stream per vehicle, see :class:`SensorModel`);
    ``noise_scale`` multiplies the sensor noise ((n,) or (n, sources));
    ``failure_time_shift_s`` ((n,) s) moves the onset of each timed vehicle
    failure (those after liftoff) per vehicle; ``wind`` (a WindSpec)
    replaces the vehicle's wind profile; ``observer(t_s, truth, engine)`` is
    called after every engine cycle.

    A vehicle's AFSS outcome is final once it is terminated or safed, or once
    it stops flying (impact, orbit): later cycles of its batch no longer
    change it, so an outcome does not depend on which vehicles share the batch.
    """
    engine_mission = mission if engine_mission is None else engine_mission
    if nav_dt_s is None:
        nav_dt_s = 1.0 / engine_mission.cycle_hz
    sc = mission.scenarios.get(scenario) if scenario is not None else None
    failures = scenario_failures(mission, scenario)
    nav_faults = list(sc.nav_faults) if sc is not None else []
    if rng is None:
        rng = np.random.default_rng(np.random.SeedSequence([mission.seed if seed is None else seed]))
    sim = Simulator(
        mission.vehicle, mission.site, n=n, failures=failures, per_vehicle_params=per_vehicle_params, wind=wind
    )
    if failure_time_shift_s is not None:
        shift_failure_onsets(sim, failure_time_shift_s)
    sources = [s.name for s in engine_mission.nav_sources]
    strings = [s.name for s in engine_mission.string_specs]
    sensors = SensorModel(mission.sensors, sources, n, rng, faults=nav_faults, strings=strings, noise_scale=noise_scale)
    engine = Engine(engine_mission, n=n)
    protected = [
        (a.name, engine.setup.polygons[a.name], a.margin_m) for a in engine_mission.areas if a.kind == "protected"
    ]
    entered = np.zeros(n, bool)
    t_entered = np.full(n, np.nan)
    area_entered: list = [None] * n
    dlog = DecisionLog(engine.setup.rule_names) if record else None
    ground_m = mission.site.impact_height_m
    track = Track(ground_height_m=ground_m) if record else None
    decisions = None
    k = 0
    destructs = engine.setup.destructs  # a destruct may follow a thrust termination: keep such vehicles open
    final = _FinalOutcome(engine.state, ground_m)
    while not sim.done and sim.t_s < t_max_s:
        if final.closed.all():
            # every vehicle is decided for good: no more nav or rules, fly the physics to its end
            if stop_when_decided:
                break
            sim.advance_to(min(sim.t_s + AFTER_DECISION_STEP_S, t_max_s))
            if track is not None:  # record
                track.add(sim.t_s, sim.state)
            continue
        k += 1
        t = round(k * nav_dt_s, 9)
        sim.advance_to(t)
        truth = sim.state
        navs = sensors.measure(t, truth)
        decisions = engine.step(navs, t, sensors.health(t))
        terminate_now = decisions.terminate_now & ~final.closed
        if terminate_now.any():
            sim.terminate(terminate_now)
        destruct_now = decisions.destruct_now & ~final.closed
        if destruct_now.any():  # after the thrust termination of the same cycle
            sim.destruct(destruct_now)
        mode = np.where(final.closed, AfssState.SAFE, engine.state.mode)  # closed vehicles are no longer watched
        _check_truth_iip(truth, mode, protected, entered, t_entered, area_entered, t, terminate_now, ground_m)
        final.update(engine.state, t, _decided(engine.state, destructs) | ~truth.active, truth)
        if observer is not None:
            observer(t, truth, engine)
        if dlog is not None and track is not None:  # record
            dlog.add(decisions)
            if k % record_every == 0:
                track.add(t, truth)
    st = sim.state
    orbit = orbit_elements(st.r_ecef, st.v_ecef)
    in_orbit = sim.in_orbit
    final.update(engine.state, sim.t_s, np.zeros(n, bool))
    final.finish(st)
    mode = final.mode
    names = [AfssState(int(m)).name for m in mode]
    fired = [
        decisions.fired_by(i) if (decisions is not None and mode[i] == AfssState.TERMINATED) else None for i in range(n)
    ]
    destructed = ~np.isnan(final.t_destruct_s)
    destructed_by = [
        decisions.destructed_by(i) if (decisions is not None and destructed[i]) else None for i in range(n)
    ]
    return FlightResult(
        terminated=mode == AfssState.TERMINATED,
        t_terminate_s=np.where(mode == AfssState.TERMINATED, final.t_terminate_s, np.nan),
        fired_by=fired,
        state=names,
        iip_entered_protected_area=entered,
        t_iip_entered_s=t_entered,
        area_entered=area_entered,
        in_orbit=in_orbit,
        perigee_km=np.where(in_orbit, orbit.perigee_km, np.nan),
        apogee_km=np.where(in_orbit, orbit.apogee_km, np.nan),
        inclination_deg=np.where(in_orbit, orbit.inclination_deg, np.nan),
        impact_t_s=sim.impact_t_s,
        engine_state=engine.state,
        rule_names=engine.setup.rule_names,
        decision_log=dlog,
        track=track,
        events=list(sim.events),
        t_final_s=final.t_final_s,
        min_margin=final.min_margin,
        cause=final.cause,
        t_safed_s=np.where(mode == AfssState.SAFED, final.t_safed_s, np.nan),
        iip_lat_deg=final.iip_lat_deg,
        iip_lon_deg=final.iip_lon_deg,
        destructed=destructed,
        t_destruct_s=final.t_destruct_s,
        destructed_by=destructed_by,
    )


def _decided(state, destructs: bool) -> np.ndarray:
    """(N,) the vehicles whose AFSS sequence is over: safed, or thrust-terminated and (where the mission
    may destruct after a thrust termination) destructed."""
    terminated = state.mode == AfssState.TERMINATED
    if destructs:
        terminated &= ~np.isnan(state.t_destruct_s)
    decided: np.ndarray = terminated | (state.mode == AfssState.SAFED)
    return decided


class _FinalOutcome:
    """Each vehicle's AFSS outcome, frozen once the vehicle is closed (decided or no longer flying)."""

    def __init__(self, state, ground_height_m: float = 0.0):
        n = state.mode.shape[0]
        self.ground_height_m = ground_height_m
        self.closed = np.zeros(n, bool)
        self.t_final_s = np.full(n, np.nan)
        self.mode = state.mode.copy()
        self.t_terminate_s = state.t_terminate_s.copy()
        self.t_destruct_s = state.t_destruct_s.copy()
        self.t_safed_s = state.t_safed_s.copy()
        self.cause = state.cause.copy()
        self.min_margin = state.min_margin.copy()
        self.iip_lat_deg = np.full(n, np.nan)
        self.iip_lon_deg = np.full(n, np.nan)

    def update(self, state, t_s: float, closing: np.ndarray, truth=None) -> None:
        """Copy the state of the vehicles still open; then close those in ``closing``, keeping
        their true vacuum IIP at that moment (the footprint: where debris of a terminated
        vehicle falls, to first order; the impact point itself for one that came down)."""
        open_ = ~self.closed
        if not open_.any():
            return
        self.mode[open_] = state.mode[open_]
        self.t_terminate_s[open_] = state.t_terminate_s[open_]
        self.t_destruct_s[open_] = state.t_destruct_s[open_]
        self.t_safed_s[open_] = state.t_safed_s[open_]
        self.cause[open_] = state.cause[open_]
        self.min_margin[open_] = state.min_margin[open_]
        now = open_ & closing
        self.t_final_s[now] = t_s
        self.closed |= now
        if truth is not None and now.any():
            self._footprint(truth, now)

    def finish(self, truth) -> None:
        """The last IIP of the vehicles never closed (still flying at the end, or in orbit: NaN)."""
        left = ~self.closed & np.isnan(self.iip_lat_deg)
        if left.any():
            self._footprint(truth, left)

    def _footprint(self, truth, mask) -> None:
        # one vehicle at a time (the scalar kernel): the value must not depend on which
        # other vehicles close in the same cycle, i.e. on how runs are chunked
        for i in np.nonzero(mask)[0]:
            self.iip_lat_deg[i], self.iip_lon_deg[i], _ = impact_point(
                truth.r_ecef[i], truth.v_ecef[i], self.ground_height_m
            )


_ONSET_COLUMNS = ("F_SCALE_T", "F_LOSS_T", "F_ATT_T")


def shift_failure_onsets(sim: Simulator, shift_s) -> None:
    """Move the onset of each timed failure of ``sim`` by ``shift_s`` ((N,) or scalar, s), per vehicle.

    Only onsets after liftoff move (a failure from liftoff, or one with no
    time such as an ignition failure, stays as it is); a shifted onset never
    goes below 1 nav cycle after liftoff. Call before the first advance: the
    simulator applies the same scenario to every vehicle, and this is how a
    Monte Carlo run disperses the failure time.
    """
    from rangeguard.sim import kernels as K

    shift = np.broadcast_to(np.asarray(shift_s, dtype=np.float64), (sim.n,))
    if sim.t_s != 0.0:
        raise InputError("shift_failure_onsets must be called before the simulator advances")
    fp = sim._FP  # (N, NFP) failure parameters; onsets are read at every step
    for name in _ONSET_COLUMNS:
        col = getattr(K, name)
        t0 = fp[:, col]
        timed = np.isfinite(t0) & (t0 > 0.0)
        fp[timed, col] = np.maximum(t0[timed] + shift[timed], DEFAULT_NAV_DT_S)


def _check_truth_iip(
    truth, mode, protected, entered, t_entered, area_entered, t, terminate_now, ground_height_m: float
) -> None:
    """Mark vehicles whose true vacuum IIP reached what a protected area protects before the AFSS acted.

    "Reached" means deeper inside the area than its built-in safety margin
    (``AreaSpec.margin_m``): the rules watch the grown outline, the land lies
    at least the margin inside it. Checked up to and including the cycle of
    termination (the IIP at the moment of termination is where the debris
    falls, to first order).
    """
    if not protected:
        return
    watch = (mode == AfssState.ARMED) | terminate_now
    watch &= ~entered
    if not watch.any():
        return
    idx = np.nonzero(watch)[0]
    lat, lon, _ = impact_point(truth.r_ecef[idx], truth.v_ecef[idx], ground_height_m)
    for name, poly, margin_m in protected:
        with np.errstate(invalid="ignore"):
            inside = poly.signed_distance_m(lat, lon) >= margin_m
        hit = idx[inside & ~entered[idx]]
        if hit.size:
            entered[hit] = True
            t_entered[hit] = t
            for i in hit:
                area_entered[i] = name
