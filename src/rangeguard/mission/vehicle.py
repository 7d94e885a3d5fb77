"""The vehicle section of a mission: stages, motors, aerodynamics, guidance, wind, failures.

These pydantic models are the single source of truth for what a vehicle file
(``missions/vehicles/*.yaml``) may contain. Every field carries its unit in its
name (or is dimensionless) and a description. The simulator
(:mod:`rangeguard.sim`) turns a :class:`VehicleSpec` into arrays; this module
only validates.

Conventions: times ``t_s`` are seconds since liftoff unless the description
says otherwise; stage indices are 0-based (stage 0 lifts off); azimuths are
degrees clockwise from north; elevations degrees above the pad's horizontal
plane ("launch frame" = the pad's East-North-Up frame, fixed to the Earth).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from rangeguard.errors import InputError
from rangeguard.mission.aero import StageAeroSpec
from rangeguard.mission.config import MODEL_CONFIG, strictly_increasing
from rangeguard.mission.motors import read_eng
from rangeguard.mission.yaml_io import describe_yaml_error, load_yaml

_CFG = MODEL_CONFIG  # see docs/mission-format.md, "Numbers"


class ThrustTableSpec(BaseModel):
    """Vacuum thrust against time since the stage's ignition (linear between points)."""

    model_config = _CFG

    t_s: list[float] = Field(
        ..., min_length=2, description="Times since this stage's ignition, s; strictly increasing, first 0."
    )
    thrust_n: list[float] = Field(
        ..., min_length=2, description="Vacuum thrust at each time, N (>= 0). Burnout is the last time."
    )

    @model_validator(mode="after")
    def _check(self) -> ThrustTableSpec:
        if len(self.t_s) != len(self.thrust_n):
            raise ValueError(
                f"t_s has {len(self.t_s)} entries but thrust_n has {len(self.thrust_n)}; give one thrust per time"
            )
        if self.t_s[0] != 0.0:
            raise ValueError(f"t_s must start at 0 (ignition); got {self.t_s[0]}")
        strictly_increasing(self.t_s, "t_s")
        if min(self.thrust_n) < 0:
            raise ValueError("thrust_n must be >= 0 everywhere (vacuum thrust, N)")
        return self


class IspTableSpec(BaseModel):
    """Vacuum specific impulse against time since the stage's ignition (linear between points, held outside)."""

    model_config = _CFG

    t_s: list[float] = Field(
        ..., min_length=2, description="Times since this stage's ignition, s; strictly increasing, first 0."
    )
    isp_vac_s: list[float] = Field(..., min_length=2, description="Vacuum specific impulse at each time, s (> 0).")

    @model_validator(mode="after")
    def _check(self) -> IspTableSpec:
        if len(self.t_s) != len(self.isp_vac_s):
            raise ValueError(
                f"t_s has {len(self.t_s)} entries but isp_vac_s has {len(self.isp_vac_s)}; give one Isp per time"
            )
        if self.t_s[0] != 0.0:
            raise ValueError(f"t_s must start at 0 (ignition); got {self.t_s[0]}")
        strictly_increasing(self.t_s, "t_s")
        if min(self.isp_vac_s) <= 0 or max(self.isp_vac_s) > 500:
            raise ValueError("isp_vac_s must lie in (0, 500] s everywhere")
        return self


