"""Area outlines: reading GeoJSON and checking polygons.

An area's edges are great-circle arcs (planes through the Earth's centre
between consecutive vertices' geocentric directions); see
:mod:`rangeguard.earth.polygon`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pyproj import Geod

from rangeguard.earth.polygon import GreatCirclePolygon

_GEOD = Geod(ellps="WGS84")


def outline_problems(lat_deg: list[float], lon_deg: list[float], name: str = "area") -> list[str]:
    """Everything wrong with a polygon outline, as readable lines (empty when valid).

    The same checks the rules' :class:`~rangeguard.earth.polygon.GreatCirclePolygon`
    applies, so what loads is exactly what the engine can evaluate.
    """
    return GreatCirclePolygon.problems(lat_deg, lon_deg, name=name)


def read_geojson_outline(path: Path, feature: str | None = None) -> tuple[list[float], list[float]]:
    """(lat_deg, lon_deg) of the exterior ring of a GeoJSON Polygon (RFC 7946, [lon, lat] order).

    Accepts a Polygon geometry, a Feature holding one, or a FeatureCollection
    (then ``feature`` picks one by its ``name`` property, or it must hold exactly one).
    Raises ValueError with a readable message.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"file not found: {path} (paths are relative to the mission file)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a GeoJSON object")
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
        if feature is not None:
            feats = [f for f in feats if (f.get("properties") or {}).get("name") == feature]
            if not feats:
                raise ValueError(f"{path}: no feature with properties.name == '{feature}'")
        if len(feats) != 1:
            raise ValueError(f"{path}: holds {len(feats)} features; pick one with `feature: NAME`")
        doc = feats[0]
    if doc.get("type") == "Feature":
        doc = doc.get("geometry") or {}
    if doc.get("type") != "Polygon":
        raise ValueError(f"{path}: expected a Polygon geometry, found {doc.get('type')!r}")
    rings = doc.get("coordinates") or []
    if len(rings) != 1:
        raise ValueError(f"{path}: polygons with holes are not supported; give the exterior ring only")
    try:
        lon = [float(c[0]) for c in rings[0]]
        lat = [float(c[1]) for c in rings[0]]
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"{path}: coordinates must be [lon, lat] number pairs") from None
    return lat, lon


def farthest_vertex_m(site_lat_deg: float, site_lon_deg: float, lat_deg, lon_deg) -> float:
    """Largest WGS84 geodesic distance from the site to any vertex, m."""
    lat = np.asarray(lat_deg, dtype=float)
    lon = np.asarray(lon_deg, dtype=float)
    _, _, dist = _GEOD.inv(np.full_like(lon, site_lon_deg), np.full_like(lat, site_lat_deg), lon, lat)
    return float(np.max(dist))
