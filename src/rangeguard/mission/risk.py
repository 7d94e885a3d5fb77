"""The risk sections of a mission file: debris, failure model, population and risk criteria.

These are the inputs of the debris and casualty risk analysis (``rangeguard.risk``; 14 CFR 450.101,
450.108, 450.133 and 450.135). Every section is optional: a mission without them flies, replays and
validates as before, and the risk analysis says which section it needs.

- ``debris``: a fragment catalog per stage. Break-up while stage ``k`` flies (from liftoff or its
  ignition until the next separation) makes the fragment groups of the catalog of stage ``k``.
- ``jettisoned``: planned drops (spent stages, fairings), which fall with probability one.
- ``failure``: the probability that the flight fails, how it is spread over flight time, and how
  a failed vehicle ends (terminated by the AFSS, broken up by the air, or falling intact).
- ``population``: where people are (the embedded default, a raster, or a list of centres).
- ``risk_criteria``: the limits the analysis judges against, the regulation's by default.
"""

from __future__ import annotations

import itertools
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from rangeguard.mission.config import MODEL_CONFIG

CRITERION_EC = 1e-4
"""Collective risk: expected casualties of the flight (14 CFR 450.101(a)(1)(i), members of the public)."""
CRITERION_PC = 1e-6
"""Individual risk: probability of casualty of any one member of the public (14 CFR 450.101(a)(2)(i))."""
CRITERION_CEC = 1e-2
"""Conditional expected casualties of a reasonably foreseeable failure response in any one-second period
above which flight abort is required (14 CFR 450.108; check the section's current text)."""
CRITERION_SHIP_HIT = 1e-5
"""Probability of impact of debris capable of causing a casualty on or near a vessel that bounds a ship
hazard area (14 CFR 450.133(b)(2))."""
CRITERION_AIRCRAFT_HIT = 1e-6
"""Probability of impact with debris capable of causing a casualty for aircraft that bounds an aircraft
hazard area (14 CFR 450.101(a)(3))."""
SHIP_CONTAINMENT = 0.97
"""A planned drop's ship hazard area contains its debris with this probability (14 CFR 450.133(b)(1))."""


_SUM_TOLERANCE = 1e-9
"""Shares and probabilities given with a few decimals sum to 1 up to float rounding."""


class _Strict(BaseModel):
    model_config = MODEL_CONFIG  # see docs: "Numbers"


class BallisticTableSpec(_Strict):
    """A ballistic coefficient against Mach number, linearly interpolated (held at the ends)."""

    mach: list[float] = Field(..., min_length=2, description="Mach numbers, increasing.")
    ballistic_coeff_kg_m2: list[float] = Field(
        ..., min_length=2, description="Ballistic coefficient m / (C_D A) at each Mach number, kg/m^2 (> 0)."
    )

    @model_validator(mode="after")
    def _table(self) -> Self:
        if len(self.mach) != len(self.ballistic_coeff_kg_m2):
            raise ValueError(
                f"mach has {len(self.mach)} values but ballistic_coeff_kg_m2 has {len(self.ballistic_coeff_kg_m2)}; "
                "give one per Mach number"
            )
        if any(b <= a for a, b in itertools.pairwise(self.mach)):
            raise ValueError("mach must increase")
        if min(self.mach) < 0:
            raise ValueError("mach must be >= 0")
        if min(self.ballistic_coeff_kg_m2) <= 0:
            raise ValueError("ballistic_coeff_kg_m2 values must be > 0")
        return self


class FragmentGroupSpec(_Strict):
    """Fragments alike enough to fly and hit alike: a count of pieces of one size and ballistic coefficient."""

    name: str = Field(..., min_length=1, description="Group name (e.g. 'motor case segments').")
    count: int = Field(..., ge=1, description="Number of fragments in the group.")
    mass_kg: float = Field(..., gt=0, description="Mass of one fragment, kg.")
    area_m2: float = Field(..., gt=0, description="Mean projected area of one fragment (tumbling), m^2.")
    ballistic_coeff_kg_m2: float | None = Field(
        None, gt=0, description="Ballistic coefficient m / (C_D A), kg/m^2 (give this or ballistic_table)."
    )
    ballistic_table: BallisticTableSpec | None = Field(
        None, description="Ballistic coefficient against Mach (instead of ballistic_coeff_kg_m2)."
    )
    ballistic_sigma: float = Field(
        0.0, ge=0, lt=1, description="1-sigma relative spread of the ballistic coefficient (0.2 = 20 %)."
    )
    explosion_velocity_mps: float = Field(
        0.0, ge=0, description="Largest velocity the break-up imparts, m/s (isotropic, uniform in 0..this)."
    )
    explosive: bool = Field(False, description="The piece carries propellant or explosive and may explode on impact.")
    casualty_area_m2: float | None = Field(
        None,
        gt=0,
        description="Casualty area of one fragment, m^2 (null: computed from area_m2 and a standing person).",
    )

    @model_validator(mode="after")
    def _one_ballistic(self) -> Self:
        if (self.ballistic_coeff_kg_m2 is None) == (self.ballistic_table is None):
            raise ValueError("give exactly one of ballistic_coeff_kg_m2 (constant) or ballistic_table (against Mach)")
        return self