class StageSpec(BaseModel):
    """One propulsive stage. Its thrust is a table or a RASP .eng motor file."""

    model_config = _CFG

    name: str = Field("stage", description="Human-readable stage name.")
    dry_mass_kg: float = Field(
        ...,
        gt=0,
        description="Stage mass without propellant (structure, motor case, interstage), kg; dropped at separation.",
    )
    propellant_mass_kg: float = Field(..., gt=0, description="Loaded propellant mass, kg.")
    thrust: ThrustTableSpec | None = Field(
        None, description="Vacuum thrust table against time since ignition. Give this or eng_file, not both."
    )
    eng_file: str | None = Field(
        None,
        description=(
            "RASP .eng motor file with the vacuum thrust curve; path relative to the vehicle file. Give this or "
            "thrust. "
            "Read and checked at load time: problems are reported as `vehicle.stages[k].eng_file: FILE, line N: ...`."
        ),
    )
    isp_vac_s: float | None = Field(
        None,
        gt=0,
        le=500,
        description="Vacuum specific impulse, s; mass flow = vacuum thrust / (isp_vac_s g0). Give this or isp_table.",
    )
    isp_table: IspTableSpec | None = Field(
        None, description="Vacuum specific impulse against time since ignition. Give this or isp_vac_s, not both."
    )
    nozzle_exit_area_m2: float | None = Field(
        None,
        ge=0,
        description="Nozzle exit area, m^2; delivered thrust = vacuum thrust - exit area x ambient pressure. Give "
        "this, or throat_diameter_m with expansion_ratio; none of them: 0 (the thrust table is the delivered "
        "thrust).",
    )
    throat_diameter_m: float | None = Field(
        None, gt=0, description="Nozzle throat diameter, m; with expansion_ratio, sets the exit area."
    )
    expansion_ratio: float | None = Field(
        None, ge=1, description="Nozzle area expansion ratio A_exit / A_throat (dimensionless, >= 1)."
    )
    aero: StageAeroSpec | None = Field(
        None,
        description="Aerodynamics of the stack while this stage is its bottom (powered and coasting); None: the "
        "vehicle-wide aero.",
    )
    ignition_delay_s: float = Field(
        0.0,
        ge=0,
        description="Coast from the previous stage's separation to this stage's ignition, s (stage 0: must be "
        "0, ignition at liftoff).",
    )
    separation_delay_s: float = Field(0.0, ge=0, description="Time from this stage's burnout to its separation, s.")
    guided_cutoff: bool = Field(
        False, description="True for a liquid stage that guidance shuts down when the target orbit energy is reached."
    )

    @model_validator(mode="after")
    def _one_thrust_source(self) -> StageSpec:
        if (self.thrust is None) == (self.eng_file is None):
            raise ValueError("give exactly one of 'thrust' (a t_s/thrust_n table) or 'eng_file' (a RASP .eng path)")
        if (self.isp_vac_s is None) == (self.isp_table is None):
            raise ValueError("give exactly one of 'isp_vac_s' (a constant) or 'isp_table' (t_s/isp_vac_s)")
        if (self.throat_diameter_m is None) != (self.expansion_ratio is None):
            raise ValueError("give throat_diameter_m and expansion_ratio together (they set the nozzle exit area)")
        if self.throat_diameter_m is not None and self.nozzle_exit_area_m2 is not None:
            raise ValueError("give nozzle_exit_area_m2 or throat_diameter_m with expansion_ratio, not both")
        return self

    @property
    def exit_area_m2(self) -> float:
        """Nozzle exit area, m^2 (given, or pi d_t^2 / 4 times the expansion ratio, or 0)."""
        if self.throat_diameter_m is not None and self.expansion_ratio is not None:
            return math.pi * self.throat_diameter_m**2 / 4.0 * self.expansion_ratio
        return self.nozzle_exit_area_m2 or 0.0

    @property
    def isp_mean_s(self) -> float:
        """The constant vacuum Isp, or the time average of the Isp table over its span, s."""
        if self.isp_vac_s is not None:
            return self.isp_vac_s
        assert self.isp_table is not None  # the validator asks for one of the two
        t, isp = self.isp_table.t_s, self.isp_table.isp_vac_s
        area = sum((b - a) * (u + v) / 2.0 for a, b, u, v in zip(t, t[1:], isp, isp[1:], strict=False))
        return area / (t[-1] - t[0])


