"""Rule sections of a mission file: one pydantic model per rule type.

Every rule has a unique ``name``, an activity window (``active``), and a
``persistence_s`` (defaulting to ``termination.persistence_s``). Each type
states its margin unit: the signed distance to its limit, negative when
violated. See docs/mission-format.md for an annotated example.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from rangeguard.mission.config import MODEL_CONFIG, TUPLE_FROM_LIST
from rangeguard.mission.quantities import BY_NAME, NAMES, QUANTITIES


class _Strict(BaseModel):
    model_config = MODEL_CONFIG  # see docs: "Numbers"


def _increasing(values: list[float]) -> list[float]:
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError("values must increase")
    return values


class ActiveWindow(_Strict):
    """When a rule is evaluated. All conditions must hold (empty = always after arming)."""

    from_t_s: float = Field(-math.inf, description="Active from this flight time (T+ seconds).")
    to_t_s: float = Field(math.inf, description="Active until this flight time (T+ seconds), exclusive.")
    after_event: str | None = Field(None, description="Active only once this event has occurred.")
    until_event: str | None = Field(None, description="Active only until this event occurs.")
    phase: str | None = Field(None, description="Active only during this named phase (see `phases`).")

    @model_validator(mode="after")
    def _ordered(self):
        if self.to_t_s <= self.from_t_s:
            raise ValueError("to_t_s must be greater than from_t_s")
        return self


class _RuleBase(_Strict):
    name: str = Field(..., min_length=1, description="Unique rule name, used in decisions and reports.")
    description: str = Field("", description="What the rule protects against.")
    active: ActiveWindow = Field(default_factory=ActiveWindow, description="When the rule is evaluated.")
    persistence_s: float | None = Field(
        None, ge=0, description="A violation counts once it has held this long (s); default termination.persistence_s."
    )
    enabled: bool = Field(True, description="Set false to keep a rule in the file without evaluating it.")
    action: Literal["terminate", "degrade", "monitor"] | None = Field(
        None,
        description=(
            "What a persisted violation does: terminate (the string votes to terminate), degrade (the string "
            "counts as faulty: under health_degraded it drops out and the others decide; under 1oo2/2oo2 a faulty "
            "string votes per termination.faulty_string_votes), monitor (recorded only). Default: degrade for "
            "data_loss, terminate otherwise."
        ),
    )


class IipPolygonRule(_RuleBase):
    """The instantaneous impact point against an area. Margin unit: m (distance to the boundary)."""

    type: Literal["iip_polygon"]
    area: str = Field(..., description="Name of an entry in `areas`.")
    mode: Literal["exclusion", "inclusion"] | None = Field(
        None, description="exclusion: IIP inside violates; inclusion: IIP outside violates. Default from the area kind."
    )
    no_impact: Literal["pass", "violate"] = Field(
        "pass", description="What a missing IIP (orbit, no impact) means for this rule."
    )


class PositionPolygonRule(_RuleBase):
    """Present position against an area with an altitude band (a prism). Margin unit: m."""

    type: Literal["position_polygon"]
    area: str = Field(..., description="Name of an entry in `areas`.")
    mode: Literal["exclusion", "inclusion"] | None = Field(
        None,
        description="exclusion: inside the prism violates; inclusion: outside violates. Default from the area kind.",
    )
    alt_min_m: float = Field(-math.inf, description="Bottom of the prism, m above the ellipsoid.")
    alt_max_m: float = Field(math.inf, description="Top of the prism, m above the ellipsoid.")

    @model_validator(mode="after")
    def _band(self):
        if self.alt_max_m <= self.alt_min_m:
            raise ValueError("alt_max_m must be greater than alt_min_m")
        return self


class GateRule(_RuleBase):
    """The IIP must cross a line between two points within a time window. Margin unit: m.

    The margin is the along-gate distance of the IIP from the nearer gate end
    (negative beyond the ends), frozen at the crossing.
    """

    type: Literal["gate"]
    start_lat_deg: float = Field(..., ge=-90, le=90, description="Gate end point 1 latitude, degrees.")
    start_lon_deg: float = Field(..., ge=-180, le=360, description="Gate end point 1 longitude, degrees.")
    end_lat_deg: float = Field(..., ge=-90, le=90, description="Gate end point 2 latitude, degrees.")
    end_lon_deg: float = Field(..., ge=-180, le=360, description="Gate end point 2 longitude, degrees.")
    open_t_s: float = Field(..., description="Earliest legal crossing time (T+ s).")
    close_t_s: float = Field(..., description="Latest legal crossing time (T+ s); not crossed by then violates.")

    @model_validator(mode="after")
    def _window(self):
        if self.close_t_s <= self.open_t_s:
            raise ValueError("close_t_s must be greater than open_t_s")
        if (self.start_lat_deg, self.start_lon_deg) == (self.end_lat_deg, self.end_lon_deg):
            raise ValueError("gate end points must differ")
        return self


ENVELOPE_QUANTITIES = {q.name: f"{q.definition.replace(chr(92), '')}, {q.unit}" for q in QUANTITIES}
"""Name -> definition of every quantity an envelope rule may watch (:mod:`rangeguard.mission.quantities`)."""

Quantity = Literal[NAMES]  # type: ignore[valid-type]  # the names of the one quantity table


def _limited(values: list[float | None] | None) -> bool:
    """True when some two consecutive table values are both numbers (a limit over an interval)."""
    return values is not None and any(a is not None and b is not None for a, b in itertools.pairwise(values))


class EnvelopeTable(_Strict):
    """Lower/upper limits against flight time, linearly interpolated; null = no limit at that point."""

    t_s: list[float] = Field(..., min_length=2, description="Flight times (T+ s), increasing.")
    lower: list[float | None] | None = Field(None, description="Lower limits in the quantity's unit (null = none).")
    upper: list[float | None] | None = Field(None, description="Upper limits in the quantity's unit (null = none).")

    _t_increasing = field_validator("t_s")(_increasing)

    @model_validator(mode="after")
    def _lengths(self):
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


class EnvelopeRule(_RuleBase):
    """A quantity between lower and upper tables against time. Margin unit: the quantity's."""

    type: Literal["envelope"]
    quantity: Quantity = Field(
        ..., description="One of: " + "; ".join(f"{k} ({v})" for k, v in ENVELOPE_QUANTITIES.items())
    )
    table: EnvelopeTable


