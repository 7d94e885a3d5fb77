"""The figures of the risk section (:mod:`rangeguard.report.risk`): E_c and CEC against failure time,
and the map of P_c per cell, impact footprints and hazard areas; their styles.

Drawn from a :class:`~rangeguard.report.risk.RiskResults` (read from a ``rangeguard risk --out`` folder)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, get_args

import numpy as np

from rangeguard.errors import InputError
from rangeguard.mission.risk import FailureResponseSpec
from rangeguard.report import maps
from rangeguard.report.geometry import unwrap_lon
from rangeguard.report.style import COLORS, new_figure

if TYPE_CHECKING:
    from rangeguard.report.risk import HazardArea, RiskResults

MODES: tuple[str, ...] = get_args(FailureResponseSpec.model_fields["mode"].annotation)
"""The failure response modes, as the mission schema lists them."""
MODE_STYLES = {
    "afss_termination": ("AFSS termination", "#1f77b4"),
    "destruct": ("AFSS destruct", "#17becf"),
    "thrust_termination": ("AFSS thrust termination", "#2ca02c"),
    "breakup": ("break-up", "#ff7f0e"),
    "intact_impact": ("intact impact", "#9467bd"),
}
"""Mode -> (label, colour) in the failure-time plots; one entry per mode of :data:`MODES`."""
FOOTPRINT_STYLES = {
    "failure": ("failure footprint (3-sigma)", "#5b3a29", "-"),
    "jettison": ("planned jettison footprint (3-sigma)", "#008b8b", "--"),
}
"""Footprint kind -> (legend label, colour, line style) on the map."""
HAZARD_STYLES = {
    "ship": ("ship hazard area", "#1f4fbf", "-", ""),
    "aircraft": ("aircraft hazard area", "#7b3fa0", "--", "//"),
    "drop_zone": ("drop zone", "#8c564b", "-.", ".."),
}
"""Hazard-area kind -> (legend label, colour, line style, hatch) on the map and in the HTML legend."""
MAX_ELLIPSES = 300
"""Footprint ellipses drawn per kind at most: those with the largest E_c (thousands make a smudge)."""
MIN_MAP_WIDTH_FRACTION = 0.6
"""The map is at least this wide (east-west, in distance) for its height: a north-south flight stays legible."""
SIGMAS = 3.0
"""Footprint ellipses are drawn at this Mahalanobis distance from the mean."""
LOG_RANGE = 1e-12
"""The failure-time plots show values down to this fraction of their largest."""
MAP_PC_RANGE = 1e-3
"""The map's box holds the cells whose P_c is at least this fraction of the largest."""
MAP_MAX_AREA_KM2 = 1e6
"""Hazard areas larger than this (a drop zone of a stage falling from near orbit) do not set the map's box."""


def _shade_aborts(ax, intervals: list[tuple[float, float]], label: bool) -> None:
    for k, (t0, t1) in enumerate(intervals):
        ax.axvspan(
            t0,
            t1,
            color=COLORS["red"],
            alpha=0.15,
            lw=0,
            zorder=1,
            label="abort required" if label and k == 0 else None,
        )


def _per_mode(risk: RiskResults, column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """mode -> (t_s, value summed over the rows of that time and mode), flown rows only, in time order."""
    f = risk.failures
    out = {}
    for mode in MODES:
        sel = (f["mode"] == mode) & ~f["skipped"] & np.isfinite(f["t_s"])
        if not sel.any():
            continue
        t, inverse = np.unique(f["t_s"][sel], return_inverse=True)
        out[mode] = (t, np.bincount(inverse, weights=np.nan_to_num(f[column][sel]), minlength=t.size))
    return out


def _log_or_note(ax, any_positive: bool, what: str) -> None:
    if any_positive:
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, f"no failure time with {what} > 0", ha="center", va="center", transform=ax.transAxes)


