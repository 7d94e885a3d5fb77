"""Threshold rule types: a quantity's envelope against time, attitude error, body rate.

All three are judged by the compiled rule pass (:mod:`rangeguard.rules.program`).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, ClassVar, Literal, Self

import numpy as np
from pydantic import Field, field_validator, model_validator

from rangeguard.mission.quantities import BY_NAME, NAMES, QUANTITIES
from rangeguard.mission.rule_types.base import Packing, RuleType, Strict, increasing, table_array

if TYPE_CHECKING:
    from rangeguard.mission.model import Mission

ENVELOPE_QUANTITIES = {q.name: f"{q.definition.replace(chr(92), '')}, {q.unit}" for q in QUANTITIES}
"""Name -> definition of every quantity an envelope rule may watch (:mod:`rangeguard.mission.quantities`)."""

Quantity = Literal[NAMES]  # type: ignore[valid-type]  # the names of the one quantity table


def _limited(values: list[float | None] | None) -> bool:
    """True when some two consecutive table values are both numbers (a limit over an interval)."""
    return values is not None and any(a is not None and b is not None for a, b in itertools.pairwise(values))


class EnvelopeTable(Strict):
    """Lower/upper limits against flight time, linearly interpolated; null = no limit at that point."""

    t_s: list[float] = Field(..., min_length=2, description="Flight times (T+ s), increasing.")
    lower: list[float | None] | None = Field(None, description="Lower limits in the quantity's unit (null = none).")
    upper: list[float | None] | None = Field(None, description="Upper limits in the quantity's unit (null = none).")

    _t_increasing = field_validator("t_s")(increasing)

    @model_validator(mode="after")
    def _lengths(self) -> Self:
        if self.lower is None and self.upper is None:
            raise ValueError("give at least one of lower, upper")
        for name in ("lower", "upper"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.t_s):
                raise ValueError(f"{name} has {len(values)} values but t_s has {len(self.t_s)}; give one per time")
        if self.lower is not None and self.upper is not None:
            for i, (lo, hi) in enumerate(zip(self.lower, self.upper, strict=True)):
                if lo is not None and hi is not None and lo >= hi:
                    raise ValueError(f"lower[{i}] = {lo} must be below upper[{i}] = {hi}")
        if not any(_limited(values) for values in (self.lower, self.upper)):
            raise ValueError(
                "the table sets no limit over any time interval, so the rule can never be violated (at most at a "
                "single instant): a limit holds "
                "between two consecutive table times only when both values are numbers (null = no limit there "
                "and on the intervals on both sides); give numbers at two consecutive times at least"
            )
        return self


class EnvelopeRule(RuleType):
    """A quantity between lower and upper tables against time. Margin unit: the quantity's.

    margin = min(value - lower, upper - value); a null limit is ignored; outside the table's time
    span the rule does not judge (margin NaN).
    """

    kernel: ClassVar[str] = "envelope"

    type: Literal["envelope"]
    quantity: Quantity = Field(
        ..., description="One of: " + "; ".join(f"{k} ({v})" for k, v in ENVELOPE_QUANTITIES.items())
    )
    table: EnvelopeTable

    def margin_unit(self) -> str:
        return BY_NAME[self.quantity].unit

    def pack(self, entry: Packing, mission: Mission) -> None:
        t_s = np.asarray(self.table.t_s, dtype=np.float64)
        nan = np.full(t_s.shape, np.nan)
        lower, upper = table_array(self.table.lower), table_array(self.table.upper)
        entry.set(col=entry.column(self.quantity), flag_a=lower is not None, flag_b=upper is not None)
        entry.tables = (t_s, nan if lower is None else lower, nan if upper is None else upper)

    def describe(self, margin: float, mission: Mission) -> str:
        return f"{self.quantity} outside its envelope by {-margin:.6g} {self.margin_unit()}"


class CommandedAttitude(Strict):
    """Commanded direction of the body +x axis in the pad's ENU frame, against time (interpolated)."""

    t_s: list[float] = Field(..., min_length=2, description="Flight times (T+ s), increasing.")
    azimuth_deg: list[float] = Field(..., description="Azimuth of body +x, degrees clockwise from north.")
    elevation_deg: list[float] = Field(..., description="Elevation of body +x above the pad's horizontal, degrees.")

    _t_increasing = field_validator("t_s")(increasing)

    @model_validator(mode="after")
    def _lengths(self) -> Self:
        for name in ("azimuth_deg", "elevation_deg"):
            if len(getattr(self, name)) != len(self.t_s):
                raise ValueError(f"{name} needs one value per t_s entry ({len(self.t_s)})")
        return self


class AttitudeErrorRule(RuleType):
    """Angle between body +x and the commanded direction. Margin unit: deg.

    Body +x in ECEF is the first column of the rotation matrix of the normalised scalar-first
    quaternion (Diebel 2006, eq. 125); outside the command table the rule does not judge.
    """

    unit: ClassVar[str] = "deg"
    kernel: ClassVar[str] = "attitude_error"

    type: Literal["attitude_error"]
    commanded: CommandedAttitude
    max_error_deg: float = Field(..., gt=0, le=180, description="Largest allowed pointing error, degrees.")

    def pack(self, entry: Packing, mission: Mission) -> None:
        cmd = self.commanded
        entry.set(limit=self.max_error_deg)
        entry.tables = (
            np.asarray(cmd.t_s, dtype=np.float64),
            np.unwrap(np.radians(np.asarray(cmd.azimuth_deg, dtype=np.float64))),
            np.radians(np.asarray(cmd.elevation_deg, dtype=np.float64)),
        )

    def describe(self, margin: float, mission: Mission) -> str:
        return f"attitude error {self.max_error_deg - margin:.3g} deg exceeds {self.max_error_deg:g} deg"


class BodyRateRule(RuleType):
    """Tumble detection: body angular rate magnitude. Margin unit: deg/s."""

    unit: ClassVar[str] = "deg/s"
    kernel: ClassVar[str] = "body_rate"

    type: Literal["body_rate"]
    max_rate_deg_s: float = Field(..., gt=0, description="Largest allowed |omega_body|, deg/s.")

    def pack(self, entry: Packing, mission: Mission) -> None:
        entry.set(limit=self.max_rate_deg_s)

    def describe(self, margin: float, mission: Mission) -> str:
        return f"body rate {self.max_rate_deg_s - margin:.3g} deg/s exceeds {self.max_rate_deg_s:g} deg/s"
