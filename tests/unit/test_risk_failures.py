"""The failure-time sweep: the mission's failure probability cut into one-second intervals.

References are written here: the shares of a piecewise-linear rate integrated by hand (trapezoids),
and burn-time proportions from the event times of a synthetic flight.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rangeguard.errors import InputError
from rangeguard.mission.risk import FailureSpec
from rangeguard.risk.ensemble import FlightEnsemble
from rangeguard.risk.failures import failure_times


def _ensemble(events: list[tuple[float, str]], t_end: float = 400.0) -> FlightEnsemble:
    t = np.arange(0.0, t_end + 0.25, 0.5)
    stage = np.zeros(t.size, dtype=np.int64)
    separations = [tt for tt, name in events if name == "separation"]
    for tt in separations:
        stage[t >= tt] += 1
    r = np.zeros((1, t.size, 3)) + 6.4e6
    return FlightEnsemble(t, r, np.zeros((1, t.size, 3)), np.ones((1, t.size)), stage, tuple(events))


TWO_STAGES = [
    (0.0, "ignition"),
    (60.5, "burnout"),
    (62.0, "separation"),
    (63.0, "ignition"),
    (103.0, "burnout"),
]


def test_uniform_per_stage_in_proportion_to_burn_time():
    ens = _ensemble(TWO_STAGES)
    spec = FailureSpec(probability=0.3)
    times = failure_times(spec, ens)
    assert math.isclose(sum(f.probability for f in times), 0.3, rel_tol=1e-12)
    first = [f for f in times if f.t1_s <= 60.5]
    second = [f for f in times if f.t0_s >= 63.0]
    assert len(first) == 61 and len(second) == 40  # 60.5 s -> 60 whole seconds and a half; 40 s
    # shares in proportion to the burn times 60.5 : 40
    assert math.isclose(sum(f.probability for f in first), 0.3 * 60.5 / 100.5, rel_tol=1e-12)
    assert math.isclose(first[-1].probability, first[0].probability * 0.5, rel_tol=1e-12)  # the last half second
    assert {f.stage for f in first} == {0} and {f.stage for f in second} == {1}
    assert first[0].t_s == 0.5 and second[0].t_s == 63.5
    # no failure time in the coast between burnout and the next ignition
    assert not [f for f in times if 60.5 < f.t_s < 63.0]


def test_uniform_per_stage_with_given_shares():
    times = failure_times(FailureSpec(probability=0.1, stage_share=[0.25, 0.75]), _ensemble(TWO_STAGES))
    assert math.isclose(sum(f.probability for f in times if f.stage == 0), 0.025, rel_tol=1e-12)
    assert math.isclose(sum(f.probability for f in times if f.stage == 1), 0.075, rel_tol=1e-12)


def test_table_spread_integrates_the_piecewise_linear_rate():
    spec = FailureSpec.model_validate(
        {"probability": 0.2, "spread": "table", "table": {"t_s": [0.0, 10.0, 30.0], "weight": [1.0, 3.0, 0.0]}}
    )
    times = failure_times(spec, _ensemble(TWO_STAGES))
    assert len(times) == 30
    # the trapezoid areas written by hand: 0-10 s: (1+3)/2*10 = 20; 10-30 s: 3/2*20 = 30; total 50
    first_ten = sum(f.probability for f in times if f.t1_s <= 10.0)
    assert math.isclose(first_ten, 0.2 * 20.0 / 50.0, rel_tol=1e-12)
    # the interval 0-1 s: rate 1 -> 1.2, area 1.1
    assert math.isclose(times[0].probability, 0.2 * 1.1 / 50.0, rel_tol=1e-12)
    assert math.isclose(sum(f.probability for f in times), 0.2, rel_tol=1e-12)


def test_a_flight_without_burns_and_a_bad_step_are_refused():
    with pytest.raises(InputError, match="no burn"):
        failure_times(FailureSpec(probability=0.1), _ensemble([(0.0, "orbit")]))
    with pytest.raises(InputError, match="step"):
        failure_times(FailureSpec(probability=0.1), _ensemble(TWO_STAGES), step_s=0.0)
    with pytest.raises(InputError, match="stage_share"):
        failure_times(FailureSpec(probability=0.1, stage_share=[1.0]), _ensemble(TWO_STAGES))
