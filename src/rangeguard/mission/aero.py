"""Per-stage aerodynamics of a vehicle: body-axes CA/CN tables or a ballistic coefficient, per flight phase.

A stage's ``aero`` (:class:`StageAeroSpec`) says how the air acts on the stack whose bottom stage it is:
``powered`` while that stage burns, ``coasting`` otherwise (waiting for separation, the coast before the
next ignition, and the ballistic flight after the last burn). A stage without ``aero`` keeps the
vehicle-wide :class:`rangeguard.mission.vehicle.AeroSpec` (an axial coefficient applied along the
relative wind: today's model, unchanged).

Two models (the ``model`` tag):

- ``body_axes``: axial force ``-CA q S`` along the body's -x axis, and normal force ``CN q S``
  perpendicular to it, in the plane of the body axis and the air-relative velocity, on the side that
  turns the velocity toward the nose (the lift of a body at angle of attack). ``CA`` is a table
  against Mach; ``CN`` a table against Mach and the total angle of attack ``alpha`` (the angle
  between the body axis and the air-relative velocity, 0..180 deg). ``q`` is the dynamic pressure of
  the air-relative velocity, ``S`` the reference area.
- ``ballistic``: a drag deceleration ``q / beta`` against the air-relative velocity, with the
  ballistic coefficient ``beta = m / (C_D S)`` (kg/m^2) constant or a table against Mach. The
  attitude plays no part.

Tables are linear between points and held constant outside them (bilinear for CN). The dispersions'
``cd_scale`` multiplies every aerodynamic force (CA, CN, and 1/beta).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from rangeguard.mission.config import MODEL_CONFIG, strictly_increasing

_CFG = MODEL_CONFIG

ALPHA_MAX_DEG = 180.0
"""The total angle of attack lies in 0..180 degrees."""


class NormalForceSpec(BaseModel):
    """Normal-force coefficient CN against Mach (rows) and total angle of attack (columns), bilinear."""

    model_config = _CFG

    mach: list[float] = Field(
        ..., min_length=1, description="Mach numbers of the table's rows (dimensionless), strictly increasing."
    )
    alpha_deg: list[float] = Field(
        ...,
        min_length=2,
        description="Total angles of attack of the table's columns, degrees, strictly increasing from 0 to at most "
        "180.",
    )
    normal_force_coefficient: list[list[float]] = Field(
        ...,
        min_length=1,
        description="CN (dimensionless, >= 0): one row per Mach, one value per angle of attack; CN at alpha 0 "
        "must be 0.",
    )

    @model_validator(mode="after")
    def _check(self) -> NormalForceSpec:
        strictly_increasing(self.mach, "normal_force.mach")
        strictly_increasing(self.alpha_deg, "normal_force.alpha_deg")
        if self.alpha_deg[0] != 0.0 or self.alpha_deg[-1] > ALPHA_MAX_DEG:
            raise ValueError(
                f"normal_force.alpha_deg must start at 0 and end at most at {ALPHA_MAX_DEG:g}; "
                f"got {self.alpha_deg[0]:g} .. {self.alpha_deg[-1]:g}"
            )
        rows = self.normal_force_coefficient
        if len(rows) != len(self.mach):
            raise ValueError(
                f"normal_force_coefficient has {len(rows)} rows but mach has {len(self.mach)}; give one row per Mach"
            )
        for j, row in enumerate(rows):
            if len(row) != len(self.alpha_deg):
                raise ValueError(
                    f"normal_force_coefficient[{j}] has {len(row)} values but alpha_deg has {len(self.alpha_deg)}; "
                    f"give one value per angle of attack"
                )
            if min(row) < 0.0:
                raise ValueError(f"normal_force_coefficient[{j}] must be >= 0 (CN of a positive angle of attack)")
            if row[0] != 0.0:
                raise ValueError(
                    f"normal_force_coefficient[{j}][0] must be 0 (no normal force at zero angle of attack)"
                )
        return self


class BodyAxesAeroSpec(BaseModel):
    """Axial (CA, against Mach) and normal (CN, against Mach and angle of attack) forces in body axes."""

    model_config = _CFG

    model: Literal["body_axes"] = Field(..., description="Model tag: 'body_axes'.")
    reference_area_m2: float | None = Field(
        None, gt=0, description="Reference area of CA and CN, m^2; default: the body cross-section pi d^2 / 4."
    )
    mach: list[float] = Field(
        ..., min_length=1, description="Mach numbers of the CA table (dimensionless), strictly increasing."
    )
    axial_force_coefficient: list[float] = Field(
        ..., min_length=1, description="CA at each Mach (dimensionless, >= 0)."
    )
    normal_force: NormalForceSpec | None = Field(None, description="CN table; None: no normal force.")

    @model_validator(mode="after")
    def _check(self) -> BodyAxesAeroSpec:
        if len(self.mach) != len(self.axial_force_coefficient):
            raise ValueError("mach and axial_force_coefficient must have the same length")
        strictly_increasing(self.mach, "mach")
        if min(self.axial_force_coefficient) < 0:
            raise ValueError("axial_force_coefficient must be >= 0")
        return self


class BallisticAeroSpec(BaseModel):
    """Drag of a ballistic body: deceleration q / beta against the air-relative velocity."""

    model_config = _CFG

    model: Literal["ballistic"] = Field(..., description="Model tag: 'ballistic'.")
    mach: list[float] = Field(
        [0.0],
        min_length=1,
        description="Mach numbers of the table (dimensionless), strictly increasing; one entry: a constant.",
    )
    ballistic_coefficient_kg_m2: list[float] = Field(
        ..., min_length=1, description="Ballistic coefficient m / (C_D S) at each Mach, kg/m^2 (> 0)."
    )

    @model_validator(mode="after")
    def _check(self) -> BallisticAeroSpec:
        if len(self.mach) != len(self.ballistic_coefficient_kg_m2):
            raise ValueError("mach and ballistic_coefficient_kg_m2 must have the same length")
        strictly_increasing(self.mach, "mach")
        if min(self.ballistic_coefficient_kg_m2) <= 0:
            raise ValueError("ballistic_coefficient_kg_m2 must be > 0")
        return self


PhaseAeroSpec = Annotated[BodyAxesAeroSpec | BallisticAeroSpec, Field(discriminator="model")]


class StageAeroSpec(BaseModel):
    """The aerodynamics of the stack whose bottom stage this is, while it burns and while it coasts."""

    model_config = _CFG

    powered: PhaseAeroSpec | None = Field(
        None, description="While this stage burns; None: the vehicle-wide aero (axial along the relative wind)."
    )
    coasting: PhaseAeroSpec | None = Field(
        None,
        description="While this stage is the bottom of the stack and does not burn (before separation, before "
        "the next ignition, ballistic flight); None: the same as powered.",
    )