class DebrisCatalogSpec(_Strict):
    """The fragments of a break-up while one stage flies."""

    stage: int = Field(..., ge=0, description="The stage flying at break-up (0 = first), until it separates.")
    description: str = Field("", description="Where the figures come from.")
    groups: list[FragmentGroupSpec] = Field(..., min_length=1, description="The fragment groups.")


class JettisonedBodySpec(_Strict):
    """A planned drop: a spent stage or a fairing that falls after it is released (probability one)."""

    name: str = Field(..., min_length=1, description="What falls (e.g. 'stage 1 (spent)').")
    release: Literal["stage_separation", "fairing_jettison"] = Field(
        ..., description="The flight event that releases it: a stage's separation, or the fairing's jettison."
    )
    stage: int | None = Field(
        None, ge=0, description="For release stage_separation: the stage that separates (0 = first)."
    )
    count: int = Field(1, ge=1, description="Number of such pieces (e.g. 2 fairing halves).")
    mass_kg: float = Field(..., gt=0, description="Mass of one piece, kg.")
    area_m2: float = Field(..., gt=0, description="Mean projected area of one piece (tumbling), m^2.")
    ballistic_coeff_kg_m2: float = Field(..., gt=0, description="Ballistic coefficient m / (C_D A), kg/m^2.")
    ballistic_sigma: float = Field(
        0.2, ge=0, lt=1, description="1-sigma relative spread of the ballistic coefficient (0.2 = 20 %)."
    )
    separation_velocity_mps: float = Field(
        0.0, ge=0, description="Largest velocity the release imparts, m/s (isotropic, uniform in 0..this)."
    )
    casualty_area_m2: float | None = Field(
        None,
        gt=0,
        description="Casualty area of one piece, m^2 (null: computed from area_m2 and a standing person).",
    )

    @model_validator(mode="after")
    def _release(self) -> Self:
        if (self.release == "stage_separation") != (self.stage is not None):
            raise ValueError("give `stage` exactly when release is 'stage_separation'")
        return self


class FailureTableSpec(_Strict):
    """How the failure probability is spread over flight time: a density against time, normalised."""

    t_s: list[float] = Field(..., min_length=2, description="Flight times (T+ s), increasing.")
    weight: list[float] = Field(
        ..., min_length=2, description="Relative failure rate at each time (>= 0; normalised over the table)."
    )

    @model_validator(mode="after")
    def _table(self) -> Self:
        if len(self.t_s) != len(self.weight):
            raise ValueError(f"t_s has {len(self.t_s)} values but weight has {len(self.weight)}; give one per time")
        if any(b <= a for a, b in itertools.pairwise(self.t_s)):
            raise ValueError("t_s must increase")
        if min(self.weight) < 0 or max(self.weight) <= 0:
            raise ValueError("weight values must be >= 0, and not all 0")
        return self


class FailureResponseSpec(_Strict):
    """How a failed vehicle ends, and how likely that is."""

    mode: Literal["afss_termination", "destruct", "thrust_termination", "breakup", "intact_impact"] = Field(
        ...,
        description=(
            "afss_termination: the AFSS terminates it (fragments of the stage's catalog; the AFSS's response as "
            "always modelled: a destruct); destruct: the AFSS's destruct command (the same fragments); "
            "thrust_termination: the AFSS cuts thrust and the vehicle falls intact (as intact_impact); breakup: the "
            "air breaks it up (the same fragments from the same states: no malfunction turn yet); intact_impact: it "
            "falls in one piece."
        ),
    )
    probability: float = Field(..., ge=0, le=1, description="Probability of this response given a failure.")


