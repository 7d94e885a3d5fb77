"""What the engine precomputes once from a mission: rules, windows, events, phases, safing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from rangeguard.constants import WGS84_B_M
from rangeguard.earth.polygon import GreatCirclePolygon
from rangeguard.engine._kernels import (
    ACTION_DEGRADE,
    ACTION_DESTRUCT,
    ACTION_MONITOR,
    ACTION_TERMINATE,
    EVENT_ABOVE,
    EVENT_COL,
    EVENT_SCHED,
    EVENT_THRESHOLD,
    GATE_LIMITS,
    PHASE_END,
    PHASE_FROM,
    PHASE_START,
    PHASE_TO,
    POLICIES,
    RULE_ACTION,
    RULE_AFTER,
    RULE_FROM,
    RULE_PERSISTENCE,
    RULE_PHASE,
    RULE_RECEIVE_CLOCK,
    RULE_TO,
    RULE_UNTIL,
    RULE_WINDOWED,
    VOTE_FAULTY,
    VOTE_NO_HEALTHY,
    VOTE_POLICY,
)
from rangeguard.mission.areas import farthest_vertex_m
from rangeguard.mission.model import ArmingSpec, Mission, NavGateSpec, SafingSpec
from rangeguard.rules import Rule, Site, build_rules
from rangeguard.rules.boundary import area_polygons
from rangeguard.rules.kinematics import QUANTITY_COLUMNS, SPEED, H
from rangeguard.rules.program import RuleProgram

# Gross-error limits of the nav gate (a failed unit often reports zeros or garbage):
# a position inside the Earth's core or beyond the Moon, or a speed far above
# escape speed, is not a navigation solution; such samples are rejected and
# counted like NaN ones, and the data-loss rule judges the gap. The mission's
# nav_gate section sets the finer checks (time against the receive clock, jumps).
_R_MIN_M = 0.5 * WGS84_B_M
_R_MAX_M = 1.0e9
_V_MAX_MPS = 1.0e5


def _table(n_rows: int, dtype: DTypeLike, columns: Mapping[int, ArrayLike]) -> NDArray[np.generic]:
    """A kernel's table of ``n_rows`` rows: ``columns`` by column index (each one value per row, or one for all)."""
    out = np.empty((n_rows, len(columns)), dtype)
    for c, values in columns.items():
        out[:, c] = values
    return out


ACTIONS = {
    "terminate": ACTION_TERMINATE,  # an alias of thrust_termination: what terminate always did
    "thrust_termination": ACTION_TERMINATE,
    "degrade": ACTION_DEGRADE,
    "monitor": ACTION_MONITOR,
    "destruct": ACTION_DESTRUCT,
}


