"""Validation statistics: the Clopper-Pearson bound and the verdict rules."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from rangeguard.mission import load_mission
from rangeguard.montecarlo.stats import clopper_pearson_upper, json_view, statistics_table, summarize

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_zero_failures_bound_by_hand():
    """With x = 0 the bound solves (1 - p)^n = 0.05: p = 1 - 0.05^(1/n)."""
    for n in (1, 10, 300, 3000):
        assert clopper_pearson_upper(0, n) == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-12)


def test_2995_clean_runs_show_one_in_a_thousand():
    """The range-safety figure: 0.999 at 95 % needs n with 1 - 0.05^(1/n) < 1e-3, i.e.
    n > ln(0.05) / ln(0.999) = 2994.2 -> 2995 clean runs (2994 are not enough)."""
    assert math.log(0.05) / math.log(0.999) == pytest.approx(2994.2, abs=0.1)
    assert clopper_pearson_upper(0, 2995) < 1e-3 < clopper_pearson_upper(0, 2994)


@given(st.integers(1, 2000), st.integers(0, 50))
def test_bound_is_where_the_binomial_tail_is_five_percent(n, x):
    """Definition (Clopper & Pearson 1934): P(X <= x; n, p_upper) = 0.05, checked with scipy.stats.binom."""
    x = min(x, n - 1)
    p = clopper_pearson_upper(x, n)
    assert binom.cdf(x, n, p) == pytest.approx(0.05, rel=1e-6, abs=1e-9)
    assert clopper_pearson_upper(n, n) == 1.0


def _rows(rows: list[dict], rule_names) -> pa.Table:
    cols = {k: [r.get(k) for r in rows] for k in ("case", "run", "terminated", "t_terminate_s", "rule", "iip_entered",
                                                  "t_fail_s", "error")}
    for name in rule_names:
        cols[f"margin:{name}"] = [r.get("margins", {}).get(name) for r in rows]
    return pa.table(cols)


def _mission():
    return load_mission(ROOT / "missions" / "kii-sso.yaml")


def _nominal(k, **kw):
    return {"case": "", "run": k, "terminated": False, "t_terminate_s": math.nan, "rule": None, "iip_entered": False,
            "t_fail_s": math.nan, "error": None, **kw}


def test_summary_figures_and_verdicts():
    """4 nominal runs (one terminated by 'speed'), 3 f2 runs terminated 10, 20, 40 s after the failure:
    p50 = 20 s, p99 = 20 + 0.98 * 20 = 39.6 s (linear interpolation between order statistics)."""
    m = _mission()
    names = [r.name for r in m.rules]
    rows = [_nominal(k, margins={"speed": 5.0 * (k + 1)}) for k in range(4)]
    rows[2].update(terminated=True, t_terminate_s=5.3, rule="speed")
    for k, dt in enumerate((10.0, 20.0, 40.0)):
        rows.append({"case": "f2-nozzle", "run": k, "terminated": True, "t_terminate_s": 80.0 + dt, "rule": "iip-corridor",
                     "iip_entered": False, "t_fail_s": 80.0, "error": None})
    s = summarize(_rows(rows, names), m, ["f2-nozzle"])
    assert s["runs"] == 4 and s["verdict"] == "FAIL"
    assert s["false_termination"]["count"] == 1 and s["false_termination"]["by_rule"] == {"speed": 1}
    assert s["false_termination"]["upper95"] == pytest.approx(clopper_pearson_upper(1, 4))
    assert "speed: 1" in s["reasons"][0]
    f2 = s["scenarios"]["f2-nozzle"]
    assert (f2["runs"], f2["terminated"], f2["missed"], f2["unexpected"]) == (3, 3, 0, 0)
    assert f2["t_detect_p50_s"] == pytest.approx(20.0) and f2["t_detect_p99_s"] == pytest.approx(39.6)
    sp = s["rules"]["speed"]
    assert sp["false_terminations"] == 1 and sp["margin_p50"] == pytest.approx(12.5) and sp["active_runs"] == 4
    assert s["rules"]["tumble"]["margin_p50"] is None  # never active
    table = statistics_table(s)
    assert set(table.column("section").to_pylist()) >= {"nominal", "rule", "scenario", "verdict"}


def test_pass_needs_the_bound_no_missed_run_and_no_error():
    m = _mission()
    names = [r.name for r in m.rules]
    clean = [_nominal(k) for k in range(3000)]
    s = summarize(_rows(clean, names), m, [])
    assert s["verdict"] == "PASS" and s["reasons"] == []
    missed = clean + [{"case": "f2-nozzle", "run": 0, "terminated": True, "t_terminate_s": 100.0, "rule": "iip-corridor",
                       "iip_entered": True, "t_fail_s": 80.0, "error": None}]
    s = summarize(_rows(missed, names), m, ["f2-nozzle"])
    assert s["verdict"] == "FAIL" and "missed" in s["reasons"][0] and s["scenarios"]["f2-nozzle"]["missed"] == 1
    broken = clean + [{"case": "", "run": 3000, "error": "InputError: boom"}]
    s = summarize(_rows(broken, names), m, [])
    assert s["verdict"] == "FAIL" and s["errors"] == [{"case": "nominal", "run": 3000, "error": "InputError: boom"}]
    assert s["false_termination"]["upper95"] == pytest.approx(clopper_pearson_upper(0, 3000))  # errors are not trials


def test_json_view_has_the_documented_keys_and_no_nan():
    m = _mission()
    s = json_view(summarize(_rows([_nominal(0)], [r.name for r in m.rules]), m, ["tumble"]))
    assert set(s) >= {"runs", "verdict", "false_termination", "scenarios"}
    assert set(s["false_termination"]) >= {"count", "upper95", "by_rule"}
    assert set(s["scenarios"]["tumble"]) >= {"runs", "terminated", "missed", "t_detect_p50_s", "t_detect_p99_s"}
    assert s["scenarios"]["tumble"]["t_detect_p50_s"] is None
    assert not any(isinstance(v, float) and not np.isfinite(v) for v in s["false_termination"].values())
