"""Replay a nav log through the engine: timeline, decision log, summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rangeguard.engine import AfssState, Engine
from rangeguard.nav import NavBatch
from rangeguard.replay.decisionlog import DecisionLog
from rangeguard.replay.navlog import NavLog, groups


@dataclass
class ReplayResult:
    """What a replay found: the final decisions, a readable timeline and the decision log."""

    terminated: bool
    t_terminate_s: float | None
    rule: str | None
    state: str
    samples: int
    rejected_samples: int
    timeline: list[tuple[float, str]] = field(default_factory=list)
    log: DecisionLog | None = None

    def summary(self) -> dict:
        """The ``--json`` object of ``rangeguard replay``."""
        return {
            "terminated": self.terminated,
            "t_terminate_s": self.t_terminate_s,
            "rule": self.rule,
            "state": self.state,
            "samples": self.samples,
            "rejected_samples": self.rejected_samples,
        }


def replay(mission, log: NavLog) -> ReplayResult:
    """Step a fresh engine through every cycle of ``log`` (rows with equal t_s form one cycle)."""
    engine = Engine(mission, n=1)
    setup = engine.setup
    dlog = DecisionLog(setup.rule_names)
    timeline: list[tuple[float, str]] = []
    seen_events: set[int] = set()
    first_violation: set[int] = set()
    last_state = AfssState.SAFE
    unknown_rows = int((log.source < 0).sum())
    decisions = None
    for start, stop in groups(log):
        navs = []
        for k in range(start, stop):
            if log.source[k] < 0:
                continue
            navs.append(
                NavBatch.from_arrays(
                    log.t_s[k], log.r_ecef[k], log.v_ecef[k], log.q_body_to_ecef[k], log.omega_body_rad_s[k],
                    log.valid[k], source=int(log.source[k]),
                )
            )
        receive = float(np.nanmax(log.receive_time_s[start:stop])) if np.isfinite(log.receive_time_s[start:stop]).any() else float(log.t_s[start])
        health = None if log.health is None else log.health[stop - 1][None, :]
        decisions = engine.step(navs, receive, health)
        dlog.add(decisions)
        st = engine.state
        t_now = float(decisions.t_s[0]) if np.isfinite(decisions.t_s[0]) else receive
        for e, name in enumerate(setup.event_names):
            if e not in seen_events and np.isfinite(st.event_t_s[0, e]):
                seen_events.add(e)
                label = "ARMED: liftoff detected" if e == 0 else f"event '{name}'"
                timeline.append((float(st.event_t_s[0, e]), label))
        violated_any = decisions.violated[:, 0, :].any(axis=0)
        for j in np.nonzero(violated_any)[0]:
            if j not in first_violation:
                first_violation.add(int(j))
                rule = setup.rules[j]
                timeline.append((t_now, f"first violation of '{rule.name}' (margin {decisions.margins[0, j]:.4g} {rule.unit})"))
        state = AfssState(int(decisions.states[0]))
        if state != last_state and state in (AfssState.TERMINATED, AfssState.SAFED):
            timeline.append((t_now, decisions.reason(0)))
        last_state = state
    st = engine.state
    terminated = bool(st.mode[0] == AfssState.TERMINATED)
    return ReplayResult(
        terminated=terminated,
        t_terminate_s=float(st.t_terminate_s[0]) if terminated else None,
        rule=decisions.fired_by(0) if (decisions is not None and terminated) else None,
        state=AfssState(int(st.mode[0])).name,
        samples=int(st.samples[0]),
        rejected_samples=int(st.rejected[0]) + unknown_rows,
        timeline=timeline,
        log=dlog,
    )
