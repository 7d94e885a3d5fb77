"""What ``rangeguard risk`` reports: the summary (``--json``), the output folder, and the hazard areas.

Output folder (``--out DIR``; the report (:mod:`rangeguard.report.risk`) and ``rangeguard export``
read it):

- ``risk.json``: :func:`summary` (the ``--json`` document) with the mission's name;
- ``failure_times.parquet``: one row per (failure time, response mode): t_s, t0_s, t1_s, stage, mode,
  probability (P(failure in the interval) x P(mode)), cec, ec (= probability x cec), skipped (always
  false: every time is flown), iip_lat_deg, iip_lon_deg (the nominal vacuum IIP then);
- ``footprints.parquet``: one row per impact normal: kind (failure | jettison), t_s, mode, group,
  mean_lat_deg, mean_lon_deg, cov_ee_m2, cov_en_m2, cov_nn_m2, fragments_landing, ec (given the event);
- ``cells.parquet``: every populated cell that anything can hit: lat_deg, lon_deg (centre), dlat_deg,
  dlon_deg, people, ec (its share of the flight's E_c), pc (individual probability of casualty);
- ``hazard_areas.geojson``: ship, aircraft and drop-zone hazard areas (:func:`hazard_areas`).

Files are written to a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rangeguard.risk.analysis import GroupOutcome
from rangeguard.risk.casualty import WIDE_CLOUD_M, BivariateNormal
from rangeguard.risk.hazard import (
    AIRCRAFT_VULNERABLE_AREA_M2,
    SHIP_VULNERABLE_AREA_M2,
    HazardArea,
    containment_of_samples,
    containment_polygon,
    grid_around,
    hazard_areas_geojson,
    hit_probability_areas,
    impact_density,
)
from rangeguard.risk.sweep import RiskResult

HAZARD_CELL_M = 2000.0
"""Cell of the impact-density grid the ship and aircraft hazard areas are contoured on, m."""
HAZARD_MARGIN_SIGMA = 6.0
"""The density grid reaches this many standard deviations beyond every impact normal."""
SIMPLIFICATIONS = (
    "Break-up (AFSS or aerodynamic) at the dispersed vehicles' states at the failure time: no malfunction turn "
    "before it (it comes with the flight safety limits analysis).",
    "Inert debris only: no explosive yield on impact, no toxic release, no far-field blast overpressure.",
    "Casualty area of a vertical impact on a standing person in the open; sheltering only as a share of people "
    "protected (population.sheltered_fraction).",
    "The intact vehicle falls as one inert tumbling cylinder (C_D 1) of its mass then.",
    "Aircraft hazard areas from the impact density on the ground times an aircraft's plan area: no altitude or "
    "time dimension.",
    "Ship and aircraft hazard areas from the clouds a normal describes (no wider than 100 km); wider clouds "
    "(fragments thrown from high and fast) are bounded instead (wide_cloud_hit_probability_bound).",
    "Ground at the WGS84 ellipsoid (height 0) for every impact; each fragment flies its parent flight's wind "
    "(the wind uncertainty is the dispersions' wind_scale and wind_rotation_deg, one draw per flight).",
)


def summary(result: RiskResult, areas: list[HazardArea] | None = None) -> dict[str, Any]:
    """The ``--json`` document (see ``rangeguard risk --help``); ``areas``: the result's
    :func:`hazard_areas` if already drawn."""
    criteria = result.mission.risk_criteria
    pc_max, pc_at = result.pc_max()
    by_time: dict[float, dict[str, float]] = {}
    for o in result.outcomes:
        row = by_time.setdefault(o.failure.t_s, {"t_s": o.failure.t_s, "ec": 0.0, "cec_max": 0.0})
        row["ec"] += o.probability * o.cec
        row["cec_max"] = max(row["cec_max"], o.cec)
    cec = [(o.cec, o.failure.t_s) for o in result.outcomes]
    cec_max, cec_at = max(cec) if cec else (0.0, None)
    areas = hazard_areas(result) if areas is None else areas
    _, wide_peak = _components(result)
    failures = result.failures
    return {
        "mission": result.mission.name,
        "verdict": result.verdict,
        "ec_total": result.ec_total,
        "ec_criterion": criteria.collective_ec,
        "ec_planned": result.ec_planned,
        "pc_max": pc_max,
        "pc_criterion": criteria.individual_pc,
        "pc_max_at": list(pc_at) if pc_at is not None else None,
        "cec_max": cec_max,
        "cec_criterion": criteria.conditional_ec_abort,
        "cec_max_at_s": cec_at,
        "abort_required_intervals_s": [list(span) for span in result.abort_required_intervals_s()],
        "ec_by_failure_time": list(by_time.values()),
        "hazard_areas": {
            kind: {
                "count": sum(1 for a in areas if a.kind == kind),
                "area_km2": sum(a.area_km2 for a in areas if a.kind == kind),
            }
            for kind in ("ship", "aircraft", "drop_zone")
        },
        "failure_probability": result.mission.failure.probability if result.mission.failure else 0.0,
        "samples_per_group": result.options.samples_per_group,
        "population": result.population_description,
        "failure_times": [failures[0].t_s, failures[-1].t_s, result.options.step_s] if failures else [],
        "wide_cloud_hit_probability_bound": {
            "ship": wide_peak * SHIP_VULNERABLE_AREA_M2,
            "aircraft": wide_peak * AIRCRAFT_VULNERABLE_AREA_M2,
        },
        "simplifications": list(SIMPLIFICATIONS),
    }


def _major_sigma_m(normal: BivariateNormal) -> float:
    return math.sqrt(float(np.linalg.eigvalsh(normal.cov_en_m2)[-1]))


def _components(result: RiskResult) -> tuple[list[tuple[BivariateNormal, float]], float]:
    """(impact normal, expected fragments landing) of every failure outcome and planned drop whose cloud
    a normal describes (no wider than ``WIDE_CLOUD_M``), and the largest peak density (per m^2) of the
    wider ones, which are left out: spread over thousands of km, they are far below any criterion
    (the summary reports the bound)."""
    out: list[tuple[BivariateNormal, float]] = []
    wide_peak = 0.0
    weighted = [(o.probability, g) for o in result.outcomes for g in o.groups]
    weighted += [(1.0, d.group) for d in result.drops]
    for weight, g in weighted:
        if g.normal is None or g.fragments_landing <= 0.0:
            continue
        n = weight * g.fragments_landing
        if _major_sigma_m(g.normal) > WIDE_CLOUD_M:
            sigma_e, sigma_n = g.normal.sigma_en_m
            peak = n / (2.0 * math.pi * sigma_e * sigma_n * math.sqrt(1.0 - g.normal.correlation**2))
            wide_peak += peak  # an upper bound of their summed density anywhere
            continue
        out.append((g.normal, n))
    return out, wide_peak


def hazard_areas(result: RiskResult) -> list[HazardArea]:
    """Ship and aircraft hazard areas (where the chance that debris hits a ship, an aircraft, exceeds
    the criterion: 14 CFR 450.133(b)(2), 450.101(a)(3)) and the drop zones of the planned drops (their
    97 % containment ellipse: 450.133(b)(1))."""
    criteria = result.mission.risk_criteria
    components, _ = _components(result)
    areas: list[HazardArea] = []
    if components:
        lat_edges, lon_edges = grid_around(components, HAZARD_CELL_M, HAZARD_MARGIN_SIGMA)
        density = impact_density(components, lat_edges, lon_edges)
        kinds: tuple[tuple[Literal["ship", "aircraft"], float, float, str], ...] = (
            ("ship", SHIP_VULNERABLE_AREA_M2, criteria.ship_hit_probability, "14 CFR 450.133(b)(2)"),
            ("aircraft", AIRCRAFT_VULNERABLE_AREA_M2, criteria.aircraft_hit_probability, "14 CFR 450.101(a)(3)"),
        )
        for kind, area_m2, threshold, law in kinds:
            polygon = hit_probability_areas(density, area_m2, threshold)
            if not polygon.is_empty:
                areas.append(
                    HazardArea(
                        kind,
                        f"{kind} hazard area",
                        threshold,
                        polygon,
                        f"debris hit probability for a {kind} ({area_m2:g} m^2) above {threshold:g} ({law})",
                    )
                )
    for d in result.drops:
        if d.group.normal is None:
            continue
        p = criteria.ship_containment
        if _major_sigma_m(d.group.normal) > WIDE_CLOUD_M and d.impacts is not None and d.impacts.n_samples >= 3:
            # too wide for a normal in one tangent plane: the samples' own 97 %
            zone = containment_of_samples(d.impacts.lat_deg, d.impacts.lon_deg, p, d.impacts.weights)
        else:
            zone = containment_polygon(d.group.normal, p)
        areas.append(
            HazardArea(
                "drop_zone",
                f"drop zone: {d.group.name}",
                p,
                zone,
                f"holds {p:.0%} of the impacts of {d.group.name} released at T+{d.t_s:.1f} s (14 CFR 450.133(b)(1))",
            )
        )
    return areas


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _normal_columns(groups: list[GroupOutcome]) -> dict[str, list[float]]:
    cols: dict[str, list[float]] = {
        k: [] for k in ("mean_lat_deg", "mean_lon_deg", "cov_ee_m2", "cov_en_m2", "cov_nn_m2")
    }
    for g in groups:
        n = g.normal
        values = (
            (n.mean_lat_deg, n.mean_lon_deg, n.cov_en_m2[0, 0], n.cov_en_m2[0, 1], n.cov_en_m2[1, 1])
            if n is not None
            else (math.nan,) * 5
        )
        for k, x in zip(cols, values, strict=True):
            cols[k].append(float(x))
    return cols


def write_outputs(result: RiskResult, out: Path) -> dict[str, Any]:
    """Write the output folder (module docstring); returns the summary it wrote (:func:`summary`)."""
    out.mkdir(parents=True, exist_ok=True)
    index = {f.t_s: k for k, f in enumerate(result.failures)}
    o = result.outcomes
    times = pa.table(
        {
            "t_s": pa.array([x.failure.t_s for x in o], pa.float64()),
            "t0_s": pa.array([x.failure.t0_s for x in o], pa.float64()),
            "t1_s": pa.array([x.failure.t1_s for x in o], pa.float64()),
            "stage": pa.array([x.failure.stage for x in o], pa.int32()),
            "mode": pa.array([x.mode for x in o], pa.string()),
            "probability": pa.array([x.probability for x in o], pa.float64()),
            "cec": pa.array([x.cec for x in o], pa.float64()),
            "ec": pa.array([x.probability * x.cec for x in o], pa.float64()),
            "skipped": pa.array([False] * len(o), pa.bool_()),
            "iip_lat_deg": pa.array([float(result.iip_lat_deg[index[x.failure.t_s]]) for x in o], pa.float64()),
            "iip_lon_deg": pa.array([float(result.iip_lon_deg[index[x.failure.t_s]]) for x in o], pa.float64()),
        }
    )
    rows: list[tuple[str, float, str, GroupOutcome, float]] = []
    seen: set[int] = set()
    for x in o:  # the two break-up modes share their groups: one footprint row per distinct group outcome
        for g in x.groups:
            if id(g) not in seen:
                seen.add(id(g))
                rows.append(("failure", x.failure.t_s, x.mode, g, g.ec))
    rows += [("jettison", d.t_s, "planned", d.group, d.group.ec) for d in result.drops]
    groups = [r[3] for r in rows]
    footprints = pa.table(
        {
            "kind": pa.array([r[0] for r in rows], pa.string()),
            "t_s": pa.array([r[1] for r in rows], pa.float64()),
            "mode": pa.array([r[2] for r in rows], pa.string()),
            "group": pa.array([g.name for g in groups], pa.string()),
            **{k: pa.array(v, pa.float64()) for k, v in _normal_columns(groups).items()},
            "fragments_landing": pa.array([g.fragments_landing for g in groups], pa.float64()),
            "ec": pa.array([r[4] for r in rows], pa.float64()),
        }
    )
    pop = result.population
    lat_e, lon_e = pop.lat_edges_deg, pop.lon_edges_deg
    r, c = result.pc_rows, result.pc_cols
    cells = pa.table(
        {
            "lat_deg": pa.array(0.5 * (lat_e[r] + lat_e[r + 1]), pa.float64()),
            "lon_deg": pa.array(((0.5 * (lon_e[c] + lon_e[c + 1]) + 180.0) % 360.0) - 180.0, pa.float64()),
            "dlat_deg": pa.array(lat_e[r + 1] - lat_e[r], pa.float64()),
            "dlon_deg": pa.array(lon_e[c + 1] - lon_e[c], pa.float64()),
            "people": pa.array(np.asarray(pop.people[r, c]), pa.float64()),
            "ec": pa.array(result.ec_per_cell, pa.float64()),
            "pc": pa.array(result.pc, pa.float64()),
        }
    )
    for name, table in (("failure_times", times), ("footprints", footprints), ("cells", cells)):
        _write_atomic(out / f"{name}.parquet", lambda p, t=table: pq.write_table(t, p))
    areas = hazard_areas(result)
    geo = json.dumps(hazard_areas_geojson(areas))
    _write_atomic(out / "hazard_areas.geojson", lambda p: p.write_text(geo, encoding="utf-8"))
    doc = summary(result, areas)
    text = json.dumps(doc, indent=2, allow_nan=False)
    _write_atomic(out / "risk.json", lambda p: p.write_text(text + "\n", encoding="utf-8"))
    return doc
