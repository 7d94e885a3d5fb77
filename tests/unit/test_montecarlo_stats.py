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
from rangeguard.montecarlo import stats
from rangeguard.montecarlo.stats import (
    clopper_pearson_upper,
    json_view,
    statistics_table,
    summarize,
)

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
    cols = {
        k: [r.get(k) for r in rows]
        for k in (
            "case",
            "run",
            "terminated",
            "t_terminate_s",
            "rule",
            "iip_entered",
            "t_fail_s",
            "error",
            "state",
            "t_final_s",
        )
    }
    for name in rule_names:
        cols[f"margin:{name}"] = [r.get("margins", {}).get(name) for r in rows]
    return pa.table(cols)


def _mission():
    return load_mission(ROOT / "missions" / "kii-sso.yaml")


def _nominal(k, **kw):
    return {
        "case": "",
        "run": k,
        "terminated": False,
        "t_terminate_s": math.nan,
        "rule": None,
        "iip_entered": False,
        "t_fail_s": math.nan,
        "error": None,
        **kw,
    }


def test_summary_figures_and_verdicts():
    """4 nominal runs (one terminated by 'speed'), 3 f2 runs terminated 10, 20, 40 s after the failure:
    p50 = 20 s, p99 = 20 + 0.98 * 20 = 39.6 s (linear interpolation between order statistics)."""
    m = _mission()
    names = [r.name for r in m.rules]
    rows = [_nominal(k, margins={"speed": 5.0 * (k + 1)}) for k in range(4)]
    rows[2].update(terminated=True, t_terminate_s=5.3, rule="speed")
    for k, dt in enumerate((10.0, 20.0, 40.0)):
        rows.append(
            {
                "case": "f2-nozzle",
                "run": k,
                "terminated": True,
                "t_terminate_s": 80.0 + dt,
                "rule": "iip-corridor",
                "iip_entered": False,
                "t_fail_s": 80.0,
                "error": None,
            }
        )
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
    missed = clean + [
        {
            "case": "f2-nozzle",
            "run": 0,
            "terminated": True,
            "t_terminate_s": 100.0,
            "rule": "iip-corridor",
            "iip_entered": True,
            "t_fail_s": 80.0,
            "error": None,
        }
    ]
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


def _clean_nominal(n=3000):
    """Enough clean nominal runs for the bound to meet 1e-3, so only the scenario decides the verdict."""
    return [_nominal(k, state="SAFED", t_final_s=205.0) for k in range(n)]


def _f1(k, terminated=False, rule=None, t_s=math.nan):
    """A run of the Kairos-flight-1 scenario (expect: continue), flown on or terminated by ``rule`` at ``t_s``."""
    return {
        "case": "f1-thrust-low",
        "run": k,
        "terminated": terminated,
        "t_terminate_s": t_s,
        "rule": rule,
        "iip_entered": False,
        "t_fail_s": 0.0,
        "error": None,
        "state": "TERMINATED" if terminated else "SAFED",
        "t_final_s": t_s if terminated else 210.0,
    }


def test_a_terminated_flyable_vehicle_fails_the_verdict_and_is_listed():
    """Issue 13: 7 of 100 dispersed Kairos-F1 weak motors (expect: continue) were terminated by the
    altitude rule and the verdict said PASS. A termination of a flyable vehicle is a false termination:
    FAIL, with a reason naming the scenario, the count and the rule, and the runs listed with their
    rule and termination time."""
    m = _mission()
    names = [r.name for r in m.rules]
    assert m.scenarios["f1-thrust-low"].expect == "continue"
    f1 = [_f1(k) for k in range(100)]
    f1[7] = _f1(7, True, "altitude", 194.88)
    f1[12] = _f1(12, True, "altitude", 207.68)
    f1[40] = _f1(40, True, "speed", 5.3)
    s = summarize(_rows(_clean_nominal() + f1, names), m, ["f1-thrust-low"])
    assert s["false_termination"]["upper95"] < 1e-3  # the nominal flights alone would pass
    assert s["verdict"] == "FAIL"
    reason = next(r for r in s["reasons"] if "f1-thrust-low" in r)
    assert "3 of 100" in reason and "altitude: 2" in reason and "speed: 1" in reason
    sc = s["scenarios"]["f1-thrust-low"]
    assert (sc["unexpected"], sc["against_verdict"]) == (3, 3)
    assert sc["unexpected_runs"] == [
        {"run": 7, "rule": "altitude", "t_terminate_s": 194.88, "t_fail_s": 0.0},
        {"run": 12, "rule": "altitude", "t_terminate_s": 207.68, "t_fail_s": 0.0},
        {"run": 40, "rule": "speed", "t_terminate_s": 5.3, "t_fail_s": 0.0},
    ]
    doc = json_view(s)
    assert doc["scenarios"]["f1-thrust-low"]["unexpected_runs"][0]["rule"] == "altitude"
    assert any("expect: continue" in line for line in doc["verdict_basis"])
    statistics_table(s)  # the listed runs are not figures: the long table still builds
    s_ok = summarize(_rows(_clean_nominal() + [_f1(k) for k in range(100)], names), m, ["f1-thrust-low"])
    assert s_ok["verdict"] == "PASS" and s_ok["scenarios"]["f1-thrust-low"]["unexpected_runs"] == []


