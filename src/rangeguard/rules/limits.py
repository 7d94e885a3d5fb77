"""Threshold rules: envelope tables against time, attitude error, body rate.

Each evaluates through :mod:`rangeguard.rules.thresholds`, the compiled pass
the engine runs for all threshold rules at once.
"""

from __future__ import annotations

import numpy as np

from rangeguard.rules.base import Rule, RuleContext, RuleOutput, table_array
from rangeguard.rules.thresholds import evaluate_one


class EnvelopeRule(Rule):
    """A quantity between lower and upper limits interpolated in time.

    margin = min(value - lower, upper - value) in the quantity's unit; a null
    limit is ignored; outside the table's time span the rule does not judge
    (margin NaN).
    """

    def __init__(self, spec, mission):
        super().__init__(spec, mission)
        tab = spec.table
        self.t_s = np.asarray(tab.t_s, dtype=np.float64)
        self.lower = table_array(tab.lower)
        self.upper = table_array(tab.upper)
        self.quantity = spec.quantity

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        return RuleOutput(*evaluate_one(self, ctx), None)

    def describe(self, margin: float) -> str:
        return f"{self.quantity} outside its envelope by {-margin:.6g} {self.unit}"


class AttitudeErrorRule(Rule):
    """Angle between body +x and the commanded direction (az/el table in the pad ENU frame). Margin: deg.

    Body +x in ECEF is the first column of the rotation matrix of the
    normalised scalar-first quaternion (Diebel 2006, eq. 125); outside the
    command table the rule does not judge.
    """

    def __init__(self, spec, mission):
        super().__init__(spec, mission)
        cmd = spec.commanded
        self.t_s = np.asarray(cmd.t_s, dtype=np.float64)
        self.az_rad = np.unwrap(np.radians(np.asarray(cmd.azimuth_deg, dtype=np.float64)))
        self.el_rad = np.radians(np.asarray(cmd.elevation_deg, dtype=np.float64))
        self.max_error_deg = spec.max_error_deg

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        return RuleOutput(*evaluate_one(self, ctx), None)

    def describe(self, margin: float) -> str:
        return f"attitude error {self.max_error_deg - margin:.3g} deg exceeds {self.max_error_deg:g} deg"


class BodyRateRule(Rule):
    """|omega_body| against a limit (tumble detection). Margin: deg/s."""

    def __init__(self, spec, mission):
        super().__init__(spec, mission)
        self.max_rate_deg_s = spec.max_rate_deg_s

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        return RuleOutput(*evaluate_one(self, ctx), None)

    def describe(self, margin: float) -> str:
        return f"body rate {self.max_rate_deg_s - margin:.3g} deg/s exceeds {self.max_rate_deg_s:g} deg/s"
