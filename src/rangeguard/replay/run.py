"""Replay a nav log through the engine: timeline, decision log, summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rangeguard.engine import AfssState, Engine
from rangeguard.engine.driver import CycleDriver, CycleSample
from rangeguard.engine.state import REJECTION_NAMES
from rangeguard.nav import NavBatch
from rangeguard.replay.decisionlog import DecisionLog
from rangeguard.replay.navlog import NavLog


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
    rejected_by: dict[str, int] = field(default_factory=dict)
    """Samples the engine's nav gate rejected, by reason (rows of unknown sources not included)."""
    silent_cycles: int = 0
    """Cycles stepped with no sample (silence judged on the clock)."""

    def summary(self) -> dict:
        """The ``--json`` object of ``rangeguard replay``."""
        return {
            "terminated": self.terminated,
            "t_terminate_s": self.t_terminate_s,
            "rule": self.rule,
            "state": self.state,
            "samples": self.samples,
            "rejected_samples": self.rejected_samples,
            "rejected_by": self.rejected_by,
            "silent_cycles": self.silent_cycles,
        }


def replay(mission, log: NavLog) -> ReplayResult:
    """Step a fresh engine through ``log`` on the real-time process's clock (rangeguard.engine.driver).

    Rows are offered in file order with their receive times; consecutive rows with the same time of
    validity form one cycle, and a silent cycle is stepped whenever nothing arrived for one engine
    cycle, up to the log's recorded clock end (if any). Rows from sources the mission does not know
    are counted as rejected.
    """
    engine = Engine(mission, n=1)
    setup = engine.setup
    dlog = DecisionLog(setup.rule_names)
    timeline: list[tuple[float, str]] = []
    seen_events: set[int] = set()
    first_violation: set[int] = set()
    last_state = [AfssState.SAFE]

    def on_cycle(decisions) -> None:
        dlog.add(decisions)
        st = decisions.state
        receive = float(decisions.receive_time_s[0])
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
        if state != last_state[0] and state in (AfssState.TERMINATED, AfssState.SAFED):
            t_change = float(st.t_terminate_s[0] if state == AfssState.TERMINATED else st.t_safed_s[0])
            timeline.append((t_change if np.isfinite(t_change) else t_now, decisions.reason(0)))
        last_state[0] = state

    driver = CycleDriver(engine, on_cycle=on_cycle)
    unknown_rows = int((log.source < 0).sum())
    known = np.nonzero(log.source >= 0)[0]
    driver.feed(
        CycleSample(
            NavBatch.from_arrays(log.t_s[k], log.r_ecef[k], log.v_ecef[k], log.q_body_to_ecef[k],
                                 log.omega_body_rad_s[k], log.valid[k], source=int(log.source[k])),
            float(log.receive_time_s[k]),
            None if log.health is None else log.health[k],
        )
        for k in known
    )  # fmt: skip
    if log.clock_end_s is not None:
        driver.advance(log.clock_end_s)
    driver.close()
    st = engine.state
    terminated = bool(st.mode[0] == AfssState.TERMINATED)
    decisions = driver.last
    return ReplayResult(
        terminated=terminated,
        t_terminate_s=float(st.t_terminate_s[0]) if terminated else None,
        rule=decisions.fired_by(0) if (decisions is not None and terminated) else None,
        state=AfssState(int(st.mode[0])).name,
        samples=int(st.samples[0]),
        rejected_samples=int(st.rejected[0]) + unknown_rows,
        timeline=timeline,
        log=dlog,
        rejected_by={name: int(c) for name, c in zip(REJECTION_NAMES, st.rejected_by[0], strict=True)},
        silent_cycles=driver.silent_cycles,
    )
