"""Turn a VehicleSpec, a site, failures and per-vehicle parameters into kernel arrays.

The layouts are the index constants of :mod:`rangeguard.sim.kernels`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pydantic import TypeAdapter, ValidationError

from rangeguard.constants import DEG, MU_EARTH_M3_S2, WGS84_A_M
from rangeguard.earth.atmosphere import ussa76
from rangeguard.earth.geodesy import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.errors import InputError
from rangeguard.mission.flyable import failure_problems, propellant_needed_kg, propellant_problems, thrust_curve
from rangeguard.mission.vehicle import FAILURE_KINDS, VehicleFailureSpec, VehicleSpec
from rangeguard.sim import kernels as K
from rangeguard.sim.params import PerVehicleParams

ORBIT_PERIGEE_MIN_M = 100e3
"""A vehicle in ballistic flight whose osculating perigee is higher than this
(above the WGS84 equatorial radius) is in orbit: the simulator stops it."""

_FINAL_ATTITUDE_CODES = {
    "hold": K.FINAL_ATT_HOLD,
    "along_velocity": K.FINAL_ATT_ALONG_VELOCITY,
    "command": K.FINAL_ATT_COMMAND,
}
"""GuidanceSpec.final_coast_attitude -> GP[G_FINAL_ATT] (a KeyError on a new value: add it here and in deriv)."""

ATM_TABLE_H0_M = -2000.0
ATM_TABLE_DH_M = 25.0
ATM_TABLE_TOP_M = 1_000_000.0


@lru_cache(maxsize=1)
def atmosphere_table() -> np.ndarray:
    """USSA76 sampled every 25 m from -2 km to 1000 km: columns rho (kg/m^3), p (Pa), speed of sound (m/s).

    Sampled from :func:`rangeguard.earth.atmosphere.ussa76`; the kernel
    interpolates linearly: relative error (dz/H)^2/8 ~ 2e-6 for a 7 km scale height
    (design/sim.md).
    """
    h = ATM_TABLE_H0_M + ATM_TABLE_DH_M * np.arange(int((ATM_TABLE_TOP_M - ATM_TABLE_H0_M) / ATM_TABLE_DH_M) + 1)
    atm = ussa76(h)
    return np.ascontiguousarray(np.column_stack([atm.density_kg_m3, atm.pressure_pa, atm.speed_of_sound_mps]))


@dataclass
class VehicleArrays:
    """Kernel arrays describing one vehicle design and its launch site."""

    SC: np.ndarray
    THR_T: np.ndarray
    THR_F: np.ndarray
    THR_OFF: np.ndarray
    STAB: np.ndarray
    WIND: np.ndarray
    ATM: np.ndarray
    VC: np.ndarray
    GP: np.ndarray
    PROG: np.ndarray
    PAD: np.ndarray
    r0_ecef: np.ndarray
    azimuth_rad: float
    stage_names: tuple[str, ...]
    residual_propellant_kg: tuple[float, ...]

    def tables(self) -> K.VehicleTables:
        """The kernels' read-only arrays of this design (:class:`rangeguard.sim.kernels.VehicleTables`)."""
        return K.VehicleTables(
            self.SC, self.THR_T, self.THR_F, self.THR_OFF, self.STAB, self.WIND, self.ATM, self.VC, self.GP,
            self.PROG, self.PAD,
        )  # fmt: skip


