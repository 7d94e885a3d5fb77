"""The self-contained HTML report: one file, plots and maps inlined, no script, no network.

Every image is a PNG embedded as a ``data:`` URI and the style sheet is
inline, so the file opens offline, can be mailed, and shows the same in ten
years. :func:`write_report` picks the report from what the folder holds:

- a demo folder (``demo.json`` and one folder per run): an overview table,
  then one section per run;
- a flight folder (``rangeguard simulate`` or one demo run): one section;
- a Monte Carlo folder (:mod:`rangeguard.report.montecarlo`): the verdict,
  IIP/impact footprints, minimum-margin histograms, time to detect;
- a risk folder (``rangeguard risk --out``, :mod:`rangeguard.report.risk`):
  the verdict and key figures against the criteria, E_c and CEC against
  failure time, a map of the people at risk, footprints and hazard areas.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from pathlib import Path

import numpy as np

from rangeguard.errors import InputError
from rangeguard.report import flight as fl
from rangeguard.report import maps, plots
from rangeguard.report.montecarlo import MonteCarloResults, is_montecarlo_dir, read_montecarlo
from rangeguard.report.style import COLORS, figure_png_data_uri

REPORT_NAME = "report.html"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:0 1em 3em;color:#222}
h1{border-bottom:3px solid #333;padding-bottom:.2em}
h2{margin-top:2.2em;border-bottom:1px solid #999}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.outcome{padding:.6em 1em;border-radius:4px;margin:.8em 0;font-weight:600}
.terminated{background:#fde0e0;border-left:8px solid #d62728}
.clear{background:#e3f5e6;border-left:8px solid #2e9d44}
.neutral{background:#eef;border-left:8px solid #1f4fbf}
.reason{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;white-space:pre-wrap}
figure{margin:1em 0}
figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}
.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;vertical-align:middle}
.meta{color:#666;font-size:.85em}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _num(x, fmt="{:.1f}") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "&ndash;"
    return fmt.format(x)


def _figure(fig, caption: str, alt: str) -> str:
    uri = figure_png_data_uri(fig)
    return f'<figure><img src="{uri}" alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>'


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(rows_c for rows_c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _outcome_html(v: dict) -> str:
    if v.get("terminated"):
        destruct = ""
        if v.get("destructed"):  # the destruct command followed the thrust termination
            destruct = f"; DESTRUCT at T+{v['t_destruct_s']:.2f} s by <code>{_e(v.get('destructed_by'))}</code>"
        return (
            f'<div class="outcome terminated">TERMINATED at T+{v["t_terminate_s"]:.2f} s by rule '
            f"<code>{_e(v.get('rule'))}</code> (thrust termination){destruct}</div>"
        )
    orbit = v.get("orbit")
    if orbit:
        return (
            f'<div class="outcome clear">Not terminated: orbit {orbit["perigee_km"]:.0f} x '
            f"{orbit['apogee_km']:.0f} km, inclination {orbit['inclination_deg']:.2f} deg</div>"
        )
    return f'<div class="outcome neutral">Not terminated (final state {_e(v.get("state", "?"))})</div>'


def _fmt(x, fmt: str) -> str:
    return fmt.format(x) if isinstance(x, (int, float)) and math.isfinite(x) else "-"


def _milestones_html(v: dict) -> str:
    """Apogee, the end of each burn, the IIP at the last burnout and the impact or orbit insertion of
    one vehicle of a ``simulate`` summary (empty for summaries without them, e.g. the demo's)."""
    if not isinstance(v.get("apogee"), dict):
        return ""
    rows = []

    def row(what, t, lat, lon, alt, speed=None, fpa=None, mass=None):
        cells = [
            what,
            _fmt(t, "{:.2f}"),
            _fmt(lat, "{:.4f}"),
            _fmt(lon, "{:.4f}"),
            _fmt(alt / 1e3 if isinstance(alt, (int, float)) else None, "{:.2f}"),
            _fmt(speed, "{:.0f}"),
            _fmt(fpa, "{:.1f}"),
            _fmt(mass, "{:.1f}"),
        ]
        rows.append([f"<td>{_e(cells[0])}</td>"] + [f'<td class="num">{c}</td>' for c in cells[1:]])

    a = v["apogee"]
    row("apogee", a.get("t_s"), a.get("lat_deg"), a.get("lon_deg"), a.get("height_m"))
    for b in v.get("burnouts") or []:
        row(
            f"stage {b.get('stage')} {b.get('event')}",
            b.get("t_s"),
            b.get("lat_deg"),
            b.get("lon_deg"),
            b.get("alt_m"),
            b.get("speed_mps"),
            b.get("flight_path_angle_deg"),
            b.get("mass_kg"),
        )
    iip = v.get("iip_at_last_burnout")
    if isinstance(iip, dict):
        row(f"vacuum IIP at the last burnout (impact T+{iip.get('t_impact_s', 0.0):.1f} s)", iip.get("t_s"),
            iip.get("lat_deg"), iip.get("lon_deg"), 0.0)  # fmt: skip
    imp = v.get("impact")
    if isinstance(imp, dict):
        row("impact", imp.get("t_s"), imp.get("lat_deg"), imp.get("lon_deg"), 0.0, imp.get("speed_mps"))
    ins = v.get("orbit_insertion")
    if isinstance(ins, dict):
        row("orbit insertion", ins.get("t_s"), ins.get("lat_deg"), ins.get("lon_deg"), ins.get("alt_m"),
            ins.get("speed_mps"), ins.get("flight_path_angle_deg"), ins.get("mass_kg"))  # fmt: skip
    header = ["vehicle 0", "T+ s", "lat deg", "lon deg", "height km", "speed m/s", "flight-path deg", "mass kg"]
    return "<h3>Apogee, burnouts and impact (truth)</h3>" + _table(header, rows)


def _dispersion_html(d: dict | None) -> str:
    """Mean and standard deviation of apogee and impact over dispersed vehicles, and the ellipse."""
    if not isinstance(d, dict):
        return ""
    rows = []
    for key, label, scale, unit in (
        ("apogee_height_m", "apogee height", 1e-3, "km"),
        ("apogee_t_s", "apogee time", 1.0, "s"),
        ("impact_t_s", "impact time", 1.0, "s"),
    ):
        x = d.get(key)
        if isinstance(x, dict):
            rows.append(
                [f"<td>{label}</td>", f'<td class="num">{_fmt(x["mean"] * scale, "{:.3f}")}</td>',
                 f'<td class="num">{_fmt(x["std"] * scale, "{:.3f}")}</td>', f"<td>{unit}</td>",
                 f'<td class="num">{x["n"]}</td>']
            )  # fmt: skip
    parts = ["<h3>Dispersion over the vehicles</h3>", _table(["quantity", "mean", "std", "unit", "n"], rows)]
    imp = d.get("impact")
    if isinstance(imp, dict):
        e = imp["ellipse"]
        parts.append(
            f"<p>Impact: mean {imp['mean_lat_deg']:.4f} N {imp['mean_lon_deg']:.4f} E; std east "
            f"{imp['std_east_m'] / 1e3:.2f} km, north {imp['std_north_m'] / 1e3:.2f} km (correlation "
            f"{imp['correlation']:.2f}); {e['probability']:.0%} ellipse (a {_e(e['fit'])}): semi-axes "
            f"{e['semi_major_m'] / 1e3:.2f} x {e['semi_minor_m'] / 1e3:.2f} km, major axis at "
            f"{e['major_axis_azimuth_deg']:.0f} deg from north ({imp['n']} impacts). Drawn on the map.</p>"
        )
    return "\n".join(parts)


def _impact_layers(run: fl.FlightRun) -> tuple[list, list]:
    """The map's impact points (scatter) and dispersion ellipse (outline) of a simulate summary."""
    pts = [v["impact"] for v in run.vehicles if isinstance(v.get("impact"), dict)]
    scatter = []
    if pts:
        lat = np.array([p["lat_deg"] for p in pts], dtype=np.float64)
        lon = np.array([p["lon_deg"] for p in pts], dtype=np.float64)
        scatter.append(("impact points", lat, lon, "#2ca02c"))
    outlines = []
    d = run.summary.get("dispersion")
    imp = d.get("impact") if isinstance(d, dict) else None
    if isinstance(imp, dict):
        e = imp["ellipse"]
        outlines.append(
            (f"{e['probability']:.0%} impact ellipse", np.asarray(e["outline_lat_deg"]),
             np.asarray(e["outline_lon_deg"]), "#2ca02c")
        )  # fmt: skip
    return scatter, outlines


def _until_orbit(track, t_safed_s: float | None = None) -> slice:
    """The part of a track that matters on a range map: until the IIP vanishes (orbit) or the AFSS safed itself."""
    gone = np.flatnonzero(~np.isfinite(track.iip_lat_deg))
    gone = gone[gone > 0]  # the first sample may lack an IIP on the pad
    stop = int(gone[0]) if gone.size else track.t_s.size
    if t_safed_s is not None:
        stop = min(stop, int(np.searchsorted(track.t_s, t_safed_s, side="right")))
    return slice(0, max(stop, 1))


def flight_section(run: fl.FlightRun, mission, anchor: str) -> str:
    """HTML section for one flight folder: outcome, maps, profile, timeline, margins."""
    v0 = run.vehicles[0] if run.vehicles else {}
    term = run.termination(0)
    t_term = term["t_s"] if term else None
    parts = [
        f'<h2 id="{_e(anchor)}">{_e(run.title)}</h2>',
        f'<p class="meta">folder <code>{_e(run.path)}</code>; mission <code>{_e(mission.name)}</code>; '
        f"{len(run.tracks)} vehicle track(s)</p>",
    ]
    if run.summary.get("lesson"):
        parts.append(f"<p><em>{_e(run.summary['lesson'])}</em></p>")
    parts.append(_outcome_html(v0))
    if v0.get("iip_entered_protected_area"):
        parts.append(
            '<div class="outcome terminated">The true IIP reached a protected area before the AFSS acted '
            "(a missed termination).</div>"
        )
    if run.summary.get("reason"):
        parts.append(f'<p class="reason">{_e(run.summary["reason"])}</p>')
    parts.append(_milestones_html(v0))
    parts.append(_dispersion_html(run.summary.get("dispersion")))

    t_safed = next((t for t, state, _ in run.state_changes() if state == "SAFED"), None)
    cut = [_until_orbit(tr, t_safed) for tr in run.tracks]
    layer = maps.MapLayer(
        tracks=[(tr.lat_deg[c], tr.lon_deg[c]) for tr, c in zip(run.tracks, cut, strict=True)],
        iips=[(tr.iip_lat_deg[c], tr.iip_lon_deg[c]) for tr, c in zip(run.tracks, cut, strict=True)],
        terminations=[t for t in (run.termination(i) for i in range(len(run.vehicles))) if t],
    )
    layer.scatter, layer.outlines = _impact_layers(run)
    fig = maps.map_figure(mission, layer, f"{run.title}: ground track, IIP and protected areas")
    safed_note = f" until the AFSS safed itself at T+{t_safed:.2f} s" if t_safed is not None else ""
    parts.append(
        _figure(
            fig,
            "Map: launch site (star), protected areas with their built-in margins (red), IIP "
            "corridor (blue dashed), ground track (black), vacuum IIP trace (orange)"
            f"{safed_note}, "
            "termination point (red X) and the IIP there (red circle); for a simulate run the impact points "
            "(green dots) and, over dispersed vehicles, the impact-dispersion ellipse (green line). "
            "Coastlines: Natural Earth 1:50m.",
            "map of the flight",
        )
    )
    if term is not None and t_term is not None and run.tracks:  # t_term is set whenever term is
        tr = run.tracks[0]
        upto = tr.t_s <= t_term + 5.0
        c = cut[0]
        zoom_layer = maps.MapLayer(
            tracks=[(tr.lat_deg[c], tr.lon_deg[c])],
            iips=[(tr.iip_lat_deg[upto], tr.iip_lon_deg[upto])],
            terminations=[term],
        )
        bbox = maps.zoom_bbox(zoom_layer, mission.site.lon_deg, mission.site.lat_deg)
        fig = maps.map_figure(mission, zoom_layer, f"close-up of the termination (T+{t_term:.2f} s)", bbox=bbox)
        parts.append(
            _figure(
                fig,
                "Close-up: the IIP trace up to termination (+5 s) against the limit it crossed.",
                "map close-up of the termination",
            )
        )
    fig = plots.profile_figure(run, mission, t_term)
    parts.append(
        _figure(
            fig,
            "Altitude, speed and flight-path angle against time (truth), with the envelope rules' "
            "lower (dashed) and upper (dash-dot) limits.",
            "flight profile plots",
        )
    )
    fig = plots.timeline_figure(run, mission)
    parts.append(
        _figure(
            fig,
            "Decision timeline (vehicle 0): engine state and each rule's margin status per cycle.",
            "decision timeline",
        )
    )
    changes = run.state_changes()
    parts.append("<h3>Decision timeline</h3>")
    parts.append(
        _table(
            ["T+ s", "state", "reason"],
            [
                [f'<td class="num">{t:.2f}</td>', f"<td>{_e(s)}</td>", f'<td class="reason">{_e(r)}</td>']
                for t, s, r in changes
            ],
        )
    )
    parts.append("<h3>How close each rule came</h3>")
    rows = []
    for r in plots.margin_table(run, mission):
        dot = f'<span class="dot" style="background:{COLORS[r["status"]]}"></span>'
        rows.append(
            [
                f"<td>{dot} {_e(r['rule'])}</td>",
                f"<td>{_e(r['type'])}</td>",
                f"<td>{_e(r['action'])}</td>",
                f'<td class="num">{_num(r["min_margin"], "{:.6g}")}</td>',
                f"<td>{_e(r['unit'])}</td>",
                f'<td class="num">{_num(r["t_min_s"], "{:.2f}")}</td>',
                f"<td>{'yes' if r['violated'] else 'no'}</td>",
                f"<td>{'<b>FIRED</b>' if r['fired'] else ''}</td>",
            ]
        )
    parts.append(_table(["rule", "type", "action", "min margin", "unit", "at T+ s", "violated", "fired"], rows))
    return "\n".join(parts)


def montecarlo_section(mc: MonteCarloResults, mission) -> str:
    """HTML section for Monte Carlo results: verdict, footprints, margin histograms, time to detect."""
    v = mc.verdict
    cls = "clear" if v.get("passed") is True else ("terminated" if v.get("passed") is False else "neutral")
    word = {"clear": "PASS", "terminated": "FAIL", "neutral": "VERDICT"}[cls]
    parts = [
        '<h2 id="montecarlo">Monte Carlo validation</h2>',
        f'<div class="outcome {cls}">{word}: {_e(v.get("text", ""))}</div>',
    ]
    figures = {k: val for k, val in v.items() if k not in ("passed", "text")}
    figures.update(mc.extra)
    if figures:
        parts.append(
            _table(["figure", "value"], [[f"<td>{_e(k)}</td>", f"<td>{_e(val)}</td>"] for k, val in figures.items()])
        )
    rows = []
    runs = mc.runs
    for s in mc.scenarios():
        sel = runs["scenario"] == s
        fired = [f for f in runs["fired_by"][sel] if f]
        top = max(set(fired), key=fired.count) if fired else ""
        missed = int(np.sum(runs["iip_entered_protected"][sel])) if "iip_entered_protected" in runs else None
        rows.append(
            [
                f"<td>{_e(s)}</td>",
                f'<td class="num">{int(sel.sum())}</td>',
                f'<td class="num">{int(np.sum(runs["terminated"][sel]))}</td>',
                f"<td>{_e(top)}</td>",
                f'<td class="num">{"&ndash;" if missed is None else missed}</td>',
            ]
        )
    parts.append(
        _table(["scenario", "flights", "terminated", "most frequent rule", "IIP reached protected area"], rows)
    )
    header, listed = mc.expectation_table()
    if listed:
        parts.append("<h3>Runs against their scenario's expectation</h3>")
        parts.append(_table(header, [[f"<td>{_e(x)}</td>" for x in row] for row in listed]))
    parts += [f'<p class="reason">note: {_e(n)}</p>' for n in mc.notes]
    layer = maps.MapLayer()
    iip = mc.points("iip")
    impact = mc.points("impact")
    if impact is not None:
        layer.scatter.append(("impact points", impact[0], impact[1], "#555555"))
    if iip is not None:
        term = runs["terminated"]
        layer.scatter.append(("IIP at termination", iip[0][term], iip[1][term], COLORS["red"]))
        layer.scatter.append(("final IIP, not terminated", iip[0][~term], iip[1][~term], "#1f77b4"))
    if layer.scatter and mission is not None:
        fig = maps.map_figure(mission, layer, "Monte Carlo footprints")
        parts.append(
            _figure(
                fig,
                "IIP at termination (red), final IIP of flights not terminated (blue) and impact "
                "points (grey) of every Monte Carlo flight.",
                "Monte Carlo footprint map",
            )
        )
    if mc.rule_names:
        fig = plots.margin_histograms_figure(mc, mission)
        parts.append(
            _figure(
                fig,
                "Smallest margin of each rule per flight; the red line is the limit (margin 0), "
                "red bars are flights below it.",
                "minimum-margin histograms",
            )
        )
    if any(s != "nominal" for s in mc.scenarios()):
        fig = plots.time_to_detect_figure(mc)
        parts.append(_figure(fig, "Time from fault onset to termination per failure scenario.", "time to detect"))
    return "\n".join(parts)


def _page(title: str, body: str) -> str:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{_e(title)}</h1><p class="meta">rangeguard report, generated {stamp}. '
        f"Self-contained: opens offline.</p>\n{body}\n</body></html>\n"
    )