class FairingSpec(BaseModel):
    """Payload fairing, carried from liftoff and jettisoned at a time or an altitude."""

    model_config = _CFG

    mass_kg: float = Field(..., gt=0, description="Fairing mass, kg.")
    jettison_t_s: float | None = Field(
        None, gt=0, description="Jettison time since liftoff, s. Give this or jettison_altitude_m."
    )
    jettison_altitude_m: float | None = Field(
        None, gt=0, description="Jettison at this geodetic height on the way up, m. Give this or jettison_t_s."
    )

    @model_validator(mode="after")
    def _one_trigger(self) -> FairingSpec:
        if (self.jettison_t_s is None) == (self.jettison_altitude_m is None):
            raise ValueError("give exactly one of jettison_t_s or jettison_altitude_m")
        return self


class AeroSpec(BaseModel):
    """Axial-force (drag) model: reference area and coefficient against Mach."""

    model_config = _CFG

    reference_area_m2: float | None = Field(
        None, gt=0, description="Aerodynamic reference area, m^2; default: the body cross-section pi d^2 / 4."
    )
    mach: list[float] = Field(
        ...,
        min_length=1,
        description="Mach numbers of the table (dimensionless), strictly increasing; held constant outside.",
    )
    axial_force_coefficient: list[float] = Field(
        ...,
        min_length=1,
        description="Zero-angle-of-attack axial-force coefficient at each Mach (dimensionless, >= 0).",
    )

    @model_validator(mode="after")
    def _check(self) -> AeroSpec:
        if len(self.mach) != len(self.axial_force_coefficient):
            raise ValueError("mach and axial_force_coefficient must have the same length")
        strictly_increasing(self.mach, "mach")
        if min(self.axial_force_coefficient) < 0:
            raise ValueError("axial_force_coefficient must be >= 0")
        return self


class WindSpec(BaseModel):
    """Horizontal wind against geodetic height (linear between points, held outside)."""

    model_config = _CFG

    altitude_m: list[float] = Field(
        ..., min_length=1, description="Geodetic heights of the table, m, strictly increasing."
    )
    speed_mps: list[float] = Field(..., min_length=1, description="Wind speed at each height, m/s (>= 0).")
    direction_from_deg: list[float] = Field(
        ...,
        min_length=1,
        description="Direction the wind blows FROM at each height, degrees clockwise from north (meteorological).",
    )

    @model_validator(mode="after")
    def _check(self) -> WindSpec:
        n = len(self.altitude_m)
        if len(self.speed_mps) != n or len(self.direction_from_deg) != n:
            raise ValueError("altitude_m, speed_mps and direction_from_deg must have the same length")
        strictly_increasing(self.altitude_m, "altitude_m")
        if min(self.speed_mps) < 0:
            raise ValueError("speed_mps must be >= 0 (use direction_from_deg for the direction)")
        return self


class TargetOrbitSpec(BaseModel):
    """Target orbit for upper-stage steering. Altitudes are above the WGS84 equatorial radius."""

    model_config = _CFG

    perigee_altitude_km: float = Field(..., gt=80, description="Perigee radius minus the WGS84 equatorial radius, km.")
    apogee_altitude_km: float = Field(
        ..., gt=80, description="Apogee radius minus the WGS84 equatorial radius, km (>= perigee)."
    )
    inclination_deg: float = Field(
        ..., ge=0, le=180, description="Inclination, degrees (> 90: retrograde, e.g. sun-synchronous)."
    )

    @model_validator(mode="after")
    def _check(self) -> TargetOrbitSpec:
        if self.apogee_altitude_km < self.perigee_altitude_km:
            raise ValueError("apogee_altitude_km must be >= perigee_altitude_km")
        return self


class UpperStageSteeringSpec(BaseModel):
    """Closed-loop upper-stage steering to a target orbit (see design/sim.md).

    ``explicit``: the radial thrust acceleration is linear in time-to-go so the
    radius reaches the target with zero radial rate (the radial channel of
    Powered Explicit Guidance), and the horizontal thrust points along the
    velocity still to be gained in the target plane. A stage with
    ``guided_cutoff`` is shut down when the orbital energy reaches the target.
    """

    model_config = _CFG

    law: Literal["explicit"] = Field("explicit", description="Steering law; only 'explicit' is implemented.")
    from_stage: int = Field(
        ..., ge=1, description="First stage (0-based index) steered by this law; earlier stages fly the gravity turn."
    )
    target: TargetOrbitSpec = Field(..., description="Target orbit.")


