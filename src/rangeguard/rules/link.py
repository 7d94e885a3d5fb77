"""Nav-integrity rules: data loss and disagreement between redundant sources."""

from __future__ import annotations

import numpy as np

from rangeguard.rules import _program_kernels as pk
from rangeguard.rules.base import Rule


class DataLossRule(Rule):
    """No valid nav for longer than the green time (judged on receive time). Margin: s.

    The green time may depend on flight time; flight time during a loss is
    estimated as the last valid sample's time plus the receive time elapsed
    since it arrived. Persistence for this rule runs on that same clock. A
    source that has delivered nothing since arming is judged from the arming
    time.
    """

    kind = pk.KIND_DATA_LOSS
    clock = "receive"
    default_action = "degrade"

    def __init__(self, spec, mission, polygons):
        super().__init__(spec, mission, polygons)
        if spec.table is not None:
            self.t_s = np.asarray(spec.table["t_s"], dtype=np.float64)
            self.green_s = np.asarray(spec.table["green_time_s"], dtype=np.float64)
        else:
            self.t_s = None
            self.green_s = float(spec.green_time_s)

    def pack(self, entry) -> None:
        if self.t_s is None:
            entry.set(limit=self.green_s)
        else:
            entry.set(flag_a=True)
            entry.tables = (self.t_s, self.green_s, np.full(self.t_s.shape, np.nan))

    def describe(self, margin: float) -> str:
        return f"no valid nav for {-margin:.3g} s beyond the green time"


class SourceDisagreementRule(Rule):
    """Two nav sources disagree in position (m) or velocity (m/s) by more than a limit.

    The older sample is propagated linearly to the newer one's time before the
    comparison; samples further apart than ``max_age_s`` are not compared.
    """

    kind = pk.KIND_DISAGREEMENT

    def __init__(self, spec, mission, polygons):
        super().__init__(spec, mission, polygons)
        names = [s.name for s in mission.nav_sources]
        self.a = names.index(spec.sources[0])
        self.b = names.index(spec.sources[1])
        self.position = spec.quantity == "position_m"
        self.max_difference = spec.max_difference
        self.max_age_s = spec.max_age_s

    def pack(self, entry) -> None:
        entry.set(src_a=self.a, src_b=self.b, flag_a=self.position, limit=self.max_difference, low=self.max_age_s)

    def describe(self, margin: float) -> str:
        what = "position" if self.position else "velocity"
        by = self.max_difference - margin
        return f"sources disagree in {what} by {by:.4g} {self.unit} (limit {self.max_difference:g})"
