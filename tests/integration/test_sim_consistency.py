"""Issue 16 (parts 3 and 4): every vehicle `check` accepts flies, and the state between steps is right
next to staging events.

References: masses by hand from the vehicle file, and the simulator's own state at
an exact step end (no interpolation involved) for the coast mass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rangeguard.mission.site import SiteSpec
from rangeguard.sim import Simulator, simulate_vehicle

KII = SiteSpec(name="Spaceport Kii", lat_deg=33.54, lon_deg=135.89, alt_m=0.0, launch_azimuth_deg=191.5)


def _mass_above(vehicle, k: int, fairing_on: bool) -> float:
    """By hand: every stage above stage k (dry + propellant), the payload and the fairing if still on."""
    upper = vehicle.stages[k + 1 :]
    fairing = vehicle.fairing.mass_kg if fairing_on else 0.0
    return sum(s.dry_mass_kg + s.propellant_mass_kg for s in upper) + vehicle.payload_kg + fairing


def _events(kairos):
    sim = Simulator(kairos, KII, n=1)
    sim.advance_to(300.0)
    return sim.events


@pytest.mark.parametrize("offset_s", [0.05, 0.01, 0.3])
def test_state_between_steps_just_before_a_separation_has_the_mass_before_it(kairos, offset_s):
    """A time requested inside the step that ends on a separation reads the mass before the
    separation: in the coast between burnout and separation no propellant burns, so it is the mass at
    burnout, and it exceeds the mass above the stage plus the stage's dry mass (by hand). The old dense
    output blended in the mass after the drop (7630.7 kg instead of 8381.5 kg for stage 0)."""
    events = _events(kairos)
    seps = [t for _, t, name in events if name == "separation"]
    burnouts = [t for _, t, name in events if name == "burnout"]
    t_fairing = next(t for _, t, name in events if name == "fairing_jettison")
    assert len(seps) == 3
    for k, (t_bo, t_sep) in enumerate(zip(burnouts, seps, strict=True)):
        above = _mass_above(kairos, k, fairing_on=t_sep < t_fairing)
        sim = Simulator(kairos, KII, n=1)
        sim.advance_to(t_bo)  # an exact step end: the integrator's own state
        m_bo = float(sim.state.mass_kg[0])
        sim.advance_to(t_sep - offset_s)
        m_before = float(sim.state.mass_kg[0])
        assert m_bo > above + kairos.stages[k].dry_mass_kg  # by hand (residual propellant >= 0)
        assert m_before == pytest.approx(m_bo, rel=1e-12, abs=1e-9)
        assert int(sim.state.stage[0]) == k
        sim.advance_to(t_sep)
        assert float(sim.state.mass_kg[0]) == pytest.approx(above, abs=1e-6)


def test_state_inside_a_step_that_ends_on_an_event_agrees_with_its_neighbours(kairos):
    """Position and velocity just before an ignition (a step end) lie between the grid neighbours as a
    smooth coast does: the midpoint of a 0.1 s step differs from the mean of its ends by a h^2/8, i.e.
    well under a centimetre and 1 mm/s here."""
    events = _events(kairos)
    t_ign = [t for _, t, name in events if name == "ignition"][1]
    sim = Simulator(kairos, KII, n=1)
    sim.advance_to(t_ign - 0.1)
    a = sim.state
    r0, v0 = a.r_ecef.copy(), a.v_ecef.copy()
    sim.advance_to(t_ign - 0.05)
    rm, vm, mm = sim.state.r_ecef.copy(), sim.state.v_ecef.copy(), float(sim.state.mass_kg[0])
    sim.advance_to(t_ign)
    r1, v1, m1 = sim.state.r_ecef.copy(), sim.state.v_ecef.copy(), float(sim.state.mass_kg[0])
    assert np.linalg.norm(rm - 0.5 * (r0 + r1)) < 0.02
    assert np.linalg.norm(vm - 0.5 * (v0 + v1)) < 1e-3
    assert mm == pytest.approx(m1, abs=1e-9)  # coasting: no mass change up to ignition


def test_any_attitude_time_constant_check_accepts_flies_at_the_default_step(sounding):
    """check accepts any attitude_time_constant_s > 0; the simulator used to refuse tau < dt
    ("lower dt", an option no command has). Now it sub-steps: tau = 0.04 s at dt = 0.1 s flies, and
    its apogee agrees with a run at a 4x finer step to 0.05 %."""
    fast = sounding.model_copy(update={"attitude_time_constant_s": 0.04})
    sim = Simulator(fast, KII, n=1)  # raised InputError ("lower dt") before
    assert sim.integration_dt_s == pytest.approx(0.1 / 3)
    tr = simulate_vehicle(fast, KII, record_dt=0.5)
    ref = simulate_vehicle(fast, KII, record_dt=0.5, dt=0.01)
    from rangeguard.earth import ecef_to_geodetic

    h = ecef_to_geodetic(tr.r_ecef[0])[2].max()
    h_ref = ecef_to_geodetic(ref.r_ecef[0])[2].max()
    assert h == pytest.approx(h_ref, rel=5e-4)
    assert tr.impact_t_s[0] == pytest.approx(ref.impact_t_s[0], abs=0.5)


def test_integration_step_divides_the_cycle():
    from rangeguard.sim.simulator import integration_step

    assert integration_step(0.1, 0.3) == 0.1
    assert integration_step(0.1, 0.1) == 0.1
    assert integration_step(0.1, 0.07) == pytest.approx(0.05)
    assert integration_step(0.1, 1e-3) == pytest.approx(1e-3)


# --- what `check` accepts, `simulate` flies: the four checks that only the simulator made before ----------

_SCENARIO = (
    "  motor-hot:\n    description: The motor delivers 10 % more thrust from liftoff.\n"
    "    failures: [{kind: thrust_scale, scale: 1.10}]\n"
)


def _sounding_copy(tmp_path, vehicle_change=None, failures=None):
    """The bundled sounding mission in tmp_path, its vehicle file edited and the motor-hot scenario's
    failures replaced; returns the mission path."""
    (tmp_path / "vehicles").mkdir()
    (tmp_path / "motors").mkdir()
    (tmp_path / "areas").mkdir()
    for sub in ("motors", "areas"):
        for f in Path("missions", sub).iterdir():
            (tmp_path / sub / f.name).write_bytes(f.read_bytes())
    vehicle = Path("missions/vehicles/sounding.yaml").read_text()
    if vehicle_change is not None:
        old, new = vehicle_change
        assert old in vehicle
        vehicle = vehicle.replace(old, new)
    (tmp_path / "vehicles" / "sounding.yaml").write_text(vehicle)
    mission = Path("missions/sounding.yaml").read_text()
    if failures is not None:
        assert _SCENARIO in mission
        mission = mission.replace(_SCENARIO, f"  motor-hot:\n    failures: {failures}\n")
    path = tmp_path / "sounding.yaml"
    path.write_text(mission)
    return path


@pytest.mark.parametrize(
    ("vehicle_change", "failures", "expected"),
    [
        (("propellant_mass_kg: 592.0", "propellant_mass_kg: 450.0"), None, "needs 59"),
        (None, "[{kind: thrust_scale, scale: 1.1}, {kind: thrust_scale, scale: 0.9}]", "clashes with failures[0]"),
        (None, "[{kind: separation_failure, stage: 0}]", "never separates"),
        (None, "[{kind: ignition_failure, stage: 2}]", "stage 2 does not exist"),
    ],
    ids=["propellant", "two-thrust-scales", "last-stage-separation", "missing-stage"],
)
def test_check_refuses_what_the_simulator_cannot_fly(tmp_path, vehicle_change, failures, expected):
    """Before, `check` accepted these and `simulate` refused them (exit 2 only when flying); now the
    loader runs the simulator's own checks (rangeguard.mission.flyable), so `check` refuses them too,
    naming the field."""
    path = _sounding_copy(tmp_path, vehicle_change, failures)
    out = subprocess.run(
        [sys.executable, "-m", "rangeguard.cli", "check", str(path)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert expected in out.stderr
    assert "Traceback" not in out.stderr
    where = "vehicle.stages[0]" if vehicle_change else "scenarios.motor-hot.failures"
    assert where in out.stderr
