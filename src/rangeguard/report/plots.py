"""Report plots: flight profile against the envelope rules, the decision timeline, Monte Carlo statistics.

Quantities are computed from the truth track with the engine's own
definitions (:func:`rangeguard.rules.kinematics.row_kinematics`: speed is
|v_ecef|, flight-path angle is the angle of v_ecef above the local geodetic
horizontal, downrange/crossrange in the pad's ENU plane), so an envelope
drawn here is exactly the limit the rule applied.
"""

from __future__ import annotations

import numpy as np

from rangeguard.mission.quantities import QUANTITIES
from rangeguard.report.style import COLORS, STATE_COLORS, caution_band, new_figure, status_of

PROFILE_PANELS = ("altitude_m", "speed_mps", "flight_path_angle_deg")
"""Always drawn; other quantities get a panel when an envelope rule watches them."""
DISPLAY = {q.name: (q.label, q.plot_unit, q.plot_scale) for q in QUANTITIES}
"""Label, unit and scale of each quantity's panel (:mod:`rangeguard.mission.quantities`)."""


def track_quantities(track, mission) -> dict[str, np.ndarray]:
    """Envelope quantities of a :class:`~rangeguard.report.flight.VehicleTrack`, SI units (degrees for angles)."""
    from rangeguard.earth.geodesy import geodesic_distance_m
    from rangeguard.rules.base import Site
    from rangeguard.rules.kinematics import QUANTITY_COLUMNS, row_kinematics

    if track.t_s.size == 0:
        return {k: np.zeros(0) for k in DISPLAY}
    table = row_kinematics(track.r_ecef, track.v_ecef, Site.from_spec(mission.site))
    out = {name: table[:, col] for name, col in QUANTITY_COLUMNS.items()}
    out["altitude_m"] = track.alt_m
    with np.errstate(invalid="ignore"):
        out["iip_range_m"] = geodesic_distance_m(
            mission.site.lat_deg, mission.site.lon_deg, track.iip_lat_deg, track.iip_lon_deg
        )
    return out


def envelope_rules(mission) -> dict[str, list]:
    """quantity -> envelope rules watching it."""
    out: dict[str, list] = {}
    for r in mission.rules:
        if r.type == "envelope" and r.enabled:
            out.setdefault(r.quantity, []).append(r)
    return out


def profile_figure(run, mission, t_terminate_s: float | None = None):
    """Altitude, speed and flight-path angle (and any other enveloped quantity) against time, limits drawn."""
    env = envelope_rules(mission)
    panels = list(PROFILE_PANELS) + [q for q in env if q not in PROFILE_PANELS]
    fig = new_figure(8.0, 2.3 * len(panels))
    axes = fig.subplots(len(panels), 1, sharex=True)
    quantities = [track_quantities(tr, mission) for tr in run.tracks]
    t_end = max((float(np.nanmax(tr.t_s)) for tr in run.tracks if tr.t_s.size), default=1.0)
    for ax, q in zip(np.atleast_1d(axes), panels, strict=True):
        label, unit, scale = DISPLAY[q]
        for k, (tr, qs) in enumerate(zip(run.tracks, quantities, strict=True)):
            ax.plot(
                tr.t_s,
                qs[q] * scale,
                color="black" if k == 0 else "0.55",
                lw=1.4 if k == 0 else 0.5,
                alpha=1.0 if k == 0 else 0.5,
                label="flight (truth)" if k == 0 else None,
                zorder=3,
            )
        for j, rule in enumerate(env.get(q, [])):
            t = np.asarray(rule.table.t_s)
            for side, ls in (("lower", "--"), ("upper", "-.")):
                vals = getattr(rule.table, side)
                if vals is None:
                    continue
                v = np.array([np.nan if x is None else x for x in vals], dtype=np.float64)
                ax.plot(
                    t,
                    v * scale,
                    color=COLORS["red"],
                    ls=ls,
                    lw=1.0,
                    zorder=2,
                    label=f"rule '{rule.name}' {side} limit" if j == 0 else None,
                )
            if rule.table.lower is not None and rule.table.upper is not None:
                lo = np.array([np.nan if x is None else x for x in rule.table.lower], dtype=np.float64)
                hi = np.array([np.nan if x is None else x for x in rule.table.upper], dtype=np.float64)
                ax.fill_between(t, lo * scale, hi * scale, color=COLORS["green"], alpha=0.08, lw=0, zorder=1)
        if t_terminate_s is not None:
            ax.axvline(
                t_terminate_s, color=COLORS["red"], lw=1.2, zorder=4, label=f"terminated T+{t_terminate_s:.2f} s"
            )
        ax.set_ylabel(f"{label}, {unit}", fontsize=8)
        ax.grid(True, lw=0.3)
        ax.legend(fontsize=7, loc="upper left")
    np.atleast_1d(axes)[-1].set_xlabel("flight time T+, s")
    np.atleast_1d(axes)[-1].set_xlim(0.0, t_end)
    return fig


