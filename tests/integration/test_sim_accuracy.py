"""Simulator accuracy (issue 4, item 6) against independent references."""

from __future__ import annotations

import numpy as np
import pytest

from rangeguard.constants import G0_MPS2, OMEGA_EARTH_RAD_S
from rangeguard.earth.geodesy import ecef_to_enu_matrix, ecef_to_geodetic, geodetic_to_ecef
from rangeguard.earth.gravity import potential_j2
from rangeguard.iip import impact_point
from rangeguard.mission.site import SiteSpec
from rangeguard.sim import Simulator, simulate_vehicle
from rangeguard.sim.motors import read_eng

KII = SiteSpec(name="Spaceport Kii", lat_deg=33.54, lon_deg=135.89, alt_m=0.0, launch_azimuth_deg=191.5)


@pytest.fixture(scope="module")
def vacuum_vehicle(sounding):
    """The sounding rocket with no drag (axial-force coefficient 0)."""
    aero = sounding.aero.model_copy(update={"axial_force_coefficient": [0.0] * len(sounding.aero.mach)})
    return sounding.model_copy(update={"aero": aero})


def _launch_state(n=5, rng=None):
    """Ballistic states 200-600 km up over Kii with a few km/s of velocity."""
    rng = rng or np.random.default_rng(4)
    h = rng.uniform(200e3, 600e3, n)
    r = geodetic_to_ecef(np.full(n, 33.0), np.full(n, 135.0), h)
    enu = ecef_to_enu_matrix(33.0, 135.0)
    v_enu = np.column_stack([rng.uniform(-2e3, 2e3, n), rng.uniform(-4e3, 4e3, n), rng.uniform(-500, 1500, n)])
    return r, v_enu @ enu


def test_vacuum_coast_lands_where_impact_point_says(vacuum_vehicle):
    """Point-mass gravity, no drag, no thrust: the integrated impact equals the Keplerian
    IIP on the rotating ellipsoid (rangeguard.iip.impact_point, solved independently)."""
    r0, v0 = _launch_state()
    lat_ref, lon_ref, tof_ref = impact_point(r0, v0)
    sim = Simulator(vacuum_vehicle, KII, n=len(r0), gravity="point_mass")
    sim.set_ballistic_state(r0, v0)
    while not sim.done:
        sim.advance_to(sim.t_s + 10.0)
    assert sim.impacted.all()
    lat, lon, h = ecef_to_geodetic(sim.state.r_ecef)
    np.testing.assert_allclose(sim.impact_t_s, tof_ref, atol=1e-3)
    # 1e-6 deg is ~0.1 m on the ground
    np.testing.assert_allclose(lat, lat_ref, atol=1e-6)
    np.testing.assert_allclose(lon, lon_ref, atol=1e-6)
    np.testing.assert_allclose(h, 0.0, atol=1e-3)


def test_jacobi_integral_is_conserved_without_thrust_and_drag(vacuum_vehicle):
    """With J2 gravity (axisymmetric, fixed in the rotating frame), no thrust and no drag,
    C = v^2/2 + V(r) - |w x r|^2/2 is an exact integral of the rotating-frame equations."""
    r0, v0 = _launch_state(3)
    v0 = v0 * 0.3 + 1500.0 * r0 / np.linalg.norm(r0, axis=1)[:, None]  # mostly up: long flights
    sim = Simulator(vacuum_vehicle, KII, n=3)
    sim.set_ballistic_state(r0, v0)
    w = np.array([0.0, 0.0, OMEGA_EARTH_RAD_S])

    def jacobi(r, v):
        return 0.5 * np.sum(v * v, axis=1) + potential_j2(r) - 0.5 * np.sum(np.cross(w, r) ** 2, axis=1)

    c0 = jacobi(sim.state.r_ecef, sim.state.v_ecef)
    sim.advance_to(200.0)
    c1 = jacobi(sim.state.r_ecef, sim.state.v_ecef)
    # |C| ~ 6e7 J/kg; a drift of 1e-3 J/kg is 2e-11 relative
    np.testing.assert_allclose(c1, c0, rtol=0, atol=1e-3)


