"""The ``dispersions`` section of a mission file: what differs from one Monte Carlo run to the next.

Each dispersed parameter has a distribution (:data:`Distribution`, tagged by
``dist``):

- ``normal``: mean and **3-sigma** (the way dispersion budgets are quoted);
- ``truncated_normal``: a normal (mean, 3-sigma) cut to ``[low, high]``
  (no draw outside, the density renormalised, not clipped);
- ``uniform``: flat on ``[low, high]``.

A ``mean`` left out means the parameter's nominal value: 1 for a scale
factor, 0 for an offset.

Parameters (the names correlations use): every field of
:class:`StageDispersionsSpec` per stage ``k`` (``stages[k].NAME``), every
distribution field of :class:`DispersionsSpec` (per vehicle), and
``sensor_noise_scale.S`` per nav source ``S``. These fields are the one list
of dispersions: :data:`STAGE_PARAMETERS` and :data:`VEHICLE_PARAMETERS` are
read from them, and the simulator's per-vehicle parameters
(:class:`rangeguard.sim.params.PerVehicleParams`) and the Monte Carlo sampler
take their names from there. ``failure_time_s`` is an offset added to the
onset of each timed vehicle failure of a scenario (``from_t_s`` / ``at_t_s`` >
0; a failure from liftoff stays at liftoff); ``sensor_noise_scale`` multiplies
every noise sigma of a source. Neither is a vehicle parameter.

Correlations (``correlations``) couple two parameters through a Gaussian
copula: their underlying standard normals have correlation ``rho``, whatever
the marginal distributions (Nelsen, An Introduction to Copulas, 2nd ed.,
sec. 2.9; the usual NORTA construction of Cario & Nelson 1997). The Monte
Carlo runner (:mod:`rangeguard.montecarlo.sampling`) draws them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from rangeguard.mission.config import MODEL_CONFIG, TUPLE_FROM_LIST
from rangeguard.mission.vehicle import WindSpec


class _Strict(BaseModel):
    model_config = MODEL_CONFIG  # see docs: "Numbers"


class NormalDist(_Strict):
    """Normal distribution given by its mean and 3-sigma half-width."""

    dist: Literal["normal"] = Field(..., description="Distribution tag: 'normal'.")
    mean: float | None = Field(
        None, description="Mean, in the parameter's unit (null: the nominal, 1 for a scale, 0 for an offset)."
    )
    three_sigma: float = Field(..., ge=0, description="Three standard deviations, in the parameter's unit.")


class TruncatedNormalDist(_Strict):
    """Normal (mean, 3-sigma) truncated to [low, high]: draws never fall outside."""

    dist: Literal["truncated_normal"] = Field(..., description="Distribution tag: 'truncated_normal'.")
    mean: float | None = Field(None, description="Mean of the untruncated normal (null: the nominal).")
    three_sigma: float = Field(..., gt=0, description="Three standard deviations of the untruncated normal.")
    low: float = Field(..., description="Smallest value drawn.")
    high: float = Field(..., description="Largest value drawn.")

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class UniformDist(_Strict):
    """Uniform distribution on [low, high]."""

    dist: Literal["uniform"] = Field(..., description="Distribution tag: 'uniform'.")
    low: float = Field(..., description="Lower end.")
    high: float = Field(..., description="Upper end.")

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


Distribution = Annotated[NormalDist | TruncatedNormalDist | UniformDist, Field(discriminator="dist")]
"""One parameter's distribution, tagged by ``dist``."""

DIST_KINDS = ("normal", "truncated_normal", "uniform")


class StageDispersionsSpec(_Strict):
    """Dispersions of one stage's propulsion and mass (scale factors, nominal 1)."""

    thrust_scale: Distribution | None = Field(
        None, description="Thrust (and mass flow) multiplier at the nominal burn rate."
    )
    burn_rate_scale: Distribution | None = Field(
        None,
        description="Burn-rate multiplier: thrust x s, burn time / s, same total impulse (solid grain temperature).",
    )
    isp_scale: Distribution | None = Field(None, description="Vacuum specific impulse multiplier.")
    dry_mass_scale: Distribution | None = Field(None, description="Dry (inert) mass multiplier.")
    propellant_mass_scale: Distribution | None = Field(None, description="Loaded propellant mass multiplier.")


