"""Validation statistics and the verdict, from the per-run rows of a Monte Carlo validation.

- Nominal flights: a *false termination* is a termination of a flight with no
  failure. Its probability is bounded above with the one-sided 95 %
  Clopper-Pearson bound (Clopper & Pearson 1934): the p at which seeing at
  most x terminations in n runs has probability 0.05, i.e. the 0.95 quantile
  of Beta(x + 1, n - x) (1 when x = n). With no false termination in n runs
  it is 1 - 0.05^(1/n): 2,995 clean runs show 1e-3 (the "0.999 at 95 %
  confidence" of range-safety practice).
- Per rule, on nominal flights: how many false terminations it fired, and the
  distribution of its smallest margin over each flight (p0.1, p1, p50).
- Per failure scenario: runs terminated, time from the failure's onset to
  termination (p50, p99), and *missed* terminations: runs whose true IIP
  reached what a protected area protects before termination.
- Per scenario, what its ``expect`` claims (:data:`VERDICT_BASIS`):

  - ``continue`` (a flyable vehicle, e.g. Kairos flight 1's 3 % weak motor):
    every terminated run is a false termination of that vehicle and fails the
    verdict. No statistical allowance: the scenario is one named vehicle the
    rules must let fly, and one termination in n runs already says its rate
    is near 1/n.
  - ``terminate`` (a real failure): a run that was not terminated fails the
    verdict only when nothing shows it was harmless: its true IIP reached a
    protected area (a missed termination, as for every run), or the flight
    was still undecided when the simulation stopped (``t_final_s`` NaN: it
    could still get there). A failed vehicle that came down at sea, or was
    safed, without its IIP ever reaching a protected area endangered no one:
    the AFSS exists to protect people, and forcing it to destroy such a
    vehicle buys no safety and pushes toward tighter rules, i.e. more false
    terminations (the Kairos lesson). Those runs are listed and noted
    (``notes``), not failed.
  - no ``expect``: informative (only missed terminations and errors count).

  The runs against a scenario's ``expect`` are listed by number (at most
  :data:`LISTED_RUNS_MAX` per scenario; all are in runs.parquet) with their
  rule and termination time, or their outcome.
- Verdict PASS only when the upper bound is below the mission's requirement,
  no run (nominal or failure) was missed, no scenario's ``expect`` was
  contradicted as above, and no run ended in an error.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pyarrow as pa
from scipy.stats import beta

CONFIDENCE = 0.95
MARGIN_PERCENTILES = (0.1, 1.0, 50.0)
LISTED_RUNS_MAX = 100
"""Runs against a scenario's ``expect`` listed by number in the summary, per scenario (all are in runs.parquet)."""
VERDICT_BASIS = (
    "nominal: the 95 % upper bound on the false-termination probability must be below the requirement",
    "every run: its true IIP must not reach a protected area before termination (a missed termination)",
    "expect: continue: no run may be terminated (each is a false termination of a flyable vehicle)",
    (
        "expect: terminate: a run not terminated fails unless shown harmless: it came down or was safed "
        "without its true IIP reaching a protected area (then it is listed, not failed)"
    ),
    "every run: no run may end in an error",
)
"""What the verdict judges, in words (``verdict_basis`` of the summary)."""


