"""KML 2.2 and GeoJSON (RFC 7946) export of a mission and its flights, for Google Earth and QGIS.

What is exported (one feature each, with a ``kind`` property):

- ``protected_area`` / ``corridor``: Polygon, edges densified along their
  great circles (the arcs the engine uses), exterior ring counter-clockwise
  (RFC 7946 section 3.1.6, right-hand rule) and closed;
- ``gate``: LineString along the gate's great circle;
- ``launch_site``: Point;
- per flight: ``ground_track`` (LineString with height above the WGS84
  ellipsoid, m), ``iip_trace`` (LineString, until the IIP vanishes in
  orbit), ``termination`` (Point, with height) and ``termination_iip``
  (Point);
- Monte Carlo: ``iip_footprint`` and ``impact_footprint`` (MultiPoint);
- a risk analysis (the folder of ``rangeguard risk --out``, found by its
  ``risk.json``): every hazard area of its ``hazard_areas.geojson`` as a
  Polygon or MultiPolygon (holes kept) of kind ``ship``, ``aircraft`` or
  ``drop_zone``, with its ``criterion``, ``description`` and ``area_km2``
  (read by :func:`rangeguard.risk.hazard.read_hazard_areas`; an empty area
  has nothing to draw and is left out).

Positions are [longitude, latitude(, height m)] in WGS84 degrees, rounded to
1e-6 degree (about 0.1 m; RFC 7946 section 11.2). Longitudes are kept
continuous around the launch site, so a geometry crossing the antimeridian
has longitudes past 180 rather than being cut (section 3.1.9 suggests
cutting; no bundled mission crosses it).

KML: OGC 07-147r2 (KML 2.2), namespace ``http://www.opengis.net/kml/2.2``;
tracks use ``altitudeMode`` absolute (heights above the ellipsoid, which
Google Earth reads as above mean sea level: within the geoid height, tens
of metres, invisible at these scales).
"""

from __future__ import annotations

import json
import math
import typing
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from rangeguard.errors import InputError
from rangeguard.report import flight as fl
from rangeguard.report.geometry import area_rings, gate_lines, unwrap_lon
from rangeguard.report.montecarlo import is_montecarlo_dir, read_montecarlo
from rangeguard.report.risk import HAZARDS_FILE, RERUN, RISK_JSON, is_risk_dir

if typing.TYPE_CHECKING:
    from rangeguard.mission.model import Mission

KML_NS = "http://www.opengis.net/kml/2.2"
DIGITS = 6
MAX_TRACK_POINTS = 2000
"""Tracks longer than this are thinned (every k-th point, ends kept) to keep files small."""

STYLES = {  # kind -> (KML line colour aabbggrr, line width, KML polygon fill aabbggrr or None)
    "protected_area": ("ff2827d6", 2.0, "402827d6"),
    "corridor": ("ffbf4f1f", 2.0, "00000000"),
    "gate": ("ffa03f7b", 3.0, None),
    "ground_track": ("ff222222", 2.0, None),
    "iip_trace": ("ff0e7fff", 2.0, None),
    "launch_site": ("ff00d7ff", 1.0, None),
    "termination": ("ff2827d6", 1.0, None),
    "termination_iip": ("ff2827d6", 1.0, None),
    "iip_footprint": ("ff2827d6", 1.0, None),
    "impact_footprint": ("ff555555", 1.0, None),
    # hazard areas: the colours of the risk report's map (report.risk_figures.HAZARD_STYLES), filled
    "ship": ("ffbf4f1f", 2.0, "40bf4f1f"),
    "aircraft": ("ffa03f7b", 2.0, "40a03f7b"),
    "drop_zone": ("ff4b568c", 2.0, "404b568c"),
}


@dataclass
class Feature:
    """One exported feature: geometry type, [lon, lat(, h)] positions, properties."""

    name: str
    kind: str
    geometry: str  # "Point" | "LineString" | "Polygon" | "MultiPolygon" | "MultiPoint"
    coords: list  # Point: [x, y(, z)]; LineString/MultiPoint: [[...], ...]; Polygon: [exterior, *holes];
    # MultiPolygon: [polygon, ...]
    folder: str
    properties: dict = field(default_factory=dict)


