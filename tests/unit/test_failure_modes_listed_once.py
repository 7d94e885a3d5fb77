"""Every vehicle failure mode is dated by the Monte Carlo statistics: each failure kind of the schema
makes the simulator raise an event the statistics take as a failure's onset (a kind without one
would count as a failure that never started and silently skew detection times)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rangeguard.mission import load_mission
from rangeguard.mission.vehicle import FAILURE_KINDS
from rangeguard.sim import FAILURE_EVENTS
from rangeguard.sim.api import simulate_vehicle

MISSIONS = Path(__file__).resolve().parents[2] / "missions"

FAILURES = {  # one of each kind, on the two-stage Kii vehicle, early in the first stage's burn
    "thrust_scale": {"kind": "thrust_scale", "scale": 0.9, "from_t_s": 5.0},
    "thrust_loss": {"kind": "thrust_loss", "at_t_s": 5.0},
    "early_cutoff": {"kind": "early_cutoff", "at_t_s": 5.0},
    "tvc_hardover": {"kind": "tvc_hardover", "from_t_s": 5.0, "rate_deg_s": 5.0},
    "attitude_loss": {"kind": "attitude_loss", "from_t_s": 5.0, "mode": "tumble", "rates_deg_s": [0.0, 20.0, 0.0]},
    "ignition_failure": {"kind": "ignition_failure", "stage": 1},
    "separation_failure": {"kind": "separation_failure", "stage": 0},
}


def test_the_table_covers_every_kind():
    assert set(FAILURES) == set(FAILURE_KINDS)


@pytest.mark.parametrize("kind", FAILURE_KINDS)
def test_each_failure_kind_raises_a_failure_event(kind):
    mission = load_mission(MISSIONS / "kii-sso.yaml")
    traj = simulate_vehicle(mission.vehicle, mission.site, n=1, failures=[FAILURES[kind]], seed=1, t_max_s=400.0)
    names = {name for _, _, name in traj.events}
    assert names & set(FAILURE_EVENTS), f"{kind}: events {sorted(names)}"