def _runs_of(mask: np.ndarray):
    """(start, stop) index pairs of the True runs of a boolean array."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def timeline_figure(run, mission):
    """Decision timeline: engine state over time, and each rule's status (green/amber/red/grey) per cycle."""
    d = run.decisions
    t = np.asarray(d["t_s"], dtype=np.float64)
    ok = np.isfinite(t)
    t = t[ok]
    rules = run.rule_names
    fig = new_figure(8.0, 1.2 + 0.28 * (len(rules) + 1))
    ax = fig.add_subplot(1, 1, 1)
    if t.size == 0:
        ax.text(0.5, 0.5, "no decisions recorded", ha="center", transform=ax.transAxes)
        return fig
    dt = np.diff(t, append=t[-1] + (t[-1] - t[-2] if t.size > 1 else 0.1))
    states = np.asarray(d["state"], dtype=object)[ok]
    y = len(rules)
    for s, c in STATE_COLORS.items():
        for a, b in _runs_of(states == s):
            ax.broken_barh([(t[a], t[b - 1] + dt[b - 1] - t[a])], (y - 0.4, 0.8), color=c)
    labels = ["engine state"]
    for j, name in enumerate(rules):
        row = len(rules) - 1 - j
        try:
            band = caution_band(mission.rule(name), t)
        except KeyError:
            band = 0.0
        status = status_of(np.asarray(run.margins[name], dtype=np.float64)[ok], band)
        for s in ("grey", "green", "amber", "red"):
            spans = [(t[a], t[b - 1] + dt[b - 1] - t[a]) for a, b in _runs_of(status == s)]
            if spans:
                ax.broken_barh(spans, (row - 0.35, 0.7), color=COLORS[s], alpha=0.35 if s == "grey" else 0.9)
        viol = np.asarray(run.violated[name], dtype=bool)[ok]
        if viol.any():
            ax.plot(t[viol], np.full(viol.sum(), row), "|", color="black", ms=6)
        labels.append(name)
    span = t[-1] + dt[-1] - t[0]
    for tc, state, _ in run.state_changes():
        ax.axvline(tc, color=STATE_COLORS.get(state, "black"), lw=1.0, ls=":")
        right = tc > t[0] + 0.8 * span
        ax.text(tc, len(rules) + 0.55, f"{state} T+{tc:.2f} ", fontsize=7, ha="right" if right else "left", va="bottom")
    ax.set_yticks(range(len(rules) + 1))
    ax.set_yticklabels(list(reversed(labels[1:])) + [labels[0]], fontsize=7)
    ax.set_ylim(-0.6, len(rules) + 1.2)
    ax.set_xlim(t[0], t[-1] + dt[-1])
    ax.set_xlabel(
        "flight time T+, s   (rule rows: green clear, amber within caution band, red violated, "
        "grey not judged; | violated sample)",
        fontsize=7,
    )
    ax.grid(True, axis="x", lw=0.3)
    return fig