class AttitudeProgrammeSpec(BaseModel):
    """Explicit attitude programme, linear between points: in the launch frame (pad East-North-Up) or in the
    vehicle's local frame (East-North-Up at the point below the vehicle, as OpenTsiolkovsky's)."""

    model_config = _CFG

    frame: Literal["launch", "local"] = Field(
        "launch",
        description="'launch': azimuth and elevation in the pad's East-North-Up frame; 'local': in the "
        "geodetic East-North-Up frame at the vehicle's current position.",
    )
    t_s: list[float] = Field(
        ..., min_length=2, description="Times since liftoff, s, strictly increasing; held after the last."
    )
    azimuth_deg: list[float] = Field(
        ...,
        min_length=2,
        description="Thrust-axis azimuth, degrees clockwise from north (of the frame: the pad's or the local one).",
    )
    elevation_deg: list[float] = Field(
        ...,
        min_length=2,
        description="Thrust-axis elevation above the frame's horizontal plane (the pad's, or the local one under "
        "the vehicle), degrees (-90..90).",
    )

    @model_validator(mode="after")
    def _check(self) -> AttitudeProgrammeSpec:
        n = len(self.t_s)
        if len(self.azimuth_deg) != n or len(self.elevation_deg) != n:
            raise ValueError("t_s, azimuth_deg and elevation_deg must have the same length")
        strictly_increasing(self.t_s, "t_s")
        if any(abs(e) > 90 for e in self.elevation_deg):
            raise ValueError("elevation_deg must lie in [-90, 90]")
        return self


class GuidanceSpec(BaseModel):
    """How the commanded attitude is generated.

    ``gravity_turn``: vertical rise, a pitch kick (elevation ramps down by
    ``pitch_kick_angle_deg`` over ``pitch_kick_duration_s`` toward the
    azimuth), then zero angle of attack (thrust along the air-relative
    velocity); from ``upper_stage.from_stage`` on, closed-loop steering.
    ``programme``: azimuth/elevation tables against time in the launch frame.
    """

    model_config = _CFG

    mode: Literal["gravity_turn", "programme"] = Field("gravity_turn", description="'gravity_turn' or 'programme'.")
    azimuth_deg: float | None = Field(
        None,
        ge=-360,
        le=360,
        description="Flight azimuth for the rise and kick, degrees from north; default: the site's launch_azimuth_deg.",
    )
    vertical_rise_s: float = Field(5.0, ge=0, description="Vertical rise after liftoff, s (gravity_turn).")
    pitch_kick_angle_deg: float = Field(
        2.0, ge=0, le=45, description="Pitch-over from vertical during the kick, degrees (gravity_turn)."
    )
    pitch_kick_duration_s: float = Field(
        5.0, gt=0, description="Duration of the kick ramp, s; zero-AoA turn follows (gravity_turn)."
    )
    upper_stage: UpperStageSteeringSpec | None = Field(
        None,
        description="Closed-loop steering to orbit for the upper stages (gravity_turn); None: zero AoA to burnout.",
    )
    programme: AttitudeProgrammeSpec | None = Field(
        None, description="Attitude tables (required when mode is 'programme')."
    )
    final_coast_attitude: Literal["hold", "along_velocity", "command"] = Field(
        "hold",
        description="Attitude after the last burn: 'hold' (no torque, inertial hold), 'along_velocity' (the body "
        "axis follows the air-relative velocity, as a stable body weathercocks) or 'command' (the guidance "
        "command goes on, e.g. the programme).",
    )

    @model_validator(mode="after")
    def _check(self) -> GuidanceSpec:
        if self.mode == "programme" and self.programme is None:
            raise ValueError("mode 'programme' needs a 'programme' table (t_s, azimuth_deg, elevation_deg)")
        if self.mode == "gravity_turn" and self.programme is not None:
            raise ValueError("'programme' is only used with mode 'programme'; remove it or set mode: programme")
        if self.mode == "programme" and self.upper_stage is not None:
            raise ValueError(
                "upper_stage steering works with mode 'gravity_turn' only; remove upper_stage or set mode: gravity_turn"
            )
        return self


