"""The launch site section of a mission file."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from rangeguard.mission.config import MODEL_CONFIG


class SiteSpec(BaseModel):
    """Launch site: pad position on WGS84, liftoff epoch and nominal flight azimuth."""

    model_config = MODEL_CONFIG  # see docs: "Numbers"

    name: str = Field("launch site", description="Human-readable site name.")
    lat_deg: float = Field(..., ge=-90, le=90, description="Pad geodetic latitude, degrees (WGS84).")
    lon_deg: float = Field(..., ge=-180, le=360, description="Pad longitude, degrees east (WGS84).")
    alt_m: float = Field(0.0, ge=-500, le=9000, description="Pad height above the WGS84 ellipsoid, m.")
    ground_height_m: float | None = Field(
        None,
        ge=-500,
        le=9000,
        description="Height of the ground above the WGS84 ellipsoid where the vehicle and its debris land, m, for "
        "the simulated impact, the IIP and the risk analysis; None: the pad's alt_m (0 for impacts at sea).",
    )
    liftoff_epoch_utc: datetime | None = Field(
        None,
        strict=False,  # the date-time is written as ISO 8601 text; _date_time_text refuses a number
        description="Planned liftoff epoch (ISO 8601, UTC). Nav time t_s is seconds from it (T+).",
    )
    launch_azimuth_deg: float = Field(
        ...,
        ge=-360,
        le=360,
        description="Nominal flight azimuth from the pad, degrees clockwise from north; defines downrange/crossrange.",
    )

    @field_validator("liftoff_epoch_utc", mode="before")
    @classmethod
    def _date_time_text(cls, v: object) -> object:
        # Lax datetime parsing would read a number as seconds since 1970 (``liftoff_epoch_utc: 5``).
        if v is None or isinstance(v, (str, datetime)):
            return v
        raise ValueError(f"must be an ISO 8601 date-time such as 2026-03-05T02:00:00Z, not {type(v).__name__} {v!r}")

    @property
    def impact_height_m(self) -> float:
        """The ground height for impact and IIP, m: ground_height_m, else the pad's alt_m."""
        return self.alt_m if self.ground_height_m is None else self.ground_height_m