def _pos(lon, lat, h=None) -> list[float]:
    p = [round(float(lon), DIGITS), round(float(lat), DIGITS)]
    if h is not None:
        p.append(round(float(h), 1))
    return p


def _thin(*arrays):
    n = len(arrays[0])
    if n <= MAX_TRACK_POINTS:
        return arrays
    idx = np.unique(np.concatenate([np.arange(0, n, math.ceil(n / MAX_TRACK_POINTS)), [n - 1]]))
    return tuple(a[idx] for a in arrays)


def _line(lat, lon, h=None) -> list:
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if h is not None:
        h = np.asarray(h, dtype=np.float64)
        ok &= np.isfinite(h)
        lat, lon, h = _thin(lat[ok], lon[ok], h[ok])
        return [_pos(x, y, z) for x, y, z in zip(lon, lat, h, strict=True)]
    lat, lon = _thin(lat[ok], lon[ok])
    return [_pos(x, y) for x, y in zip(lon, lat, strict=True)]


def ccw_closed_ring(lat_deg, lon_deg) -> list[list[float]]:
    """A ring as closed [lon, lat] positions, counter-clockwise in the lon/lat plane (RFC 7946 right-hand rule)."""
    xy = np.column_stack([lon_deg, lat_deg])
    ring = np.asarray(orient(Polygon(xy), 1.0).exterior.coords)
    out = [_pos(x, y) for x, y in ring]
    if out[0] != out[-1]:
        out.append(list(out[0]))
    return out


def mission_features(mission) -> list[Feature]:
    """Areas, corridors, gates and the launch site of a mission."""
    out = []
    for r in area_rings(mission):
        kind = "protected_area" if r.kind == "protected" else "corridor"
        out.append(
            Feature(
                r.name,
                kind,
                "Polygon",
                [ccw_closed_ring(r.lat_deg, r.lon_deg)],
                "protected areas" if kind == "protected_area" else "corridors",
                {"description": r.description, "mission": mission.name},
            )
        )
    for g in gate_lines(mission):
        out.append(
            Feature(
                g.name,
                "gate",
                "LineString",
                _line(g.lat_deg, g.lon_deg),
                "gates",
                {"description": g.description, "open_t_s": g.open_t_s, "close_t_s": g.close_t_s},
            )
        )
    s = mission.site
    out.append(
        Feature(
            s.name or "launch site",
            "launch_site",
            "Point",
            _pos(s.lon_deg, s.lat_deg, s.alt_m),
            "site",
            {"launch_azimuth_deg": s.launch_azimuth_deg},
        )
    )
    return out


def flight_features(run: fl.FlightRun, ref_lon_deg: float, label: str) -> list[Feature]:
    """Ground tracks, IIP traces and termination points of every vehicle of a flight folder."""
    out = []
    for tr in run.tracks:
        name = f"{label} v{tr.vehicle}" if len(run.tracks) > 1 else label
        lon = unwrap_lon(tr.lon_deg, ref_lon_deg)
        out.append(
            Feature(
                f"{name} ground track",
                "ground_track",
                "LineString",
                _line(tr.lat_deg, lon, tr.alt_m),
                label,
                {"vehicle": tr.vehicle, "t_start_s": float(tr.t_s[0]), "t_end_s": float(tr.t_s[-1])},
            )
        )
        gone = np.flatnonzero(~np.isfinite(tr.iip_lat_deg))
        gone = gone[gone > 0]
        stop = int(gone[0]) if gone.size else tr.t_s.size
        iip = _line(tr.iip_lat_deg[:stop], unwrap_lon(tr.iip_lon_deg[:stop], ref_lon_deg))
        if len(iip) >= 2:
            out.append(Feature(f"{name} IIP trace", "iip_trace", "LineString", iip, label, {"vehicle": tr.vehicle}))
        term = run.termination(tr.vehicle)
        if term and "lat_deg" in term:
            props = {"vehicle": tr.vehicle, "t_s": term["t_s"], "rule": term.get("rule")}
            out.append(
                Feature(
                    f"{name} terminated T+{term['t_s']:.2f} s ({term.get('rule')})",
                    "termination",
                    "Point",
                    _pos(unwrap_lon(term["lon_deg"], ref_lon_deg), term["lat_deg"], term["alt_m"]),
                    label,
                    props,
                )
            )
            if np.isfinite(term["iip_lat_deg"]):
                out.append(
                    Feature(
                        f"{name} IIP at termination",
                        "termination_iip",
                        "Point",
                        _pos(unwrap_lon(term["iip_lon_deg"], ref_lon_deg), term["iip_lat_deg"]),
                        label,
                        props,
                    )
                )
    return out


