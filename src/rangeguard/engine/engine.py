"""The engine shell: holds the state and steps the pure decision function."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from rangeguard.engine.decide import decide, fault_cycle
from rangeguard.engine.decisions import Decisions
from rangeguard.engine.setup import EngineSetup
from rangeguard.engine.state import EngineState
from rangeguard.errors import InputError
from rangeguard.mission import Mission
from rangeguard.nav import NavBatch

MAX_FAULTS_KEPT = 100
"""Failed cycles remembered in :attr:`Engine.faults` (the count in the state is complete)."""


class Engine:
    """The onboard decision loop for N vehicles (N = 1 in flight).

    >>> engine = Engine(mission)                     # doctest: +SKIP
    >>> decisions = engine.step(nav_batch, receive_time_s=12.34)
    >>> decisions.state_name(0), decisions.reason(0)

    ``step`` takes one :class:`~rangeguard.nav.NavBatch` or a sequence of them
    (one per nav source that produced a sample this cycle), the receive time
    (s, on the same clock as the nav data's T+ time; it drives the data-loss
    rule) and optionally each AFTS string's self-reported health, (N, K) bool.
    Time comes only from these arguments, never from the wall clock.
    """

    def __init__(self, mission: Mission, n: int = 1) -> None:
        if n < 1:
            raise InputError(f"n must be at least 1 vehicle; got {n}")
        self.mission = mission
        self.setup = EngineSetup.from_mission(mission)
        self.n = n
        self.state = EngineState.initial(
            n, len(self.setup.source_names), len(self.setup.string_names), len(self.setup.event_names), self.setup.rules
        )
        self.faults: list[tuple[float, str]] = []
        """The latest failed cycles: (receive time, error), newest last (at most MAX_FAULTS_KEPT)."""

    def step(
        self, nav: NavBatch | Sequence[NavBatch], receive_time_s: ArrayLike, health: ArrayLike | None = None
    ) -> Decisions:
        """One cycle (see the class docstring); ``nav`` may be an empty sequence (a silent cycle).

        Arguments of the wrong shape raise :class:`InputError` (a caller's bug). Once they are
        right, the cycle never raises: should the decision function fail anyway, every string is
        counted faulty for this cycle and the voting policy decides (:func:`fault_cycle`); the
        failure is kept in :attr:`faults` and counted in ``state.cycle_faults``.
        """
        navs = [nav] if isinstance(nav, NavBatch) else list(nav)
        if health is not None:
            health = np.asarray(health, dtype=bool)
            want = (self.n, len(self.setup.string_names))
            if health.shape not in (want, want[1:], ()):
                raise InputError(f"health must have shape {want} (vehicles, strings); got {health.shape}")
        for b in navs:
            if b.n != self.n:
                raise InputError(f"nav batch has {b.n} rows; this engine steps {self.n} vehicles (one row per vehicle)")
        try:
            self.state, decisions = decide(self.setup, self.state, navs, receive_time_s, health)
        except Exception as exc:  # noqa: BLE001 - fail safe: judged by the voting policy, logged, never raised
            receive = np.broadcast_to(np.asarray(receive_time_s, dtype=np.float64), (self.n,))
            self.faults.append((float(np.max(receive)), f"{type(exc).__name__}: {exc}"))
            del self.faults[:-MAX_FAULTS_KEPT]
            self.state, decisions = fault_cycle(self.setup, self.state, receive)
        return decisions
