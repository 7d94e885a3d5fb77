"""Can it fire? Load-time checks that every rule can be judged and every limit reached.

A mission file can be valid field by field and still protect nothing: a
liftoff threshold no flight reaches (the AFSS never arms), a rule whose
active window closes before it opens, a gate the rule never watches while
it is open, a persistence longer than the rule is ever active, a nav gate
that finds every sample stale. A range-safety engineer would call each of
these "this rule can never fire"; :func:`feasibility_problems` reports them
as mission-file errors, each with its field path and the fix.

The checks reason only about times the mission fixes (window bounds,
scheduled events, table spans, arming); an event detected from nav data may
occur at any time after arming, so a rule that depends on one is given the
benefit of the doubt. The bounds below are the only numbers this module adds.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass

from rangeguard.mission.rule_types.boundary import GateRule
from rangeguard.mission.rule_types.limits import AttitudeErrorRule, EnvelopeRule
from rangeguard.mission.rule_types.link import DataLossRule

if typing.TYPE_CHECKING:
    from rangeguard.mission.model import Mission, PhaseSpec
    from rangeguard.mission.rule_types import RuleSpec

MAX_LIFTOFF_HEIGHT_M = 1000.0
"""Largest ``arming.liftoff_height_m``, m. A launcher lifting off at a
thrust-to-weight ratio of 1.2 (the low end) climbs at about 0.2 g, so it is
1000 m up after about 32 s; a vehicle that fails in its first seconds may
never get there at all. Liftoff must be detected in the first seconds (the
default is 5 m, above nav noise and the tower): the flight near the pad is
where a failure endangers the range most."""

MAX_LIFTOFF_SPEED_MPS = 100.0
"""Largest ``arming.liftoff_speed_mps``, m/s: the same vehicle (about 0.2 g)
reaches 100 m/s after about 50 s. Default 3 m/s."""

MAX_NOT_BEFORE_T_S = 0.0
"""Largest ``arming.not_before_t_s``, s: a liftoff on time (T+0) must arm the
AFSS; a later value would leave the start of a punctual flight unprotected."""

MAX_FLIGHT_TIME_S = 86_400.0
"""Latest flight time a rule is judged at, s (one day): an ascent to orbit
takes minutes and the AFSS safes itself at orbit, so a window that opens, or
a green time or persistence that ends, later than this can never matter."""


@dataclass(frozen=True)
class _Bound:
    """A bound on the time a condition can hold, with what set it (for the message)."""

    t_s: float
    why: str


def _later(a: _Bound, t_s: float, why: str) -> _Bound:
    return _Bound(t_s, why) if t_s > a.t_s else a


def _earlier(a: _Bound, t_s: float, why: str) -> _Bound:
    return _Bound(t_s, why) if t_s < a.t_s else a


def _t(t_s: float) -> str:
    return f"T{t_s:+g} s"


class _Events:
    """When each event can occur: scheduled ones at their t_s, detected ones (and liftoff) after arming."""

    def __init__(self, mission: Mission):
        self.arm = _Bound(mission.arming.not_before_t_s, "arming.not_before_t_s: liftoff is detected no earlier")
        self.scheduled = {e.name: e.t_s for e in mission.events if e.t_s is not None}
        self.known = {e.name for e in mission.events} | {"liftoff"}

    def after(self, lo: _Bound, name: str, field: str) -> _Bound:
        """Raise the earliest time by 'only once event ``name`` has occurred'."""
        t = self.scheduled.get(name)
        return lo if t is None else _later(lo, t, f"{field}: event '{name}' is scheduled at {_t(t)}")

    def until(self, hi: _Bound, name: str, field: str) -> _Bound:
        """Lower the latest time by 'only until event ``name`` occurs'."""
        if name == "liftoff":  # rules are judged only once armed, i.e. after liftoff
            return _Bound(-math.inf, f"{field}: 'liftoff' has always occurred when rules are judged")
        t = self.scheduled.get(name)
        return hi if t is None else _earlier(hi, t, f"{field}: event '{name}' is scheduled at {_t(t)}")


def _phase_window(ph: PhaseSpec, where: str, events: _Events) -> tuple[_Bound, _Bound] | str:
    """Earliest and latest time the phase can be open, or why it never can."""
    lo = _later(events.arm, ph.from_t_s, f"{where}.from_t_s")
    lo = events.after(lo, ph.start_event, f"{where}.start_event")
    hi = _Bound(MAX_FLIGHT_TIME_S, f"the longest flight judged ends at {_t(MAX_FLIGHT_TIME_S)}")
    hi = _earlier(hi, ph.to_t_s, f"{where}.to_t_s")
    if ph.end_event is not None:
        if ph.end_event == ph.start_event:
            return (
                f"{where}: the phase can never be open: it starts and ends at the same event "
                f"'{ph.end_event}'; give a different end_event"
            )
        hi = events.until(hi, ph.end_event, f"{where}.end_event")
    if lo.t_s >= hi.t_s:
        return (
            f"{where}: the phase can never be open: it opens at {_t(lo.t_s)} at the earliest ({lo.why}) "
            f"but closes by {_t(hi.t_s)} ({hi.why})"
        )
    return lo, hi


def _rule_window(
    r: RuleSpec, where: str, events: _Events, phases: dict[str, tuple[PhaseSpec, _Bound, _Bound]]
) -> tuple[_Bound, _Bound] | None:
    """Earliest and latest time the rule can be judged (None when a reference is unknown or already reported)."""
    act = r.active
    if any(name is not None and name not in events.known for name in (act.after_event, act.until_event)):
        return None  # reported as an unknown event
    lo = _later(events.arm, act.from_t_s, f"{where}.active.from_t_s")
    hi = _Bound(MAX_FLIGHT_TIME_S, f"the longest flight judged ends at {_t(MAX_FLIGHT_TIME_S)}")
    hi = _earlier(hi, act.to_t_s, f"{where}.active.to_t_s")
    if act.after_event is not None:
        lo = events.after(lo, act.after_event, f"{where}.active.after_event")
    if act.until_event is not None:
        hi = events.until(hi, act.until_event, f"{where}.active.until_event")
        if act.until_event == act.after_event:
            hi = _Bound(-math.inf, f"{where}.active: after_event and until_event are both '{act.until_event}'")
    if act.phase is not None:
        phase = phases.get(act.phase)
        if phase is None:
            return None  # an unknown phase, or one that can never be open: reported on the phase
        ph, ph_lo, ph_hi = phase
        lo = _later(lo, ph_lo.t_s, f"phase '{ph.name}' opens no earlier: {ph_lo.why}")
        hi = _earlier(hi, ph_hi.t_s, f"phase '{ph.name}' is over by then: {ph_hi.why}")
        if act.after_event is not None and act.after_event == ph.end_event:
            hi = _Bound(
                -math.inf, f"{where}.active.after_event: event '{ph.end_event}' also ends its phase '{ph.name}'"
            )
        if act.until_event is not None and act.until_event == ph.start_event:
            hi = _Bound(
                -math.inf, f"{where}.active.until_event: event '{ph.start_event}' is what starts its phase '{ph.name}'"
            )
    return lo, hi


def _table_span(r: RuleSpec) -> tuple[float, float, str] | None:
    """(first, last, field): the times between which a table rule has limits to judge against."""
    if isinstance(r, EnvelopeRule):
        tab = r.table
        times = [
            t
            for values in (tab.lower, tab.upper)
            if values is not None
            for t, v in zip(tab.t_s, values, strict=True)
            if v is not None
        ]
        return min(times), max(times), "table"
    if isinstance(r, AttitudeErrorRule):
        return r.commanded.t_s[0], r.commanded.t_s[-1], "commanded.t_s"
    return None


def _rule_problems(
    r: RuleSpec, where: str, lo: _Bound, hi: _Bound, events: _Events, default_persistence_s: float
) -> str | None:
    """Why the rule, judged at most from ``lo`` to ``hi``, can never be judged or fire; None if it can."""
    if lo.t_s >= hi.t_s:
        if hi.t_s == -math.inf:
            return f"{where}: the rule can never be judged: {hi.why}"
        return (
            f"{where}: the rule can never be judged: it is active from {_t(lo.t_s)} at the earliest ({lo.why}) "
            f"but only until {_t(hi.t_s)} ({hi.why}); widen its active window"
        )
    span = _table_span(r)
    if span is not None:
        first, last, field = span
        if first >= hi.t_s or last <= lo.t_s:
            return (
                f"{where}.{field}: the rule can never be judged: its table gives limits only from {_t(first)} "
                f"to {_t(last)}, outside the times it is active ({_t(lo.t_s)} to {_t(hi.t_s)}); outside its "
                f"table a rule does not judge"
            )
        lo = _later(lo, first, f"{where}.{field} starts")
        hi = _earlier(hi, last, f"{where}.{field} ends")
    persistence_s = default_persistence_s if r.persistence_s is None else r.persistence_s
    p_field = "termination.persistence_s, the default" if r.persistence_s is None else f"{where}.persistence_s"
    if persistence_s >= hi.t_s - lo.t_s:
        return (
            f"{where}: the rule can never fire: a violation must persist {persistence_s:g} s ({p_field}) but "
            f"the rule is judged for at most {hi.t_s - lo.t_s:g} s ({_t(lo.t_s)} to {_t(hi.t_s)}); shorten the "
            f"persistence or widen the window"
        )
    if isinstance(r, GateRule):
        first_legal = max(lo.t_s, r.open_t_s)
        if first_legal > r.close_t_s or first_legal >= hi.t_s:
            return (
                f"{where}: the gate window {_t(r.open_t_s)} to {_t(r.close_t_s)} lies outside the times the "
                f"rule is active ({_t(lo.t_s)} to {_t(hi.t_s)}): no crossing it sees can be legal; widen "
                f"active or move the gate window"
            )
        if hi.t_s <= r.close_t_s:
            return (
                f"{where}: the rule stops being judged at {_t(hi.t_s)} ({hi.why}), before the gate closes at "
                f"{_t(r.close_t_s)}: a vehicle that never crosses the gate is never caught; keep the rule "
                f"active past close_t_s"
            )
    if isinstance(r, DataLossRule):
        # silence is timed from the last valid sample, or from arming at the earliest
        if r.table is None:
            assert r.green_time_s is not None  # DataLossRule._one_source: exactly one of green_time_s, table
            green_s = r.green_time_s
        else:
            green_s = min(r.table["green_time_s"])
        first_violation = max(lo.t_s, events.arm.t_s + green_s)
        if first_violation + persistence_s >= hi.t_s:
            return (
                f"{where}: the rule can never fire: with its shortest green time, {green_s:g} s, silence from "
                f"arming ({_t(events.arm.t_s)} at the earliest) is a violation no earlier than "
                f"{_t(first_violation)}, and the rule is active only until {_t(hi.t_s)} ({hi.why})"
            )
    return None


def feasibility_problems(mission: Mission) -> list[str]:
    """Every way ``mission`` can never judge a rule or never accept a sample (module docstring).

    Arming thresholds are bounded on their fields (:class:`~rangeguard.mission.model.ArmingSpec`);
    unknown names are reported by the cross-reference check and skipped here.
    """
    events = _Events(mission)
    out: list[str] = []
    phases: dict[str, tuple[PhaseSpec, _Bound, _Bound]] = {}
    for i, ph in enumerate(mission.phases):
        if ph.start_event not in events.known or (ph.end_event is not None and ph.end_event not in events.known):
            continue
        opens = _phase_window(ph, f"phases[{i}]", events)
        if isinstance(opens, str):
            out.append(opens)
        else:
            phases[ph.name] = (ph, *opens)
    for i, r in enumerate(mission.rules):
        if not r.enabled:
            continue  # kept in the file, never evaluated
        where = f"rules[{i}]"
        window = _rule_window(r, where, events, phases)
        if window is not None:
            problem = _rule_problems(r, where, *window, events, mission.termination.persistence_s)
            if problem is not None:
                out.append(problem)
    out += _nav_gate_problems(mission)
    return out


def _nav_gate_problems(mission: Mission) -> list[str]:
    """nav_gate.max_age_s must exceed the latency of every sensor model the simulator uses.

    ``sensors.default`` counts only when a nav source has no entry of its own.
    """
    gate = mission.nav_gate
    sensors = mission.sensors
    models = [(f"sensors.sources.{name}", spec) for name, spec in sensors.sources.items()]
    if any(s.name not in sensors.sources for s in mission.nav_sources):
        models.insert(0, ("sensors.default", sensors.default))
    return [
        f"nav_gate.max_age_s: {gate.max_age_s:g} s does not exceed {field}.latency_s = {spec.latency_s:g} s: every "
        f"sample of that source would arrive already stale and be rejected; raise max_age_s above the latency "
        f"plus the link delay"
        for field, spec in models
        if not gate.max_age_s > spec.latency_s
    ]
