"""Replay a nav log through the engine: timeline, decision log, summary.

The log may be streamed (:class:`~rangeguard.formats.navlog.NavLogReader` chunks): the samples go to
the cycle driver one by one as they are read, and the decision log goes to its file as it grows, so
memory does not grow with the log (the timeline holds only events, first violations and the final
state change).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from rangeguard.engine import AfssState, Engine
from rangeguard.engine.driver import CycleDriver, CycleSample
from rangeguard.engine.state import REJECTION_NAMES
from rangeguard.formats.decisionlog import DecisionLog
from rangeguard.formats.navlog import NavLog
from rangeguard.nav import NavBatch, usable_rows

_TERMINATED, _SAFED = int(AfssState.TERMINATED), int(AfssState.SAFED)


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
    unknown_sources: tuple[str, ...] = ()
    """Source names in the log that the mission does not know (their rows are rejected)."""

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


class _Timeline:
    """The readable account of a replay, cycle by cycle: liftoff and events, the first violation of each
    rule, termination or safing. Cheap on a cycle where none of these happens."""

    def __init__(self, setup) -> None:
        self.setup = setup
        self.entries: list[tuple[float, str]] = []
        self._events_pending = np.ones(len(setup.event_names), bool)
        self._events_left = len(setup.event_names)
        self._violated_before = np.zeros(len(setup.rule_names), bool)
        self._last_mode = int(AfssState.SAFE)

    def add(self, decisions) -> None:
        st = decisions.state
        if self._events_left:
            occurred = self._events_pending & np.isfinite(st.event_t_s[0])
            for e in np.flatnonzero(occurred).tolist():
                self._events_pending[e] = False
                self._events_left -= 1
                label = "ARMED: liftoff detected" if e == 0 else f"event '{self.setup.event_names[e]}'"
                self.entries.append((float(st.event_t_s[0, e]), label))
        if decisions.violated_rm.any():  # one vehicle: columns are the strings
            first = decisions.violated_rm.any(axis=1) & ~self._violated_before
            if first.any():
                t_now = self._t_now(decisions)
                for j in np.flatnonzero(first).tolist():
                    self._violated_before[j] = True
                    rule = self.setup.rules[j]
                    margin = f"{decisions.margins[0, j]:.4g} {rule.unit}"
                    self.entries.append((t_now, f"first violation of '{rule.name}' (margin {margin})"))
        mode = int(st.mode[0])
        if mode != self._last_mode and mode in (_TERMINATED, _SAFED):
            t_change = float(st.t_terminate_s[0] if mode == _TERMINATED else st.t_safed_s[0])
            self.entries.append((t_change if np.isfinite(t_change) else self._t_now(decisions), decisions.reason(0)))
        self._last_mode = mode

    @staticmethod
    def _t_now(decisions) -> float:
        t = float(decisions.t_s[0])
        return t if np.isfinite(t) else float(decisions.receive_time_s[0])


@dataclass
class _Seen:
    """What the chunks said besides their samples."""

    unknown_rows: int = 0
    unknown_sources: set = field(default_factory=set)
    clock_end_s: float | None = None


def _samples(chunks: Iterable[NavLog], seen: _Seen) -> Iterator[CycleSample]:
    """The driver's samples, row by row in file order (rows of unknown sources skipped and counted).

    Each sample's NavBatch is a one-row view into its chunk's arrays; as in
    :meth:`NavBatch.from_arrays`, a row whose time, position or velocity is not finite is invalid.
    """
    for chunk in chunks:
        seen.clock_end_s = chunk.clock_end_s
        seen.unknown_sources.update(chunk.unknown_sources)
        seen.unknown_rows += int(np.count_nonzero(chunk.source < 0))
        t, r, v = chunk.t_s, chunk.r_ecef, chunk.v_ecef
        ok = usable_rows(chunk.valid, t, r, v)
        rows = zip(
            t.reshape(-1, 1),
            r.reshape(-1, 1, 3),
            v.reshape(-1, 1, 3),  # one-row views
            chunk.q_body_to_ecef.reshape(-1, 1, 4),
            chunk.omega_body_rad_s.reshape(-1, 1, 3),
            ok.reshape(-1, 1),
            chunk.source.tolist(),
            chunk.receive_time_s.tolist(),
            repeat(None) if chunk.health is None else chunk.health[:, None, :],
            strict=False,
        )
        for t_k, r_k, v_k, q_k, w_k, ok_k, source, receive, health in rows:
            if source >= 0:
                yield CycleSample(NavBatch(t_k, r_k, v_k, q_k, w_k, ok_k, source), receive, health)


def replay(
    mission, log: NavLog | Iterable[NavLog], *, decisions_path=None, keep_decisions: bool | None = None
) -> ReplayResult:
    """Step a fresh engine through ``log`` on the real-time process's clock (rangeguard.engine.driver).

    ``log`` is a whole :class:`NavLog` or its chunks in file order (a
    :class:`~rangeguard.formats.navlog.NavLogReader` streams a file). Rows are offered in file order with
    their receive times; consecutive rows with the same time of validity form one cycle, and a silent
    cycle is stepped whenever nothing arrived for one engine cycle, up to the log's recorded clock end
    (if any). Rows from sources the mission does not know are counted as rejected.

    The decision log (``result.log``) is written to ``decisions_path`` as the cycles come (moved into
    place at the end; nothing is left there if the replay fails) and kept in memory when
    ``keep_decisions`` (default: when there is no ``decisions_path``).
    """
    chunks = [log] if isinstance(log, NavLog) else log
    engine = Engine(mission, n=1)
    setup = engine.setup
    dlog = DecisionLog(setup.rule_names, path=decisions_path, keep=keep_decisions)
    timeline = _Timeline(setup)

    def on_cycle(decisions) -> None:
        dlog.add(decisions)
        timeline.add(decisions)

    driver = CycleDriver(engine, on_cycle=on_cycle)
    seen = _Seen()
    try:
        driver.feed(_samples(chunks, seen))
        if seen.clock_end_s is not None:
            driver.advance(seen.clock_end_s)
        driver.close()
        dlog.close()
    except BaseException:
        dlog.abort()
        raise
    st = engine.state
    terminated = bool(st.mode[0] == AfssState.TERMINATED)
    decisions = driver.last
    return ReplayResult(
        terminated=terminated,
        t_terminate_s=float(st.t_terminate_s[0]) if terminated else None,
        rule=decisions.fired_by(0) if (decisions is not None and terminated) else None,
        state=AfssState(int(st.mode[0])).name,
        samples=int(st.samples[0]),
        rejected_samples=int(st.rejected[0]) + seen.unknown_rows,
        timeline=timeline.entries,
        log=dlog,
        rejected_by={name: int(c) for name, c in zip(REJECTION_NAMES, st.rejected_by[0], strict=True)},
        silent_cycles=driver.silent_cycles,
        unknown_sources=tuple(sorted(seen.unknown_sources)),
    )
