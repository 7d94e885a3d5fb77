"""The engine shell: holds the state and steps the pure decision function."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rangeguard.engine.decide import decide
from rangeguard.engine.decisions import Decisions
from rangeguard.engine.setup import EngineSetup
from rangeguard.engine.state import EngineState
from rangeguard.errors import InputError
from rangeguard.nav import NavBatch


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

    def __init__(self, mission, n: int = 1):
        if n < 1:
            raise InputError(f"n must be at least 1 vehicle; got {n}")
        self.mission = mission
        self.setup = EngineSetup.from_mission(mission)
        self.n = n
        self.state = EngineState.initial(
            n, len(self.setup.source_names), len(self.setup.string_names), len(self.setup.event_names), self.setup.rules
        )

    def step(self, nav: NavBatch | Sequence[NavBatch], receive_time_s, health=None) -> Decisions:
        navs = [nav] if isinstance(nav, NavBatch) else list(nav)
        if health is not None:
            health = np.asarray(health, dtype=bool)
            want = (self.n, len(self.setup.string_names))
            if health.shape not in (want, want[1:], ()):
                raise InputError(f"health must have shape {want} (vehicles, strings); got {health.shape}")
        self.state, decisions = decide(self.setup, self.state, navs, receive_time_s, health)
        return decisions
