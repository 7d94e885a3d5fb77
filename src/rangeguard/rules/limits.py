"""Threshold rules: envelope tables against time, attitude error, body rate.

Each packs into :mod:`rangeguard.rules.program`, the compiled pass the engine
runs for all rules at once.
"""

from __future__ import annotations

import numpy as np

from rangeguard.rules import _program_kernels as pk
from rangeguard.rules.base import Rule, table_array


class EnvelopeRule(Rule):
    """A quantity between lower and upper limits interpolated in time.

    margin = min(value - lower, upper - value) in the quantity's unit; a null
    limit is ignored; outside the table's time span the rule does not judge
    (margin NaN).
    """

    kind = pk.KIND_ENVELOPE

    def __init__(self, spec, mission, polygons):
        super().__init__(spec, mission, polygons)
        tab = spec.table
        self.t_s = np.asarray(tab.t_s, dtype=np.float64)
        self.lower = table_array(tab.lower)
        self.upper = table_array(tab.upper)
        self.quantity = spec.quantity

    def pack(self, entry) -> None:
        nan = np.full(self.t_s.shape, np.nan)
        entry.set(col=entry.column(self.quantity), flag_a=self.lower is not None, flag_b=self.upper is not None)
        entry.tables = (self.t_s, nan if self.lower is None else self.lower, nan if self.upper is None else self.upper)

    def describe(self, margin: float) -> str:
        return f"{self.quantity} outside its envelope by {-margin:.6g} {self.unit}"


class AttitudeErrorRule(Rule):
    """Angle between body +x and the commanded direction (az/el table in the pad ENU frame). Margin: deg.

    Body +x in ECEF is the first column of the rotation matrix of the
    normalised scalar-first quaternion (Diebel 2006, eq. 125); outside the
    command table the rule does not judge.
    """

    kind = pk.KIND_ATTITUDE

    def __init__(self, spec, mission, polygons):
        super().__init__(spec, mission, polygons)
        cmd = spec.commanded
        self.t_s = np.asarray(cmd.t_s, dtype=np.float64)
        self.az_rad = np.unwrap(np.radians(np.asarray(cmd.azimuth_deg, dtype=np.float64)))
        self.el_rad = np.radians(np.asarray(cmd.elevation_deg, dtype=np.float64))
        self.max_error_deg = spec.max_error_deg

    def pack(self, entry) -> None:
        entry.set(limit=self.max_error_deg)
        entry.tables = (self.t_s, self.az_rad, self.el_rad)

    def describe(self, margin: float) -> str:
        return f"attitude error {self.max_error_deg - margin:.3g} deg exceeds {self.max_error_deg:g} deg"


class BodyRateRule(Rule):
    """|omega_body| against a limit (tumble detection). Margin: deg/s."""

    kind = pk.KIND_BODY_RATE

    def __init__(self, spec, mission, polygons):
        super().__init__(spec, mission, polygons)
        self.max_rate_deg_s = spec.max_rate_deg_s

    def pack(self, entry) -> None:
        entry.set(limit=self.max_rate_deg_s)

    def describe(self, margin: float) -> str:
        return f"body rate {self.max_rate_deg_s - margin:.3g} deg/s exceeds {self.max_rate_deg_s:g} deg/s"