class VehicleSpec(BaseModel):
    """A launch vehicle: geometry, stages (bottom first), payload, fairing, aero, guidance."""

    model_config = _CFG

    name: str = Field(..., description="Vehicle name.")
    length_m: float = Field(..., gt=0, description="Overall length, m (informative).")
    diameter_m: float = Field(..., gt=0, description="Body diameter, m; sets the default aerodynamic reference area.")
    stages: list[StageSpec] = Field(..., min_length=1, description="Stages, bottom (liftoff) first.")
    payload_kg: float = Field(0.0, ge=0, description="Payload mass, kg (stays with the last stage).")
    fairing: FairingSpec | None = Field(None, description="Payload fairing, or None.")
    aero: AeroSpec | None = Field(
        None,
        description="Vehicle-wide axial-force model (along the relative wind), for every stage without its own "
        "aero; required unless every stage gives aero.powered.",
    )
    guidance: GuidanceSpec = Field(default_factory=GuidanceSpec, description="Guidance (commanded attitude).")
    attitude_time_constant_s: float = Field(
        0.5,
        gt=0,
        description="First-order lag of the attitude behind the command, s (a lag shorter than the simulator's "
        "step is flown in sub-steps no longer than it).",
    )
    wind: WindSpec | None = Field(None, description="Wind profile; None: calm.")

    @model_validator(mode="after")
    def _check(self) -> VehicleSpec:
        if self.stages[0].ignition_delay_s != 0.0:
            raise ValueError("stages[0].ignition_delay_s must be 0: the first stage ignites at liftoff (t = 0)")
        up = self.guidance.upper_stage
        if up is not None and up.from_stage >= len(self.stages):
            raise ValueError(
                f"guidance.upper_stage.from_stage = {up.from_stage} but the vehicle has {len(self.stages)} stages "
                f"(allowed: 1..{len(self.stages) - 1})"
            )
        for k, st in enumerate(self.stages):
            if self.aero is None and (st.aero is None or st.aero.powered is None):
                raise ValueError(
                    f"stages[{k}] has no aero.powered and the vehicle has no aero; give the vehicle-wide aero "
                    f"(mach, axial_force_coefficient) or stages[{k}].aero"
                )
            if st.guided_cutoff and (up is None or k < up.from_stage):
                raise ValueError(f"stages[{k}].guided_cutoff needs guidance.upper_stage steering that covers stage {k}")
        return self

    @property
    def reference_area_m2(self) -> float:
        """Aerodynamic reference area, m^2 (the vehicle-wide aero value, else pi d^2 / 4)."""
        if self.aero is not None and self.aero.reference_area_m2 is not None:
            return self.aero.reference_area_m2
        return math.pi * self.diameter_m**2 / 4.0

    @property
    def liftoff_mass_kg(self) -> float:
        """Total mass at liftoff, kg."""
        m = self.payload_kg + (self.fairing.mass_kg if self.fairing else 0.0)
        return m + sum(s.dry_mass_kg + s.propellant_mass_kg for s in self.stages)


# --- Vehicle-side failures (tagged union by `kind`) ------------------------------------


class ThrustScaleFailure(BaseModel):
    """Thrust (and mass flow) multiplied by ``scale`` from ``from_t_s`` (Kairos F1: about 0.97 from 0)."""

    model_config = _CFG
    kind: Literal["thrust_scale"] = Field(..., description="Failure kind tag: 'thrust_scale'.")
    scale: float = Field(..., ge=0, le=2, description="Thrust multiplier (dimensionless), e.g. 0.97 for -3 %.")
    from_t_s: float = Field(0.0, ge=0, description="Onset, s since liftoff.")
    stage: int | None = Field(None, ge=0, description="Affected stage (0-based); None: every stage.")