def margin_table(run, mission) -> list[dict]:
    """Per rule: type, unit, smallest margin and when, whether it was violated and whether it fired."""
    d = run.decisions
    t = np.asarray(d["t_s"], dtype=np.float64)
    fired = {f for f in d["fired_by"] if f}
    rows = []
    for name in run.rule_names:
        m = np.asarray(run.margins[name], dtype=np.float64)
        try:
            spec = mission.rule(name)
            unit, kind, action = (
                spec.margin_unit(),
                spec.type,
                spec.action or ("degrade" if spec.type == "data_loss" else "terminate"),
            )
        except KeyError:
            spec, unit, kind, action = None, "", "?", "?"
        finite = np.isfinite(m)
        k = int(np.nanargmin(np.where(finite, m, np.inf))) if finite.any() else None
        rows.append(
            {
                "rule": name,
                "type": kind,
                "unit": unit,
                "action": action,
                "min_margin": float(m[k]) if k is not None else float("nan"),
                "t_min_s": float(t[k]) if k is not None else float("nan"),
                "violated": bool(np.asarray(run.violated[name]).any()),
                "fired": name in fired,
                "status": (
                    status_of(m[k], 0.0 if spec is None else caution_band(spec, t[k])).item()
                    if k is not None
                    else "grey"
                ),
            }
        )
    return rows


# --- Monte Carlo ----------------------------------------------------------------------------


def margin_histograms_figure(mc, mission=None):
    """One histogram per rule of the per-flight minimum margin, the limit (margin 0) marked.

    Dispersed nominal flights (which must stay above the limit: a flight below
    it is a false termination risk) and failure-scenario flights (which should
    go below it) are stacked in different colours.
    """
    rules = mc.rule_names
    ncol = min(3, max(len(rules), 1))
    nrow = max(1, -(-len(rules) // ncol))
    fig = new_figure(3.2 * ncol, 2.3 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    nominal = mc.runs["scenario"] == "nominal"
    for k, (ax, name) in enumerate(zip(axes, rules, strict=False)):
        m_all = np.asarray(mc.min_margin(name), dtype=np.float64)
        ok = np.isfinite(m_all)
        unit = ""
        if mission is not None:
            try:
                unit = mission.rule(name).margin_unit()
            except KeyError:
                pass
        groups = [
            (m_all[ok & nominal], "dispersed nominal", COLORS["green"]),
            (m_all[ok & ~nominal], "failure scenarios", "#7f7f7f"),
        ]
        if ok.any():
            lo, hi = min(m_all[ok].min(), 0.0), max(m_all[ok].max(), 0.0)
            bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 30)
            ax.hist(
                [g[0] for g in groups],
                bins=bins,
                stacked=True,
                color=[g[2] for g in groups],
                label=[g[1] for g in groups] if k == 0 else None,
            )
        ax.axvline(0.0, color=COLORS["red"], lw=1.5, label="limit (margin 0)" if k == 0 else None)
        below_nom = int(np.sum(groups[0][0] < 0))
        below_fail = int(np.sum(groups[1][0] < 0))
        ax.set_title(
            f"{name}: below limit {below_nom}/{groups[0][0].size} nominal, {below_fail}/{groups[1][0].size} failure",
            fontsize=7,
        )
        ax.set_xlabel(f"minimum margin, {unit}" if unit else "minimum margin", fontsize=7)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=6, loc="upper left")
    for ax in axes[len(rules) :]:
        ax.set_visible(False)
    return fig


def time_to_detect_figure(mc):
    """Time from fault onset to termination, per failure scenario (strip plot with the median)."""
    ttd = mc.time_to_detect_s()
    scen = [s for s in mc.scenarios() if s != "nominal"]
    fig = new_figure(8.0, 0.6 + 0.45 * max(len(scen), 1))
    ax = fig.add_subplot(1, 1, 1)
    rng = np.random.default_rng(0)  # jitter only (display)
    for k, s in enumerate(scen):
        v = ttd[(mc.runs["scenario"] == s) & np.isfinite(ttd)]
        n_all = int(np.sum(mc.runs["scenario"] == s))
        if v.size:
            ax.plot(v, k + rng.uniform(-0.15, 0.15, v.size), "o", ms=3, alpha=0.6, color=COLORS["red"])
            ax.plot([np.median(v)] * 2, [k - 0.3, k + 0.3], color="black", lw=2)
        ax.text(1.01, k, f"{v.size}/{n_all} terminated", transform=ax.get_yaxis_transform(), fontsize=7, va="center")
    ax.set_yticks(range(len(scen)))
    ax.set_yticklabels(scen, fontsize=8)
    ax.set_xlabel("time to detect (termination - fault onset), s; bar: median")
    ax.grid(True, axis="x", lw=0.3)
    return fig
