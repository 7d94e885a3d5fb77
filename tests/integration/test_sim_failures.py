"""Each vehicle failure kind changes the flight as a hand calculation says it should."""

from __future__ import annotations

import numpy as np
import pytest

from rangeguard.constants import DEG
from rangeguard.mission.site import SiteSpec
from rangeguard.mission.vehicle import load_vehicle
from rangeguard.sim import Simulator, simulate, simulate_vehicle

KII = SiteSpec(name="Spaceport Kii", lat_deg=33.54, lon_deg=135.89, alt_m=0.0, launch_azimuth_deg=191.5)


@pytest.fixture(scope="module")
def kairos():
    return load_vehicle("missions/vehicles/kairos-class.yaml")


def _speed_at(vehicle, t, failures=()):
    sim = Simulator(vehicle, KII, n=1, failures=failures)
    sim.advance_to(t)
    return float(np.linalg.norm(sim.state.v_ecef[0])), sim


def _body_x(q):
    w, x, y, z = q
    return np.array([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)])


def test_minus_3_percent_thrust_costs_the_expected_speed_at_t5(kairos):
    """Hand calculation: a 3 % vacuum-thrust shortfall removes 0.03 * integral(F_vac/m) dt of
    speed. Over 0-5 s, with the stage-1 table (0 -> 530.4 kN at 0.5 s, 551.6 kN at 5 s) the
    integral of F_vac is 0.5*530.4/2 + 4.5*(530.4+551.6)/2 = 2567 kN s; the mass falls from
    22 980 kg by about 2567e3/(280 g0) = 935 kg, mean ~22 510 kg: dv ~ 0.03 * 2567e3/22510 = 3.4 m/s.
    (The vehicle is still climbing almost vertically, so the Coriolis and pressure terms are
    the same in both flights to first order.)"""
    v_nom, _ = _speed_at(kairos, 5.0)
    v_low, _ = _speed_at(kairos, 5.0, [{"kind": "thrust_scale", "scale": 0.97, "from_t_s": 0.0}])
    dv_hand = 0.03 * (0.5 * 530373 / 2 + 4.5 * (530373 + 551588) / 2) / 22510
    assert v_nom - v_low == pytest.approx(dv_hand, rel=0.12)


def test_tumble_gives_the_configured_body_rates(kairos):
    rates = [20.0, -45.0, 10.0]
    _, sim = _speed_at(
        kairos, 81.0, [{"kind": "attitude_loss", "from_t_s": 80.0, "mode": "tumble", "rates_deg_s": rates}]
    )
    np.testing.assert_allclose(sim.state.omega_body_rad_s[0], np.asarray(rates) * DEG, rtol=1e-12)
    assert any(n == "attitude_failure" and t == 80.0 for _, t, n in sim.events)


def test_tvc_hardover_turns_the_body_at_the_configured_rate(kairos):
    """A 10 deg/s pitch hard-over from 30 s: after 2 s the thrust axis has turned ~20 deg
    (the Earth's rotation adds 0.008 deg)."""
    sim = Simulator(
        kairos, KII, n=1, failures=[{"kind": "tvc_hardover", "from_t_s": 30.0, "rate_deg_s": 10.0, "axis": "y"}]
    )
    sim.advance_to(30.0)
    x0 = _body_x(sim.state.q_body_to_ecef[0])
    sim.advance_to(32.0)
    x1 = _body_x(sim.state.q_body_to_ecef[0])
    assert np.degrees(np.arccos(np.clip(x0 @ x1, -1, 1))) == pytest.approx(20.0, abs=0.05)


