"""``validate --suggest``: envelope tables re-derived from dispersed nominal flights.

The dispersed nominal flights are flown again with every rule set to
``monitor`` and safing off (nothing terminates or safes, so every flight
shows its whole path up to the last table time), and the true value of each envelope rule's quantity is recorded at
the rule's table times. The suggested limits are the extremes over the
flights, their deviation from the median widened by a stated factor::

    lower = min - (spread * (median - min) + margin_abs[quantity])
    upper = max + (spread * (max - median) + margin_abs[quantity])

With the default ``spread`` 1 the band is twice the dispersed one: the
extremes of 3,000 flights lie about 3.4 sigma out, so the limits sit near
7 sigma, which keeps vehicles beyond the sample and flyable off-nominal ones
(Kairos flight 1's 3 % weak motor is a 3-sigma motor here, and its failure
flights are dispersed on top) inside; the absolute part covers sensor noise
and the first seconds, where the quantities are near zero. A table time that no
flight reached while armed gets no limit (null). The suggested mission gets a
new seed (the original + 1), so validating it flies fresh, out-of-sample
flights.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from rangeguard.errors import InputError
from rangeguard.montecarlo.defaults import DEFAULT_SPREAD
from rangeguard.montecarlo.runner import fingerprint, read_rows, run_tasks
from rangeguard.montecarlo.validation import build_tasks, check_mission

MARGIN_ABS = {
    "speed_mps": 10.0,
    "altitude_m": 1000.0,
    "downrange_m": 2000.0,
    "crossrange_m": 2000.0,
    "flight_path_angle_deg": 2.0,
    "vertical_speed_mps": 10.0,
    "iip_range_m": 10000.0,
}
"""Absolute part of the suggested margin, in each quantity's unit."""


def monitor_only(mission):
    """The mission with every rule's action set to ``monitor`` (violations recorded, nothing terminates)
    and safing off (every flight stays watched to the end of its envelope tables)."""
    rules = [r.model_copy(update={"action": "monitor"}) for r in mission.rules]
    sf = mission.safing
    safing = sf.model_copy(
        update={
            "orbit": sf.orbit.model_copy(update={"enabled": False}),
            "iip_clear": sf.iip_clear.model_copy(update={"enabled": False}),
        }
    )
    return mission.model_copy(update={"rules": rules, "safing": safing})


def derive_envelopes(
    mission,
    runs: int,
    spread: float = DEFAULT_SPREAD,
    chunk_size: int = 250,
    backend: str = "inprocess",
    workers: int = 1,
    scheduler: str | None = None,
    out_dir: Path | None = None,
    on_chunk=None,
) -> dict:
    """Per envelope rule of ``mission``: ``{"t_s", "lower", "upper", "runs"}`` from ``runs`` dispersed nominal
    flights."""
    check_mission(mission)
    if not spread >= 0:
        raise InputError(f"the suggestion spread factor must be >= 0 (e.g. 1: twice the dispersed band); got {spread}")
    if runs < 1:
        raise InputError("--suggest derives envelopes from the dispersed nominal flights: give --runs 1 or more")
    rules = [r for r in mission.rules if r.type == "envelope"]
    if not rules:
        raise InputError(f"mission '{mission.name}' has no envelope rules: --suggest re-derives envelope tables")
    probe = monitor_only(mission)
    t_end = max(max(r.table.t_s) for r in rules) + 0.5
    tasks = [replace(t, t_max_s=t_end) for t in build_tasks(mission, probe, runs, [], 0, chunk_size, probe=True)]
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rangeguard-suggest-") as tmp:
        base = Path(out_dir) if out_dir is not None else Path(tmp)
        chunk_dir = base / "chunks" / (fingerprint(mission, probe, extra="probe"))
        rows = read_rows(
            run_tasks(tasks, chunk_dir, backend=backend, workers=workers, scheduler=scheduler, on_chunk=on_chunk)
        )
    ok = [e is None for e in rows.column("error").to_pylist()]
    out = {}
    for r in rules:
        values = np.array(
            [v for v, good in zip(rows.column(f"env:{r.name}").to_pylist(), ok, strict=True) if good], dtype=np.float64
        ).reshape(-1, len(r.table.t_s))
        with np.errstate(invalid="ignore"), _quiet():
            lo, hi, med = np.nanmin(values, axis=0), np.nanmax(values, axis=0), np.nanmedian(values, axis=0)
        have = np.isfinite(med)
        lo_lim = lo - (spread * (med - lo) + MARGIN_ABS[r.quantity])
        hi_lim = hi + (spread * (hi - med) + MARGIN_ABS[r.quantity])
        lower = [round(float(x), 3) if h else None for x, h in zip(lo_lim, have, strict=True)]
        upper = [round(float(x), 3) if h else None for x, h in zip(hi_lim, have, strict=True)]
        out[r.name] = {
            "t_s": list(r.table.t_s),
            "lower": lower if r.table.lower is not None else None,
            "upper": upper if r.table.upper is not None else None,
            "runs": int(values.shape[0]),
            "quantity": r.quantity,
        }
    return out


