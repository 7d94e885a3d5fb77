"""Area outlines: reading GeoJSON and checking polygons.

An area's edges are great-circle arcs (planes through the Earth's centre
between consecutive vertices' geocentric directions); see
:mod:`rangeguard.earth.polygon`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from pyproj import Geod

from rangeguard.earth.polygon import GreatCirclePolygon
from rangeguard.errors import InputError
from rangeguard.jsonfile import read_json

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
    Raises InputError (a ValueError) with one readable message (naming the file and, for a
    malformed document, the place in it, e.g. ``features[2].geometry``) for
    anything else: a missing file, a directory, a binary file, bad JSON, JSON
    nested deeper than any GeoJSON is, a wrong structure.
    """
    doc = _read_json(Path(path))
    where = ""
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise InputError(f"{path}: features must be a list of Feature objects")
        for i, f in enumerate(feats):
            if not isinstance(f, dict):
                raise InputError(f"{path}: features[{i}] must be a Feature object, found {_kind(f)}")
            if not isinstance(f.get("properties"), dict | None):
                raise InputError(f"{path}: features[{i}].properties must be an object or null")
        indexed = list(enumerate(feats))
        if feature is not None:
            indexed = [(i, f) for i, f in indexed if (f.get("properties") or {}).get("name") == feature]
            if not indexed:
                raise InputError(f"{path}: no feature with properties.name == '{feature}'")
        if len(indexed) != 1:
            raise InputError(f"{path}: holds {len(indexed)} features; pick one with `feature: NAME`")
        where, doc = f"features[{indexed[0][0]}]", indexed[0][1]
    if doc.get("type") == "Feature":
        geometry = doc.get("geometry")
        where += ("." if where else "") + "geometry"
        if not isinstance(geometry, dict):
            raise InputError(f"{path}: {where} must be a Polygon object, found {_kind(geometry)}")
        doc = geometry
    at = f" at {where}" if where else ""
    if doc.get("type") != "Polygon":
        raise InputError(f"{path}: expected a Polygon geometry{at}, found {doc.get('type')!r}")
    rings = doc.get("coordinates")
    if not isinstance(rings, list) or not all(isinstance(r, list) for r in rings):
        raise InputError(f"{path}: the Polygon's coordinates{at} must be a list of rings (lists of [lon, lat] pairs)")
    if len(rings) != 1:
        raise InputError(f"{path}: polygons with holes are not supported; give the exterior ring only")
    lat, lon = [], []
    for k, c in enumerate(rings[0]):
        if not (isinstance(c, list) and len(c) in (2, 3) and all(_is_number(x) for x in c)):
            raise InputError(
                f"{path}: coordinates must be [lon, lat] number pairs; position {k} of the ring{at} is {_short(c)}"
            )
        try:
            lon.append(float(c[0]))
            lat.append(float(c[1]))
        except OverflowError:  # an integer too large for a float
            lon.append(math.inf)
            lat.append(math.inf)  # reported as not finite by outline_problems
    return lat, lon


def _read_json(path: Path) -> dict[str, Any]:
    """The GeoJSON object in ``path``; InputError (a ValueError) with a readable message otherwise."""
    doc = read_json(path, "GeoJSON", " (paths are relative to the mission file)", finite_only=True)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a GeoJSON object, found {_kind(doc)}")
    return doc


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _kind(x: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(x), "a number"
    )


def _short(x: object) -> str:
    try:
        text = json.dumps(x)
    except (RecursionError, ValueError):
        return "a deeply nested list"
    return text if len(text) <= 60 else text[:57] + "..."


def farthest_vertex_m(site_lat_deg: float, site_lon_deg: float, lat_deg: ArrayLike, lon_deg: ArrayLike) -> float:
    """Largest WGS84 geodesic distance from the site to any vertex, m."""
    lat = np.asarray(lat_deg, dtype=float)
    lon = np.asarray(lon_deg, dtype=float)
    _, _, dist = _GEOD.inv(np.full_like(lon, site_lon_deg), np.full_like(lat, site_lat_deg), lon, lat)
    return float(np.max(dist))