@dataclass(frozen=True, eq=False)
class EngineSetup:
    """Static configuration, derived once from a :class:`~rangeguard.mission.Mission`."""

    mission: Mission
    rules: tuple[Rule, ...]
    rule_names: tuple[str, ...]
    persistence_s: NDArray[np.float64]  # (R,)
    receive_clock: NDArray[np.bool_]  # (R,) bool: persistence on the receive-time clock
    action: NDArray[np.int64]  # (R,) ACTION_TERMINATE (thrust termination) / _DEGRADE / _MONITOR / _DESTRUCT
    from_t_s: NDArray[np.float64]  # (R,)
    to_t_s: NDArray[np.float64]  # (R,)
    after_event: NDArray[np.int64]  # (R,) event index or -1
    until_event: NDArray[np.int64]  # (R,)
    phase: NDArray[np.int64]  # (R,) phase index or -1
    windowed: NDArray[np.bool_]  # (R,) bool: the rule has a time window, event or phase condition
    event_names: tuple[str, ...]  # event 0 is liftoff
    event_sched_t_s: NDArray[np.float64]  # (E,) scheduled time, NaN for detected / liftoff
    event_col: NDArray[np.int64]  # (E,) kinematics column of a detected event's quantity, -1: scheduled
    event_above: NDArray[np.bool_]  # (E,) bool: detected when the quantity is above (else below) the threshold
    event_threshold: NDArray[np.float64]  # (E,)
    arm_params: NDArray[np.float64]  # the arming parameters as the front kernel takes them (_kernels.ARM_*)
    phase_start: NDArray[np.int64]  # (P,) event index
    phase_end: NDArray[np.int64]  # (P,) event index or -1
    phase_from_t_s: NDArray[np.float64]
    phase_to_t_s: NDArray[np.float64]
    string_names: tuple[str, ...]
    string_source: NDArray[np.int64]  # (K,) source index per string
    strings_are_sources: bool  # string s reads source s for every s (rows are the store's own layout)
    source_names: tuple[str, ...]
    site: Site
    policy: str
    policy_code: int  # the policy as the vote kernel takes it (_kernels.POLICIES)
    faulty_string_votes: bool
    terminate_if_no_healthy: bool
    polygons: dict[str, GreatCirclePolygon]  # every area's polygon by name
    protected_polygons: tuple[GreatCirclePolygon, ...]
    clear_min_range_m: float
    arming: ArmingSpec
    safing: SafingSpec
    nav_gate: NavGateSpec  # mission.nav_gate: what the ingest accepts
    gate_limits: NDArray[np.float64]  # the gate's limits as the ingest kernel takes them (_kernels.GATE_LIMITS)
    cycle_s: float  # the engine is stepped at least this often (1 / mission.cycle_hz)
    needs_iip_range: bool  # some rule, event or safing condition reads the IIP range
    program: RuleProgram  # the rules with a compiled kind, evaluated together in one compiled pass
    packed: NDArray[np.bool_]  # (R,) bool: the rule is evaluated by ``program``
    unpacked: tuple[int, ...]  # the rules that evaluate themselves (stateful ones: gates)
    # derived from the fields above (__post_init__):
    destruct_after_s: float = field(init=False)  # termination.destruct_after_s (NaN: no automatic destruct)
    destructs: bool = field(init=False)  # a destruct can follow a thrust termination (a delay or a destruct rule)
    safes: bool = field(init=False)  # some safing condition can safe a vehicle (orbit, or IIP clear of protected areas)
    resync_n: int = field(init=False)  # nav_gate.resync_samples
    # the rules, events, phases and policy as the compiled kernels take them (_kernels.RULE_*, EVENT_*, ...)
    rule_f: NDArray[np.float64] = field(init=False, repr=False)  # (R, 3) float
    rule_i: NDArray[np.int64] = field(init=False, repr=False)  # (R, 6) int64
    event_f: NDArray[np.float64] = field(init=False, repr=False)  # (E, 2) float
    event_i: NDArray[np.int64] = field(init=False, repr=False)  # (E, 2) int64
    phase_f: NDArray[np.float64] = field(init=False, repr=False)  # (P, 2) float
    phase_i: NDArray[np.int64] = field(init=False, repr=False)  # (P, 2) int64
    vote_i: NDArray[np.int64] = field(init=False, repr=False)  # (3,) int64 the voting policy

    def __post_init__(self) -> None:
        n_rules, n_events, n_phases = len(self.rules), len(self.event_names), len(self.phase_start)
        rule_f = {RULE_FROM: self.from_t_s, RULE_TO: self.to_t_s, RULE_PERSISTENCE: self.persistence_s}
        rule_i = {RULE_RECEIVE_CLOCK: self.receive_clock, RULE_WINDOWED: self.windowed, RULE_AFTER: self.after_event}
        rule_i |= {RULE_UNTIL: self.until_event, RULE_PHASE: self.phase, RULE_ACTION: self.action}
        event_f = {EVENT_SCHED: self.event_sched_t_s, EVENT_THRESHOLD: self.event_threshold}
        event_i = {EVENT_COL: self.event_col, EVENT_ABOVE: self.event_above}
        phase_f = {PHASE_FROM: self.phase_from_t_s, PHASE_TO: self.phase_to_t_s}
        phase_i = {PHASE_START: self.phase_start, PHASE_END: self.phase_end}
        vote_i = {VOTE_POLICY: self.policy_code, VOTE_FAULTY: self.faulty_string_votes}
        vote_i[VOTE_NO_HEALTHY] = self.terminate_if_no_healthy
        after = self.mission.termination.destruct_after_s
        derived = {
            "destruct_after_s": math.nan if after is None else float(after),
            "destructs": after is not None or bool(np.any(self.action == ACTION_DESTRUCT)),
            "safes": self.safing.orbit.enabled or (self.safing.iip_clear.enabled and bool(self.protected_polygons)),
            "resync_n": int(self.nav_gate.resync_samples),
            "rule_f": _table(n_rules, np.float64, rule_f),
            "rule_i": _table(n_rules, np.int64, rule_i),
            "event_f": _table(n_events, np.float64, event_f),
            "event_i": _table(n_events, np.int64, event_i),
            "phase_f": _table(n_phases, np.float64, phase_f),
            "phase_i": _table(n_phases, np.int64, phase_i),
            "vote_i": _table(1, np.int64, vote_i)[0],
        }
        for name, value in derived.items():  # a frozen dataclass: set once, here
            object.__setattr__(self, name, value)

    @classmethod
    def from_mission(cls, mission: Mission) -> EngineSetup:
        polygons = area_polygons(mission)
        rules = tuple(build_rules(mission, polygons))
        default_p = mission.termination.persistence_s
        events = ["liftoff"] + [e.name for e in mission.events]
        phases = [p.name for p in mission.phases]
        ev = {name: i for i, name in enumerate(events)}
        ph = {name: i for i, name in enumerate(phases)}

        def idx(table: dict[str, int], name: str | None) -> int:
            return -1 if name is None else table[name]

        protected = tuple(polygons[a.name] for a in mission.areas if a.kind == "protected")
        clear = mission.safing.iip_clear
        if clear.min_iip_range_m is not None:
            min_range = clear.min_iip_range_m
        elif protected:
            far = max(
                farthest_vertex_m(mission.site.lat_deg, mission.site.lon_deg, *mission.area_outline(a.name))
                for a in mission.areas
                if a.kind == "protected"
            )
            min_range = far + clear.clearance_m
        else:
            min_range = 0.0
        sources = [s.name for s in mission.nav_sources]
        strings = mission.string_specs
        site = Site.from_spec(mission.site)
        packed = np.array([r.kind is not None for r in rules], bool)
        string_source = np.array([sources.index(s.nav_source) for s in strings], int)
        return cls(
            mission=mission,
            rules=rules,
            rule_names=tuple(r.name for r in rules),
            persistence_s=np.array(
                [default_p if r.spec.persistence_s is None else r.spec.persistence_s for r in rules]
            ),
            receive_clock=np.array([r.clock == "receive" for r in rules], bool),
            action=np.array([ACTIONS[r.action] for r in rules], np.int64),
            from_t_s=np.array([r.spec.active.from_t_s for r in rules], float),
            to_t_s=np.array([r.spec.active.to_t_s for r in rules], float),
            after_event=np.array([idx(ev, r.spec.active.after_event) for r in rules], int),
            until_event=np.array([idx(ev, r.spec.active.until_event) for r in rules], int),
            phase=np.array([idx(ph, r.spec.active.phase) for r in rules], int),
            windowed=np.array(
                [
                    np.isfinite(r.spec.active.from_t_s)
                    or np.isfinite(r.spec.active.to_t_s)
                    or bool(r.spec.active.after_event or r.spec.active.until_event or r.spec.active.phase)
                    for r in rules
                ],
                bool,
            ).reshape(len(rules)),
            event_names=tuple(events),
            event_sched_t_s=np.array([np.nan] + [np.nan if e.t_s is None else e.t_s for e in mission.events]),
            event_col=np.array(
                [-1] + [-1 if e.when is None else QUANTITY_COLUMNS[e.when.quantity] for e in mission.events], np.int64
            ),
            event_above=np.array([False] + [e.when is not None and e.when.above is not None for e in mission.events]),
            event_threshold=np.array(
                [np.nan]
                + [
                    np.nan if e.when is None else e.when.above if e.when.above is not None else e.when.below
                    for e in mission.events
                ],
                float,
            ),
            arm_params=np.array(
                [
                    mission.arming.not_before_t_s,
                    mission.arming.liftoff_height_m,
                    mission.arming.liftoff_speed_mps,
                    mission.site.alt_m,
                    H,
                    SPEED,
                ],
                float,
            ),
            phase_start=np.array([ev[p.start_event] for p in mission.phases], int),
            phase_end=np.array([idx(ev, p.end_event) for p in mission.phases], int),
            phase_from_t_s=np.array([p.from_t_s for p in mission.phases], float),
            phase_to_t_s=np.array([p.to_t_s for p in mission.phases], float),
            string_names=tuple(s.name for s in strings),
            string_source=string_source,
            strings_are_sources=np.array_equal(string_source, np.arange(len(sources))),
            source_names=tuple(sources),
            site=site,
            policy=mission.termination.policy,
            policy_code=POLICIES[mission.termination.policy],
            faulty_string_votes=mission.termination.faulty_string_votes,
            terminate_if_no_healthy=mission.termination.all_strings_faulty == "terminate",
            polygons=polygons,
            protected_polygons=protected,
            clear_min_range_m=float(min_range),
            arming=mission.arming,
            safing=mission.safing,
            nav_gate=mission.nav_gate,
            gate_limits=np.array(
                [_R_MIN_M, _R_MAX_M, _V_MAX_MPS] + [getattr(mission.nav_gate, f) for f in GATE_LIMITS[3:]]
            ),
            cycle_s=1.0 / mission.cycle_hz,
            needs_iip_range=(
                any(getattr(r.spec, "quantity", None) == "iip_range_m" for r in rules)
                or any(e.when is not None and e.when.quantity == "iip_range_m" for e in mission.events)
                or (mission.safing.iip_clear.enabled and bool(protected))
            ),
            program=RuleProgram([(j, r) for j, r in enumerate(rules) if packed[j]], site),
            packed=packed,
            unpacked=tuple(j for j in range(len(rules)) if not packed[j]),
        )