def montecarlo_features(mc, ref_lon_deg: float) -> list[Feature]:
    """IIP-at-termination and impact footprints of Monte Carlo flights (MultiPoint)."""
    out = []
    for prefix, kind, title in (
        ("iip", "iip_footprint", "IIP footprint"),
        ("impact", "impact_footprint", "impact footprint"),
    ):
        pts = mc.points(prefix)
        if pts is None:
            continue
        lat, lon = pts
        ok = np.isfinite(lat) & np.isfinite(lon)
        if ok.any():
            coords = [_pos(x, y) for x, y in zip(unwrap_lon(lon[ok], ref_lon_deg), lat[ok], strict=True)]
            out.append(Feature(title, kind, "MultiPoint", coords, "Monte Carlo", {"n": int(ok.sum())}))
    return out


def hazard_features(areas, ref_lon_deg: float) -> list[Feature]:
    """One Polygon or MultiPolygon Feature per hazard area (:class:`rangeguard.risk.hazard.HazardArea`),
    longitudes kept within 180 degrees of ``ref_lon_deg``; empty areas are left out."""

    def rings(part: Polygon) -> list[list[list[float]]]:
        part = orient(part, 1.0)  # exterior counter-clockwise, holes clockwise (as the file has them)
        result = []
        for r in (part.exterior, *part.interiors):
            xy = np.asarray(r.coords)[:, :2]
            result.append([_pos(x, y) for x, y in zip(unwrap_lon(xy[:, 0], ref_lon_deg), xy[:, 1], strict=True)])
        return result

    out = []
    for a in areas:
        parts = [p for p in (a.polygon.geoms if isinstance(a.polygon, MultiPolygon) else [a.polygon]) if not p.is_empty]
        if not parts:
            continue
        coords: list = rings(parts[0]) if len(parts) == 1 else [rings(p) for p in parts]
        geometry = "Polygon" if len(parts) == 1 else "MultiPolygon"
        props = {"criterion": a.criterion, "description": a.description, "area_km2": round(a.area_km2, 6)}
        out.append(Feature(a.name, a.kind, geometry, coords, "hazard areas", props))
    return out


def _risk_features(path: Path, mission=None) -> tuple[Mission, list[Feature]]:
    """(mission, features) of a ``rangeguard risk --out`` folder: the mission's geometry and the hazard areas."""
    from rangeguard.report import files
    from rangeguard.risk.hazard import read_hazard_areas

    summary_path = path / RISK_JSON
    summary = files.read_json(summary_path)
    hazards_path = path / HAZARDS_FILE
    if not hazards_path.exists():
        raise InputError(f"{path}: has {RISK_JSON} but no {HAZARDS_FILE}; {RERUN}")
    areas = read_hazard_areas(hazards_path)  # before the mission: a bad file is named at once
    if mission is None:
        mission = summary.get("mission")
        if not isinstance(mission, str) or not mission:
            raise InputError(f"{summary_path} does not say which mission was analysed; pass --mission FILE")
    m = fl.resolve_mission(path, {}, mission)
    return m, mission_features(m) + hazard_features(areas, m.site.lon_deg)


def collect_features(path, mission=None) -> tuple[Mission, list[Feature]]:
    """(mission, features) for a results folder (demo, simulate, validate or risk output) or a mission only."""
    path = Path(path)
    if is_risk_dir(path):
        return _risk_features(path, mission)
    runs: list[fl.FlightRun] = []
    mc = None
    if fl.is_demo_dir(path):
        runs = [fl.read_flight(d) for d in fl.demo_run_dirs(path)]
    elif fl.is_flight_dir(path):
        runs = [fl.read_flight(path)]
    elif is_montecarlo_dir(path):
        mc = read_montecarlo(path)
        runs = [fl.read_flight(d) for d in sorted(path.iterdir()) if d.is_dir() and fl.is_flight_dir(d)]
    else:
        raise fl.not_an_output_folder(path)
    if mc is not None:
        summary = {"mission": mc.mission_name} if mc.mission_name else {}
    else:
        summary = runs[0].summary if runs else {}
    m = fl.resolve_mission(runs[0].path if runs else path, summary, mission)
    feats = mission_features(m)
    for run in runs:
        feats += flight_features(run, m.site.lon_deg, run.title)
    if mc is not None:
        feats += montecarlo_features(mc, m.site.lon_deg)
    return m, feats