class _FlatTables:
    """The flat float array STAB being filled: each table appended, its offset returned."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def put(self, values) -> int:
        start = len(self.values)
        self.values.extend(float(v) for v in values)
        return start

    def array(self) -> np.ndarray:
        return np.asarray(self.values if self.values else [0.0], dtype=np.float64)


def _aero_block(spec, diameter_m: float, tab: _FlatTables, vehicle_wide: list[int]) -> list[int]:
    """One phase's aero tables appended to ``tab``: its NAX entries (AX_*) of SC. ``spec`` None: the
    vehicle-wide axial coefficient (``vehicle_wide``, its entries)."""
    if spec is None:
        return vehicle_wide
    ix = [0] * K.NAX
    ix[K.AX_N] = len(spec.mach)
    ix[K.AX_MACH] = tab.put(spec.mach)
    if spec.model == "ballistic":
        ix[K.AX_MODEL] = K.AERO_BALLISTIC
        ix[K.AX_COEF] = tab.put(spec.ballistic_coefficient_kg_m2)
        return ix
    ix[K.AX_MODEL] = K.AERO_BODY_AXES
    area = spec.reference_area_m2 if spec.reference_area_m2 is not None else math.pi * diameter_m**2 / 4.0
    ix[K.AX_SREF] = tab.put([area])
    ix[K.AX_COEF] = tab.put(spec.axial_force_coefficient)
    cn = spec.normal_force
    if cn is not None:
        ix[K.AX_CN_NM], ix[K.AX_CN_NA] = len(cn.mach), len(cn.alpha_deg)
        ix[K.AX_CN_MACH] = tab.put(cn.mach)
        ix[K.AX_ALPHA] = tab.put(np.radians(cn.alpha_deg))
        ix[K.AX_CN] = tab.put(np.ravel(np.asarray(cn.normal_force_coefficient, float)))
    return ix


def stage_tables(vehicle: VehicleSpec) -> tuple[np.ndarray, np.ndarray]:
    """(SC's table columns (S, NSC - 9), STAB): the vehicle-wide axial coefficient, each stage's aero per
    phase and its Isp table, packed into one flat float array with their offsets.

    The phase mapping (design/sim.md "Vehicle model"): powered while the stage burns; coasting
    (else powered) otherwise; a phase without a model uses the vehicle-wide aero (AERO_VEHICLE)."""
    tab = _FlatTables()
    vehicle_wide = [0] * K.NAX
    vehicle_wide[K.AX_MODEL] = K.AERO_VEHICLE
    if vehicle.aero is not None:  # (None only when every stage has its own aero.powered: never read)
        vehicle_wide[K.AX_N] = len(vehicle.aero.mach)
        vehicle_wide[K.AX_MACH] = tab.put(vehicle.aero.mach)
        vehicle_wide[K.AX_COEF] = tab.put(vehicle.aero.axial_force_coefficient)
    cols = np.zeros((len(vehicle.stages), K.NSC - K.S_AERO_POWERED))
    for k, st in enumerate(vehicle.stages):
        powered = st.aero.powered if st.aero is not None else None
        coasting = st.aero.coasting if st.aero is not None and st.aero.coasting is not None else powered
        isp = st.isp_table
        cols[k] = [
            *_aero_block(powered, vehicle.diameter_m, tab, vehicle_wide),
            *_aero_block(coasting, vehicle.diameter_m, tab, vehicle_wide),
            *([0, 0, 0] if isp is None else [tab.put(isp.t_s), tab.put(isp.isp_vac_s), len(isp.t_s)]),
        ]
    return cols, tab.array()


def build_vehicle_arrays(vehicle: VehicleSpec, site, wind=None, j2: bool = True) -> VehicleArrays:
    """Kernel arrays for ``vehicle`` launched from ``site`` (a SiteSpec, or anything with lat_deg,
    lon_deg, alt_m, launch_azimuth_deg and impact_height_m). ``wind`` (a WindSpec) overrides
    ``vehicle.wind``; ``j2`` False gives point-mass gravity (for checks against Keplerian references)."""
    problems = propellant_problems(vehicle)  # the loader's check too: `check` accepts what this flies
    if problems:
        raise InputError("; ".join(problems))
    n_st = len(vehicle.stages)
    SC = np.zeros((n_st, K.NSC))
    ts, fs, off = [], [], [0]
    residuals = []
    for k, st in enumerate(vehicle.stages):
        t, f = thrust_curve(st)
        impulse = float(np.trapezoid(f, t))
        need = propellant_needed_kg(st, t, f)
        residuals.append(max(0.0, st.propellant_mass_kg - need))
        ts.append(t)
        fs.append(f)
        off.append(off[-1] + t.size)
        SC[k, : K.S_AERO_POWERED] = [
            st.dry_mass_kg,
            st.propellant_mass_kg,
            st.isp_mean_s,
            st.exit_area_m2,
            st.ignition_delay_s,
            st.separation_delay_s,
            t[-1],
            1.0 if st.guided_cutoff else 0.0,
            impulse / t[-1],
        ]
    w = wind if wind is not None else vehicle.wind
    if w is None:
        WIND = np.zeros((0, 3))
    else:
        d = np.asarray(w.direction_from_deg, float) * DEG
        s = np.asarray(w.speed_mps, float)
        # blowing FROM d means the air moves toward d + 180 deg
        WIND = np.column_stack([w.altitude_m, -s * np.sin(d), -s * np.cos(d)]).astype(float)
    g = vehicle.guidance
    az = (g.azimuth_deg if g.azimuth_deg is not None else site.launch_azimuth_deg) * DEG
    GP = np.zeros(K.NGP)
    GP[K.G_MODE] = 1.0 if g.mode == "programme" else 0.0
    GP[K.G_AZ0] = az
    GP[K.G_T_RISE] = g.vertical_rise_s
    GP[K.G_KICK] = g.pitch_kick_angle_deg * DEG
    GP[K.G_KICK_DUR] = g.pitch_kick_duration_s
    GP[K.G_CAZ] = math.cos(az)
    GP[K.G_SAZ] = math.sin(az)
    GP[K.G_SIN_ELK] = math.cos(g.pitch_kick_angle_deg * DEG)  # sin(90 deg - kick)
    GP[K.G_PROG_LOCAL] = 1.0 if g.programme is not None and g.programme.frame == "local" else 0.0
    GP[K.G_FINAL_ATT] = _FINAL_ATTITUDE_CODES[g.final_coast_attitude]
    if g.upper_stage is not None:
        tgt = g.upper_stage.target
        r_p = WGS84_A_M + tgt.perigee_altitude_km * 1e3
        a = WGS84_A_M + 0.5 * (tgt.perigee_altitude_km + tgt.apogee_altitude_km) * 1e3
        GP[K.G_STEER] = 1.0
        GP[K.G_STEER_FROM] = g.upper_stage.from_stage
        GP[K.G_R_T] = r_p
        GP[K.G_V_T] = math.sqrt(MU_EARTH_M3_S2 * (2.0 / r_p - 1.0 / a))
        GP[K.G_E_T] = -MU_EARTH_M3_S2 / (2.0 * a)
        GP[K.G_COS_I] = math.cos(tgt.inclination_deg * DEG)
    if g.programme is not None:
        pr = g.programme
        az_tab = np.unwrap(np.asarray(pr.azimuth_deg, float) * DEG)
        PROG = np.column_stack([pr.t_s, az_tab, np.asarray(pr.elevation_deg, float) * DEG]).astype(float)
    else:
        PROG = np.zeros((1, 3))
    fair = vehicle.fairing
    VC = np.zeros(K.NVC)
    VC[K.C_J2_ON] = 1.0 if j2 else 0.0
    VC[K.C_PAYLOAD] = vehicle.payload_kg
    VC[K.C_FAIRING_M] = fair.mass_kg if fair else 0.0
    VC[K.C_FAIRING_T] = fair.jettison_t_s if fair and fair.jettison_t_s is not None else np.inf
    VC[K.C_FAIRING_H] = fair.jettison_altitude_m if fair and fair.jettison_altitude_m is not None else np.inf
    VC[K.C_SREF] = vehicle.reference_area_m2
    VC[K.C_TAU] = vehicle.attitude_time_constant_s
    VC[K.C_ATM_H0] = ATM_TABLE_H0_M
    VC[K.C_ATM_DH] = ATM_TABLE_DH_M
    VC[K.C_NSTAGE] = n_st
    VC[K.C_ORBIT_HP] = ORBIT_PERIGEE_MIN_M
    VC[K.C_GROUND_H] = site.impact_height_m
    SC[:, K.S_AERO_POWERED :], STAB = stage_tables(vehicle)
    PAD = np.ascontiguousarray(ecef_to_enu_matrix(site.lat_deg, site.lon_deg))
    r0 = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.alt_m)
    return VehicleArrays(
        SC=SC,
        THR_T=np.concatenate(ts),
        THR_F=np.concatenate(fs),
        THR_OFF=np.asarray(off, dtype=np.int64),
        STAB=STAB,
        WIND=np.ascontiguousarray(WIND),
        ATM=atmosphere_table(),
        VC=VC,
        GP=GP,
        PROG=np.ascontiguousarray(PROG),
        PAD=PAD,
        r0_ecef=r0,
        azimuth_rad=az,
        stage_names=tuple(s.name for s in vehicle.stages),
        residual_propellant_kg=tuple(residuals),
    )


_FAILURE_ADAPTER = TypeAdapter(VehicleFailureSpec)


def coerce_failures(failures) -> list:
    """Validate failures given as models or mappings; other kinds (nav faults) are skipped."""
    out = []
    for j, f in enumerate(failures or ()):
        kind = f.get("kind") if isinstance(f, dict) else getattr(f, "kind", None)
        if kind not in FAILURE_KINDS:
            continue  # a nav-side fault: the sensor models handle it
        if isinstance(f, dict):
            try:
                f = _FAILURE_ADAPTER.validate_python(f)
            except ValidationError as exc:
                msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise InputError(f"failures[{j}]: {msg}") from None
        out.append(f)
    return out


def failure_array(failures, n: int, n_stages: int) -> np.ndarray:
    """(n, NFP) failure parameters; every vehicle gets the same failures."""
    row = np.zeros(K.NFP)
    row[K.F_SCALE] = 1.0
    row[K.F_SCALE_STAGE] = -1.0
    row[K.F_LOSS_T] = np.inf
    row[K.F_LOSS_STAGE] = -1.0
    row[K.F_IGN_FAIL] = -1.0
    row[K.F_SEP_FAIL] = -1.0
    failures = coerce_failures(failures)
    problems = failure_problems(failures, n_stages)  # the loader's check too: `check` accepts what this flies
    if problems:
        raise InputError("; ".join(problems))
    for f in failures:
        if f.kind == "thrust_scale":
            row[K.F_SCALE] = f.scale
            row[K.F_SCALE_T] = f.from_t_s
            row[K.F_SCALE_STAGE] = -1.0 if f.stage is None else f.stage
        elif f.kind in ("thrust_loss", "early_cutoff"):
            row[K.F_LOSS_T] = f.at_t_s
            row[K.F_LOSS_STAGE] = -1.0 if f.stage is None else f.stage
            row[K.F_LOSS_KIND] = 1.0 if f.kind == "thrust_loss" else 2.0
        elif f.kind == "tvc_hardover":
            row[K.F_ATT_MODE] = K.ATT_HARDOVER
            row[K.F_ATT_T] = f.from_t_s
            row[K.F_WX + "xyz".index(f.axis)] = f.rate_deg_s * DEG
        elif f.kind == "attitude_loss":
            row[K.F_ATT_T] = f.from_t_s
            if f.mode == "tumble":
                row[K.F_ATT_MODE] = K.ATT_TUMBLE
                row[K.F_WX : K.F_WZ + 1] = np.asarray(f.rates_deg_s) * DEG
            else:
                row[K.F_ATT_MODE] = K.ATT_CONING
                row[K.F_CONE_HALF] = f.cone_half_angle_deg * DEG
                row[K.F_CONE_RATE] = f.cone_rate_deg_s * DEG
        elif f.kind == "ignition_failure":
            row[K.F_IGN_FAIL] = f.stage
        elif f.kind == "separation_failure":
            row[K.F_SEP_FAIL] = f.stage
    return np.array(np.broadcast_to(row, (n, K.NFP)), dtype=np.float64, order="C")


def param_arrays(params: PerVehicleParams | None, n: int, n_stages: int) -> tuple[np.ndarray, np.ndarray]:
    """(PS (n, S, 5), PV (n, 7)) from per-vehicle parameters (angles converted to radians)."""
    p = params if params is not None else PerVehicleParams()
    p.check(n, n_stages)
    PS = np.empty((n, n_stages, 5))
    PS[:, :, K.P_THRUST] = p.stage_array("thrust_scale", n, n_stages)
    PS[:, :, K.P_BURN_RATE] = p.stage_array("burn_rate_scale", n, n_stages)
    PS[:, :, K.P_ISP_SCALE] = p.stage_array("isp_scale", n, n_stages)
    PS[:, :, K.P_DRY] = p.stage_array("dry_mass_scale", n, n_stages)
    PS[:, :, K.P_PROP] = p.stage_array("propellant_mass_scale", n, n_stages)
    PV = np.zeros((n, K.NPV))
    PV[:, K.V_CD] = p.scalar_array("cd_scale", n)
    PV[:, K.V_WIND_SCALE] = p.scalar_array("wind_scale", n)
    PV[:, K.V_WIND_ROT] = p.scalar_array("wind_rotation_deg", n) * DEG
    PV[:, K.V_BIAS_PITCH] = p.scalar_array("attitude_bias_pitch_deg", n) * DEG
    PV[:, K.V_BIAS_YAW] = p.scalar_array("attitude_bias_yaw_deg", n) * DEG
    PV[:, K.V_MIS_PITCH] = np.tan(p.scalar_array("thrust_misalignment_pitch_deg", n) * DEG)
    PV[:, K.V_MIS_YAW] = np.tan(p.scalar_array("thrust_misalignment_yaw_deg", n) * DEG)
    # bias quaternion Ry(pitch) (x) Rz(yaw), scalar first
    hp, hy = 0.5 * PV[:, K.V_BIAS_PITCH], 0.5 * PV[:, K.V_BIAS_YAW]
    cp, sp, cy, sy = np.cos(hp), np.sin(hp), np.cos(hy), np.sin(hy)
    PV[:, K.V_QB : K.V_QB + 4] = np.column_stack([cp * cy, sp * sy, sp * cy, cp * sy])
    return PS, PV
