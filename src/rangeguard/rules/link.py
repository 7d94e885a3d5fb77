"""Nav-integrity rules: data loss and disagreement between redundant sources."""

from __future__ import annotations

import numpy as np

from rangeguard.rules.base import Rule, RuleContext, RuleOutput


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
        if self.t_s is None:
            green = self.green_s
        else:
            # hold the end values outside the table: a green time always applies
            t_est = ctx.t_s + ctx.since_valid_s if ctx.flight_time_s is None else ctx.flight_time_s
            green = np.interp(t_est, self.t_s, self.green_s)
        with np.errstate(invalid="ignore"):
            margin = green - ctx.since_valid_s
            return RuleOutput(margin < 0.0, margin, None)

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
        ta, tb = ctx.source_t_s[self.a], ctx.source_t_s[self.b]
        with np.errstate(invalid="ignore"):
            dt = tb - ta
            if self.position:
                diff = nb.r_ecef - (na.r_ecef + na.v_ecef * dt[:, None])
            else:
                diff = nb.v_ecef - na.v_ecef
            d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            d = np.where(np.abs(dt) <= self.max_age_s, d, np.nan)
            margin = (self.max_difference - d)[ctx.vehicle]
            return RuleOutput(margin < 0.0, margin, None)

    def describe(self, margin: float) -> str:
        what = "position" if self.position else "velocity"
        return f"sources disagree in {what} by {self.max_difference - margin:.4g} {self.unit} (limit {self.max_difference:g})"
