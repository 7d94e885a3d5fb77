"""The Monte Carlo part of a report: a small reader interface over validation results.

The report needs, from a Monte Carlo validation (``rangeguard validate --out
DIR``), one row per simulated flight and a verdict. :class:`MonteCarloResults`
is that interface; :func:`read_montecarlo` builds it from a folder, and
:func:`from_tables` from in-memory columns (for another writer, or tests).

Per-flight columns (``runs``; arrays of equal length, one row per flight):

=====================  ======  ==========================================================
column                 type    meaning
=====================  ======  ==========================================================
scenario               str     failure scenario name, ``"nominal"`` for dispersed nominals
terminated             bool    the AFSS terminated this flight
t_terminate_s          float   flight time of termination, s (NaN if not terminated)
fired_by               str     rule (or ``string-fault:X``) that terminated it, or None
t_fault_s              float   onset of the injected failure, s (NaN: none); optional
iip_lat_deg/lon_deg    float   vacuum IIP at termination (or last one), degrees; optional
impact_lat_deg/lon_deg float   where the vehicle or its debris came down, degrees; optional
iip_entered_protected  bool    the true IIP reached a protected area (a missed termination); optional
min_margin__<rule>     float   smallest margin of <rule> over the flight, rule's unit
=====================  ======  ==========================================================

Time to detect, per failure scenario, is ``t_terminate_s - t_fault_s``.

Files :func:`read_montecarlo` reads in DIR: the per-flight table is the
first ``*.parquet`` there with ``scenario`` (or ``case``) and ``terminated``
columns (``runs.parquet`` preferred); the verdict is the ``verdict`` member
of the first JSON file there holding one (``summary.json``, ``validate.json``
preferred): an object with ``passed`` (bool) and ``text`` (str) and any
other figures (shown as a table), or a string (``"PASS"``/``"FAIL"`` sets
``passed``; a ``reasons`` list beside it is appended to the text).

The column names of ``rangeguard validate --out`` (:mod:`rangeguard.montecarlo.validation`)
are read through :data:`ALIASES`: ``case`` ("" = nominal), ``rule``,
``t_fail_s``, ``iip_entered``, ``margin:<rule>``.

From that summary the report also takes the runs that went against their
scenario's ``expect`` (``scenarios.<name>.unexpected_runs``: a terminated run
of an ``expect: continue`` scenario with its rule and termination time, or a
run of an ``expect: terminate`` scenario that was not terminated, with its
outcome) and the ``notes``; :meth:`MonteCarloResults.expectation_table` lays
them out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from rangeguard.errors import InputError
from rangeguard.report import files
from rangeguard.report.files import BOOLEAN, NUMBER, TEXT

REQUIRED = ("scenario", "terminated")
ALIASES = {"case": "scenario", "rule": "fired_by", "t_fail_s": "t_fault_s", "iip_entered": "iip_entered_protected"}
"""Column names of other writers (rangeguard validate's runs.parquet) -> the names above."""
MARGIN_PREFIXES = ("min_margin__", "margin:")
PREFERRED_TABLES = ("runs.parquet", "results.parquet", "montecarlo.parquet")
PREFERRED_JSON = ("summary.json", "validate.json", "validation.json")


@dataclass
class MonteCarloResults:
    """Monte Carlo validation results as the report reads them (see the module docstring)."""

    runs: dict[str, np.ndarray]
    verdict: dict
    mission_name: str | None = None
    extra: dict = field(default_factory=dict)
    expectation_runs: list[dict] = field(default_factory=list)
    """Runs against their scenario's expect: dicts with scenario, expect, run and rule + t_terminate_s
    (expect: continue) or outcome + state + t_final_s (expect: terminate)."""
    expectation_counts: dict[str, int] = field(default_factory=dict)
    """Scenario -> how many of its runs went against its expect (more than listed when the list is capped)."""
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.runs["scenario"])

    @property
    def rule_names(self) -> list[str]:
        return [k.removeprefix("min_margin__") for k in self.runs if k.startswith("min_margin__")]

    def min_margin(self, rule: str) -> np.ndarray:
        return self.runs[f"min_margin__{rule}"]

    def scenarios(self) -> list[str]:
        """Scenario names, nominal first, then in order of first appearance."""
        seen = list(dict.fromkeys(self.runs["scenario"].tolist()))
        return sorted(seen, key=lambda s: (s != "nominal", seen.index(s)))

    def time_to_detect_s(self) -> np.ndarray:
        """(N,) t_terminate_s - t_fault_s, s; NaN where not terminated or without a fault."""
        t_fault = self.runs.get("t_fault_s")
        if t_fault is None:
            return np.full(self.n, np.nan)
        with np.errstate(invalid="ignore"):
            return self.runs["t_terminate_s"] - t_fault

    def expectation_table(self) -> tuple[list[str], list[list[str]]]:
        """(header, rows of text) listing the runs against their scenario's expect, one row per run,
        and a closing row per scenario whose list was capped."""
        header = ["scenario", "expect", "run", "outcome", "rule", "T+ s"]
        rows: list[list[str]] = []
        shown: dict[str, int] = {}
        for r in self.expectation_runs:
            name = r.get("scenario", "")
            shown[name] = shown.get(name, 0) + 1
            if r.get("expect") == "continue":
                outcome, t_s = "terminated", r.get("t_terminate_s")
            else:
                outcome, t_s = f"not terminated: {r.get('outcome', '?')} ({r.get('state', '?')})", r.get("t_final_s")
            rows.append(
                [
                    name,
                    str(r.get("expect")),
                    str(r.get("run")),
                    outcome,
                    r.get("rule") or "",
                    "" if t_s is None else f"{t_s:.2f}",
                ]
            )
        for name, total in self.expectation_counts.items():
            if total > shown.get(name, 0):
                rows.append([name, "", "", f"... and {total - shown.get(name, 0)} more (runs.parquet)", "", ""])
        return header, rows

    def points(self, prefix: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(lat_deg, lon_deg) arrays of ``prefix`` ("iip" or "impact"), or None if absent."""
        lat, lon = self.runs.get(f"{prefix}_lat_deg"), self.runs.get(f"{prefix}_lon_deg")
        if lat is None or lon is None:
            return None
        return lat, lon


def _column(name: str, values) -> np.ndarray:
    if name in ("scenario", "fired_by"):
        return np.array([None if v is None else str(v) for v in values], dtype=object)
    if name in ("terminated", "iip_entered_protected"):
        return np.asarray(values, dtype=bool)
    values = list(values)
    if any(isinstance(v, str) for v in values):  # other text columns (state, error, ...) are kept as text
        return np.array(values, dtype=object)
    return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)


def from_tables(
    runs: dict, verdict, mission_name: str | None = None, extra: dict | None = None, summary: dict | None = None
) -> MonteCarloResults:
    """Build :class:`MonteCarloResults` from columns (name -> sequence) and a verdict (str or dict);
    ``summary`` (a validate summary.json object) supplies the runs against expectations and the notes."""
    runs = {_canonical(k): v for k, v in runs.items() if _canonical(k) is not None}
    missing = [c for c in REQUIRED if c not in runs]
    if missing:
        raise InputError(f"Monte Carlo results: missing columns {missing}; see rangeguard.report.montecarlo")
    cols = {k: _column(k, v) for k, v in runs.items()}
    n = len(cols["scenario"])
    bad = [k for k, v in cols.items() if len(v) != n]
    if bad:
        raise InputError(f"Monte Carlo results: columns {bad} do not have {n} rows like 'scenario'")
    cols.setdefault("t_terminate_s", np.full(n, np.nan))
    cols.setdefault("fired_by", np.array([None] * n, dtype=object))
    cols["scenario"] = np.array(["nominal" if s in (None, "", "None") else s for s in cols["scenario"]], dtype=object)
    if isinstance(verdict, str):
        word = verdict.strip().upper()
        verdict = {"text": verdict} if word not in ("PASS", "FAIL") else {"passed": word == "PASS", "text": word}
    verdict = dict(verdict or {})
    verdict.setdefault("text", "")
    listed, counts = _expectations(summary or {})
    notes = [str(x) for x in (summary or {}).get("notes") or []]
    return MonteCarloResults(
        runs=cols,
        verdict=verdict,
        mission_name=mission_name,
        extra=dict(extra or {}),
        expectation_runs=listed,
        expectation_counts=counts,
        notes=notes,
    )


def _expectations(summary: dict) -> tuple[list[dict], dict[str, int]]:
    listed, counts = [], {}
    scenarios = summary.get("scenarios")
    for name, sc in scenarios.items() if isinstance(scenarios, dict) else []:
        if not isinstance(sc, dict) or not sc.get("unexpected"):
            continue
        counts[name] = int(sc["unexpected"])
        listed += [
            {"scenario": name, "expect": sc.get("expect"), **r}
            for r in sc.get("unexpected_runs") or []
            if isinstance(r, dict)
        ]
    return listed, counts


def _canonical(name: str) -> str | None:
    """The interface's name for a column of another writer; None for columns the report does not use."""
    for prefix in MARGIN_PREFIXES:
        if name.startswith(prefix):
            return "min_margin__" + name[len(prefix) :]
    name = ALIASES.get(name, name)
    if name.startswith(("param:", "env:")):
        return None
    return name


def _first(path: Path, preferred: tuple[str, ...], pattern: str, accept) -> Path | None:
    names = [path / p for p in preferred] + sorted(path.glob(pattern))
    for p in names:
        if p.is_file() and accept(p):
            return p
    return None


def _has_columns(p: Path) -> bool:
    try:
        names = pq.read_schema(p).names
    except Exception:  # noqa: BLE001 - any unreadable file is simply not ours
        return False
    canon = {_canonical(n) for n in names}
    return all(c in canon for c in REQUIRED)


def _json_with_verdict(p: Path) -> bool:
    try:
        return "verdict" in json.loads(p.read_text())
    except (OSError, ValueError, TypeError, RecursionError):
        return False


SUMMARY_FIELDS = {
    "verdict": (TEXT, "object"),
    "reasons": ("list",),
    "notes": ("list",),
    "mission": (TEXT,),
    "scenarios": ("object",),
}
"""The kinds of the members of a validate summary.json the report reads."""
COLUMN_KINDS = {
    "scenario": TEXT,
    "case": TEXT,
    "terminated": BOOLEAN,
    "t_terminate_s": NUMBER,
    "t_fail_s": NUMBER,
    "t_fault_s": NUMBER,
    "fired_by": TEXT,
    "rule": TEXT,
}
"""The kinds of the per-flight columns the report computes with (any of them present)."""


def is_montecarlo_dir(path: Path) -> bool:
    """True if ``path`` holds a per-flight table :func:`read_montecarlo` can read."""
    path = Path(path)
    return path.is_dir() and _first(path, PREFERRED_TABLES, "*.parquet", _has_columns) is not None


def read_montecarlo(path: Path) -> MonteCarloResults:
    """Read Monte Carlo results from a folder (files as in the module docstring)."""
    path = Path(path)
    table_path = _first(path, PREFERRED_TABLES, "*.parquet", _has_columns)
    if table_path is None:
        raise InputError(
            f"{path}: no Parquet table with columns {list(REQUIRED)}; is this a `rangeguard validate --out` folder?"
        )
    names = set(pq.read_schema(table_path).names)
    table = files.read_table(
        table_path, {k: v for k, v in COLUMN_KINDS.items() if k in names}, "a Monte Carlo results table"
    )
    runs = {k: table.column(k).to_pylist() for k in table.column_names}
    for name in PREFERRED_JSON:  # a summary the folder names must be readable, not skipped as if absent
        if (path / name).exists():
            files.read_json(path / name)
    summary_path = _first(path, PREFERRED_JSON, "*.json", _json_with_verdict)
    summary = files.read_json(summary_path) if summary_path else {}
    files.check_fields(summary, SUMMARY_FIELDS, str(summary_path))
    verdict = summary.get("verdict", {"text": "(no verdict found)"})
    if isinstance(verdict, str) and summary.get("reasons"):
        verdict = {"passed": verdict.strip().upper() == "PASS", "text": "; ".join(str(r) for r in summary["reasons"])}
    extra = {}
    for k, v in summary.items():
        if k in ("verdict", "reasons", "notes"):
            continue
        if isinstance(v, dict):  # scalar members, e.g. false_termination.upper95
            extra.update({f"{k}.{kk}": x for kk, x in v.items() if not isinstance(x, (list, dict))})
        elif not isinstance(v, (list, dict)):
            extra[k] = v
    return from_tables(runs, verdict, mission_name=summary.get("mission"), extra=extra, summary=summary)