def test_mass_falls_by_the_integral_of_thrust_over_isp_g0(sounding):
    """m(t) = m0 - integral F_vac dt / (Isp g0); the .eng curve is piecewise linear, so the
    trapezoidal integral of its points is exact."""
    motor = read_eng(sounding.stages[0].eng_file)
    isp = sounding.stages[0].isp_vac_s
    sim = Simulator(sounding, KII, n=1)
    m0 = sim.state.mass_kg[0]
    for t_end in (0.2, 7.3, 25.0, 59.0, 61.0):
        sim.advance_to(t_end)
        tt = np.union1d(motor.t_s[motor.t_s < t_end], [t_end])
        used = np.trapezoid(np.interp(tt, motor.t_s, motor.thrust_n), tt) / (isp * G0_MPS2)
        assert sim.state.mass_kg[0] == pytest.approx(m0 - used, rel=1e-10)


def _apogee_m(sounding, dt):
    tr = simulate_vehicle(sounding, KII, dt=dt, record_dt=0.1)
    # refine around the recorded maximum with the dense output's own samples
    h = ecef_to_geodetic(tr.r_ecef[0])[2]
    return h.max(), tr


def test_halving_dt_changes_sounding_apogee_by_less_than_0p1_percent(sounding):
    a1, tr = _apogee_m(sounding, 0.1)
    a2, _ = _apogee_m(sounding, 0.05)
    assert abs(a1 - a2) / a2 < 1e-3
    assert 90e3 < a1 < 110e3  # "about 100 km"
    assert tr.events_of(0)[-1][1] == "impact"
    burn = [t for t, n in tr.events_of(0) if n == "burnout"]
    assert burn == [60.0]  # "about 60 s", hit exactly


def test_nominal_kairos_reaches_the_target_orbit(kairos):
    tr = simulate_vehicle(kairos, KII)
    el = tr.orbit
    assert el.perigee_km[0] >= 450.0
    assert el.inclination_deg[0] == pytest.approx(97.4, abs=0.5)
    assert tr.in_orbit[0]
    names = [n for _, n in tr.events_of(0)]
    assert names.count("separation") == 3 and "fairing_jettison" in names and "guided_cutoff" in names
    t_bo1 = [t for t, n in tr.events_of(0) if n == "burnout"][0]
    assert 80.0 <= t_bo1 <= 90.0  # first stage burns 80-90 s


def test_stepping_at_10hz_matches_recording_at_1hz(sounding):
    """Dense output: where the engine samples does not change the flight."""
    tr = simulate_vehicle(sounding, KII, record_dt=1.0)
    sim = Simulator(sounding, KII, n=1)
    k = 0
    while sim.t_s < 150.0 - 1e-9:
        k += 1
        sim.advance_to(k * 0.1)
    j = int(np.argmin(abs(tr.t_s - 150.0)))
    np.testing.assert_allclose(sim.state.r_ecef[0], tr.r_ecef[0, j], atol=1e-3)
    np.testing.assert_allclose(sim.state.v_ecef[0], tr.v_ecef[0, j], atol=1e-5)


def test_parquet_round_trip(sounding, tmp_path):
    tr = simulate_vehicle(sounding, KII, n=2, record_dt=5.0)
    path = tmp_path / "traj.parquet"
    tr.to_parquet(path)
    back = type(tr).from_parquet(path)
    for name in (
        "t_s",
        "r_ecef",
        "v_ecef",
        "mass_kg",
        "q_body_to_ecef",
        "omega_body_rad_s",
        "q_cmd_body_to_ecef",
        "stage",
        "impact_t_s",
    ):
        np.testing.assert_array_equal(getattr(back, name), getattr(tr, name))
    assert back.events == tr.events
