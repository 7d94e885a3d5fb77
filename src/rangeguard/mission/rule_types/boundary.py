"""Boundary rule types: the IIP or the present position against an area, and the IIP through a gate.

Areas are the mission's ``areas`` (great-circle polygons; distances along the Earth's surface,
positive inside). The polygon rules are judged by the compiled rule pass; the gate is stateful
and evaluates itself (:class:`rangeguard.rules.boundary.GateRule`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Literal, Self

from pydantic import Field, model_validator

from rangeguard.mission.rule_types.base import Packing, RuleType

if TYPE_CHECKING:
    from rangeguard.mission.model import Mission

Mode = Literal["exclusion", "inclusion"]


def _mode(mode: Mode | None, area: str, mission: Mission) -> Mode:
    """The rule's mode, by default from the area's kind (protected: exclusion; corridor: inclusion)."""
    if mode is not None:
        return mode
    return "exclusion" if mission.area(area).kind == "protected" else "inclusion"


class IipPolygonRule(RuleType):
    """The instantaneous impact point against an area. Margin unit: m (distance to the boundary).

    Without an IIP (orbit) the margin is NaN and the rule passes, or violates where the mission
    says ``no_impact: violate``.
    """

    unit: ClassVar[str] = "m"
    kernel: ClassVar[str] = "iip_polygon"

    type: Literal["iip_polygon"]
    area: str = Field(..., description="Name of an entry in `areas`.")
    mode: Mode | None = Field(
        None, description="exclusion: IIP inside violates; inclusion: IIP outside violates. Default from the area kind."
    )
    no_impact: Literal["pass", "violate"] = Field(
        "pass", description="What a missing IIP (orbit, no impact) means for this rule."
    )

    def pack(self, entry: Packing, mission: Mission) -> None:
        exclusion = _mode(self.mode, self.area, mission) == "exclusion"
        entry.set(col=entry.polygon(self.area), flag_a=exclusion, flag_b=self.no_impact == "violate")

    def describe(self, margin: float, mission: Mission) -> str:
        exclusion = _mode(self.mode, self.area, mission) == "exclusion"
        where = "inside protected area" if exclusion else "outside corridor"
        return f"IIP {where} '{self.area}' by {-margin / 1e3:.3f} km"


class PositionPolygonRule(RuleType):
    """Present position against an area with an altitude band (a prism). Margin unit: m.

    Signed distance to the prism: min(horizontal distance inside the outline, height above the
    bottom, depth below the top); positive inside.
    """

    unit: ClassVar[str] = "m"
    kernel: ClassVar[str] = "position_polygon"

    type: Literal["position_polygon"]
    area: str = Field(..., description="Name of an entry in `areas`.")
    mode: Mode | None = Field(
        None,
        description="exclusion: inside the prism violates; inclusion: outside violates. Default from the area kind.",
    )
    alt_min_m: float = Field(-math.inf, description="Bottom of the prism, m above the ellipsoid.")
    alt_max_m: float = Field(math.inf, description="Top of the prism, m above the ellipsoid.")

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.alt_max_m <= self.alt_min_m:
            raise ValueError("alt_max_m must be greater than alt_min_m")
        return self

    def pack(self, entry: Packing, mission: Mission) -> None:
        exclusion = _mode(self.mode, self.area, mission) == "exclusion"
        entry.set(col=entry.polygon(self.area), flag_a=exclusion, low=self.alt_min_m, high=self.alt_max_m)

    def describe(self, margin: float, mission: Mission) -> str:
        exclusion = _mode(self.mode, self.area, mission) == "exclusion"
        where = "inside keep-out volume" if exclusion else "outside its corridor volume"
        return f"vehicle {where} '{self.area}' by {-margin / 1e3:.3f} km"


class GateRule(RuleType):
    """The IIP must cross a line between two points within a time window. Margin unit: m.

    The margin is the along-gate distance of the IIP from the nearer gate end
    (negative beyond the ends), frozen at the crossing.
    """

    unit: ClassVar[str] = "m"
    kernel: ClassVar[str] = "gate"

    type: Literal["gate"]
    start_lat_deg: float = Field(..., ge=-90, le=90, description="Gate end point 1 latitude, degrees.")
    start_lon_deg: float = Field(..., ge=-180, le=360, description="Gate end point 1 longitude, degrees.")
    end_lat_deg: float = Field(..., ge=-90, le=90, description="Gate end point 2 latitude, degrees.")
    end_lon_deg: float = Field(..., ge=-180, le=360, description="Gate end point 2 longitude, degrees.")
    open_t_s: float = Field(..., description="Earliest legal crossing time (T+ s).")
    close_t_s: float = Field(..., description="Latest legal crossing time (T+ s); not crossed by then violates.")

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.close_t_s <= self.open_t_s:
            raise ValueError("close_t_s must be greater than open_t_s")
        if (self.start_lat_deg, self.start_lon_deg) == (self.end_lat_deg, self.end_lon_deg):
            raise ValueError("gate end points must differ")
        return self

    def describe(self, margin: float, mission: Mission) -> str:
        window = f"T+{self.open_t_s:g}..{self.close_t_s:g} s"
        return f"IIP missed gate '{self.name}' (window {window}; margin {margin / 1e3:.3f} km)"