class ThrustLossFailure(BaseModel):
    """Sudden loss of thrust at ``at_t_s``: no further staging, the vehicle flies ballistic."""

    model_config = _CFG
    kind: Literal["thrust_loss"] = Field(..., description="Failure kind tag: 'thrust_loss'.")
    at_t_s: float = Field(..., ge=0, description="Time of the loss, s since liftoff.")
    stage: int | None = Field(
        None, ge=0, description="Only if this stage (0-based) is burning then; None: whatever burns."
    )


class EarlyCutoffFailure(BaseModel):
    """Premature burnout of a stage at ``at_t_s``; separation and later stages follow as planned."""

    model_config = _CFG
    kind: Literal["early_cutoff"] = Field(..., description="Failure kind tag: 'early_cutoff'.")
    at_t_s: float = Field(..., ge=0, description="Cutoff time, s since liftoff.")
    stage: int | None = Field(
        None, ge=0, description="Only if this stage (0-based) is burning then; None: whatever burns."
    )


class TvcHardoverFailure(BaseModel):
    """Thrust-vector-control hard-over: a constant turn about one body axis from ``from_t_s``."""

    model_config = _CFG
    kind: Literal["tvc_hardover"] = Field(..., description="Failure kind tag: 'tvc_hardover'.")
    from_t_s: float = Field(..., ge=0, description="Onset, s since liftoff.")
    rate_deg_s: float = Field(..., description="Turn rate, deg/s (sign: right-hand rule about the axis).")
    axis: Literal["x", "y", "z"] = Field("y", description="Body axis: 'x' roll (thrust axis), 'y' pitch, 'z' yaw.")


class AttitudeLossFailure(BaseModel):
    """Loss of attitude control from ``from_t_s`` (Kairos F2: nozzle drive fault near T+80 s, spiral).

    ``tumble``: the body turns at the constant body rates ``rates_deg_s``.
    ``coning``: the thrust axis circles the guidance command on a cone of
    half-angle ``cone_half_angle_deg`` at ``cone_rate_deg_s`` (followed with
    the attitude lag).
    """

    model_config = _CFG
    kind: Literal["attitude_loss"] = Field(..., description="Failure kind tag: 'attitude_loss'.")
    from_t_s: float = Field(..., ge=0, description="Onset, s since liftoff.")
    mode: Literal["coning", "tumble"] = Field(..., description="'coning' or 'tumble'.")
    rates_deg_s: list[float] = Field(
        [0.0, 0.0, 0.0], min_length=3, max_length=3, description="Tumble body rates about x, y, z, deg/s."
    )
    cone_half_angle_deg: float = Field(0.0, ge=0, le=90, description="Coning half-angle, degrees.")
    cone_rate_deg_s: float = Field(0.0, description="Coning (precession) rate, deg/s.")

    @model_validator(mode="after")
    def _check(self) -> AttitudeLossFailure:
        if self.mode == "tumble" and not any(self.rates_deg_s):
            raise ValueError("tumble needs non-zero rates_deg_s [x, y, z] in deg/s")
        if self.mode == "coning" and (self.cone_half_angle_deg == 0 or self.cone_rate_deg_s == 0):
            raise ValueError("coning needs cone_half_angle_deg > 0 and a non-zero cone_rate_deg_s")
        return self


class IgnitionFailure(BaseModel):
    """The given stage never ignites; the vehicle flies ballistic from the previous separation."""

    model_config = _CFG
    kind: Literal["ignition_failure"] = Field(..., description="Failure kind tag: 'ignition_failure'.")
    stage: int = Field(..., ge=1, description="Stage (0-based, >= 1) that fails to ignite.")


