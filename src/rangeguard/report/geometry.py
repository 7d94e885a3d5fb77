"""Mission geometry as drawable lines: areas, corridors and gates with great-circle edges.

The engine treats every area edge as a great-circle arc
(:class:`rangeguard.earth.polygon.GreatCirclePolygon`); maps, KML and GeoJSON
draw straight lines between vertices (in lon/lat, or on the globe for
Google Earth), so edges are densified first: points no more than
``max_step_deg`` of arc apart follow the same arc the engine uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rangeguard.constants import WGS84_E2
from rangeguard.earth.polygon import GreatCirclePolygon, unit_vectors

DEFAULT_STEP_DEG = 0.1
"""Densification step along great-circle edges, degrees of arc (about 11 km)."""


@dataclass(frozen=True)
class AreaRing:
    """A mission area as a closed ring (first point == last), degrees."""

    name: str
    kind: str  # "protected" | "corridor"
    description: str
    lat_deg: np.ndarray
    lon_deg: np.ndarray


@dataclass(frozen=True)
class GateLine:
    """A gate rule's line as points along its great-circle arc, degrees."""

    name: str
    description: str
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    open_t_s: float
    close_t_s: float


def unwrap_lon(lon_deg, ref_deg: float) -> np.ndarray:
    """Longitudes shifted by multiples of 360 to lie within 180 degrees of ``ref_deg`` (NaN stays NaN)."""
    lon = np.asarray(lon_deg, dtype=np.float64)
    return ref_deg + (lon - ref_deg + 180.0) % 360.0 - 180.0


def great_circle_points(lat1_deg, lon1_deg, lat2_deg, lon2_deg, max_step_deg: float = DEFAULT_STEP_DEG):
    """(lat_deg, lon_deg) arrays along the great-circle arc between two points, ends included.

    Interpolates the geocentric directions of the geodetic points by slerp
    (the arc :class:`GreatCirclePolygon` uses for its edges), and converts
    back through the WGS84 geodetic/geocentric latitude relation.
    """
    a = unit_vectors(np.float64(lat1_deg), np.float64(lon1_deg)).reshape(3)
    b = unit_vectors(np.float64(lat2_deg), np.float64(lon2_deg)).reshape(3)
    omega = float(np.arctan2(np.linalg.norm(np.cross(a, b)), a @ b))
    m = max(1, int(np.ceil(np.degrees(omega) / max_step_deg)))
    t = np.linspace(0.0, 1.0, m + 1)[:, None]
    if omega < 1e-12:
        p = np.repeat(a[None, :], m + 1, axis=0)
    else:
        p = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    lat = np.degrees(np.arctan2(p[:, 2], (1.0 - WGS84_E2) * np.hypot(p[:, 0], p[:, 1])))
    lon = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    return lat, unwrap_lon(lon, float(lon1_deg))


def area_rings(mission, max_step_deg: float = DEFAULT_STEP_DEG) -> list[AreaRing]:
    """Every area of the mission, densified along its great-circle edges, longitudes near the site's."""
    out = []
    for a in mission.areas:
        lat, lon = mission.area_outline(a.name)
        ring_lat, ring_lon = GreatCirclePolygon(lat, lon, name=a.name).densified_boundary(max_step_deg)
        ring_lon = np.unwrap(np.radians(unwrap_lon(ring_lon, mission.site.lon_deg)))
        out.append(AreaRing(a.name, a.kind, a.description, np.asarray(ring_lat), np.degrees(ring_lon)))
    return out


def gate_lines(mission, max_step_deg: float = DEFAULT_STEP_DEG) -> list[GateLine]:
    """The lines of the mission's gate rules."""
    out = []
    for r in mission.rules:
        if r.type != "gate":
            continue
        lat, lon = great_circle_points(r.start_lat_deg, r.start_lon_deg, r.end_lat_deg, r.end_lon_deg, max_step_deg)
        out.append(GateLine(r.name, r.description, lat, unwrap_lon(lon, mission.site.lon_deg), r.open_t_s, r.close_t_s))
    return out