def clopper_pearson_upper(x: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided upper confidence bound on a binomial probability after x events in n trials."""
    if n <= 0:
        return 1.0
    if x >= n:
        return 1.0
    return float(beta.ppf(confidence, x + 1, n - x))


def _col(table: pa.Table, name: str, default=None) -> list:
    if name in table.column_names:
        return table.column(name).to_pylist()
    return [default] * table.num_rows


def _f(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _pct(values: np.ndarray, q: float):
    v = values[np.isfinite(values)]
    return None if v.size == 0 else float(np.percentile(v, q))


def _num(x: float):
    return None if not math.isfinite(x) else round(float(x), 3)


def _rules_text(counts: Counter) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.most_common())


def summarize(rows: pa.Table, engine_mission, scenarios: list[str]) -> dict:
    """Statistics and verdict (the ``--json`` object plus details) from all rows of a validation."""
    req = float(engine_mission.requirements.false_termination_max)
    case = _col(rows, "case")
    run = _col(rows, "run")
    err = _col(rows, "error")
    term = _col(rows, "terminated", False)
    rule = _col(rows, "rule")
    state = _col(rows, "state")
    entered = _col(rows, "iip_entered", False)
    nominal = [i for i, c in enumerate(case) if c == ""]
    nominal_ok = [i for i in nominal if err[i] is None]
    false_idx = [i for i in nominal_ok if term[i]]
    by_rule = Counter(rule[i] or "?" for i in false_idx)
    n_ok = len(nominal_ok)
    upper = clopper_pearson_upper(len(false_idx), n_ok)
    missed_nominal = sum(1 for i in nominal_ok if entered[i])

    rule_stats = {}
    units = {r.name: _unit(r) for r in engine_mission.rules}
    for r in engine_mission.rules:
        m = _f(_col(rows, f"margin:{r.name}"))[nominal_ok] if nominal_ok else np.array([])
        rule_stats[r.name] = {
            "false_terminations": int(by_rule.get(r.name, 0)),
            "unit": units[r.name],
            "active_runs": int(np.isfinite(m).sum()),
            **{f"margin_p{q:g}": _pct(m, q) for q in MARGIN_PERCENTILES},
        }

    t_term = _f(_col(rows, "t_terminate_s"))
    t_fail = _f(_col(rows, "t_fail_s"))
    t_final = _f(_col(rows, "t_final_s"))
    sc_stats = {}
    reasons_expect, notes = [], []
    for name in scenarios:
        idx = [i for i, c in enumerate(case) if c == name and err[i] is None]
        terminated = [i for i in idx if term[i]]
        with np.errstate(invalid="ignore"):
            detect = (t_term - t_fail)[terminated] if terminated else np.array([])
        spec = engine_mission.scenarios.get(name)
        expect = None if spec is None else spec.expect
        listed, against = [], []
        if expect == "continue":
            against = terminated
            listed = [
                {"run": run[i], "rule": rule[i], "t_terminate_s": _num(t_term[i]), "t_fail_s": _num(t_fail[i])}
                for i in terminated
            ]
            if against:
                reasons_expect.append(
                    f"scenario '{name}' (expect: continue, a flyable vehicle): {len(against)} of {len(idx)} runs "
                    f"terminated ({_rules_text(Counter(rule[i] or '?' for i in against))}); every one is a false "
                    f"termination: widen the rule(s) named or fix the scenario's expect (runs listed in the report "
                    f"and in summary.json, scenarios.{name}.unexpected_runs)"
                )
        elif expect == "terminate":
            kept = [i for i in idx if not term[i]]
            outcome = {
                i: ("missed" if entered[i] else "undecided" if not math.isfinite(t_final[i]) else "harmless")
                for i in kept
            }
            listed = [
                {"run": run[i], "outcome": outcome[i], "state": state[i], "t_final_s": _num(t_final[i])} for i in kept
            ]
            against = [i for i in kept if outcome[i] == "undecided"]  # missed ones fail below, as every missed run
            harmless = [i for i in kept if outcome[i] == "harmless"]
            if against:
                reasons_expect.append(
                    f"scenario '{name}' (expect: terminate): {len(against)} of {len(idx)} runs were neither "
                    f"terminated nor finished when the simulation stopped (t_max): nothing shows they were harmless; "
                    f"rerun with a longer --t-max"
                )
            if harmless:
                notes.append(
                    f"scenario '{name}' (expect: terminate): {len(harmless)} of {len(idx)} runs were not terminated; "
                    f"each came down or was safed without its true IIP reaching a protected area, so it endangered "
                    f"no one and does not count against the verdict (scenarios.{name}.unexpected_runs)"
                )
        sc_stats[name] = {
            "runs": len(idx),
            "terminated": len(terminated),
            "missed": sum(1 for i in idx if entered[i]),
            "t_detect_p50_s": _pct(detect, 50.0),
            "t_detect_p99_s": _pct(detect, 99.0),
            "fraction_terminated": (len(terminated) / len(idx)) if idx else None,
            "expect": expect,
            "unexpected": len(listed),
            "against_verdict": len(against),
            "unexpected_runs": listed[:LISTED_RUNS_MAX],
            "errors": sum(1 for i, c in enumerate(case) if c == name and err[i] is not None),
            "rules": dict(Counter(rule[i] or "?" for i in terminated)),
        }
    errors = [
        {"case": case[i] or "nominal", "run": run[i], "error": err[i]}
        for i in range(rows.num_rows)
        if err[i] is not None
    ]
    missed_total = missed_nominal + sum(s["missed"] for s in sc_stats.values())

    reasons = []
    if not upper < req:
        worst = _rules_text(by_rule)
        reasons.append(
            f"false-termination upper bound {upper:.3g} (95 %, {len(false_idx)} of {n_ok} nominal runs"
            f"{'; ' + worst if worst else ''}) is not below the requirement {req:g}"
        )
    if missed_total:
        where = ", ".join(f"{k}: {v['missed']}" for k, v in sc_stats.items() if v["missed"])
        if missed_nominal:
            where = ", ".join(x for x in (f"nominal: {missed_nominal}", where) if x)
        reasons.append(f"{missed_total} run(s) missed a termination: the true IIP reached a protected area ({where})")
    reasons += reasons_expect
    if errors:
        reasons.append(f"{len(errors)} run(s) ended in an error (see the 'error' column of runs.parquet)")
    return {
        "runs": len(nominal),
        "verdict": "PASS" if not reasons else "FAIL",
        "false_termination": {
            "count": len(false_idx),
            "upper95": upper,
            "by_rule": dict(by_rule),
            "probability": (len(false_idx) / n_ok) if n_ok else None,
            "requirement": req,
        },
        "scenarios": sc_stats,
        "rules": rule_stats,
        "missed_nominal": missed_nominal,
        "errors": errors,
        "reasons": reasons,
        "notes": notes,
        "verdict_basis": list(VERDICT_BASIS),
        "mission": engine_mission.name,
    }


def _unit(rule) -> str:
    q = getattr(rule, "quantity", None)
    if rule.type == "envelope" and q:
        return {"speed_mps": "m/s", "vertical_speed_mps": "m/s", "flight_path_angle_deg": "deg"}.get(q, "m")
    return {
        "iip_polygon": "m",
        "position_polygon": "m",
        "gate": "m",
        "body_rate": "deg/s",
        "attitude_error": "deg",
        "data_loss": "s",
        "source_disagreement": "m",
    }.get(rule.type, "")


def json_view(summary: dict) -> dict:
    """The documented ``--json`` object (and the extra detail keys), JSON-safe (no NaN)."""

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    return clean(summary)


def statistics_table(summary: dict) -> pa.Table:
    """Long-format statistics (one row per figure) for Parquet: section, name, figure, value."""
    rows = []
    ft = summary["false_termination"]
    rows += [
        ("nominal", "", "runs", float(summary["runs"])),
        ("nominal", "", "false_terminations", float(ft["count"])),
        ("nominal", "", "upper95", ft["upper95"]),
        ("nominal", "", "requirement", ft["requirement"]),
        ("nominal", "", "missed", float(summary["missed_nominal"])),
        ("verdict", "", "pass", 1.0 if summary["verdict"] == "PASS" else 0.0),
    ]
    for name, st in summary["rules"].items():
        for k, v in st.items():
            if k != "unit":
                rows.append(("rule", name, k, np.nan if v is None else float(v)))
    for name, st in summary["scenarios"].items():
        for k, v in st.items():
            if v is None or isinstance(v, (int, float)):  # counts and times, not expect, rules or listed runs
                rows.append(("scenario", name, k, np.nan if v is None else float(v)))
    sec, name, fig, val = zip(*rows, strict=True)
    return pa.table(
        {"section": list(sec), "name": list(name), "figure": list(fig), "value": pa.array(val, pa.float64())}
    )