class SeparationFailure(BaseModel):
    """The given stage does not separate: its dry mass and residual propellant stay attached."""

    model_config = _CFG
    kind: Literal["separation_failure"] = Field(..., description="Failure kind tag: 'separation_failure'.")
    stage: int = Field(..., ge=0, description="Stage (0-based) that fails to separate.")


VehicleFailureSpec = Annotated[
    ThrustScaleFailure
    | ThrustLossFailure
    | EarlyCutoffFailure
    | TvcHardoverFailure
    | AttitudeLossFailure
    | IgnitionFailure
    | SeparationFailure,
    Field(discriminator="kind"),
]
"""One vehicle failure; ``kind`` is one of thrust_scale, thrust_loss, early_cutoff,
tvc_hardover, attitude_loss, ignition_failure, separation_failure."""

FAILURE_KINDS = tuple(
    get_args(spec.model_fields["kind"].annotation)[0] for spec in get_args(get_args(VehicleFailureSpec)[0])
)
"""The failure kinds, read from the union above (one place to add a failure mode's schema)."""


# --- Loading -------------------------------------------------------------------------


def vehicle_path_problems(vehicle: VehicleSpec, base_dir: str | os.PathLike[str]) -> tuple[VehicleSpec, list[str]]:
    """(a copy with every relative ``eng_file`` made absolute against ``base_dir``, the problems found).

    Every motor file is read and checked with :func:`rangeguard.mission.motors.read_eng`
    (so ``rangeguard check`` reports a bad curve, not the simulator); each problem
    is one line starting with its field path, e.g. ``stages[0].eng_file: ...``.
    """
    base = Path(base_dir)
    stages, problems = [], []
    for k, st in enumerate(vehicle.stages):
        if st.eng_file is not None:
            p = Path(st.eng_file)
            if not p.is_absolute():
                p = (base / p).resolve()
            if not p.exists():
                problems.append(
                    f"stages[{k}].eng_file: motor file {p} not found; give a path relative to the vehicle file"
                )
            else:
                try:
                    read_eng(p)
                except InputError as exc:
                    problems.append(f"stages[{k}].eng_file: {exc}")
            st = st.model_copy(update={"eng_file": str(p)})
        stages.append(st)
    return vehicle.model_copy(update={"stages": stages}), problems


def resolve_vehicle_paths(vehicle: VehicleSpec, base_dir: str | os.PathLike[str]) -> VehicleSpec:
    """Return a copy with every relative ``eng_file`` made absolute against ``base_dir``.

    Raises InputError naming the stage if a motor file does not exist or is not a valid RASP file.
    """
    resolved, problems = vehicle_path_problems(vehicle, base_dir)
    if problems:
        raise InputError("; ".join(problems))
    return resolved


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: the vehicle definition is not valid:"]
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def vehicle_from_dict(
    data: dict[str, Any], base_dir: str | os.PathLike[str] = ".", source: str = "vehicle"
) -> VehicleSpec:
    """Validate a parsed vehicle mapping and resolve its motor paths against ``base_dir``."""
    try:
        vehicle = VehicleSpec.model_validate(data)
    except ValidationError as exc:
        raise InputError(_format_validation_error(exc, source)) from None
    return resolve_vehicle_paths(vehicle, base_dir)


def load_vehicle(path: str | os.PathLike[str]) -> VehicleSpec:
    """Read a vehicle YAML file (the strict safe loader, :mod:`rangeguard.mission.yaml_io`) into a :class:`VehicleSpec`.

    ``eng_file`` paths are resolved relative to the file's directory. Errors
    (missing file, bad YAML, invalid fields) raise InputError naming the field.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read vehicle file {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a text file (not UTF-8); give a vehicle YAML file") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{p}: {describe_yaml_error(exc)}") from None
    if not isinstance(data, dict):
        raise InputError(f"{p}: a vehicle file must be a mapping (name:, stages:, aero:, ...)")
    return vehicle_from_dict(data, p.parent, source=str(p))