def _demo_overview(path: Path, run_dirs: list[Path]) -> str:
    summaries = json.loads((path / "demo.json").read_text())
    rows = []
    for s, d in zip(summaries, run_dirs, strict=False):
        outcome = (
            f"TERMINATED T+{s['t_terminate_s']:.2f} s by {s['rule']}"
            if s["terminated"]
            else ("orbit" if s.get("orbit") else s.get("state", ""))
        )
        rows.append(
            [
                f'<td><a href="#{_e(d.name)}">{_e(s.get("lesson", d.name))}</a></td>',
                f"<td>{_e(s['scenario'])}</td>",
                f"<td>{_e(s['rules'])}</td>",
                f"<td>{_e(s['policy'])}</td>",
                f"<td>{_e(outcome)}</td>",
                f"<td>{'yes' if s['iip_entered_protected_area'] else 'no'}</td>",
            ]
        )
    return "<h2>What the AFSS decided</h2>" + _table(
        ["run", "scenario", "rules", "policy", "outcome", "IIP reached protected area?"], rows
    )


def build_report(path: Path, mission=None) -> tuple[str, str]:
    """(title, HTML text) of the report for a results folder (see the module docstring)."""
    path = Path(path)
    if not path.is_dir():
        what = "is a file, not a folder" if path.exists() else "no such folder"
        raise InputError(f"{path}: {what}; give the output folder of demo, simulate, validate or risk")
    if fl.is_demo_dir(path):
        dirs = fl.demo_run_dirs(path)
        if not dirs:
            raise InputError(f"{path}: demo.json lists no run folders that exist; rerun `rangeguard demo --out {path}`")
        sections = [_demo_overview(path, dirs)]
        cache: dict = {}
        for d in dirs:
            run = fl.read_flight(d)
            hint = mission if mission is not None else fl.mission_hint(d, run.summary)
            if hint not in cache:
                cache[hint] = fl.resolve_mission(d, run.summary, mission)
            sections.append(flight_section(run, cache[hint], d.name))
        return "rangeguard demo: Kairos flights 1-3 on the Kii missions", "\n".join(sections)
    if fl.is_flight_dir(path):
        run = fl.read_flight(path)
        m = fl.resolve_mission(path, run.summary, mission)
        return f"rangeguard: {run.title}", flight_section(run, m, "flight")
    if is_montecarlo_dir(path):
        mc = read_montecarlo(path)
        summary = {"mission": mc.mission_name} if mc.mission_name else {}
        m = fl.resolve_mission(path, summary, mission)
        sections = [montecarlo_section(mc, m)]
        for d in sorted(p for p in path.iterdir() if p.is_dir() and fl.is_flight_dir(p)):
            run = fl.read_flight(d)
            sections.append(flight_section(run, m, d.name))
        return f"rangeguard validate: {m.name}", "\n".join(sections)
    # imported here: the risk section draws with this module's helpers (_figure, _table)
    from rangeguard.report import risk as rk

    if rk.is_risk_dir(path):
        results = rk.read_risk(path)
        m = rk.risk_mission(results, mission)
        return f"rangeguard risk: {m.name}: {results.verdict}", rk.risk_section(results, m)
    raise fl.not_an_output_folder(path)


def write_report(out_dir, mission=None, output=None) -> Path:
    """Write the HTML report for a results folder; returns its path (default ``out_dir/report.html``).

    ``mission``: a Mission, a mission YAML path or a bundled mission name;
    default: the one the folder's summary (or risk.json) names. Called by
    ``rangeguard report`` and at the end of ``demo``, ``simulate`` and
    ``validate``.
    """
    title, body = build_report(Path(out_dir), mission)
    output = Path(out_dir) / REPORT_NAME if output is None else Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(output.suffix + ".tmp")
    tmp.write_text(_page(title, body), encoding="utf-8")
    tmp.replace(output)
    return output