# --- writers ---------------------------------------------------------------------------------


def to_geojson(features: list[Feature]) -> dict:
    """RFC 7946 FeatureCollection."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": f.geometry, "coordinates": f.coords},
                "properties": {
                    "name": f.name,
                    "kind": f.kind,
                    "folder": f.folder,
                    **{k: v for k, v in f.properties.items() if v is not None},
                },
            }
            for f in features
        ],
    }


def _coord_text(positions) -> str:
    return " ".join(",".join(repr(c) for c in p) for p in positions)


def to_kml(features: list[Feature], title: str) -> bytes:
    """KML 2.2 document: one Folder per group, a Style per kind."""
    ET.register_namespace("", KML_NS)

    def el(parent, tag, text=None, **attrib):
        e = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", attrib)
        if text is not None:
            e.text = str(text)
        return e

    def polygon(parent, rings):
        g = el(parent, "Polygon")
        el(g, "tessellate", 1)
        el(el(el(g, "outerBoundaryIs"), "LinearRing"), "coordinates", _coord_text(rings[0]))
        for hole in rings[1:]:
            el(el(el(g, "innerBoundaryIs"), "LinearRing"), "coordinates", _coord_text(hole))

    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = el(root, "Document")
    el(doc, "name", title)
    for kind, (line, width, fill) in STYLES.items():
        st = el(doc, "Style", id=kind)
        ls = el(st, "LineStyle")
        el(ls, "color", line)
        el(ls, "width", width)
        ps = el(st, "PolyStyle")
        el(ps, "color", fill or "00000000")
        el(ps, "fill", 1 if fill else 0)
        icon = el(st, "IconStyle")
        el(icon, "color", line)
    folders: dict[str, ET.Element] = {}
    for f in features:
        if f.folder not in folders:
            folders[f.folder] = el(doc, "Folder")
            el(folders[f.folder], "name", f.folder)
        pm = el(folders[f.folder], "Placemark")
        el(pm, "name", f.name)
        desc = "; ".join(f"{k}: {v}" for k, v in f.properties.items() if v not in (None, ""))
        if desc:
            el(pm, "description", desc)
        el(pm, "styleUrl", f"#{f.kind}")
        absolute = f.kind in ("ground_track", "termination")
        if f.geometry == "Point":
            g = el(pm, "Point")
            if absolute:
                el(g, "altitudeMode", "absolute")
            el(g, "coordinates", _coord_text([f.coords]))
        elif f.geometry == "LineString":
            g = el(pm, "LineString")
            el(g, "tessellate", 1)
            if absolute:
                el(g, "altitudeMode", "absolute")
            el(g, "coordinates", _coord_text(f.coords))
        elif f.geometry == "Polygon":
            polygon(pm, f.coords)
        elif f.geometry == "MultiPolygon":
            g = el(pm, "MultiGeometry")
            for rings in f.coords:
                polygon(g, rings)
        elif f.geometry == "MultiPoint":
            g = el(pm, "MultiGeometry")
            for p in f.coords:
                el(el(g, "Point"), "coordinates", _coord_text([p]))
        else:  # pragma: no cover - every Feature is built above
            raise ValueError(f.geometry)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def export(path, kml=None, geojson=None, mission=None) -> list[Path]:
    """Write KML and/or GeoJSON for a results folder; returns the files written."""
    if kml is None and geojson is None:
        raise InputError("nothing to write: give --kml FILE and/or --geojson FILE")
    m, feats = collect_features(path, mission)
    written = []
    if geojson is not None:
        p = Path(geojson)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(to_geojson(feats), separators=(",", ":"), allow_nan=False) + "\n", encoding="utf-8")
        written.append(p)
    if kml is not None:
        p = Path(kml)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(to_kml(feats, f"rangeguard: {m.name} ({Path(path).name})"))
        written.append(p)
    return written
