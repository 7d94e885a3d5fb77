"""Nav-integrity rules: data loss and disagreement between redundant sources."""

from __future__ import annotations

import numpy as np

from rangeguard.rules._kernels import disagreement_rows
from rangeguard.rules.base import Rule, RuleContext, RuleOutput
from rangeguard.rules.thresholds import evaluate_one


class DataLossRule(Rule):
    """No valid nav for longer than the green time (judged on receive time). Margin: s.

    The green time may depend on flight time; flight time during a loss is
    estimated as the last valid sample's time plus the receive time elapsed
    since it arrived. Persistence for this rule runs on that same clock. A
    source that has delivered nothing since arming is judged from the arming
    time.
    """

    clock = "receive"

    def __init__(self, spec, mission):
        super().__init__(spec, mission)
        if spec.table is not None:
            self.t_s = np.asarray(spec.table["t_s"], dtype=np.float64)
            self.green_s = np.asarray(spec.table["green_time_s"], dtype=np.float64)
        else:
            self.t_s = None
            self.green_s = float(spec.green_time_s)

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        return RuleOutput(*evaluate_one(self, ctx), None)

    def describe(self, margin: float) -> str:
        return f"no valid nav for {-margin:.3g} s beyond the green time"


class SourceDisagreementRule(Rule):
    """Two nav sources disagree in position (m) or velocity (m/s) by more than a limit.

    The older sample is propagated linearly to the newer one's time before the
    comparison; samples further apart than ``max_age_s`` are not compared.
    """

    def __init__(self, spec, mission):
        super().__init__(spec, mission)
        names = [s.name for s in mission.nav_sources]
        self.a = names.index(spec.sources[0])
        self.b = names.index(spec.sources[1])
        self.position = spec.quantity == "position_m"
        self.max_difference = spec.max_difference
        self.max_age_s = spec.max_age_s

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        na, nb = ctx.source_navs[self.a], ctx.source_navs[self.b]
        n = na.n
        m_rows = ctx.t_s.shape[0]
        if m_rows % n:
            raise ValueError(f"context has {m_rows} rows, not a whole number of strings of {n} vehicles")
        margin = np.empty(m_rows)
        violated = np.empty(m_rows, bool)
        f64 = np.float64
        disagreement_rows(
            np.ascontiguousarray(ctx.source_t_s[self.a], dtype=f64), np.ascontiguousarray(na.r_ecef, dtype=f64),
            np.ascontiguousarray(na.v_ecef, dtype=f64), np.ascontiguousarray(ctx.source_t_s[self.b], dtype=f64),
            np.ascontiguousarray(nb.r_ecef, dtype=f64), np.ascontiguousarray(nb.v_ecef, dtype=f64),
            self.position, self.max_difference, self.max_age_s, m_rows // n, margin, violated,
        )
        return RuleOutput(violated, margin, None)

    def describe(self, margin: float) -> str:
        what = "position" if self.position else "velocity"
        return f"sources disagree in {what} by {self.max_difference - margin:.4g} {self.unit} (limit {self.max_difference:g})"