def test_listed_runs_are_capped_but_counted():
    m = _mission()
    cap = stats.LISTED_RUNS_MAX
    f1 = [_f1(k, True, "speed", 5.3) for k in range(cap + 50)]
    s = summarize(_rows(f1, [r.name for r in m.rules]), m, ["f1-thrust-low"])
    sc = s["scenarios"]["f1-thrust-low"]
    assert sc["unexpected"] == cap + 50 and len(sc["unexpected_runs"]) == cap


def _tumble(k, terminated=True, state=None, t_final_s=60.6, entered=False):
    return {
        "case": "tumble",
        "run": k,
        "terminated": terminated,
        "t_terminate_s": 60.6 if terminated else math.nan,
        "rule": "tumble" if terminated else None,
        "iip_entered": entered,
        "t_fail_s": 60.0,
        "error": None,
        "state": state or ("TERMINATED" if terminated else "ARMED"),
        "t_final_s": t_final_s,
    }


def test_a_real_failure_not_terminated_fails_only_when_not_shown_harmless():
    """expect: terminate. A run not terminated that came down at sea without its true IIP reaching a
    protected area endangered no one: listed and noted, the verdict stands. One still flying, undecided,
    when the simulation stopped cannot be shown harmless: FAIL. One whose IIP reached a protected area is
    a missed termination: FAIL (as for every run)."""
    m = _mission()
    names = [r.name for r in m.rules]
    assert m.scenarios["tumble"].expect == "terminate"
    runs = [_tumble(k) for k in range(8)] + [_tumble(8, terminated=False, t_final_s=412.0)]
    s = summarize(_rows(_clean_nominal() + runs, names), m, ["tumble"])
    sc = s["scenarios"]["tumble"]
    assert s["verdict"] == "PASS", s["reasons"]
    assert (sc["unexpected"], sc["against_verdict"]) == (1, 0)
    assert sc["unexpected_runs"] == [{"run": 8, "outcome": "harmless", "state": "ARMED", "t_final_s": 412.0}]
    assert len(s["notes"]) == 1 and "tumble" in s["notes"][0] and "1 of 9" in s["notes"][0]

    undecided = runs + [_tumble(9, terminated=False, t_final_s=None)]
    s = summarize(_rows(_clean_nominal() + undecided, names), m, ["tumble"])
    assert s["verdict"] == "FAIL" and s["scenarios"]["tumble"]["against_verdict"] == 1
    reason = next(r for r in s["reasons"] if "tumble" in r)
    assert "1 of 10" in reason and "--t-max" in reason
    assert s["scenarios"]["tumble"]["unexpected_runs"][-1]["outcome"] == "undecided"

    missed = runs + [_tumble(9, terminated=False, t_final_s=300.0, entered=True)]
    s = summarize(_rows(_clean_nominal() + missed, names), m, ["tumble"])
    assert s["verdict"] == "FAIL" and any("missed" in r for r in s["reasons"])
    assert s["scenarios"]["tumble"]["unexpected_runs"][-1]["outcome"] == "missed"