def test_coning_tilts_the_thrust_axis_around_the_command(kairos):
    """Coning of half-angle 10 deg at 30 deg/s with a 0.5 s attitude lag: a first-order lag
    passes a rotating offset with gain 1/sqrt(1 + (w tau)^2) = 1/sqrt(1 + 0.262^2) = 0.967,
    so the axis settles ~9.7 deg off the guidance direction."""
    sim = Simulator(
        kairos,
        KII,
        n=1,
        failures=[
            {
                "kind": "attitude_loss",
                "from_t_s": 80.0,
                "mode": "coning",
                "cone_half_angle_deg": 10.0,
                "cone_rate_deg_s": 30.0,
            }
        ],
    )
    sim.advance_to(84.0)
    v = sim.state.v_ecef[0] / np.linalg.norm(sim.state.v_ecef[0])
    off = np.degrees(np.arccos(_body_x(sim.state.q_body_to_ecef[0]) @ v))
    assert off == pytest.approx(9.7, abs=1.0)


def test_ignition_failure_leaves_the_kick_stage_unlit(kairos):
    tr = simulate_vehicle(kairos, KII, failures=[{"kind": "ignition_failure", "stage": 3}])
    names = [n for _, n in tr.events_of(0)]
    assert "ignition_failure" in names and names.count("ignition") == 3
    assert tr.orbit_dict(0) is None and tr.impact_t_s[0] > 0


def test_separation_failure_keeps_the_spent_stage(kairos):
    nominal = Simulator(kairos, KII, n=1)
    failed = Simulator(kairos, KII, n=1, failures=[{"kind": "separation_failure", "stage": 0}])
    for s in (nominal, failed):
        s.advance_to(87.5)
    # the stage-1 dry mass stays on, with the propellant its thrust table did not use
    st = kairos.stages[0]
    used = np.trapezoid(st.thrust.thrust_n, st.thrust.t_s) / (st.isp_vac_s * 9.80665)
    expected = st.dry_mass_kg + st.propellant_mass_kg - used
    assert failed.state.mass_kg[0] - nominal.state.mass_kg[0] == pytest.approx(expected, rel=1e-9)


def test_thrust_loss_ends_powered_flight_and_early_cutoff_continues_staging(kairos):
    loss = simulate_vehicle(kairos, KII, failures=[{"kind": "thrust_loss", "at_t_s": 50.0}])
    names = [n for _, n in loss.events_of(0)]
    assert names[:2] == ["ignition", "thrust_loss"] and names[-1] == "impact"
    j = np.searchsorted(loss.t_s, 50.0)
    assert np.all(np.diff(loss.mass_kg[0, j:]) == 0.0)
    cut = simulate_vehicle(kairos, KII, failures=[{"kind": "early_cutoff", "at_t_s": 50.0, "stage": 0}], t_max_s=60.0)
    ev = cut.events_of(0)
    assert ("early_cutoff" in [n for _, n in ev]) and (52.0, "separation") in ev and (53.0, "ignition") in ev


def test_terminate_turns_thrust_off_at_the_decision_time(kairos):
    sim = Simulator(kairos, KII, n=3)
    sim.advance_to(40.05)
    sim.terminate(np.array([False, True, False]))
    m = sim.state.mass_kg.copy()
    sim.advance_to(45.0)
    assert sim.state.mass_kg[1] == m[1]  # no more propellant flow
    assert sim.state.mass_kg[0] < m[0]
    assert (1, 40.05, "termination") in sim.events
    while not sim.done and sim.t_s < 1000:
        sim.advance_to(sim.t_s + 1.0)
    assert sim.impacted[1] and sim.terminated[1] and not sim.terminated[0]


def test_simulate_reads_a_mission_scenario(kairos):
    class Scenario:
        failures = [
            {"kind": "thrust_scale", "scale": 0.9, "from_t_s": 0.0},
            {"kind": "gps_dropout", "from_t_s": 3.0},
        ]  # nav-side: left to the sensor models

    class Mission:
        site = KII
        vehicle = kairos
        scenarios = {"low": Scenario()}

    tr = simulate(Mission(), scenario="low")
    assert any(n == "thrust_scale" for _, _, n in tr.events)
    with pytest.raises(Exception, match="allowed: low"):
        simulate(Mission(), scenario="nope")
