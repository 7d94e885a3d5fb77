"""Silence in the closed loop: the bundled silence scenarios fly as their missions say.

The simulator's sensor models send nothing while a source is silent (nav_silence) or the link is
cut (link_outage), and the engine, stepped every cycle whether or not data arrived, judges the gap
with the data-loss rule. The expected times come from the mission itself: a flight whose last
sample has time of validity just before the outage start t0 (its receive time at most one cycle
and the sensor latency later) is terminated once the green time has run out on every string, so
within [t0 + green - latency, t0 + green + cycle + latency] in the engine's time base.
"""

from __future__ import annotations

import pathlib
from types import SimpleNamespace

import numpy as np
import pytest

from rangeguard.mission import load_mission
from rangeguard.montecarlo import fly
from rangeguard.montecarlo.chunks import ChunkTask, _failure_onsets

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kii():
    return load_mission(ROOT / "missions" / "kii-sso.yaml")


def _outage_bounds(mission, scenario: str) -> tuple[float, float, float]:
    (fault,) = mission.scenarios[scenario].nav_faults
    assert fault.kind == "link_outage" and fault.missing_probability == 1.0
    green_s = mission.rule("nav-loss").green_time_s
    cycle_s = 1.0 / mission.cycle_hz
    latency_s = max(mission.sensors.for_source(s.name).latency_s for s in mission.nav_sources)
    lo = fault.from_t_s + green_s - latency_s
    hi = fault.from_t_s + green_s + cycle_s + latency_s
    assert hi < fault.to_t_s  # the outage outlasts the green time: the scenario can only end one way
    return fault.from_t_s, lo, hi


@pytest.mark.parametrize("path", ["kii-sso.yaml", "sounding.yaml"])
def test_link_outage_is_terminated_by_data_loss_within_green_time_plus_one_cycle(path):
    m = load_mission(ROOT / "missions" / path)
    assert m.scenarios["link-outage"].expect == "terminate"
    t0, lo, hi = _outage_bounds(m, "link-outage")
    r = fly(m, scenario="link-outage", t_max_s=t0 + 5.0, stop_when_decided=True)
    assert r.terminated[0] and r.fired_by[0] == "nav-loss", r.summary(0)
    assert lo <= r.t_terminate_s[0] <= hi, (lo, r.t_terminate_s[0], hi)
    assert not r.iip_entered_protected_area[0]


def test_one_silent_source_is_not_terminated(kii):
    """nav-silence-a: string A loses its data for 10 s, string B carries on (health_degraded)."""
    sc = kii.scenarios["nav-silence-a"]
    assert sc.expect == "continue"
    (fault,) = sc.nav_faults
    r = fly(kii, scenario="nav-silence-a", t_max_s=fault.to_t_s + 3.0, stop_when_decided=True)
    assert not r.terminated[0], r.summary(0)
    assert r.state[0] == "ARMED"


def test_a_lossy_link_is_not_terminated_and_its_missing_samples_are_not_rejections(kii):
    """lossy-link: 30 % of the samples never arrive. The flight continues, and the engine counts
    the missing samples as silence, not as rejected samples (only the first sample of each source
    can be rejected: its time of validity is before the first truth, so it carries no data)."""
    (fault,) = kii.scenarios["lossy-link"].nav_faults
    n, t_max_s = 3, 20.0
    r = fly(kii, n=n, scenario="lossy-link", t_max_s=t_max_s, stop_when_decided=True)
    assert not r.terminated.any()
    cycles = round(t_max_s * kii.cycle_hz)
    due = 2 * cycles  # two 10 Hz sources, every cycle
    arrived = r.engine_state.samples + r.engine_state.rejected
    p = fault.missing_probability
    assert np.all(np.abs(due - arrived - due * p) < 5 * np.sqrt(due * p * (1 - p)))
    assert np.all(r.engine_state.rejected <= len(kii.nav_sources)), r.engine_state.rejected


def test_failure_onset_of_a_silence_scenario_is_its_start(kii):
    """A link_outage names no source; its onset still counts (the flights had no vehicle failure)."""
    no_events = SimpleNamespace(events=[])
    task = ChunkTask(mission=kii, engine_mission=kii, case="link-outage", start=0, stop=2)
    np.testing.assert_array_equal(_failure_onsets(task, no_events, 2), [40.0, 40.0])
    task = ChunkTask(mission=kii, engine_mission=kii, case="nav-silence-a", start=0, stop=1)
    np.testing.assert_array_equal(_failure_onsets(task, no_events, 1), [30.0])