class FailureSpec(_Strict):
    """The vehicle's probability of failure and how a failure unfolds."""

    probability: float = Field(
        ..., gt=0, le=1, description="Probability that the flight fails (e.g. 0.3 for a new vehicle's first flight)."
    )
    description: str = Field("", description="Where the figure comes from.")
    spread: Literal["uniform_per_stage", "table"] = Field(
        "uniform_per_stage",
        description=(
            "uniform_per_stage: each stage's share spread evenly over its burn (ignition to burnout); table: `table`."
        ),
    )
    stage_share: list[float] | None = Field(
        None, description="Share of the failure probability per stage (sums to 1; null: in proportion to burn time)."
    )
    table: FailureTableSpec | None = Field(None, description="Failure rate against flight time (spread: table).")
    responses: list[FailureResponseSpec] = Field(
        default_factory=lambda: [FailureResponseSpec(mode="afss_termination", probability=1.0)],
        min_length=1,
        description="How a failure ends; the probabilities sum to 1.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.spread == "table") != (self.table is not None):
            raise ValueError("give `table` exactly when spread is 'table'")
        if self.stage_share is not None:
            if min(self.stage_share) < 0 or abs(sum(self.stage_share) - 1.0) > _SUM_TOLERANCE:
                raise ValueError(f"stage_share must be >= 0 and sum to 1; it sums to {sum(self.stage_share):g}")
        total = sum(r.probability for r in self.responses)
        if abs(total - 1.0) > _SUM_TOLERANCE:
            raise ValueError(f"the responses' probabilities must sum to 1; they sum to {total:g}")
        if len({r.mode for r in self.responses}) != len(self.responses):
            raise ValueError("each response mode may be listed once")
        return self


class PopulationCentreSpec(_Strict):
    """A town or a site, its people spread evenly over a disc."""

    name: str = Field("", description="What it is.")
    lat_deg: float = Field(..., ge=-90, le=90, description="Centre latitude, degrees.")
    lon_deg: float = Field(..., ge=-180, le=360, description="Centre longitude, degrees.")
    people: float = Field(..., ge=0, description="Number of people.")
    radius_m: float = Field(..., gt=0, description="Radius of the disc they live on, m.")


class PopulationSpec(_Strict):
    """Where people are: the embedded default, a raster of people per cell, or a list of centres."""

    source: Literal["default", "raster", "centres"] = Field(
        "default",
        description=(
            "default: the embedded world population (coarse; see docs); raster: a GeoTIFF of people per cell "
            "(GPWv4, WorldPop, LandScan; EPSG:4326); centres: the list in `centres`."
        ),
    )
    raster: str | None = Field(None, description="Path of the GeoTIFF (relative to the mission file).")
    centres: list[PopulationCentreSpec] | None = Field(None, description="Population centres (source: centres).")
    sheltered_fraction: float = Field(
        0.0, ge=0, le=1, description="Share of people protected from inert debris by buildings (0: all in the open)."
    )

    @model_validator(mode="after")
    def _source(self) -> Self:
        if (self.source == "raster") != (self.raster is not None):
            raise ValueError("give `raster` exactly when source is 'raster'")
        if (self.source == "centres") != (self.centres is not None):
            raise ValueError("give `centres` exactly when source is 'centres'")
        return self


class RiskCriteriaSpec(_Strict):
    """The limits the risk analysis judges against (defaults: 14 CFR Part 450)."""

    collective_ec: float = Field(
        CRITERION_EC, gt=0, le=1, description="Largest expected casualties of the flight (450.101(a)(1)(i))."
    )
    individual_pc: float = Field(
        CRITERION_PC, gt=0, le=1, description="Largest probability of casualty of any one person (450.101(a)(2)(i))."
    )
    conditional_ec_abort: float = Field(
        CRITERION_CEC,
        gt=0,
        description="Conditional expected casualties in any one-second period above which flight abort is required "
        "(450.108).",
    )
    ship_hit_probability: float = Field(
        CRITERION_SHIP_HIT, gt=0, le=1, description="Probability of impact bounding ship hazard areas (450.133(b))."
    )
    ship_containment: float = Field(
        SHIP_CONTAINMENT, gt=0, lt=1, description="Containment of a planned drop's ship hazard area (450.133(b)(1))."
    )
    aircraft_hit_probability: float = Field(
        CRITERION_AIRCRAFT_HIT,
        gt=0,
        le=1,
        description="Probability of impact bounding aircraft hazard areas (450.101(a)(3)).",
    )
