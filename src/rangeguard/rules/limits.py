"""Threshold rules: envelope tables against time, attitude error, body rate."""

from __future__ import annotations

import numpy as np

from rangeguard.rules import quantities
from rangeguard.rules.base import Rule, RuleContext, RuleOutput, interp_table, table_array


def _margin_output(margin: np.ndarray) -> RuleOutput:
    with np.errstate(invalid="ignore"):
        return RuleOutput(margin < 0.0, margin, None)


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

    def limits(self, t_s: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        lo = None if self.lower is None else interp_table(t_s, self.t_s, self.lower)
        hi = None if self.upper is None else interp_table(t_s, self.t_s, self.upper)
        return lo, hi

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        value = quantities.get(ctx, self.quantity)
        lo, hi = self.limits(ctx.t_s)
        with np.errstate(invalid="ignore"):
            if lo is None:
                margin = hi - value
            elif hi is None:
                margin = value - lo
            else:
                margin = np.fmin(value - lo, hi - value)
        return _margin_output(margin)

    def describe(self, margin: float) -> str:
        side = "outside"
        return f"{self.quantity} {side} its envelope by {-margin:.6g} {self.unit}"


def body_x_ecef(q_body_to_ecef: np.ndarray) -> np.ndarray:
    """Body +x axis in ECEF from scalar-first Hamilton quaternions (M, 4) -> (M, 3).

    First column of the rotation matrix (e.g. Diebel 2006, eq. 125), with the
    quaternion normalised first.
    """
    q = q_body_to_ecef
    with np.errstate(invalid="ignore", divide="ignore"):
        q = q / np.sqrt(np.einsum("ij,ij->i", q, q))[:, None]
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack([1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)], axis=-1)


class AttitudeErrorRule(Rule):
    """Angle between body +x and the commanded direction (az/el table in the pad ENU frame). Margin: deg."""

    def __init__(self, spec, mission):
        super().__init__(spec, mission)
        cmd = spec.commanded
        self.t_s = np.asarray(cmd.t_s, dtype=np.float64)
        self.az_rad = np.unwrap(np.radians(np.asarray(cmd.azimuth_deg, dtype=np.float64)))
        self.el_rad = np.radians(np.asarray(cmd.elevation_deg, dtype=np.float64))
        self.max_error_deg = spec.max_error_deg

    def commanded_ecef(self, ctx: RuleContext) -> np.ndarray:
        az = interp_table(ctx.t_s, self.t_s, self.az_rad)
        el = interp_table(ctx.t_s, self.t_s, self.el_rad)
        ce = np.cos(el)
        enu = np.stack([ce * np.sin(az), ce * np.cos(az), np.sin(el)], axis=-1)
        return enu @ ctx.site.enu_from_ecef  # rows of the matrix are E, N, U in ECEF

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        x = body_x_ecef(ctx.nav.q_body_to_ecef)
        c = self.commanded_ecef(ctx)
        cross = np.cross(x, c)
        err = np.degrees(np.arctan2(np.sqrt(np.einsum("ij,ij->i", cross, cross)), np.einsum("ij,ij->i", x, c)))
        return _margin_output(self.max_error_deg - err)

    def describe(self, margin: float) -> str:
        return f"attitude error {self.max_error_deg - margin:.3g} deg exceeds {self.max_error_deg:g} deg"


class BodyRateRule(Rule):
    """|omega_body| against a limit (tumble detection). Margin: deg/s."""

    def __init__(self, spec, mission):
        super().__init__(spec, mission)
        self.max_rate_deg_s = spec.max_rate_deg_s

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        w = ctx.nav.omega_body_rad_s
        rate = np.degrees(np.sqrt(np.einsum("ij,ij->i", w, w)))
        return _margin_output(self.max_rate_deg_s - rate)

    def describe(self, margin: float) -> str:
        return f"body rate {self.max_rate_deg_s - margin:.3g} deg/s exceeds {self.max_rate_deg_s:g} deg/s"
