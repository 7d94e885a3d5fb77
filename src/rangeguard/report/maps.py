"""Range-safety maps: coastlines, protected areas, corridors, gates, tracks, IIP traces, terminations.

Drawn with matplotlib on a plate carree (lon/lat) axis whose aspect is
1 / cos(mid latitude), so distances east-west and north-south look alike
at the map's centre. Land and coastlines come from the vendored Natural Earth
1:50m data (:mod:`rangeguard.geodata`); area edges are densified along
their great circles (:mod:`rangeguard.report.geometry`). Longitudes are
unwrapped around the launch site so a map may cross the antimeridian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rangeguard.geodata import coastline_lines, land_polygons
from rangeguard.report.geometry import area_rings, gate_lines, unwrap_lon
from rangeguard.report.style import new_figure

LAND = "#efe6d2"
SEA = "#dcecf7"
COAST = "#6b6b6b"
PROTECTED = "#d62728"
CORRIDOR = "#1f4fbf"
GATE = "#7b3fa0"
TRACK = "#222222"
IIP = "#ff7f0e"


@dataclass
class MapLayer:
    """Flight data to draw on a map (all degrees; longitudes any branch)."""

    tracks: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (lat, lon) ground tracks
    iips: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (lat, lon) IIP traces
    terminations: list[dict] = field(default_factory=list)  # dicts with lat_deg, lon_deg, iip_lat_deg, iip_lon_deg
    scatter: list[tuple[str, np.ndarray, np.ndarray, str]] = field(default_factory=list)  # (label, lat, lon, colour)
    outlines: list[tuple[str, np.ndarray, np.ndarray, str]] = field(default_factory=list)  # closed lines, as scatter


def _finite(lat, lon):
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    return lat[ok], lon[ok]


def auto_bbox(
    points_lat: list[np.ndarray], points_lon: list[np.ndarray], pad_frac: float = 0.08, min_span_deg: float = 2.0
) -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) around the finite points, padded, at least ``min_span_deg`` wide."""
    lat = np.concatenate([np.ravel(a) for a in points_lat]) if points_lat else np.zeros(0)
    lon = np.concatenate([np.ravel(a) for a in points_lon]) if points_lon else np.zeros(0)
    lat, lon = _finite(lat, lon)
    if lat.size == 0:
        return (-180.0, -85.0, 180.0, 85.0)
    x0, x1, y0, y1 = lon.min(), lon.max(), lat.min(), lat.max()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = min(max(x1 - x0, min_span_deg) * (1 + 2 * pad_frac), 359.0)
    h = max(y1 - y0, min_span_deg) * (1 + 2 * pad_frac)
    y0, y1 = max(cy - h / 2, -89.0), min(cy + h / 2, 89.0)
    return (cx - w / 2, y0, cx + w / 2, y1)