class CorrelationSpec(_Strict):
    """Correlation of two dispersed parameters (Gaussian copula)."""

    between: tuple[str, str] = Field(
        ...,
        strict=TUPLE_FROM_LIST,
        description="The two parameter names, e.g. ['stages[0].burn_rate_scale', 'stages[1].burn_rate_scale'].",
    )
    rho: float = Field(
        ..., gt=-1, lt=1, description="Correlation of their underlying standard normals (-1..1, exclusive)."
    )
    description: str = Field("", description="The physics behind it.")

    @model_validator(mode="after")
    def _two(self) -> Self:
        if self.between[0] == self.between[1]:
            raise ValueError("a correlation needs two different parameters")
        return self


class DispersionsSpec(_Strict):
    """Per-run dispersions for Monte Carlo validation (``rangeguard validate``).

    Example::

        dispersions:
          stages: {thrust_scale: {dist: normal, three_sigma: 0.03}}
          cd_scale: {dist: normal, three_sigma: 0.15}
          failure_time_s: {dist: uniform, low: -2.0, high: 2.0}
          correlations:
            - {between: [stages[0].burn_rate_scale, stages[1].burn_rate_scale], rho: 0.7}
    """

    description: str = Field("", description="Where the figures come from.")
    stages: StageDispersionsSpec | list[StageDispersionsSpec] = Field(
        default_factory=StageDispersionsSpec,
        description="One entry for every stage (each stage drawn independently), or a list with one entry per stage.",
    )
    cd_scale: Distribution | None = Field(None, description="Axial-force coefficient multiplier.")
    wind_profile: WindSpec | None = Field(
        None,
        description="Reference wind profile that wind_scale and wind_rotation_deg act on (null: the vehicle's own).",
    )
    wind_scale: Distribution | None = Field(None, description="Wind-profile speed multiplier (>= 0).")
    wind_rotation_deg: Distribution | None = Field(
        None, description="Rotation of the wind profile, degrees clockwise seen from above."
    )
    attitude_bias_pitch_deg: Distribution | None = Field(
        None, description="Attitude-programme bias about body y, degrees."
    )
    attitude_bias_yaw_deg: Distribution | None = Field(
        None, description="Attitude-programme bias about body z, degrees."
    )
    thrust_misalignment_pitch_deg: Distribution | None = Field(
        None, description="Thrust-line misalignment about body y, degrees."
    )
    thrust_misalignment_yaw_deg: Distribution | None = Field(
        None, description="Thrust-line misalignment about body z, degrees."
    )
    sensor_noise_scale: Distribution | None = Field(
        None, description="Multiplier on every noise sigma of a nav source, drawn per source and run."
    )
    failure_time_s: Distribution | None = Field(
        None,
        description="Offset added to the onset of each timed scenario failure, s (a failure from liftoff stays there).",
    )
    correlations: list[CorrelationSpec] = Field(default_factory=list, description="Correlated parameter pairs.")

    def stage(self, k: int) -> StageDispersionsSpec:
        """The dispersions of stage ``k`` (0-based)."""
        if isinstance(self.stages, list):
            return self.stages[k] if k < len(self.stages) else StageDispersionsSpec()
        return self.stages


STAGE_PARAMETERS: tuple[str, ...] = tuple(StageDispersionsSpec.model_fields)
"""The dispersed parameters of every stage, in the order the sampler draws them."""

NOT_VEHICLE_PARAMETERS = ("sensor_noise_scale", "failure_time_s")
"""Distribution fields that act on the nav sources and on the scenarios' failures, not on the vehicle."""

VEHICLE_PARAMETERS: tuple[str, ...] = tuple(
    name
    for name, field in DispersionsSpec.model_fields.items()
    if field.annotation == (Distribution | None) and name not in NOT_VEHICLE_PARAMETERS
)
"""The dispersed parameters of the vehicle as a whole, in the order the sampler draws them."""


def nominal(name: str) -> float:
    """A parameter's nominal value: 1 for a scale factor (``..._scale``, ``sensor_noise_scale.SOURCE``),
    0 for an offset."""
    return 1.0 if name.endswith("_scale") or name.startswith("sensor_noise_scale.") else 0.0


def dist_mean(d: Distribution, nominal: float) -> float:
    """Mean of the (untruncated) distribution: ``d.mean`` or the parameter's nominal value."""
    if isinstance(d, UniformDist):
        return 0.5 * (d.low + d.high)
    return nominal if d.mean is None else float(d.mean)


def dist_sigma(d: Distribution) -> float:
    """Standard deviation of the untruncated normal (3-sigma / 3), or of the uniform ((high-low)/sqrt 12)."""
    if isinstance(d, UniformDist):
        return (d.high - d.low) / math.sqrt(12.0)
    return d.three_sigma / 3.0
