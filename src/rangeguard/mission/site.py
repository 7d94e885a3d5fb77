"""The launch site section of a mission file."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SiteSpec(BaseModel):
    """Launch site: pad position on WGS84, liftoff epoch and nominal flight azimuth."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # see docs: "Numbers"

    name: str = Field("launch site", description="Human-readable site name.")
    lat_deg: float = Field(..., ge=-90, le=90, description="Pad geodetic latitude, degrees (WGS84).")
    lon_deg: float = Field(..., ge=-180, le=360, description="Pad longitude, degrees east (WGS84).")
    alt_m: float = Field(0.0, ge=-500, le=9000, description="Pad height above the WGS84 ellipsoid, m.")
    liftoff_epoch_utc: datetime | None = Field(
        None, description="Planned liftoff epoch (ISO 8601, UTC). Nav time t_s is seconds from it (T+)."
    )
    launch_azimuth_deg: float = Field(
        ..., ge=-360, le=360,
        description="Nominal flight azimuth from the pad, degrees clockwise from north; defines downrange/crossrange.",
    )
