"""The simulator's vehicle model (issue 16): per-stage body-axes and ballistic aerodynamics, Isp tables,
nozzle exit area from the throat, local-frame attitude programmes, the final coast attitude and the
ground height of impact.

The flights (a) and (b) are checked against a plain scipy DOP853 integration written here: rotating
ECEF equations of motion, J2 gravity, WGS84 geodetic conversion by fixed-point iteration, the USSA76
atmosphere from the ``ambiance`` package, the aerodynamic forces and the attitude programme. The
reference models the attitude lag identically (the same first-order quaternion law, q' = 1/2 q (x)
(0, rotvec(q^-1 (x) q_cmd) / tau), with the same command construction); no rangeguard code takes part
in it (only constants are read).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ambiance
import numpy as np
import pytest
import yaml
from scipy.integrate import solve_ivp
from scipy.spatial.transform import Rotation

from rangeguard.cli import main
from rangeguard.constants import G0_MPS2, J2_EARTH, MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, WGS84_A_M, WGS84_E2
from rangeguard.earth.geodesy import ecef_to_geodetic
from rangeguard.errors import InputError
from rangeguard.mission.flyable import propellant_needed_kg
from rangeguard.mission.site import SiteSpec
from rangeguard.mission.vehicle import vehicle_from_dict
from rangeguard.sim import Simulator, simulate_vehicle

MISSIONS = Path(__file__).resolve().parents[2] / "missions"
SITE = SiteSpec(name="test range", lat_deg=33.54, lon_deg=135.89, alt_m=0.0, launch_azimuth_deg=120.0)
TAU_S = 0.05  # attitude time constant of the test vehicles, s (the simulator's dt must not exceed it)
DT_S = 0.05
APOGEE_REL_TOL = 5e-4  # 0.05 %
IMPACT_TOL_M = 300.0
AMBIANCE_TOP_M = 81_000.0  # ambiance covers USSA76 up to 81 km: the test flights stay below
_W = np.array([0.0, 0.0, OMEGA_EARTH_RAD_S])

# --------------------------------------------------------------------- the reference (no rangeguard code)


def geodetic(r: np.ndarray) -> tuple[float, float, float]:
    """WGS84 latitude, longitude (rad) and height (m) by fixed-point iteration on the latitude."""
    x, y, z = r
    p = math.hypot(x, y)
    lat = math.atan2(z, p * (1.0 - WGS84_E2))
    h = 0.0
    for _ in range(8):
        n = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * math.sin(lat) ** 2)
        h = p / math.cos(lat) - n
        lat = math.atan2(z, p * (1.0 - WGS84_E2 * n / (n + h)))
    return lat, math.atan2(y, x), h


def enu_axes(lat: float, lon: float) -> np.ndarray:
    """Rows: east, north, up unit vectors in ECEF axes."""
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    return np.array([[-so, co, 0.0], [-sl * co, -sl * so, cl], [cl * co, cl * so, sl]])


def gravity_j2(r: np.ndarray) -> np.ndarray:
    """Point mass + J2 (Vallado 2013, eq. 8-30)."""
    rn = float(np.linalg.norm(r))
    k = 1.5 * J2_EARTH * (WGS84_A_M / rn) ** 2
    s2 = (r[2] / rn) ** 2
    f = -MU_EARTH_M3_S2 / rn**3
    return np.array(
        [f * r[0] * (1 + k * (1 - 5 * s2)), f * r[1] * (1 + k * (1 - 5 * s2)), f * r[2] * (1 + k * (3 - 5 * s2))]
    )


_H_GRID = np.arange(-1000.0, AMBIANCE_TOP_M, 10.0)
_ATM = ambiance.Atmosphere(_H_GRID)
_RHO, _P, _C = _ATM.density, _ATM.pressure, _ATM.speed_of_sound


def atmosphere(h: float) -> tuple[float, float, float]:
    assert h < AMBIANCE_TOP_M, "the reference atmosphere stops at 81 km: keep the test flight lower"
    return float(np.interp(h, _H_GRID, _RHO)), float(np.interp(h, _H_GRID, _P)), float(np.interp(h, _H_GRID, _C))


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    return np.array([
        a0 * b0 - a1 * b1 - a2 * b2 - a3 * b3,
        a0 * b1 + a1 * b0 + a2 * b3 - a3 * b2,
        a0 * b2 - a1 * b3 + a2 * b0 + a3 * b1,
        a0 * b3 + a1 * b2 - a2 * b1 + a3 * b0,
    ])  # fmt: skip


def body_to_ecef(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return Rotation.from_quat([x, y, z, w]).as_matrix()


def q_pointing(d: np.ndarray, y_ref: np.ndarray) -> np.ndarray:
    """Scalar-first quaternion of body axes x = d, y = y_ref made orthogonal to d, z = x cross y."""
    y = y_ref - (y_ref @ d) * d
    y /= np.linalg.norm(y)
    x, y, z, w = Rotation.from_matrix(np.column_stack([d, y, np.cross(d, y)])).as_quat()
    return np.array([w, x, y, z])


def interp_bilinear(x: float, y: float, xs, ys, table) -> float:
    """Linear in y along each row, then linear in x; held outside."""
    rows = [np.interp(y, ys, row) for row in table]
    return float(np.interp(x, xs, rows))


@dataclass
class RefPhase:
    """What acts on the vehicle in one flight segment."""

    t_end_s: float
    thrust_n: float = 0.0
    isp_s: float = 1.0
    exit_area_m2: float = 0.0
    aero: dict[str, Any] = field(default_factory=dict)  # a body_axes or ballistic spec, as in the YAML
    reference_area_m2: float = 0.0
    commanded: bool = True  # attitude follows the programme (else inertial hold)
    mass_after_kg: float | None = None  # mass set at the segment's end (separation)


@dataclass
class RefFlight:
    programme: dict[str, Any]  # t_s, azimuth_deg, elevation_deg, frame
    phases: list[RefPhase]
    pad_enu: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.pad_enu = enu_axes(math.radians(SITE.lat_deg), math.radians(SITE.lon_deg))

    def command(self, t: float, r: np.ndarray) -> np.ndarray:
        pr = self.programme
        az = math.radians(np.interp(t, pr["t_s"], pr["azimuth_deg"]))
        el = math.radians(np.interp(t, pr["t_s"], pr["elevation_deg"]))
        axes = enu_axes(*geodetic(r)[:2]) if pr.get("frame") == "local" else self.pad_enu
        e, n, u = axes
        d = math.sin(az) * math.cos(el) * e + math.cos(az) * math.cos(el) * n + math.sin(el) * u
        return q_pointing(d, math.cos(az) * e - math.sin(az) * n)

    def aero_accel(self, ph: RefPhase, v: np.ndarray, x_body: np.ndarray, m: float, h: float) -> np.ndarray:
        rho, _, c = atmosphere(h)
        vair = float(np.linalg.norm(v))
        if vair == 0.0 or not ph.aero:
            return np.zeros(3)
        mach = vair / c
        qd = 0.5 * rho * vair * vair
        spec = ph.aero
        if spec["model"] == "ballistic":
            beta = np.interp(mach, spec["mach"], spec["ballistic_coefficient_kg_m2"])
            return -qd / beta * v / vair
        ca = np.interp(mach, spec["mach"], spec["axial_force_coefficient"])
        a = -ca * qd * ph.reference_area_m2 / m * x_body
        cn_spec = spec.get("normal_force")
        if cn_spec:
            across = v - (v @ x_body) * x_body
            sin_part = float(np.linalg.norm(across))
            if sin_part > 0.0:
                alpha_deg = math.degrees(math.atan2(sin_part, v @ x_body))
                cn = interp_bilinear(
                    mach, alpha_deg, cn_spec["mach"], cn_spec["alpha_deg"], cn_spec["normal_force_coefficient"]
                )
                a -= cn * qd * ph.reference_area_m2 / m * across / sin_part
        return a

    def rhs(self, t: float, s: np.ndarray, ph: RefPhase) -> np.ndarray:
        r, v, m, q = s[0:3], s[3:6], s[6], s[7:11] / np.linalg.norm(s[7:11])
        h = geodetic(r)[2]
        _, p_amb, _ = atmosphere(h)
        c_body = body_to_ecef(q)
        x_body = c_body[:, 0]
        thrust = max(0.0, ph.thrust_n - ph.exit_area_m2 * p_amb)
        acc = gravity_j2(r) + thrust / m * x_body + self.aero_accel(ph, v, x_body, m, h)
        acc += -2.0 * np.cross(_W, v) - np.cross(_W, np.cross(_W, r))
        if ph.commanded:
            e = qmul(q * np.array([1, -1, -1, -1]), self.command(t, r))
            if e[0] < 0:
                e = -e
            sn = float(np.linalg.norm(e[1:]))
            w_rel = 2.0 * math.atan2(sn, e[0]) / sn * e[1:] / TAU_S if sn > 0 else np.zeros(3)
        else:  # inertial hold: the body turns against the Earth's rotation
            w_rel = -c_body.T @ _W
        dq = 0.5 * qmul(q, np.array([0.0, *w_rel]))
        return np.concatenate([v, acc, [-ph.thrust_n / (ph.isp_s * G0_MPS2)], dq])

    def fly(self, m0_kg: float, ground_height_m: float = 0.0) -> tuple[np.ndarray, Any, float]:
        """(impact position, dense outputs per segment, impact time)."""
        pad = np.array(self._pad_ecef())
        up, north, east = self.pad_enu[2], self.pad_enu[1], self.pad_enu[0]
        az0 = math.radians(SITE.launch_azimuth_deg)
        q0 = q_pointing(up, math.cos(az0) * east - math.sin(az0) * north)
        s = np.concatenate([pad, np.zeros(3), [m0_kg], q0])
        t0 = 0.0
        dense = []

        def impact(t, s, ph):
            return geodetic(s[0:3])[2] - ground_height_m if t > 1.0 else 1.0

        impact.terminal = True
        impact.direction = -1
        for ph in self.phases:
            sol = solve_ivp(
                self.rhs, (t0, ph.t_end_s), s, method="DOP853", rtol=1e-10, atol=1e-8, args=(ph,), dense_output=True,
                events=impact, max_step=5.0,
            )  # fmt: skip
            assert sol.success, sol.message
            dense.append((t0, sol.t[-1], sol.sol))
            s = sol.y[:, -1].copy()
            t0 = sol.t[-1]
            if sol.t_events[0].size:
                return sol.y_events[0][0][0:3], dense, float(sol.t_events[0][0])
            if ph.mass_after_kg is not None:
                s[6] = ph.mass_after_kg
        raise AssertionError("the reference flight did not reach the ground")

    @staticmethod
    def _pad_ecef() -> tuple[float, float, float]:
        lat, lon, h = math.radians(SITE.lat_deg), math.radians(SITE.lon_deg), SITE.alt_m
        n = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * math.sin(lat) ** 2)
        return (
            (n + h) * math.cos(lat) * math.cos(lon),
            (n + h) * math.cos(lat) * math.sin(lon),
            (n * (1.0 - WGS84_E2) + h) * math.sin(lat),
        )


def reference_heights(dense, t_s: np.ndarray) -> np.ndarray:
    out = np.full(t_s.size, np.nan)
    for a, b, sol in dense:
        for j in np.flatnonzero((t_s >= a) & (t_s <= b)):
            out[j] = geodetic(sol(t_s[j])[0:3])[2]
    return out


# --------------------------------------------------------------------- the test vehicles

CA_TABLE = {"mach": [0.0, 0.8, 1.1, 2.0, 4.0], "axial_force_coefficient": [0.35, 0.38, 0.55, 0.42, 0.30]}
CN_TABLE = {
    "mach": [0.5, 2.0, 4.0],
    "alpha_deg": [0.0, 10.0, 30.0, 90.0, 150.0, 180.0],
    "normal_force_coefficient": [
        [0.0, 0.45, 1.6, 2.8, 1.2, 0.0],
        [0.0, 0.40, 1.5, 3.2, 1.4, 0.0],
        [0.0, 0.35, 1.3, 3.0, 1.3, 0.0],
    ],
}
LOCAL_PROGRAMME = {
    "frame": "local",
    "t_s": [0.0, 3.0, 8.0, 20.0],
    "azimuth_deg": [120.0, 120.0, 121.0, 123.0],
    "elevation_deg": [90.0, 90.0, 77.0, 64.0],
}
AREA_A_M2 = 0.03
BODY_AXES_A = CA_TABLE | {"model": "body_axes", "normal_force": CN_TABLE}


def single_stage(**over: Any) -> dict[str, Any]:
    """A 78 kg single-stage rocket (3 kN for 20 s), body-axes CA and CN, on a local-frame programme."""
    stage = {
        "name": "s1",
        "dry_mass_kg": 50.0,
        "propellant_mass_kg": 28.0,
        "thrust": {"t_s": [0.0, 20.0], "thrust_n": [3000.0, 3000.0]},
        "isp_vac_s": 230.0,
        "nozzle_exit_area_m2": 0.003,
        "aero": {
            "powered": {"model": "body_axes", "reference_area_m2": AREA_A_M2, **CA_TABLE, "normal_force": CN_TABLE}
        },
    }
    stage.update(over.pop("stage", {}))
    v = {
        "name": "test single stage",
        "length_m": 3.0,
        "diameter_m": 0.2,
        "stages": [stage],
        "guidance": {"mode": "programme", "programme": LOCAL_PROGRAMME},
        "attitude_time_constant_s": TAU_S,
    }
    v.update(over)
    return copy.deepcopy(v)  # the tests edit it


BALLISTIC_0 = {"model": "ballistic", "mach": [0.0, 1.0, 3.0], "ballistic_coefficient_kg_m2": [900.0, 700.0, 1100.0]}
BALLISTIC_1 = {"model": "ballistic", "mach": [0.0, 1.2, 3.0], "ballistic_coefficient_kg_m2": [1500.0, 1200.0, 1800.0]}
POWERED_0 = {"model": "body_axes", "reference_area_m2": 0.05, **CA_TABLE}
POWERED_1 = {
    "model": "body_axes",
    "reference_area_m2": 0.02,
    "mach": [0.0, 2.0],
    "axial_force_coefficient": [0.3, 0.25],
}
LAUNCH_PROGRAMME = {
    "t_s": [0.0, 2.0, 10.0, 40.0],
    "azimuth_deg": [120.0, 120.0, 120.0, 120.0],
    "elevation_deg": [90.0, 90.0, 80.0, 70.0],
}


def two_stage() -> dict[str, Any]:
    """Two stages (3.5 kN 16 s, then 1 kN 20 s); body axes while burning, ballistic while coasting."""
    return copy.deepcopy(_TWO_STAGE)


_TWO_STAGE = {
    "name": "test two stage",
    "length_m": 4.0,
    "diameter_m": 0.25,
    "payload_kg": 5.0,
    "stages": [
        {
            "name": "s1",
            "dry_mass_kg": 35.0,
            "propellant_mass_kg": 25.0,
            "thrust": {"t_s": [0.0, 16.0], "thrust_n": [3500.0, 3500.0]},
            "isp_vac_s": 240.0,
            "separation_delay_s": 2.0,
            "aero": {"powered": POWERED_0, "coasting": BALLISTIC_0},
        },
        {
            "name": "s2",
            "dry_mass_kg": 10.0,
            "propellant_mass_kg": 9.0,
            "thrust": {"t_s": [0.0, 20.0], "thrust_n": [1000.0, 1000.0]},
            "isp_vac_s": 250.0,
            "ignition_delay_s": 3.0,
            "aero": {"powered": POWERED_1, "coasting": BALLISTIC_1},
        },
    ],
    "guidance": {"mode": "programme", "programme": LAUNCH_PROGRAMME},
    "attitude_time_constant_s": TAU_S,
}


def fly_sim(vehicle: dict[str, Any], site: SiteSpec = SITE, record_dt: float = 0.5):
    return simulate_vehicle(vehicle_from_dict(vehicle), site, dt=DT_S, record_dt=record_dt)


def compare(tr, dense, r_impact_ref: np.ndarray, t_impact_ref: float) -> tuple[float, float, float]:
    """(relative apogee error, impact point distance m, impact time error s) of the simulator."""
    t = tr.t_s
    h_sim = ecef_to_geodetic(tr.r_ecef[0])[2]
    h_ref = reference_heights(dense, t)
    inside = np.isfinite(h_ref)
    apogee_sim, apogee_ref = h_sim[inside].max(), h_ref[inside].max()
    assert apogee_ref < AMBIANCE_TOP_M
    d_impact = float(np.linalg.norm(tr.r_ecef[0, -1] - r_impact_ref))
    return (apogee_sim - apogee_ref) / apogee_ref, d_impact, float(tr.impact_t_s[0]) - t_impact_ref


def test_body_axes_ca_cn_on_a_local_programme_matches_dop853():
    tr = fly_sim(single_stage(), record_dt=0.25)
    ref = RefFlight(
        LOCAL_PROGRAMME,
        [
            RefPhase(20.0, 3000.0, 230.0, 0.003, BODY_AXES_A, AREA_A_M2),
            RefPhase(2000.0, aero=BODY_AXES_A, reference_area_m2=AREA_A_M2, commanded=False),
        ],
    )  # fmt: skip
    r_imp, dense, t_imp = ref.fly(78.0)
    d_apogee, d_impact, d_t = compare(tr, dense, r_imp, t_imp)
    print(f"(a) apogee {d_apogee:+.2e}, impact point {d_impact:.1f} m, impact time {d_t:+.3f} s")
    assert abs(d_apogee) < APOGEE_REL_TOL
    assert d_impact < IMPACT_TOL_M


def _angle_of_attack_deg(tr) -> np.ndarray:
    """Angle between body x and the Earth-relative (= air-relative, no wind) velocity, deg."""
    q = tr.q_body_to_ecef[0]
    x_body = Rotation.from_quat(q[:, [1, 2, 3, 0]]).apply([1.0, 0.0, 0.0])
    v = tr.v_ecef[0]
    cos_a = np.einsum("ij,ij->i", x_body, v) / np.maximum(np.linalg.norm(v, axis=1), 1e-9)
    return np.degrees(np.arccos(np.clip(cos_a, -1.0, 1.0)))


def test_the_programme_flies_at_a_several_degree_angle_of_attack_so_cn_matters():
    tr = fly_sim(single_stage(), record_dt=0.5)
    alpha = _angle_of_attack_deg(tr)
    burning = (tr.t_s > 6.0) & (tr.t_s < 20.0)
    assert alpha[burning].max() > 3.0
    no_cn = single_stage(
        stage={"aero": {"powered": {"model": "body_axes", "reference_area_m2": AREA_A_M2, **CA_TABLE}}}
    )
    tr2 = fly_sim(no_cn)
    assert np.linalg.norm(tr.r_ecef[0, -1] - tr2.r_ecef[0, -1]) > 5 * IMPACT_TOL_M


def test_two_stage_ballistic_coast_matches_dop853():
    tr = fly_sim(two_stage(), record_dt=0.25)
    b0, b1 = BALLISTIC_0, BALLISTIC_1
    ref = RefFlight(
        LAUNCH_PROGRAMME,
        [
            RefPhase(16.0, 3500.0, 240.0, 0.0, POWERED_0, 0.05),
            RefPhase(18.0, aero=b0, mass_after_kg=10.0 + 9.0 + 5.0),  # separation drops stage 0 (and its residual)
            RefPhase(21.0, aero=b1),
            RefPhase(41.0, 1000.0, 250.0, 0.0, POWERED_1, 0.02),
            RefPhase(3000.0, aero=b1, commanded=False),
        ],
    )
    r_imp, dense, t_imp = ref.fly(35.0 + 25.0 + 10.0 + 9.0 + 5.0)
    d_apogee, d_impact, d_t = compare(tr, dense, r_imp, t_imp)
    print(f"(b) apogee {d_apogee:+.2e}, impact point {d_impact:.1f} m, impact time {d_t:+.3f} s")
    assert abs(d_apogee) < APOGEE_REL_TOL
    assert d_impact < IMPACT_TOL_M


def test_ballistic_coast_is_what_flies_after_burnout():
    """The coasting model is the one used: a 3x larger beta in coast moves the impact point far."""
    light = two_stage()
    light["stages"][1]["aero"]["coasting"] = BALLISTIC_1 | {"ballistic_coefficient_kg_m2": [4500.0, 3600.0, 5400.0]}
    a, b = fly_sim(two_stage(), record_dt=5.0), fly_sim(light, record_dt=5.0)
    assert np.linalg.norm(a.r_ecef[0, -1] - b.r_ecef[0, -1]) > 5 * IMPACT_TOL_M


# --------------------------------------------------------------------- propulsion


def _isp_vehicle(propellant_kg: float) -> dict[str, Any]:
    return single_stage(
        stage={
            "propellant_mass_kg": propellant_kg,
            "isp_vac_s": None,
            "isp_table": {"t_s": [0.0, 20.0], "isp_vac_s": [ISP_A_S, ISP_A_S + ISP_B_S_PER_S * 20.0]},
        }
    )


ISP_A_S, ISP_B_S_PER_S = 100.0, 10.0  # Isp = 100 s + 10 s/s x t: 100 s at ignition, 300 s at burnout


def _burned_closed_form_kg(t_s: float) -> float:
    """Integral of F / (g0 (a + b t)) from 0 to t: F / (g0 b) ln((a + b t) / a)."""
    return 3000.0 / (G0_MPS2 * ISP_B_S_PER_S) * math.log((ISP_A_S + ISP_B_S_PER_S * t_s) / ISP_A_S)


def test_isp_table_burnout_mass_is_the_closed_form_integral_of_thrust_over_isp():
    needed = _burned_closed_form_kg(20.0)
    sim = Simulator(vehicle_from_dict(_isp_vehicle(needed * 1.005)), SITE, dt=DT_S)
    for t in (7.3, 20.0):
        sim.advance_to(t)
        burned = 50.0 + needed * 1.005 - float(sim.state.mass_kg[0])
        assert burned == pytest.approx(_burned_closed_form_kg(t), rel=1e-9)


def test_propellant_check_integrates_thrust_over_the_isp_table():
    """With Isp from 100 to 300 s the mean Isp (200 s) under-counts the propellant by 10 %."""
    needed = _burned_closed_form_kg(20.0)
    stage = vehicle_from_dict(_isp_vehicle(needed)).stages[0]
    flat = np.array([3000.0, 3000.0])
    assert propellant_needed_kg(stage, np.array([0.0, 20.0]), flat) == pytest.approx(needed, rel=1e-6)
    mean_based = 3000.0 * 20.0 / (200.0 * G0_MPS2)
    assert needed > 1.08 * mean_based
    with pytest.raises(InputError, match=r"stages\[0\] \(s1\).*propellant"):
        Simulator(vehicle_from_dict(_isp_vehicle(1.02 * mean_based)), SITE, dt=DT_S)


def _liftoff_speed_after(vehicle: dict[str, Any], t_s: float) -> float:
    sim = Simulator(vehicle_from_dict(vehicle), SITE, dt=DT_S)
    sim.advance_to(t_s)
    return float(np.linalg.norm(sim.state.v_ecef[0]))


def test_exit_area_from_throat_and_expansion_ratio_costs_ae_p0_at_sea_level():
    throat_m, ratio = 0.04, 6.0
    exit_m2 = math.pi * throat_m**2 / 4.0 * ratio
    nozzle = single_stage(stage={"nozzle_exit_area_m2": None, "throat_diameter_m": throat_m, "expansion_ratio": ratio})
    vacuum = single_stage(stage={"nozzle_exit_area_m2": 0.0})
    t = 0.2
    dv = _liftoff_speed_after(vacuum, t) - _liftoff_speed_after(nozzle, t)
    m0, mdot = 78.0, 3000.0 / (230.0 * G0_MPS2)
    p0_pa = 101_325.0  # USSA76 sea-level pressure
    expected = exit_m2 * p0_pa / mdot * math.log(m0 / (m0 - mdot * t))  # integral of Ae p0 / m(t)
    assert dv == pytest.approx(expected, rel=2e-4)
    given = single_stage(stage={"nozzle_exit_area_m2": exit_m2})
    assert _liftoff_speed_after(given, t) == pytest.approx(_liftoff_speed_after(nozzle, t), rel=1e-12)


# --------------------------------------------------------------------- ground height, final attitude


def test_impact_at_the_ground_height_is_earlier_than_at_sea_level():
    high = SITE.model_copy(update={"alt_m": 1400.0, "ground_height_m": 1400.0})
    sea = SITE.model_copy(update={"alt_m": 1400.0, "ground_height_m": 0.0})
    tr_high, tr_sea = fly_sim(single_stage(), high, 5.0), fly_sim(single_stage(), sea, 5.0)
    assert ecef_to_geodetic(tr_high.r_ecef[0, -1])[2] == pytest.approx(1400.0, abs=1e-3)
    assert ecef_to_geodetic(tr_sea.r_ecef[0, -1])[2] == pytest.approx(0.0, abs=1e-3)
    assert tr_high.impact_t_s[0] < tr_sea.impact_t_s[0] - 1.0


def test_final_coast_along_velocity_keeps_the_body_on_the_air_relative_velocity():
    along = single_stage()
    along["guidance"] = {**along["guidance"], "final_coast_attitude": "along_velocity"}
    tr_along, tr_hold = fly_sim(along, record_dt=1.0), fly_sim(single_stage(), record_dt=1.0)
    descending = lambda tr: (tr.t_s > 30.0) & (np.einsum("ij,ij->i", tr.r_ecef[0], tr.v_ecef[0]) < 0)  # noqa: E731 (two uses)
    assert _angle_of_attack_deg(tr_along)[descending(tr_along)].max() < 0.5
    assert _angle_of_attack_deg(tr_hold)[descending(tr_hold)].max() > 30.0


def test_final_coast_command_keeps_following_the_programme():
    cmd = single_stage()
    cmd["guidance"] = {**cmd["guidance"], "final_coast_attitude": "command"}
    tr = fly_sim(cmd, record_dt=1.0)
    late = tr.t_s > 40.0
    q, qc = tr.q_body_to_ecef[0][late], tr.q_cmd_body_to_ecef[0][late]
    assert np.abs(np.einsum("ij,ij->i", q, qc)).min() > math.cos(math.radians(0.5) / 2)


def test_the_stage_aero_example_of_the_mission_format_doc_flies():
    text = (MISSIONS.parent / "docs" / "mission-format.md").read_text(encoding="utf-8")
    section = text[text.index("#### `vehicle.stages[].aero`") :]
    example = yaml.safe_load(section[section.index("```yaml") + 7 : section.index("```", section.index("```yaml") + 7)])
    vehicle = {"name": "doc example", "length_m": 7.0, "diameter_m": 0.45, **example}
    vehicle["guidance"] = {"mode": "gravity_turn", "vertical_rise_s": 2.0, "pitch_kick_angle_deg": 5.0}
    tr = simulate_vehicle(vehicle_from_dict(vehicle), SITE, record_dt=10.0)
    assert np.isfinite(tr.impact_t_s[0])


# --------------------------------------------------------------------- schema errors through `rangeguard check`


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s["aero"]["powered"]["normal_force"].update(alpha_deg=[0.0, 10.0]),
            "normal_force_coefficient[0] has 6",
        ),
        (lambda s: s["aero"]["powered"].update(mach=[0.0, 1.0]), "mach and axial_force_coefficient"),
        (lambda s: s.update(isp_table={"t_s": [0.0, 5.0, 9.0], "isp_vac_s": [200.0, 210.0]}), "t_s has 3 entries"),
        (lambda s: s.update(throat_diameter_m=0.05), "throat_diameter_m and expansion_ratio together"),
    ],
)
def test_schema_errors_are_readable_through_rangeguard_check(tmp_path, capsys, edit, message):
    mission = yaml.safe_load((MISSIONS / "sounding.yaml").read_text())
    for area in mission["areas"]:
        if "geojson" in area:
            area["geojson"] = str(MISSIONS / area["geojson"])
    vehicle = single_stage()
    edit(vehicle["stages"][0])
    mission["vehicle"] = vehicle
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(mission))
    code = main(["check", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "stages" in err and "Traceback" not in err