def with_gaps(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(t, v)`` with a NaN between points farther apart than 1.5 times the usual spacing (a coast between
    burns), so a line is not drawn across it."""
    if t.size < 3:
        return t, v
    dt = np.diff(t)
    gaps = np.flatnonzero(dt > 1.5 * float(np.median(dt))) + 1
    return np.insert(t, gaps, np.nan), np.insert(v.astype(np.float64), gaps, np.nan)


def failure_time_figure(risk: RiskResults):
    """E_c contribution (per 1 s failure interval) and CEC against failure time, per response mode (log y):
    the CEC criterion drawn and the abort-required intervals shaded; skipped failure times ticked."""
    f = risk.failures
    s = risk.summary
    fig = new_figure(8.0, 5.6)
    ax_ec, ax_cec = fig.subplots(2, 1, sharex=True)
    aborts = risk.abort_intervals_s
    ec, cec = _per_mode(risk, "ec"), _per_mode(risk, "cec")
    positive = {"ec": False, "cec": False}
    for ax, series, key in ((ax_ec, ec, "ec"), (ax_cec, cec, "cec")):
        for mode, (t, v) in series.items():
            label, colour = MODE_STYLES[mode]
            ok = v > 0
            positive[key] |= bool(ok.any())
            ax.plot(*with_gaps(t[ok], v[ok]), ".-", ms=2.5, lw=0.9, color=colour, label=label, zorder=3)
    if ec:
        t_all = np.unique(np.concatenate([t for t, _ in ec.values()]))
        total = sum(np.interp(t_all, t, v, left=0.0, right=0.0) for t, v in ec.values())
        ok = total > 0
        ax_ec.plot(*with_gaps(t_all[ok], total[ok]), color="black", lw=1.3, label="all modes", zorder=4)
    skipped = f["t_s"][f["skipped"] & np.isfinite(f["t_s"])]
    if skipped.size:
        ax_ec.plot(
            np.unique(skipped),
            np.zeros(np.unique(skipped).size),
            "|",
            color=COLORS["grey"],
            ms=8,
            transform=ax_ec.get_xaxis_transform(),
            label="not flown (IIP beyond reach of any populated cell)",
            zorder=2,
        )
    crit = s["cec_criterion"]
    if crit > 0:
        ax_cec.axhline(crit, color=COLORS["red"], ls="--", lw=1.3, label=f"abort criterion CEC {crit:.0e}", zorder=5)
        positive["cec"] = True
    _shade_aborts(ax_ec, aborts, label=False)
    _shade_aborts(ax_cec, aborts, label=True)
    _log_or_note(ax_ec, positive["ec"], "E_c")
    _log_or_note(ax_cec, positive["cec"], "CEC")
    for ax, series, key in ((ax_ec, ec, "ec"), (ax_cec, cec, "cec")):
        top = max((float(np.max(v)) for _, v in series.values() if v.size), default=0.0)
        if key == "cec":
            top = max(top, crit)
        if positive[key] and top > 0.0:  # what lies further below cannot matter next to the largest value
            ax.set_ylim(bottom=top * LOG_RANGE, top=top * 3.0)
    stage, t_s = f["stage"], f["t_s"]
    order = np.argsort(t_s, kind="stable")
    changes = np.flatnonzero(np.diff(stage[order]) != 0) + 1
    for k in changes:
        for ax in (ax_ec, ax_cec):
            ax.axvline(t_s[order][k], color="0.4", ls=":", lw=0.8, zorder=2)
        ax_ec.text(
            t_s[order][k], 1.01, f" stage {int(stage[order][k])}", transform=ax_ec.get_xaxis_transform(), fontsize=7
        )
    ax_ec.set_ylabel("E_c contribution\nper 1 s interval", fontsize=8)
    ax_cec.set_ylabel("CEC given the failure", fontsize=8)
    ax_cec.set_xlabel("failure time T+, s")
    for ax in (ax_ec, ax_cec):
        ax.grid(True, lw=0.3, which="both", alpha=0.6)
        ax.tick_params(labelsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
    return fig


def footprint_ellipse(mean_lat_deg, mean_lon_deg, cov_en_m2, sigmas: float = SIGMAS, n: int = 73):
    """(lat_deg, lon_deg) of the ``sigmas`` ellipse of a bivariate normal impact distribution (the points at
    Mahalanobis distance ``sigmas`` from the mean), in the plane of
    :class:`rangeguard.risk.casualty.BivariateNormal`; None if that refuses the covariance (not a valid
    normal). Longitudes continue across the antimeridian from the mean's."""
    from rangeguard.risk.casualty import BivariateNormal

    try:
        normal = BivariateNormal(mean_lat_deg, mean_lon_deg, np.asarray(cov_en_m2, dtype=np.float64))
    except InputError:
        return None
    chol = np.linalg.cholesky(normal.cov_en_m2)
    theta = np.linspace(0.0, 2.0 * math.pi, n)
    east, north = sigmas * chol @ np.vstack([np.cos(theta), np.sin(theta)])
    return normal.from_plane(east, north)


def thinned(ec: np.ndarray, limit: int = MAX_ELLIPSES) -> np.ndarray:
    """Indices of at most ``limit`` rows, those with the largest E_c (NaN last), in their original order."""
    if ec.size <= limit:
        return np.arange(ec.size)
    order = np.argsort(-np.nan_to_num(ec, nan=-np.inf), kind="stable")
    return np.sort(order[:limit])


def wide(footprints: dict, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` are clouds wider than :data:`~rangeguard.risk.casualty.WIDE_CLOUD_M` (largest
    standard deviation): the analysis uses their samples, not a normal, and an ellipse would mislead."""
    from rangeguard.risk.casualty import WIDE_CLOUD_M

    ee, en, nn = (np.asarray(footprints[k], dtype=np.float64)[rows] for k in ("cov_ee_m2", "cov_en_m2", "cov_nn_m2"))
    major_m2 = 0.5 * (ee + nn) + np.sqrt(0.25 * (ee - nn) ** 2 + en**2)
    return np.asarray(major_m2 > WIDE_CLOUD_M**2)


def _ellipses(risk: RiskResults, ref_lon_deg: float) -> dict[str, tuple[list[np.ndarray], int, int, int]]:
    """kind -> (list of (n, 2) lon/lat ellipse lines, how many rows of that kind, how many not drawable, how
    many too wide to draw (:func:`wide`))."""
    fp = risk.footprints
    out = {}
    for kind in FOOTPRINT_STYLES:
        rows = np.flatnonzero(fp["kind"] == kind)
        too_wide = wide(fp, rows)
        n_wide = int(np.count_nonzero(too_wide))
        rows = rows[~too_wide]
        keep = rows[thinned(fp["ec"][rows])]
        lines, bad = [], 0
        for i in keep:
            cov = [[fp["cov_ee_m2"][i], fp["cov_en_m2"][i]], [fp["cov_en_m2"][i], fp["cov_nn_m2"][i]]]
            pts = footprint_ellipse(fp["mean_lat_deg"][i], fp["mean_lon_deg"][i], cov)
            if pts is None:
                bad += 1
                continue
            lat, lon = pts
            lon = unwrap_lon(fp["mean_lon_deg"][i], ref_lon_deg) + (lon - fp["mean_lon_deg"][i])
            lines.append(np.column_stack([lon, lat]))
        out[kind] = (lines, rows.size + n_wide, bad, n_wide)
    return out


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _hazard_rings(area: HazardArea, ref_lon_deg: float):
    """Per polygon, its (n, 2) lon/lat rings near the site's longitude, holes wound against the exterior (so
    a filled path leaves them open whichever way the file winds them)."""
    for poly in area.polygons:
        rings: list[np.ndarray] = []
        for k, (lat, lon) in enumerate(poly):
            lon = np.degrees(np.unwrap(np.radians(unwrap_lon(lon, ref_lon_deg))))
            ring = np.column_stack([lon, lat])
            if k and _signed_area(ring) * _signed_area(rings[0]) > 0:
                ring = ring[::-1]
            rings.append(ring)
        yield rings


def _cell_boxes(risk: RiskResults, ref_lon_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """((C, 4, 2) lon/lat corners, (C,) P_c) of the cells with a positive, finite P_c."""
    c = risk.cells
    ok = np.isfinite(c["pc"]) & (c["pc"] > 0) & np.isfinite(c["lat_deg"]) & np.isfinite(c["lon_deg"])
    lon = unwrap_lon(c["lon_deg"][ok], ref_lon_deg)
    lat = c["lat_deg"][ok]
    hx, hy = np.abs(c["dlon_deg"][ok]) / 2, np.abs(c["dlat_deg"][ok]) / 2
    boxes = np.stack(
        [
            np.column_stack([lon - hx, lat - hy]),
            np.column_stack([lon + hx, lat - hy]),
            np.column_stack([lon + hx, lat + hy]),
            np.column_stack([lon - hx, lat + hy]),
        ],
        axis=1,
    )
    return boxes, c["pc"][ok]


def iip_track(risk: RiskResults) -> tuple[np.ndarray, np.ndarray]:
    """(lat_deg, lon_deg) of the nominal vehicle's vacuum IIP at each failure time, in time order."""
    f = risk.failures
    t, first = np.unique(f["t_s"], return_index=True)
    keep = first[np.isfinite(t)]
    return f["iip_lat_deg"][keep], f["iip_lon_deg"][keep]


def risk_map_figure(risk: RiskResults, mission):
    """The map: mission areas and coastlines (:mod:`rangeguard.report.maps`), populated cells coloured by P_c
    (log scale), footprint ellipses, hazard areas and the vacuum IIP track."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import LogNorm, to_rgba
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    ref = mission.site.lon_deg
    layer = maps.MapLayer(iips=[iip_track(risk)])
    boxes, pc = _cell_boxes(risk, ref)
    ellipses = _ellipses(risk, ref)
    hazards = [(a, list(_hazard_rings(a, ref))) for a in risk.hazard_areas]
    # the box holds what the analysis found (not every mission area: those are drawn where they fall in it)
    # the box holds what matters: the site, the cells near the largest P_c, the footprints drawn and the
    # hazard areas of ordinary size (the IIP track and a continent-sized drop zone run off it)
    at_risk = pc >= (float(pc.max()) * MAP_PC_RANGE if pc.size else 0.0)
    pts = [np.array([[ref, mission.site.lat_deg]]), boxes[at_risk].reshape(-1, 2)]
    pts += [line for lines, *_ in ellipses.values() for line in lines]
    pts += [ring for a, polys in hazards if a.area_km2 <= MAP_MAX_AREA_KM2 for rings in polys for ring in rings]
    xy = np.concatenate(pts)
    x0, y0, x1, y1 = maps.auto_bbox([xy[:, 1]], [xy[:, 0]])
    narrow = (y1 - y0) * MIN_MAP_WIDTH_FRACTION / max(math.cos(math.radians((y0 + y1) / 2)), 0.05) - (x1 - x0)
    bbox = (x0 - max(narrow, 0) / 2, y0, x1 + max(narrow, 0) / 2, y1)
    fig = maps.map_figure(mission, layer, f"{mission.name}: debris risk", bbox=bbox, legend=False)
    ax = fig.axes[0]
    if pc.size:
        vmax = float(pc.max()) * (1 + 1e-9)
        vmin = max(float(pc.min()), vmax * 1e-8)
        norm = LogNorm(vmin=vmin, vmax=vmax)
        cells = PolyCollection(
            list(boxes), array=pc, cmap="magma_r", norm=norm, edgecolors="none", zorder=5, alpha=0.85
        )
        ax.add_collection(cells)
        bar = fig.colorbar(cells, ax=ax, shrink=0.7, pad=0.02)
        bar.set_label("individual probability of casualty P_c", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        if vmin <= risk.summary["pc_criterion"] <= vmax:
            bar.ax.axhline(risk.summary["pc_criterion"], color=COLORS["red"], lw=2)
    at = risk.summary.get("pc_max_at")
    if at is not None:
        marker = {"marker": "D", "ms": 8, "mfc": "none", "mec": COLORS["red"], "mew": 1.8, "ls": "none"}
        ax.plot(unwrap_lon(at[1], ref), at[0], zorder=9, label="largest P_c", **marker)
    for kind, (lines, *_) in ellipses.items():
        label, colour, ls = FOOTPRINT_STYLES[kind]
        if lines:
            ax.add_collection(
                LineCollection(lines, colors=colour, linestyles=ls, lw=0.6, alpha=0.7, zorder=6, label=label)
            )
    drawn = set()
    for area, polys in hazards:
        label, colour, ls, hatch = HAZARD_STYLES[area.kind]
        for rings in polys:
            verts = np.concatenate(rings)
            codes = np.concatenate(
                [[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY] for r in rings]
            )
            face = to_rgba(colour, 0.18)
            patch = PathPatch(MplPath(verts, codes), fc=face, ec=colour, ls=ls, lw=1.4, hatch=hatch or None, zorder=7)
            patch.set_label(None if area.kind in drawn else label)
            ax.add_patch(patch)
            drawn.add(area.kind)
    fig.legend(loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    return fig, ellipses
