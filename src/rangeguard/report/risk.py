"""The risk part of a report: the output folder of ``rangeguard risk MISSION --out DIR``, read and drawn.

Files :func:`read_risk` reads in DIR (the contract of ``rangeguard risk``; each one is checked, and
whatever is wrong with one is an InputError naming it):

- ``risk.json``: the verdict and the key figures against their criteria (14 CFR 450.101 collective
  risk E_c and individual risk P_c; 450.108 conditional expected casualties, CEC, and the failure
  times where flight abort is required), the hazard-area totals, the analysis' inputs in brief and
  the list of what it simplifies (:data:`SUMMARY_FIELDS`);
- ``failure_times.parquet``: one row per (failure time, response mode): the probability of that
  failure in its one-second interval, its CEC and its E_c contribution, whether it was skipped (its
  IIP could not reach anybody) and the nominal vehicle's vacuum IIP then (:data:`FAILURE_COLUMNS`);
- ``footprints.parquet``: one bivariate normal impact distribution per fragment group, failure or
  planned jettison (:data:`FOOTPRINT_COLUMNS`; the plane of
  :class:`rangeguard.risk.casualty.BivariateNormal`);
- ``cells.parquet``: the populated cells at risk with their E_c and P_c (:data:`CELL_COLUMNS`);
- ``hazard_areas.geojson``: the ship, aircraft and drop-zone hazard areas (RFC 7946 Polygon or
  MultiPolygon features; :data:`~rangeguard.report.risk_figures.HAZARD_STYLES`).

Its figures are in :mod:`rangeguard.report.risk_figures`. :func:`risk_section` lays them out: the
verdict and key figures, E_c and CEC against failure time, a map (cells coloured by P_c, each
footprint's 3-sigma ellipse, the hazard areas, the IIP track) and what the analysis simplifies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from rangeguard.bundled import mission_path
from rangeguard.errors import InputError
from rangeguard.report import files
from rangeguard.report import flight as fl
from rangeguard.report.files import BOOLEAN, NUMBER, TEXT
from rangeguard.report.html import _e, _figure, _num, _table
from rangeguard.report.risk_figures import (
    FOOTPRINT_STYLES,
    HAZARD_STYLES,
    MODES,
    SIGMAS,
    failure_time_figure,
    risk_map_figure,
)
from rangeguard.report.style import COLORS

RISK_JSON = "risk.json"
FAILURES_FILE = "failure_times.parquet"
FOOTPRINTS_FILE = "footprints.parquet"
CELLS_FILE = "cells.parquet"
HAZARDS_FILE = "hazard_areas.geojson"
RISK_FILES = (RISK_JSON, FAILURES_FILE, FOOTPRINTS_FILE, CELLS_FILE, HAZARDS_FILE)
RERUN = "rerun `rangeguard risk MISSION --out DIR`"

VERDICTS = ("PASS", "FAIL")

SUMMARY_FIELDS = {
    "mission": (TEXT,),
    "verdict": (TEXT,),
    "ec_total": (NUMBER,),
    "ec_criterion": (NUMBER,),
    "ec_planned": (NUMBER,),
    "pc_max": (NUMBER,),
    "pc_criterion": (NUMBER,),
    "pc_max_at": ("list", "null"),
    "cec_max": (NUMBER,),
    "cec_criterion": (NUMBER,),
    "cec_max_at_s": (NUMBER, "null"),
    "abort_required_intervals_s": ("list",),
    "ec_by_failure_time": ("list",),
    "hazard_areas": ("object",),
    "failure_probability": (NUMBER,),
    "samples_per_group": (NUMBER,),
    "population": (TEXT,),
    "failure_times": ("list",),
    "simplifications": ("list",),
}
"""The kinds of the members of risk.json the report reads."""
REQUIRED_FIELDS = ("verdict", "ec_total", "ec_criterion", "pc_max", "pc_criterion", "cec_max", "cec_criterion")
"""The members of risk.json without which there is no verdict to show."""
FAILURE_COLUMNS = {
    "t_s": NUMBER,
    "stage": NUMBER,
    "mode": TEXT,
    "probability": NUMBER,
    "cec": NUMBER,
    "ec": NUMBER,
    "skipped": BOOLEAN,
    "iip_lat_deg": NUMBER,
    "iip_lon_deg": NUMBER,
}
FOOTPRINT_COLUMNS = {
    "kind": TEXT,
    "t_s": NUMBER,
    "mode": TEXT,
    "group": TEXT,
    "mean_lat_deg": NUMBER,
    "mean_lon_deg": NUMBER,
    "cov_ee_m2": NUMBER,
    "cov_en_m2": NUMBER,
    "cov_nn_m2": NUMBER,
    "fragments_landing": NUMBER,
    "ec": NUMBER,
}
CELL_COLUMNS = {
    "lat_deg": NUMBER,
    "lon_deg": NUMBER,
    "dlat_deg": NUMBER,
    "dlon_deg": NUMBER,
    "people": NUMBER,
    "ec": NUMBER,
    "pc": NUMBER,
}


@dataclass(frozen=True)
class HazardArea:
    """One hazard-area feature: its rings as (lat_deg, lon_deg) arrays (exterior first, then holes, per
    polygon) and its properties."""

    kind: str
    name: str
    criterion: object
    description: str
    area_km2: float
    polygons: list[list[tuple[np.ndarray, np.ndarray]]]


@dataclass
class RiskResults:
    """A ``rangeguard risk --out`` folder, read (see the module docstring); tables as column -> array."""

    path: Path
    summary: dict
    failures: dict[str, np.ndarray]
    footprints: dict[str, np.ndarray]
    cells: dict[str, np.ndarray]
    hazard_areas: list[HazardArea] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return str(self.summary["verdict"])

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"

    @property
    def abort_intervals_s(self) -> list[tuple[float, float]]:
        return [(float(a), float(b)) for a, b in self.summary.get("abort_required_intervals_s", [])]


def is_risk_dir(path: Path) -> bool:
    """True if ``path`` is a folder holding any of the files ``rangeguard risk --out`` writes (the reader then
    says which of the others is missing)."""
    path = Path(path)
    return path.is_dir() and any((path / name).exists() for name in RISK_FILES)


def _bad(path: Path, what: str) -> InputError:
    return InputError(f"{path}: {what}; {RERUN}")


def _numbers(value, n: int | None = None) -> bool:
    return isinstance(value, list) and (n is None or len(value) == n) and all(files.is_number(v) for v in value)


def _read_summary(path: Path) -> dict:
    doc = files.read_json(path)
    files.check_fields(doc, SUMMARY_FIELDS, str(path))
    missing = [k for k in REQUIRED_FIELDS if k not in doc]
    if missing:
        raise _bad(path, f"missing {', '.join(missing)}")
    if doc["verdict"] not in VERDICTS:
        raise _bad(path, f"verdict must be PASS or FAIL, found {files.describe(doc['verdict'])}")
    if doc.get("pc_max_at") is not None and not _numbers(doc["pc_max_at"], 2):
        raise _bad(path, "pc_max_at must be [lat_deg, lon_deg] or null")
    for k, iv in enumerate(doc.get("abort_required_intervals_s", [])):
        if not _numbers(iv, 2):
            raise _bad(path, f"abort_required_intervals_s[{k}] must be [t0_s, t1_s], found {files.describe(iv)}")
    if "failure_times" in doc and not _numbers(doc["failure_times"], 3):
        raise _bad(path, "failure_times must be [first_s, last_s, step_s]")
    for k, s in enumerate(doc.get("simplifications", [])):
        if not isinstance(s, str):
            raise _bad(path, f"simplifications[{k}] must be text, found {files.describe(s)}")
    for kind, totals in doc.get("hazard_areas", {}).items():
        if not isinstance(totals, dict):
            raise _bad(path, f"hazard_areas.{kind} must be an object, found {files.describe(totals)}")
        files.check_fields(totals, {"count": (NUMBER,), "area_km2": (NUMBER,)}, f"{path}: hazard_areas.{kind}")
    for k, row in enumerate(doc.get("ec_by_failure_time", [])):
        if not isinstance(row, dict):
            raise _bad(path, f"ec_by_failure_time[{k}] must be an object, found {files.describe(row)}")
        files.check_fields(row, {"t_s": (NUMBER,), "ec": (NUMBER,), "cec_max": (NUMBER,)}, f"{path}: row {k}")
    return doc


def _columns(table: pa.Table, kinds: dict[str, str]) -> dict[str, np.ndarray]:
    """The named columns as arrays: numbers as float64 (null -> NaN), booleans (null -> False), text as objects."""
    out = {}
    for name, kind in kinds.items():
        col = table.column(name)
        if kind == NUMBER:
            out[name] = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        elif kind == BOOLEAN:
            out[name] = np.asarray(col.cast(pa.bool_()).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        else:
            out[name] = np.array(col.to_pylist(), dtype=object)
    return out


def _one_of(path: Path, column: str, values: np.ndarray, allowed) -> None:
    unknown = sorted({str(v) for v in values} - set(allowed))
    if unknown:
        raise _bad(path, f"column {column} holds {', '.join(unknown)}; known: {', '.join(allowed)}")


def _ring(coords, where: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(coords, list) or len(coords) < 4 or not all(_numbers(p) and len(p) >= 2 for p in coords):
        raise InputError(f"{where}: a ring must be a list of at least 4 [lon, lat] positions; {RERUN}")
    xy = np.array([p[:2] for p in coords], dtype=np.float64)
    return xy[:, 1], xy[:, 0]


def _read_hazards(path: Path) -> list[HazardArea]:
    doc = files.read_json(path)
    if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise _bad(path, "expected a GeoJSON FeatureCollection with a features list")
    out = []
    for k, feat in enumerate(doc["features"]):
        where = f"{path}: feature {k}"
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        props = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(geom, dict) or not isinstance(props, dict):
            raise InputError(f"{where} must be a Feature with a geometry and properties; {RERUN}")
        files.check_fields(
            props,
            {
                "kind": (TEXT,),
                "name": (TEXT,),
                "criterion": (NUMBER, TEXT, "null"),
                "description": (TEXT,),
                "area_km2": (NUMBER,),
            },
            where,
        )
        if props.get("kind") not in HAZARD_STYLES:
            raise InputError(
                f"{where}: kind must be one of {', '.join(HAZARD_STYLES)}, found {files.describe(props.get('kind'))}; "
                + RERUN
            )
        kind, coords = geom.get("type"), geom.get("coordinates")
        if kind == "Polygon":
            coords = [coords]
        elif kind != "MultiPolygon":
            raise InputError(
                f"{where}: geometry must be a Polygon or MultiPolygon, found {files.describe(kind)}; {RERUN}"
            )
        if not isinstance(coords, list) or not all(isinstance(p, list) and p for p in coords):
            raise InputError(f"{where}: the {kind}'s coordinates are not a list of rings; {RERUN}")
        out.append(
            HazardArea(
                kind=props["kind"],
                name=props.get("name", f"feature {k}"),
                criterion=props.get("criterion"),
                description=props.get("description", ""),
                area_km2=float(props.get("area_km2", math.nan)),
                polygons=[[_ring(r, where) for r in poly] for poly in coords],
            )
        )
    return out


def read_risk(path: Path) -> RiskResults:
    """Read a ``rangeguard risk --out`` folder (files as in the module docstring); InputError naming the file
    and what is wrong with it otherwise."""
    path = Path(path)
    missing = [name for name in RISK_FILES if not (path / name).exists()]
    if missing:
        raise InputError(
            f"{path}: missing {', '.join(missing)}, so not a complete output folder of `rangeguard risk --out`; "
            + RERUN
        )
    summary = _read_summary(path / RISK_JSON)
    tables = {}
    for name, kinds, what in (
        (FAILURES_FILE, FAILURE_COLUMNS, "a failure-time table of rangeguard risk"),
        (FOOTPRINTS_FILE, FOOTPRINT_COLUMNS, "a footprint table of rangeguard risk"),
        (CELLS_FILE, CELL_COLUMNS, "a population-cell table of rangeguard risk"),
    ):
        tables[name] = _columns(files.read_table(path / name, kinds, what), kinds)
    _one_of(path / FAILURES_FILE, "mode", tables[FAILURES_FILE]["mode"], MODES)
    _one_of(path / FOOTPRINTS_FILE, "kind", tables[FOOTPRINTS_FILE]["kind"], FOOTPRINT_STYLES)
    return RiskResults(
        path=path,
        summary=summary,
        failures=tables[FAILURES_FILE],
        footprints=tables[FOOTPRINTS_FILE],
        cells=tables[CELLS_FILE],
        hazard_areas=_read_hazards(path / HAZARDS_FILE),
    )


def risk_mission(risk: RiskResults, mission=None):
    """The Mission to draw the map with: ``mission`` (a Mission, a YAML path or a bundled name) or else the
    one risk.json names (a path, or a bundled mission's name)."""
    if mission is not None:
        return fl.resolve_mission(risk.path, {}, mission)
    name = risk.summary.get("mission")
    where = risk.path / RISK_JSON
    if not name:
        raise InputError(f"{where} does not say which mission was analysed; pass --mission FILE")
    if not (Path(name).exists() or mission_path(name).is_file()):
        raise InputError(f"{where}: mission '{name}' is neither a file here nor a bundled mission; pass --mission FILE")
    return fl.resolve_mission(risk.path, {}, name)


# --- HTML ------------------------------------------------------------------------------------------------------


def _tds(*values: str, num: tuple[int, ...] = ()) -> list[str]:
    """Table cells of HTML ``values``; those at the indices ``num`` right-aligned (numbers)."""
    return [f'<td class="num">{v}</td>' if k in num else f"<td>{v}</td>" for k, v in enumerate(values)]


def _sci(x) -> str:
    return _num(x, "{:.2e}") if files.is_number(x) else "&ndash;"


def _status(value, criterion, over_word: str = "exceeds the criterion", over_colour: str = COLORS["red"]) -> str:
    if not (files.is_number(value) and files.is_number(criterion)) or math.isnan(value):
        return ""
    over = value > criterion
    colour = over_colour if over else COLORS["green"]
    return f'<span class="dot" style="background:{colour}"></span> {over_word if over else "within the criterion"}'


def _intervals_text(intervals: list[tuple[float, float]]) -> str:
    return ", ".join(f"T+{a:.1f} s to T+{b:.1f} s" for a, b in intervals) if intervals else "none"


def _verdict_text(risk: RiskResults) -> str:
    """The outcome line: E_c and P_c against their criteria (the pass/fail criteria of 450.101), and where
    flight abort is required (CEC over its criterion: a requirement on the AFSS, not a failure)."""
    s = risk.summary
    parts = []
    for key, crit, what in (("ec_total", "ec_criterion", "E_c"), ("pc_max", "pc_criterion", "largest P_c")):
        word = "exceeds" if s[key] > s[crit] else "within"
        parts.append(f"{what} {s[key]:.2e} {word} {s[crit]:.0e}")
    if risk.abort_intervals_s:
        parts.append(f"flight abort required for failures at {_intervals_text(risk.abort_intervals_s)}")
    return "; ".join(parts)


def _figures_table(risk: RiskResults) -> str:
    s = risk.summary
    at = s.get("pc_max_at")
    where = f" at {at[0]:.3f} N, {at[1]:.3f} E" if at else ""
    cec_at = f" (failure at T+{s['cec_max_at_s']:.1f} s)" if files.is_number(s.get("cec_max_at_s")) else ""
    ec_status = _status(s["ec_total"], s["ec_criterion"])
    pc_status = _status(s["pc_max"], s["pc_criterion"])
    cec_status = _status(s["cec_max"], s["cec_criterion"], "over: flight abort required there", COLORS["amber"])
    rows = [
        ("collective risk E_c (expected casualties of the flight)", "ec_total", "ec_criterion", ec_status),
        ("&nbsp;&nbsp;of which planned jettisons", "ec_planned", None, ""),
        (f"largest individual risk P_c{_e(where)}", "pc_max", "pc_criterion", pc_status),
        (f"largest conditional expected casualties CEC{_e(cec_at)}", "cec_max", "cec_criterion", cec_status),
    ]
    html_rows = [
        _tds(what, _sci(s.get(key)), _sci(s.get(crit)) if crit else "", status, num=(1, 2))
        for what, key, crit, status in rows
    ]
    abort = _e(_intervals_text(risk.abort_intervals_s))
    html_rows.append(["<td>flight abort required (CEC over its criterion)</td>", f'<td colspan="3">{abort}</td>'])
    return _table(["figure", "value", "criterion", ""], html_rows)


def _inputs_table(risk: RiskResults) -> str:
    s, f = risk.summary, risk.failures
    rows = []
    if files.is_number(s.get("failure_probability")):
        rows.append(("probability of failure of the flight", f"{s['failure_probability']:.3g}"))
    if "failure_times" in s:
        a, b, step = s["failure_times"]
        rows.append(("failure times analysed", f"T+{a:g} s to T+{b:g} s every {step:g} s"))
    if files.is_number(s.get("samples_per_group")):
        rows.append(("impact samples per fragment group", f"{int(s['samples_per_group'])}"))
    if s.get("population"):
        rows.append(("population", s["population"]))
    skipped = f"{int(f['skipped'].sum())} not flown (their IIP could not reach any populated cell)"
    rows.append(("failure cases (time x response mode)", f"{f['t_s'].size}, of which {skipped}"))
    return _table(["analysis", ""], [_tds(_e(a), _e(b)) for a, b in rows])


def _swatch(kind: str) -> str:
    _, colour, ls, _ = HAZARD_STYLES[kind]
    border = {"-": "solid", "--": "dashed", "-.": "dotted"}.get(ls, "solid")
    return (
        f'<span class="swatch" style="display:inline-block;width:1.6em;height:.8em;vertical-align:middle;'
        f'background:{colour}2e;border:2px {border} {colour}"></span>'
    )


def _hazard_table(risk: RiskResults) -> str:
    """The hazard areas per kind (the map's legend for them, with the totals of risk.json), then one by one."""
    totals = risk.summary.get("hazard_areas", {})
    rows = []
    for kind, (label, _, _, _) in HAZARD_STYLES.items():
        areas = [a for a in risk.hazard_areas if a.kind == kind]
        count = totals.get(kind, {}).get("count", len(areas))
        area_km2 = totals.get(kind, {}).get("area_km2", sum(a.area_km2 for a in areas))
        names = "; ".join(_e(a.name) for a in areas)
        rows.append(
            _tds(f"{_swatch(kind)} {_e(label)}", _num(count, "{:.0f}"), _num(area_km2, "{:,.0f}"), names, num=(1, 2))
        )
    parts = [_table(["hazard area (map legend)", "count", "area, km²", "names"], rows)]
    detail = []
    for a in risk.hazard_areas:
        crit = _num(a.criterion, "{:.3g}") if files.is_number(a.criterion) else _e(a.criterion or "")
        label = _e(HAZARD_STYLES[a.kind][0])
        area = _num(a.area_km2, "{:,.0f}")
        detail.append(_tds(f"{_swatch(a.kind)} {_e(a.name)}", label, crit, area, _e(a.description), num=(2, 3)))
    if detail:
        parts.append(_table(["area", "kind", "criterion", "area, km²", "description"], detail))
    return "\n".join(parts)


def risk_section(risk: RiskResults | Path, mission=None) -> str:
    """HTML section for a ``rangeguard risk --out`` folder (or its :class:`RiskResults`): verdict and key
    figures against their criteria, E_c and CEC against failure time, the risk map, hazard areas and what the
    analysis simplifies. ``mission``: a Mission, a YAML path or a bundled name (default: risk.json's)."""
    if not isinstance(risk, RiskResults):
        risk = read_risk(Path(risk))
    if not hasattr(mission, "site"):
        mission = risk_mission(risk, mission)
    s = risk.summary
    cls = "clear" if risk.passed else "terminated"
    parts = [
        '<h2 id="risk">Debris casualty risk (14 CFR 450.101, 450.108)</h2>',
        f'<p class="meta">folder <code>{_e(risk.path)}</code>; mission <code>{_e(mission.name)}</code></p>',
        f'<div class="outcome {cls}">{risk.verdict}: {_e(_verdict_text(risk))}</div>',
        _figures_table(risk),
        _inputs_table(risk),
    ]
    crit_text = f"{s['cec_criterion']:.0e}"
    parts.append(
        _figure(
            failure_time_figure(risk),
            "Top: each failure time's contribution to E_c (probability of that failure in its 1 s interval and "
            "response mode, times the casualties it causes), per response mode, and their sum (black), log scale; "
            "grey ticks: failure times not flown (their IIP could not reach any populated cell). Bottom: the "
            f"conditional expected casualties (CEC) of each failure, with the abort criterion CEC {crit_text} "
            "(red dashed line); shaded red: failure times where flight abort is required. Dotted lines: staging.",
            "Ec contribution and CEC against failure time",
        )
    )
    fig, ellipses = risk_map_figure(risk, mission)
    notes = []
    for kind, (lines, n_rows, bad, n_wide) in ellipses.items():
        if n_wide:
            notes.append(f"{n_wide} {kind} footprint(s) wider than 100 km (sigma) not drawn (samples, not a normal)")
        if n_rows - n_wide > len(lines) + bad:
            notes.append(
                f"{len(lines) + bad} {kind} footprints of {n_rows - n_wide} drawn (those with the largest E_c)"
            )
        if bad:
            notes.append(f"{bad} {kind} footprint(s) with a degenerate covariance not drawn")
    parts.append(
        _figure(
            fig,
            "Map: populated cells at risk coloured by individual probability of casualty P_c (log scale; the red "
            "line on the colour bar is the P_c criterion; the largest P_c circled by a red diamond), each impact "
            f"footprint's {SIGMAS:.0f}-sigma ellipse (failures: solid brown; planned jettisons: dashed teal), the "
            "hazard areas (ship: blue solid; aircraft: purple dashed, hatched; drop zone: brown dash-dot, dotted), "
            "the nominal vehicle's vacuum IIP track (orange), the launch site (star) and the mission's protected "
            "areas (red). Coastlines: Natural Earth 1:50m." + (" " + "; ".join(notes) + "." if notes else ""),
            "risk map: population cells by probability of casualty, impact footprints and hazard areas",
        )
    )
    parts.append("<h3>Hazard areas</h3>")
    parts.append(_hazard_table(risk))
    simplified = s.get("simplifications") or []
    if simplified:
        parts.append("<h3>What is simplified</h3>")
        parts.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in simplified) + "</ul>")
    return "\n".join(parts)
