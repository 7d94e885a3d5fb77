"""What the engine precomputes once from a mission: rules, windows, events, phases, safing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rangeguard.mission.areas import farthest_vertex_m
from rangeguard.rules import Rule, Site, build_rules
from rangeguard.rules.boundary import polygon_for
from rangeguard.rules.thresholds import FUSED_TYPES, ThresholdProgram


ACTION_TERMINATE, ACTION_DEGRADE, ACTION_MONITOR = 0, 1, 2
ACTIONS = {"terminate": ACTION_TERMINATE, "degrade": ACTION_DEGRADE, "monitor": ACTION_MONITOR}


def _action(rule) -> str:
    if rule.spec.action is not None:
        return rule.spec.action
    return "degrade" if rule.type == "data_loss" else "terminate"


@dataclass(frozen=True, eq=False)
class EngineSetup:
    """Static configuration, derived once from a :class:`~rangeguard.mission.Mission`."""

    mission: object
    rules: tuple[Rule, ...]
    rule_names: tuple[str, ...]
    persistence_s: np.ndarray   # (R,)
    receive_clock: np.ndarray   # (R,) bool: persistence on the receive-time clock
    action: np.ndarray          # (R,) ACTION_TERMINATE / ACTION_DEGRADE / ACTION_MONITOR
    from_t_s: np.ndarray        # (R,)
    to_t_s: np.ndarray          # (R,)
    after_event: np.ndarray     # (R,) event index or -1
    until_event: np.ndarray     # (R,)
    phase: np.ndarray           # (R,) phase index or -1
    windowed: tuple[int, ...]   # rules with a time window, event or phase condition
    event_names: tuple[str, ...]  # event 0 is liftoff
    event_sched_t_s: np.ndarray   # (E,) scheduled time, NaN for detected / liftoff
    event_detect: tuple           # per event: None or (quantity, above, below)
    phase_start: np.ndarray     # (P,) event index
    phase_end: np.ndarray       # (P,) event index or -1
    phase_from_t_s: np.ndarray
    phase_to_t_s: np.ndarray
    string_names: tuple[str, ...]
    string_source: np.ndarray   # (K,) source index per string
    source_names: tuple[str, ...]
    site: Site
    policy: str
    faulty_string_votes: bool
    terminate_if_no_healthy: bool
    protected_polygons: tuple
    clear_min_range_m: float
    arming: object
    safing: object
    nav_gate: object            # mission.nav_gate: what the ingest accepts
    cycle_s: float              # the engine is stepped at least this often (1 / mission.cycle_hz)
    needs_iip_range: bool       # some rule, event or safing condition reads the IIP range
    thresholds: ThresholdProgram  # the threshold rules, evaluated together in one compiled pass
    fused: np.ndarray           # (R,) bool: the rule is evaluated by ``thresholds``

    @classmethod
    def from_mission(cls, mission) -> EngineSetup:
        rules = tuple(build_rules(mission))
        default_p = mission.termination.persistence_s
        events = ["liftoff"] + [e.name for e in mission.events]
        phases = [p.name for p in mission.phases]
        ev = {name: i for i, name in enumerate(events)}
        ph = {name: i for i, name in enumerate(phases)}

        def idx(table, name):
            return -1 if name is None else table[name]

        protected = tuple(polygon_for(mission, a.name) for a in mission.areas if a.kind == "protected")
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
        fused = np.array([r.type in FUSED_TYPES for r in rules], bool)
        return cls(
            mission=mission,
            rules=rules,
            rule_names=tuple(r.name for r in rules),
            persistence_s=np.array([default_p if r.spec.persistence_s is None else r.spec.persistence_s for r in rules]),
            receive_clock=np.array([r.clock == "receive" for r in rules], bool),
            action=np.array([ACTIONS[_action(r)] for r in rules], np.int64),
            from_t_s=np.array([r.spec.active.from_t_s for r in rules], float),
            to_t_s=np.array([r.spec.active.to_t_s for r in rules], float),
            after_event=np.array([idx(ev, r.spec.active.after_event) for r in rules], int),
            until_event=np.array([idx(ev, r.spec.active.until_event) for r in rules], int),
            phase=np.array([idx(ph, r.spec.active.phase) for r in rules], int),
            windowed=tuple(
                j for j, r in enumerate(rules)
                if np.isfinite(r.spec.active.from_t_s) or np.isfinite(r.spec.active.to_t_s)
                or r.spec.active.after_event or r.spec.active.until_event or r.spec.active.phase
            ),
            event_names=tuple(events),
            event_sched_t_s=np.array([np.nan] + [np.nan if e.t_s is None else e.t_s for e in mission.events]),
            event_detect=(None,) + tuple(
                None if e.when is None else (e.when.quantity, e.when.above, e.when.below) for e in mission.events
            ),
            phase_start=np.array([ev[p.start_event] for p in mission.phases], int),
            phase_end=np.array([idx(ev, p.end_event) for p in mission.phases], int),
            phase_from_t_s=np.array([p.from_t_s for p in mission.phases], float),
            phase_to_t_s=np.array([p.to_t_s for p in mission.phases], float),
            string_names=tuple(s.name for s in strings),
            string_source=np.array([sources.index(s.nav_source) for s in strings], int),
            source_names=tuple(sources),
            site=site,
            policy=mission.termination.policy,
            faulty_string_votes=mission.termination.faulty_string_votes,
            terminate_if_no_healthy=mission.termination.all_strings_faulty == "terminate",
            protected_polygons=protected,
            clear_min_range_m=float(min_range),
            arming=mission.arming,
            safing=mission.safing,
            nav_gate=mission.nav_gate,
            cycle_s=1.0 / mission.cycle_hz,
            needs_iip_range=(
                any(getattr(r.spec, "quantity", None) == "iip_range_m" for r in rules)
                or any(e.when is not None and e.when.quantity == "iip_range_m" for e in mission.events)
                or (mission.safing.iip_clear.enabled and bool(protected))
            ),
            thresholds=ThresholdProgram([(j, r) for j, r in enumerate(rules) if fused[j]], site),
            fused=fused,
        )