class _quiet:
    """Silence numpy's all-NaN slice warnings (a table time no flight reached)."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def suggested_document(mission, envelopes: dict, out_path: Path, spread: float) -> str:
    """The YAML text of ``mission``'s file with the envelope tables replaced (paths rebased to ``out_path``)."""
    src = mission.source_path
    if src is None or not Path(src).is_file():
        raise InputError("--suggest needs a mission loaded from a file (it rewrites that file's envelope tables)")
    src = Path(src)
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    out_dir = Path(out_path).resolve().parent

    def rebase(rel: str) -> str:
        return os.path.relpath((src.parent / rel).resolve(), out_dir)

    for key in ("vehicle", "sensors", "dispersions"):
        if isinstance(data.get(key), str):
            data[key] = rebase(data[key])
    for area in data.get("areas") or []:
        if isinstance(area, dict) and isinstance(area.get("geojson"), str):
            area["geojson"] = rebase(area["geojson"])
    n_runs = 0
    for rule in data.get("rules") or []:
        env = envelopes.get(rule.get("name")) if isinstance(rule, dict) else None
        if env is None:
            continue
        n_runs = env["runs"]
        table = {"t_s": env["t_s"]}
        if env["lower"] is not None:
            table["lower"] = env["lower"]
        if env["upper"] is not None:
            table["upper"] = env["upper"]
        rule["table"] = table
        rule["description"] = (
            f"Re-derived by rangeguard validate --suggest from {env['runs']} dispersed nominal flights: their "
            f"extremes, pushed out by {spread:g} x their distance from the median + {MARGIN_ABS[env['quantity']]:g} "
            f"(was: {rule.get('description', '')})"
        )
    data["name"] = f"{mission.name}-suggested"
    data["description"] = (
        f"{mission.description} Envelopes re-derived from {n_runs} dispersed nominal flights "
        f"(rangeguard validate --suggest); new seed for out-of-sample validation."
    ).strip()
    data["seed"] = int(mission.seed) + 1
    header = (
        f"# {data['name']}: written by `rangeguard validate --suggest` from {src.name}.\n"
        f"# Envelope tables: extremes of {n_runs} dispersed nominal flights pushed out by {spread:g} x their\n"
        f"# distance from the median, plus an absolute margin per quantity (speed {MARGIN_ABS['speed_mps']:g} "
        "m/s, altitude "
        f"{MARGIN_ABS['altitude_m']:g} m, ...).\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, width=120, default_flow_style=None)


def write_suggested(mission, envelopes: dict, out_path: Path, spread: float = DEFAULT_SPREAD) -> Path:
    out_path = Path(out_path)
    text = suggested_document(mission, envelopes, out_path, spread)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    return out_path
