"""When the engine steps: the cycle clock shared by `rangeguard run`, `replay` and their logs.

The engine decides one cycle at a time; :class:`CycleDriver` decides when
cycles happen, from the samples' receive times alone, so the real-time
process and a replay of its nav log step the engine identically:

- a **data cycle** is one or more samples with the same time of validity that
  arrive one after the other (each nav source's sample of one epoch), stepped
  with the receive time of the latest of them;
- a **silent cycle** is a step with no samples. It happens ``cycle_s`` after
  the previous step (data or silent) whenever nothing arrived in between, at
  receive time "previous step + cycle_s", so silence is judged: the data-loss
  rule trips within its green time plus one cycle whether or not anything
  arrives. Silent cycles use the string health of the latest sample. They
  are stepped only while the engine is armed and the mission has a rule on
  the receive clock (data loss): otherwise a step without data changes
  nothing (before liftoff nothing arms without data; after a decision it is
  final);
- a sample with the open data cycle's time of validity joins it: the cycle is
  re-stepped from the state before it with all its samples (the engine is
  pure, so this equals stepping them together), unless a silent cycle came
  between, which closes the open cycle;
- once the engine has terminated nothing more is stepped: the decision is
  final. The samples offered after it are counted in :attr:`after_terminate`,
  and so are, while a destruct may still follow, the late samples of the cycle
  the command closed (their time of validity is not newer than it).
  Where the mission's sequence may destruct after a thrust termination
  (``termination.destruct_after_s`` or a rule with action destruct), the
  driver keeps stepping, silent cycles included, until the destruct command
  (:attr:`done`).

``on_step(decisions)`` is called right after every engine step (a data
cycle's provisional decisions included), before anything is logged: the
real-time shell sends the terminate command from it. Two more callbacks
report what happened, in order: ``on_samples(samples)`` when
samples enter a step (a nav log records exactly these), and
``on_cycle(decisions)`` when a cycle is final (a decision log records these):
a data cycle once the next data cycle has been stepped (so logging it is not
on the path to the next decision), before a silent cycle or at :meth:`close`;
a silent or terminating cycle at once. Cycles are reported in the order they
were stepped.

Receive times are on the flight-time axis (seconds T+, as the engine's
receive clock). The clock starts with the first sample; before it, nothing
is stepped (the engine cannot arm without data). A sample whose receive time
is earlier than the last step's (the real-time process re-anchored its clock
before liftoff) restarts the clock there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.engine.decisions import Decisions
from rangeguard.engine.engine import Engine
from rangeguard.engine.state import AfssState, EngineState
from rangeguard.nav import NavBatch

_ARMED, _TERMINATED = int(AfssState.ARMED), int(AfssState.TERMINATED)  # plain ints: enum lookups are slow

TICK_TOLERANCE_S = 1e-9
"""A silent cycle is due once more than ``cycle_s + TICK_TOLERANCE_S`` has passed since the last
step: receive times that are multiples of the cycle up to rounding never add silent cycles."""


@dataclass(frozen=True)
class CycleSample:
    """One nav sample as the driver gets it: the batch (one row per vehicle), its receive time on
    the flight-time axis, the string health in force ((K,) or (N, K) bool, None: all healthy) and
    an opaque ``tag`` the caller may want back in ``on_samples`` (e.g. the packet)."""

    nav: NavBatch
    receive_s: float
    health: Any = None
    tag: Any = None

    @property
    def t_s(self) -> float:
        return float(self.nav.t_s[0])


class CycleDriver:
    """Steps ``engine`` on data and on its own clock (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        cycle_s: float | None = None,
        on_samples: Callable[[list[CycleSample]], None] | None = None,
        on_cycle: Callable[[Decisions], None] | None = None,
        on_step: Callable[[Decisions], None] | None = None,
    ):
        self.engine = engine
        self.cycle_s = float(engine.setup.cycle_s if cycle_s is None else cycle_s)
        if not self.cycle_s > 0:
            raise ValueError(f"cycle_s must be > 0; got {self.cycle_s}")
        self.on_samples = on_samples
        self.on_cycle = on_cycle
        self.on_step = on_step
        self.last_step_s: float | None = None
        """Receive time of the latest step, or of the group waiting to be stepped (None: not started)."""
        self.health = None
        self.last: Decisions | None = None
        """The latest decisions (provisional while their data cycle is open)."""
        self.cycles = 0
        self.silent_cycles = 0
        self.after_terminate = 0
        self._t_open: float | None = None  # time of validity of the open data cycle
        self._open: list[CycleSample] = []  # its samples already stepped
        self._group: list[CycleSample] = []  # samples joining it, not yet stepped
        self._before_open: EngineState | None = None  # engine state before the open cycle
        self._pending: Decisions | None = None  # the open cycle's decisions, not yet final
        self._deferred: Decisions | None = None  # a closed cycle's decisions, reported after the next step
        self._judges_silence = bool(np.any(engine.setup.receive_clock))
        self._mode = int(engine.state.mode[0])  # vehicle 0's AfssState after the latest step
        self._destructs = engine.setup.destructs  # a destruct may follow a thrust termination
        self._done = False  # vehicle 0's sequence is over: thrust-terminated, and destructed where one may follow
        self._t_commanded: float | None = None  # time of validity of the latest cycle a command closed

    # --- state -------------------------------------------------------------------------------

    @property
    def terminated(self) -> bool:
        """The thrust termination (terminate) command has fired."""
        return self._mode == _TERMINATED

    @property
    def done(self) -> bool:
        """Nothing more is stepped: thrust-terminated, and destructed where the mission's sequence may destruct."""
        return self._done

    @property
    def next_due_s(self) -> float | None:
        """Receive time of the next silent cycle if nothing arrives first (None: none scheduled)."""
        if self.last_step_s is None or self._done:
            return None
        return self.last_step_s + self.cycle_s

    def _due(self, now_s: float) -> bool:
        return (
            self.last_step_s is not None
            and not self._done
            and now_s - self.last_step_s > self.cycle_s + TICK_TOLERANCE_S
        )

    @property
    def _silence_matters(self) -> bool:
        """Silent cycles are stepped only while armed, and only if some rule runs on the receive clock
        (data loss): otherwise a step without data cannot change anything."""
        return (self._mode == _ARMED and self._judges_silence) or (self._mode == _TERMINATED and not self._done)

    def _stepped(self, decisions: Decisions) -> None:
        self.last = decisions
        self._mode = int(decisions.state.mode[0])
        self._done = self._mode == _TERMINATED and (
            not self._destructs or not math.isnan(float(decisions.state.t_destruct_s[0]))
        )
        if self.on_step is not None:
            self.on_step(decisions)

    # --- input ----------------------------------------------------------------------------

    def feed(self, samples: Iterable[CycleSample]) -> None:
        """Samples in arrival order (receive times non-decreasing); steps what they complete."""
        for sample in samples:
            if self._done:
                self.after_terminate += 1
                continue
            self.advance(sample.receive_s)
            if self._done:
                self.after_terminate += 1
                continue
            t = sample.t_s
            if self._t_commanded is not None and t <= self._t_commanded:
                # a late sample of the cycle a command closed (or older): that decision is final; stepping it as a
                # new cycle would make the log depend on how the samples were batched (run and replay would differ)
                self.after_terminate += 1
                continue
            if self._t_open is not None and t == self._t_open:
                self._group.append(sample)
            else:
                self._step_group()
                self._finalize(defer=True)  # logged after the next step: off the path to the next decision
                if self._done:  # the cycle just stepped ended the sequence: this sample comes after it
                    self.after_terminate += 1
                    continue
                self._t_open = t
                self._before_open = self.engine.state
                self._group = [sample]
            self.last_step_s = sample.receive_s  # a receive clock that went back (re-anchored) restarts here
        self._step_group()

    def advance(self, now_s: float) -> None:
        """Step every silent cycle due at or before receive time ``now_s``.

        A cycle that comes due closes the open data cycle (a later sample with its time of validity
        starts a new one), whether or not a silent cycle is then stepped.
        """
        while self._due(now_s):
            self._step_group()
            if self._done:
                return
            self._emit_deferred()
            self._finalize()
            if not self._silence_matters:
                return
            last = self.last_step_s
            assert last is not None  # a cycle is due only after a step (and last_step_s is never reset)
            t = last + self.cycle_s
            decisions = self.engine.step([], t, self.health)
            self.last_step_s = t
            self.cycles += 1
            self.silent_cycles += 1
            self._stepped(decisions)
            self._emit(decisions)

    def close(self) -> None:
        """Step what is waiting and make the open cycle final (at the end of a log or a run)."""
        self._step_group()
        self._emit_deferred()
        self._finalize()

    # --- stepping --------------------------------------------------------------------------

    def _step_group(self) -> None:
        """Step the open data cycle with the samples that joined it (re-step from the state before it)."""
        if not self._group:
            return
        group, self._group = self._group, []
        if self.on_samples is not None:
            self.on_samples(group)
        if self._open:
            before = self._before_open
            assert before is not None  # set with the open cycle's first sample, cleared when it closes
            self.engine.state = before
        self._open += group
        self.health = group[-1].health
        receive = max(s.receive_s for s in self._open)
        decisions = self.engine.step([s.nav for s in self._open], receive, _health_rows(self.health))
        if len(self._open) == len(group):
            self.cycles += 1
        self._stepped(decisions)
        self._pending = decisions
        self._emit_deferred()
        if decisions.terminate_now.any() or decisions.destruct_now.any():
            self._t_commanded = self._t_open
            self._finalize()  # a command is final: no later sample may replace it

    def _finalize(self, defer: bool = False) -> None:
        """Close the open data cycle; its decisions go out now, or after the next step (``defer``)."""
        if self._pending is not None:
            if defer:
                self._emit_deferred()
                self._deferred = self._pending
            else:
                self._emit(self._pending)
        self._pending = None
        self._open = []
        self._t_open = None
        self._before_open = None

    def _emit_deferred(self) -> None:
        if self._deferred is not None:
            deferred, self._deferred = self._deferred, None
            self._emit(deferred)

    def _emit(self, decisions: Decisions) -> None:
        if self.on_cycle is not None:
            self.on_cycle(decisions)


def _health_rows(health: ArrayLike | None) -> NDArray[np.bool_] | None:
    if health is None:
        return None
    h = np.asarray(health, dtype=bool)
    return h[None, :] if h.ndim == 1 else h