def draw_map(ax, mission, layer: MapLayer, bbox=None, *, legend: bool = True, areas: bool = True) -> tuple:
    """Draw the mission and ``layer`` onto a matplotlib Axes; returns the bbox used."""
    site = mission.site
    ref = site.lon_deg
    rings = area_rings(mission) if areas else []
    gates = gate_lines(mission)
    if bbox is None:
        bbox = map_bbox(mission, layer)
    x0, y0, x1, y1 = bbox
    ax.set_facecolor(SEA)
    for poly in land_polygons(x0, y0, x1, y1):
        xy = np.asarray(poly.exterior.coords)
        ax.fill(xy[:, 0], xy[:, 1], color=LAND, lw=0, zorder=1)
    for line in coastline_lines((x0, y0, x1, y1)):
        ax.plot(line[:, 0], line[:, 1], color=COAST, lw=0.5, zorder=2)
    labelled = set()
    for r in rings:
        lon = r.lon_deg
        # draw the copy nearest the map (rings are unwrapped around the site)
        if r.kind == "protected":
            ax.fill(lon, r.lat_deg, color=PROTECTED, alpha=0.13, lw=0, zorder=3)
            ax.plot(
                lon,
                r.lat_deg,
                color=PROTECTED,
                lw=1.0,
                zorder=4,
                label=None if "protected" in labelled else "protected area (with margin)",
            )
            labelled.add("protected")
        else:
            ax.plot(
                lon,
                r.lat_deg,
                color=CORRIDOR,
                lw=1.2,
                ls="--",
                zorder=4,
                label=None if "corridor" in labelled else "IIP corridor",
            )
            labelled.add("corridor")
        _label_area(ax, r, bbox)
    for g in gates:
        ax.plot(g.lon_deg, g.lat_deg, color=GATE, lw=2.0, zorder=5, label=None if "gate" in labelled else "gate")
        labelled.add("gate")
    for k, (lat, lon) in enumerate(layer.tracks):
        ax.plot(
            unwrap_lon(lon, ref),
            lat,
            color=TRACK,
            lw=1.6 if k == 0 else 0.5,
            alpha=1.0 if k == 0 else 0.35,
            zorder=6,
            label="ground track" if k == 0 else None,
        )
    for k, (lat, lon) in enumerate(layer.iips):
        ax.plot(
            unwrap_lon(lon, ref),
            lat,
            color=IIP,
            lw=1.6 if k == 0 else 0.5,
            ls="-" if k == 0 else ":",
            alpha=1.0 if k == 0 else 0.5,
            zorder=6,
            label="IIP trace" if k == 0 else None,
        )
    for label, lat, lon, colour in layer.scatter:
        lat, lon = _finite(lat, lon)
        ax.scatter(unwrap_lon(lon, ref), lat, s=14, color=colour, alpha=0.6, lw=0, zorder=7, label=label)
    for label, lat, lon, colour in layer.outlines:
        ax.plot(unwrap_lon(np.asarray(lon, dtype=np.float64), ref), lat, color=colour, lw=1.4, zorder=8, label=label)
    for k, term in enumerate(layer.terminations):
        if "lon_deg" in term:
            ax.plot(
                unwrap_lon(term["lon_deg"], ref),
                term["lat_deg"],
                marker="X",
                ms=11,
                color=PROTECTED,
                mec="black",
                mew=0.8,
                ls="none",
                zorder=9,
                label="termination (vehicle)" if k == 0 else None,
            )
        if "iip_lat_deg" in term and np.isfinite(term["iip_lat_deg"]):
            ax.plot(
                unwrap_lon(term["iip_lon_deg"], ref),
                term["iip_lat_deg"],
                marker="o",
                ms=9,
                mfc="none",
                mec=PROTECTED,
                mew=2.0,
                ls="none",
                zorder=9,
                label="IIP at termination" if k == 0 else None,
            )
    ax.plot(
        ref,
        site.lat_deg,
        marker="*",
        ms=15,
        color="gold",
        mec="black",
        mew=0.8,
        ls="none",
        zorder=10,
        label=f"launch site ({site.name})" if getattr(site, "name", None) else "launch site",
    )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / max(math.cos(math.radians((y0 + y1) / 2)), 0.05))
    ax.set_xlabel("longitude, deg E")
    ax.set_ylabel("latitude, deg N")
    ax.grid(True, lw=0.3, color="white", zorder=0)
    if legend:
        ax.figure.legend(loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    return bbox


def map_bbox(mission, layer: MapLayer) -> tuple:
    """A box holding the site, every mission area, and the layer's tracks, IIP traces and points."""
    site = mission.site
    ref = site.lon_deg
    rings = area_rings(mission)
    lats = (
        [np.array([site.lat_deg])]
        + [r.lat_deg for r in rings]
        + [t[0] for t in layer.tracks]
        + [t[0] for t in layer.iips]
    )
    lons = [np.array([ref])] + [r.lon_deg for r in rings] + [unwrap_lon(t[1], ref) for t in layer.tracks]
    lons += [unwrap_lon(t[1], ref) for t in layer.iips]
    lats += [s[1] for s in layer.scatter] + [np.asarray(o[1], dtype=np.float64) for o in layer.outlines]
    lons += [unwrap_lon(s[2], ref) for s in layer.scatter]
    lons += [unwrap_lon(np.asarray(o[2], dtype=np.float64), ref) for o in layer.outlines]
    return auto_bbox(lats, lons)


def _label_area(ax, ring, bbox) -> None:
    x0, y0, x1, y1 = bbox
    inside = (ring.lon_deg >= x0) & (ring.lon_deg <= x1) & (ring.lat_deg >= y0) & (ring.lat_deg <= y1)
    if not inside.any() or ring.kind != "protected":
        return
    cx = float(np.clip(np.mean(ring.lon_deg[inside]), x0, x1))
    cy = float(np.clip(np.mean(ring.lat_deg[inside]), y0, y1))
    ax.text(
        cx, cy, ring.name, fontsize=6.5, color=PROTECTED, ha="center", va="center", zorder=8, clip_on=True, alpha=0.9
    )


def map_figure(mission, layer: MapLayer, title: str, bbox=None, width_in: float = 7.5, *, legend: bool = True):
    """A one-map Figure (see :func:`draw_map`), its height fitted to the map's shape.

    ``legend=False``: no legend yet, for a caller that draws more on ``fig.axes[0]`` and then adds it.
    """
    if bbox is None:
        bbox = map_bbox(mission, layer)
    x0, y0, x1, y1 = bbox
    shape = (y1 - y0) / ((x1 - x0) * max(math.cos(math.radians((y0 + y1) / 2)), 0.05))
    fig = new_figure(width_in, min(max(width_in * 0.8 * shape + 1.4, 3.5), 11.0))
    ax = fig.add_subplot(1, 1, 1)
    draw_map(ax, mission, layer, bbox, legend=legend)
    ax.set_title(title, fontsize=10)
    return fig


def zoom_bbox(layer: MapLayer, ref_lon_deg: float, site_lat_deg: float, min_span_deg: float = 3.0):
    """A bbox around the flight itself (tracks, IIP traces, terminations and the site)."""
    lats = [np.array([site_lat_deg])] + [t[0] for t in layer.tracks] + [t[0] for t in layer.iips]
    lons = [np.array([ref_lon_deg])] + [unwrap_lon(t[1], ref_lon_deg) for t in layer.tracks]
    lons += [unwrap_lon(t[1], ref_lon_deg) for t in layer.iips]
    for term in layer.terminations:
        if "iip_lat_deg" in term:
            lats.append(np.array([term["iip_lat_deg"]]))
            lons.append(unwrap_lon(np.array([term["iip_lon_deg"]]), ref_lon_deg))
    return auto_bbox(lats, lons, pad_frac=0.15, min_span_deg=min_span_deg)
