"""Thrust termination and destruct as separate commands (issue 18, part 3).

The vehicle climbs straight up at 100 m/s (height 100 t m), one nav sample every 0.1 s, so a limit on the
altitude is crossed at a time known by hand: an upper limit of H m is violated from the first sample above
it (the limits sit 5 m below a sample, clear of rounding).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.engine import AfssState, Engine
from rangeguard.engine.driver import CycleDriver, CycleSample
from rangeguard.mission import MissionError, mission_from_dict
from rangeguard.nav import NavBatch

SITE = {"lat_deg": 33.54, "lon_deg": 135.89, "alt_m": 0.0, "launch_azimuth_deg": 180.0}


def _ceiling(name, height_m, action=None, persistence_s=0.3):
    rule = {
        "name": name,
        "type": "envelope",
        "quantity": "altitude_m",
        "table": {"t_s": [0, 1000], "upper": [height_m, height_m]},
        "persistence_s": persistence_s,
    }
    if action is not None:
        rule["action"] = action
    return rule


def _mission(rules, **termination):
    return mission_from_dict(
        {"name": "destruct", "site": SITE, "nav_sources": [{"name": "a"}], "rules": rules, "termination": termination}
    )


def _nav(t):
    rot = ecef_to_enu_matrix(SITE["lat_deg"], SITE["lon_deg"])
    r = geodetic_to_ecef(SITE["lat_deg"], SITE["lon_deg"], 0.0) + rot.T @ np.array([0.0, 0.0, 100.0 * t])
    return NavBatch.from_arrays(t, r, rot.T @ np.array([0.0, 0.0, 100.0]), source=0)


def _fly(mission, until_s=12.0):
    """Step to ``until_s``; returns the last decisions and the times each command fired."""
    engine = Engine(mission)
    fired = {"thrust": [], "destruct": []}
    d = None
    for k in range(1, int(round(until_s * 10)) + 1):
        t = round(0.1 * k, 10)
        d = engine.step([_nav(t)], t)
        if d.thrust_termination_now[0]:
            fired["thrust"].append(t)
        if d.destruct_now[0]:
            fired["destruct"].append(t)
    return d, fired


def test_thrust_termination_fires_at_the_time_its_persistence_says_and_no_destruct_by_default():
    """Ceiling 295 m: violated from t = 3.0 s (300 m; 290 m at 2.9 s), persistence 0.3 s: thrust termination
    at t = 3.3 s."""
    d, fired = _fly(_mission([_ceiling("ceiling", 295.0, "thrust_termination")]))
    assert fired == {"thrust": [3.3], "destruct": []}
    assert d.states[0] == AfssState.TERMINATED
    assert d.fired_by(0) == "ceiling"
    assert math.isclose(d.state.t_terminate_s[0], 3.3)
    assert not d.destruct[0] and d.destructed_by(0) is None


def test_terminate_is_an_alias_of_thrust_termination():
    a, fa = _fly(_mission([_ceiling("ceiling", 295.0, "terminate")]))
    b, fb = _fly(_mission([_ceiling("ceiling", 295.0, "thrust_termination")]))
    assert fa == fb
    assert a.reason(0) == b.reason(0)


@pytest.mark.parametrize("delay_s", [0.0, 0.5, 2.0])
def test_destruct_follows_after_exactly_destruct_after_s_to_the_cycle(delay_s):
    d, fired = _fly(_mission([_ceiling("ceiling", 295.0)], destruct_after_s=delay_s))
    assert fired["thrust"] == [3.3]
    assert len(fired["destruct"]) == 1 and math.isclose(fired["destruct"][0], 3.3 + delay_s)
    assert math.isclose(d.state.t_destruct_s[0], 3.3 + delay_s)
    assert d.destructed_by(0) == f"destruct-after:{delay_s:g}"
    assert "destruct_after_s" in d.destruct_reason(0)


def test_destruct_by_its_own_rule_after_a_thrust_termination():
    """Thrust termination at 3.3 s (ceiling 295 m); the destruct rule (595 m, persistence 0.3 s) holds from
    6.0 s and fires at 6.3 s, while the engine keeps judging it after the thrust termination."""
    rules = [_ceiling("ceiling", 295.0, "thrust_termination"), _ceiling("breakup", 595.0, "destruct")]
    d, fired = _fly(_mission(rules))
    assert fired == {"thrust": [3.3], "destruct": [6.3]}
    assert d.destructed_by(0) == "breakup"
    assert d.fired_by(0) == "ceiling"
    assert d.states[0] == AfssState.TERMINATED


def test_the_first_of_delay_and_destruct_rule_fires_destruct_once():
    rules = [_ceiling("ceiling", 295.0, "thrust_termination"), _ceiling("breakup", 595.0, "destruct")]
    _, fired = _fly(_mission(rules, destruct_after_s=1.0))
    assert fired == {"thrust": [3.3], "destruct": [4.3]}
    _, fired = _fly(_mission(rules, destruct_after_s=5.0))
    assert fired == {"thrust": [3.3], "destruct": [6.3]}


def test_a_destruct_rule_on_an_armed_vehicle_fires_both_commands_in_one_cycle():
    d, fired = _fly(_mission([_ceiling("breakup", 295.0, "destruct")]))
    assert fired == {"thrust": [3.3], "destruct": [3.3]}
    assert d.fired_by(0) == "breakup" and d.destructed_by(0) == "breakup"
    assert list(d.command_code) == [0]  # the last cycle fired nothing


def test_the_cycle_driver_keeps_stepping_until_destruct():
    """The driver used to stop at the terminate decision; with a destruct sequence it steps on until destruct,
    silent cycles included (no nav after the thrust termination)."""
    mission = _mission([_ceiling("ceiling", 295.0)], destruct_after_s=1.0)
    engine = Engine(mission)
    seen = []
    driver = CycleDriver(engine, cycle_s=0.1, on_step=lambda d: seen.append((d.terminate_now[0], d.destruct_now[0])))
    for k in range(1, 34):
        t = round(0.1 * k, 10)
        driver.feed([CycleSample(nav=_nav(t), receive_s=t)])
    assert driver.terminated and not driver.done
    driver.advance(5.0)
    assert driver.done
    assert sum(th for th, _ in seen) == 1 and sum(de for _, de in seen) == 1


@pytest.mark.parametrize(
    ("rules", "termination", "field"),
    [
        ([_ceiling("ceiling", 295.0, "explode")], {}, "action"),
        ([_ceiling("ceiling", 295.0)], {"destruct_after_s": -1.0}, "destruct_after_s"),
    ],
)
def test_bad_action_or_negative_delay_is_a_mission_error_naming_the_field(rules, termination, field):
    with pytest.raises(MissionError, match=field):
        _mission(rules, **termination)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["rules"][0].update(action="explode"), "rules[0].action"),
        (lambda d: d["termination"].update(destruct_after_s=-2.0), "termination.destruct_after_s"),
    ],
)
def test_rangeguard_check_refuses_bad_commands_with_exit_2_and_a_line_naming_the_field(tmp_path, capsys, change, words):
    import yaml

    from rangeguard.cli import main

    d = {"name": "destruct", "site": SITE, "nav_sources": [{"name": "a"}], "rules": [_ceiling("c", 295.0)]}
    d["termination"] = {}
    change(d)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    problems = [line for line in err if words in line]
    assert len(problems) == 1 and "Traceback" not in "\n".join(err)


def test_the_decision_log_records_each_command_and_what_fired_it():
    from rangeguard.formats.decisionlog import DecisionLog

    rules = [_ceiling("ceiling", 295.0, "thrust_termination"), _ceiling("breakup", 595.0, "destruct")]
    engine = Engine(_mission(rules))
    log = DecisionLog(engine.setup.rule_names)
    for k in range(1, 80):
        t = round(0.1 * k, 10)
        log.add(engine.step([_nav(t)], t))
    tab = log.table().to_pydict()
    thrust = [t for t, now in zip(tab["t_s"], tab["terminate_now"], strict=True) if now]
    destruct = [t for t, now in zip(tab["t_s"], tab["destruct_now"], strict=True) if now]
    assert thrust == [3.3] and destruct == [6.3]
    k = tab["t_s"].index(6.3)
    assert tab["destructed_by"][k] == "breakup" and tab["reason"][k].startswith("DESTRUCT at T+6.30 s")
    assert tab["fired_by"][tab["t_s"].index(3.3)] == "ceiling"


def test_late_samples_of_the_commanded_cycle_do_not_depend_on_batching():
    """Two sources; the thrust-terminating cycle's first sample arrives alone (the run steps it and sends the
    command) and its second sample later. A destruct still pending, the driver goes on stepping: the second
    sample must not become a cycle of its own, or the run's log (samples in separate drains) and the replay of
    its nav log (all samples in one call) differ. The old driver stepped it as a new cycle, which the replay
    merged into the commanded one; now it is late (counted, not stepped) and the two logs are the same."""
    mission = mission_from_dict(
        {
            "name": "destruct-two-sources",
            "site": SITE,
            "nav_sources": [{"name": "a"}, {"name": "b"}],
            "rules": [_ceiling("ceiling", 295.0)],
            "termination": {"destruct_after_s": 1.0},
        }
    )
    samples = []
    for k in range(1, 50):
        t = round(0.1 * k, 10)
        for source, late_s in ((0, 0.001), (1, 0.005)):
            nav = _nav(t)
            nav = NavBatch.from_arrays(t, nav.r_ecef, nav.v_ecef, source=source)
            samples.append(CycleSample(nav=nav, receive_s=t + late_s))

    def log(offered: list[CycleSample], batched: bool) -> tuple[list[tuple], list[CycleSample]]:
        rows: list[tuple] = []
        stepped: list[CycleSample] = []

        def keep(d) -> None:
            rows.append((float(d.t_s[0]), float(d.receive_time_s[0]), d.state_name(0), bool(d.terminate_now[0])))

        driver = CycleDriver(Engine(mission), cycle_s=0.1, on_cycle=keep, on_samples=stepped.extend)
        if batched:
            driver.feed(offered)  # as replay offers a nav log
        else:
            for s in offered:  # as the run offers what each drain brought
                driver.feed([s])
        driver.close()
        return rows, stepped

    run_rows, recorded = log(samples, batched=False)  # the run; its nav log holds the samples it stepped
    replay_rows, _ = log(recorded, batched=True)
    assert any(row[3] for row in run_rows)  # it did thrust-terminate
    assert run_rows == replay_rows