class CommandedAttitude(_Strict):
    """Commanded direction of the body +x axis in the pad's ENU frame, against time (interpolated)."""

    t_s: list[float] = Field(..., min_length=2, description="Flight times (T+ s), increasing.")
    azimuth_deg: list[float] = Field(..., description="Azimuth of body +x, degrees clockwise from north.")
    elevation_deg: list[float] = Field(..., description="Elevation of body +x above the pad's horizontal, degrees.")

    _t_increasing = field_validator("t_s")(_increasing)

    @model_validator(mode="after")
    def _lengths(self):
        for name in ("azimuth_deg", "elevation_deg"):
            if len(getattr(self, name)) != len(self.t_s):
                raise ValueError(f"{name} needs one value per t_s entry ({len(self.t_s)})")
        return self


class AttitudeErrorRule(_RuleBase):
    """Angle between body +x and the commanded direction. Margin unit: deg."""

    type: Literal["attitude_error"]
    commanded: CommandedAttitude
    max_error_deg: float = Field(..., gt=0, le=180, description="Largest allowed pointing error, degrees.")


class BodyRateRule(_RuleBase):
    """Tumble detection: body angular rate magnitude. Margin unit: deg/s."""

    type: Literal["body_rate"]
    max_rate_deg_s: float = Field(..., gt=0, description="Largest allowed |omega_body|, deg/s.")


class DataLossRule(_RuleBase):
    """No valid nav for longer than a green time (judged on receive time). Margin unit: s."""

    type: Literal["data_loss"]
    green_time_s: float | None = Field(None, gt=0, description="Constant green time, s.")
    table: dict[str, list[float]] | None = Field(
        None, description="Green time against flight time: {t_s: [...], green_time_s: [...]} (interpolated)."
    )

    @model_validator(mode="after")
    def _one_source(self):
        if (self.green_time_s is None) == (self.table is None):
            raise ValueError("give exactly one of green_time_s (constant) or table {t_s, green_time_s}")
        if self.table is not None:
            if set(self.table) != {"t_s", "green_time_s"}:
                raise ValueError("table needs exactly the keys t_s and green_time_s")
            _increasing(self.table["t_s"])
            if len(self.table["t_s"]) != len(self.table["green_time_s"]) or len(self.table["t_s"]) < 2:
                raise ValueError("table t_s and green_time_s need the same length (at least 2)")
            if min(self.table["green_time_s"]) <= 0:
                raise ValueError("green_time_s values must be positive")
        return self


class SourceDisagreementRule(_RuleBase):
    """Two redundant nav sources disagree. Margin unit: m (position) or m/s (velocity)."""

    type: Literal["source_disagreement"]
    sources: tuple[str, str] = Field(
        ..., strict=TUPLE_FROM_LIST, description="Names of the two nav sources to compare."
    )
    quantity: Literal["position_m", "velocity_mps"] = Field("position_m", description="What to compare.")
    max_difference: float = Field(..., gt=0, description="Largest allowed |difference| in the quantity's unit.")
    max_age_s: float = Field(
        1.0, gt=0, description="Compare only when the two samples' times of validity are at most this far apart (s)."
    )


RuleSpec = Annotated[
    IipPolygonRule
    | PositionPolygonRule
    | GateRule
    | EnvelopeRule
    | AttitudeErrorRule
    | BodyRateRule
    | DataLossRule
    | SourceDisagreementRule,
    Field(discriminator="type"),
]

RULE_UNITS = {
    "iip_polygon": "m",
    "position_polygon": "m",
    "gate": "m",
    "attitude_error": "deg",
    "body_rate": "deg/s",
    "data_loss": "s",
}


def rule_unit(spec) -> str:
    """Unit of a rule's margin."""
    if spec.type == "envelope":
        return BY_NAME[spec.quantity].unit
    if spec.type == "source_disagreement":
        return "m" if spec.quantity == "position_m" else "m/s"
    return RULE_UNITS[spec.type]
