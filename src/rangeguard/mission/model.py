"""The mission file model: every section, validated with pydantic.

Structure (see docs/mission-format.md for an annotated example)::

    name, description, seed, cycle_hz
    site          launch site and nominal azimuth            (SiteSpec)
    vehicle       simulator model, inline or a file path     (VehicleSpec, sim issue)
    nav_sources   redundant navigation sources
    strings       AFTS strings, each reading one nav source
    areas         protected areas and corridors (lat/lon lists or GeoJSON)
    events        named events: scheduled (t_s) or detected from nav data
    phases        named flight phases between events / times
    rules         the termination rules (rule_types.RuleSpec, one class per rule type)
    arming        liftoff detection
    nav_gate      which nav samples the engine accepts (time, jumps)
    termination   persistence default and the voting policy
    safing        when the AFSS safes itself for good
    requirements  validation targets (false-termination probability)
    debris, jettisoned, failure, population, risk_criteria   the risk analysis's inputs (rangeguard.mission.risk)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from rangeguard.mission.config import MODEL_CONFIG
from rangeguard.mission.dispersions import DispersionsSpec
from rangeguard.mission.feasibility import (
    MAX_LIFTOFF_HEIGHT_M,
    MAX_LIFTOFF_SPEED_MPS,
    MAX_NOT_BEFORE_T_S,
)
from rangeguard.mission.risk import (
    DebrisCatalogSpec,
    FailureSpec,
    JettisonedBodySpec,
    PopulationSpec,
    RiskCriteriaSpec,
)
from rangeguard.mission.rule_types import RuleSpec
from rangeguard.mission.sensors import NavFaultSpec, SensorsSpec
from rangeguard.mission.site import SiteSpec
from rangeguard.mission.vehicle import VehicleFailureSpec, VehicleSpec


class _Strict(BaseModel):
    model_config = MODEL_CONFIG  # see docs: "Numbers"


class NavSourceSpec(_Strict):
    """A navigation source (e.g. one GPS/INS unit)."""

    name: str = Field(..., min_length=1, description="Unique source name.")
    description: str = Field("", description="What the source is.")


class StringSpec(_Strict):
    """One AFTS string (a redundant flight-safety processor) and the nav source it reads."""

    name: str = Field(..., min_length=1, description="Unique string name.")
    nav_source: str = Field(..., description="Name of the nav source this string reads.")


class AreaSpec(_Strict):
    """A protected area (exclusion) or corridor (inclusion) on the ground.

    Give the outline either inline (``lat_deg`` and ``lon_deg`` lists) or as a
    GeoJSON file (RFC 7946: [lon, lat] order; Polygon or a Feature holding one;
    ``feature`` picks one Feature by its ``name`` property from a collection).
    Edges are great-circle arcs between consecutive vertices.
    """

    name: str = Field(..., min_length=1, description="Unique area name.")
    kind: Literal["protected", "corridor"] = Field(
        ..., description="protected: keep the IIP out; corridor: keep it in."
    )
    description: str = Field("", description="What the area is.")
    lat_deg: list[float] | None = Field(None, description="Vertex latitudes, degrees.")
    lon_deg: list[float] | None = Field(None, description="Vertex longitudes, degrees.")
    geojson: str | None = Field(None, description="GeoJSON file, relative to the mission file.")
    feature: str | None = Field(None, description="Feature `name` property to pick from a FeatureCollection.")
    margin_m: float = Field(
        0.0,
        ge=0,
        description=(
            "Safety margin already built into the outline, m (e.g. land grown by 10 km). Validation counts a "
            "true IIP deeper than this inside a protected area as having reached what it protects."
        ),
    )

    @model_validator(mode="after")
    def _one_outline(self) -> Self:
        inline = self.lat_deg is not None or self.lon_deg is not None
        if inline == (self.geojson is not None):
            raise ValueError("give the outline either as lat_deg + lon_deg lists or as a geojson file, not both")
        if inline:
            if self.lat_deg is None or self.lon_deg is None:
                raise ValueError("give both lat_deg and lon_deg")
            if len(self.lat_deg) != len(self.lon_deg):
                raise ValueError(
                    f"lat_deg has {len(self.lat_deg)} values, lon_deg {len(self.lon_deg)}; they must match"
                )
        return self


class NavCondition(_Strict):
    """An event detected from nav data: ``quantity`` crosses ``above`` or ``below``."""

    quantity: Literal["altitude_m", "speed_mps", "downrange_m", "iip_range_m"] = Field(
        ..., description="Quantity watched (same definitions as envelope rules)."
    )
    above: float | None = Field(None, description="The event occurs when the quantity first exceeds this.")
    below: float | None = Field(None, description="The event occurs when the quantity first falls below this.")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above, below")
        return self


class EventSpec(_Strict):
    """A named flight event: scheduled at ``t_s`` or detected by ``when``.

    ``liftoff`` (arming) is built in and needs no entry.
    """

    name: str = Field(..., min_length=1, description="Unique event name (not 'liftoff').")
    t_s: float | None = Field(None, description="Scheduled flight time (T+ s).")
    when: NavCondition | None = Field(None, description="Detected from nav data.")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.t_s is None) == (self.when is None):
            raise ValueError("give exactly one of t_s (scheduled) or when (detected)")
        if self.name == "liftoff":
            raise ValueError("'liftoff' is built in (detected by `arming`); choose another name")
        return self


class PhaseSpec(_Strict):
    """A named phase: from an event (or time) until an event (or time)."""

    name: str = Field(..., min_length=1, description="Unique phase name.")
    start_event: str = Field("liftoff", description="Event that starts the phase.")
    end_event: str | None = Field(None, description="Event that ends it (none = to the end of flight).")
    from_t_s: float = Field(-math.inf, description="Also not before this flight time (T+ s).")
    to_t_s: float = Field(math.inf, description="Also not after this flight time (T+ s).")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to_t_s <= self.from_t_s:
            raise ValueError("to_t_s must be greater than from_t_s, or the phase is never open")
        return self


class ArmingSpec(_Strict):
    """Liftoff detection. The AFSS is SAFE (cannot terminate) until armed.

    The thresholds are bounded so that every flight arms in its first seconds
    (see :mod:`rangeguard.mission.feasibility` for the figures).
    """

    liftoff_height_m: float = Field(
        5.0,
        gt=0,
        json_schema_extra={"maximum": MAX_LIFTOFF_HEIGHT_M},
        description="Arm when height above the pad exceeds this, m.",
    )
    liftoff_speed_mps: float = Field(
        3.0,
        gt=0,
        json_schema_extra={"maximum": MAX_LIFTOFF_SPEED_MPS},
        description="...or when Earth-relative speed exceeds this, m/s.",
    )
    not_before_t_s: float = Field(
        -10.0,
        json_schema_extra={"maximum": MAX_NOT_BEFORE_T_S},
        description="Ignore liftoff cues before this flight time (T+ s).",
    )

    @field_validator("liftoff_height_m")
    @classmethod
    def _height_reached(cls, v: float) -> float:
        if v > MAX_LIFTOFF_HEIGHT_M:
            raise ValueError(
                f"{v:g} m is more than a slow launcher climbs in its first half-minute (and a vehicle failing "
                f"off the pad may never climb): the AFSS would stay SAFE, unable to terminate, near the pad. "
                f"Use at most {MAX_LIFTOFF_HEIGHT_M:g} m (typical: 5 m, above nav noise and the tower)"
            )
        return v

    @field_validator("liftoff_speed_mps")
    @classmethod
    def _speed_reached(cls, v: float) -> float:
        if v > MAX_LIFTOFF_SPEED_MPS:
            raise ValueError(
                f"{v:g} m/s is more than a slow launcher reaches in its first 50 s (and a vehicle failing off "
                f"the pad may never reach it): the AFSS would stay SAFE, unable to terminate, near the pad. "
                f"Use at most {MAX_LIFTOFF_SPEED_MPS:g} m/s (typical: 3 m/s)"
            )
        return v

    @field_validator("not_before_t_s")
    @classmethod
    def _arms_on_time(cls, v: float) -> float:
        if v > MAX_NOT_BEFORE_T_S:
            raise ValueError(
                f"T{v:+g} s is after the planned liftoff: a liftoff on time would not arm the AFSS until then, "
                f"leaving the start of the flight unprotected. Use {MAX_NOT_BEFORE_T_S:g} or earlier (typical: -5)"
            )
        return v


class NavGateSpec(_Strict):
    """What the engine accepts as a navigation sample (the nav gate; see docs/mission-format.md).

    Besides the source's own validity flag, finite values and a physically
    possible position and speed, a sample is rejected (counted by reason,
    never used, and it moves no clock) when its time of validity is
    inconsistent with the receive clock or with its source's history, or
    when its position or velocity jumped further than any vehicle can move
    since the source's last accepted sample. A source whose samples keep
    failing the gate is silent to the rules: the data-loss rule judges it.
    """

    max_time_ahead_s: float = Field(
        0.5,
        gt=0,
        description=(
            "Largest lead of a sample's time of validity over the receive clock, s (clock offset and jitter). "
            "A time tag further ahead is a glitch (far future); with max_age_s it bounds how far a source's time "
            "may jump relative to the receive clock."
        ),
    )
    max_age_s: float = Field(
        1.0,
        gt=0,
        description=(
            "Largest age of a sample when it is received, s (receive time minus time of validity: the source's "
            "latency plus link delay). An older sample is stale (far past). Must exceed every sensor's latency_s."
        ),
    )
    max_accel_mps2: float = Field(
        300.0,
        gt=0,
        description=(
            "Largest Earth-relative acceleration any flight can show between two samples, m/s^2 (thrust, drag, "
            "gravity and the frame's apparent forces together; about 30 g by default)."
        ),
    )
    position_tolerance_m: float = Field(
        1000.0,
        gt=0,
        description="Position jump allowed on top of the acceleration bound, m (nav noise and re-convergence).",
    )
    velocity_tolerance_mps: float = Field(
        100.0,
        gt=0,
        description="Velocity jump allowed on top of the acceleration bound, m/s (nav noise and re-convergence).",
    )
    resync_samples: int = Field(
        3,
        ge=2,
        le=100,
        description=(
            "A source whose track moved for good (e.g. after a glitch that was itself accepted as its first "
            "sample) is re-acquired after this many consecutive samples that agree with each other but not with "
            "the old track; until then they are rejected as jumps."
        ),
    )


class TerminationSpec(_Strict):
    """How rule violations become a terminate decision."""

    policy: Literal["1oo2", "2oo2", "health_degraded"] = Field(
        "health_degraded",
        description=(
            "1oo2: any string's vote terminates; 2oo2: all strings must vote; health_degraded: a string that "
            "declares itself faulty drops out and the healthy ones decide (1oo2 among them)."
        ),
    )
    persistence_s: float = Field(0.5, ge=0, description="Default persistence for rules that set none, s.")
    faulty_string_votes: bool = Field(
        True, description="Under 1oo2/2oo2, a string that declares itself faulty votes to terminate (fail-safe)."
    )
    all_strings_faulty: Literal["terminate", "continue"] = Field(
        "terminate", description="health_degraded: what to do when no healthy string is left."
    )
    destruct_after_s: float | None = Field(
        None,
        ge=0,
        description=(
            "Destruct follows a thrust termination after this delay, s (on the estimated flight time; 0: in the "
            "same cycle). null: no automatic destruct; rules with action destruct still fire it."
        ),
    )


class OrbitSafing(_Strict):
    enabled: bool = Field(True, description="Safe once there is no impact point (orbit reached).")
    persistence_s: float = Field(2.0, ge=0, description="No-IIP must hold this long, s.")
    min_altitude_m: float = Field(100e3, description="And the vehicle is above this height, m.")


class IipClearSafing(_Strict):
    enabled: bool = Field(True, description="Safe once the IIP is beyond every protected area for good.")
    min_iip_range_m: float | None = Field(
        None,
        description="IIP range from the pad beyond which it cannot come back over land, m (default: farthest "
        "protected vertex + clearance).",
    )
    clearance_m: float = Field(100e3, ge=0, description="IIP must also be this far outside every protected area, m.")
    persistence_s: float = Field(2.0, ge=0, description="Condition must hold this long, s.")


class SafingSpec(_Strict):
    orbit: OrbitSafing = Field(default_factory=OrbitSafing)
    iip_clear: IipClearSafing = Field(default_factory=IipClearSafing)


class ScenarioSpec(_Strict):
    """A named failure scenario: vehicle failures and nav-side faults injected in simulation."""

    description: str = Field("", description="What the scenario reproduces.")
    failures: list[VehicleFailureSpec] = Field(default_factory=list, description="Vehicle failures (sim).")
    nav_faults: list[NavFaultSpec] = Field(default_factory=list, description="Nav-side faults and string faults.")
    expect: Literal["terminate", "continue"] | None = Field(
        None, description="What the AFSS should do (used by validation): terminate (a real threat) or continue."
    )


class RequirementsSpec(_Strict):
    false_termination_max: float = Field(
        1e-3, gt=0, lt=1, description="Largest acceptable false-termination probability (95 % upper bound)."
    )


class Mission(BaseModel):
    """A validated mission. Build it with :func:`rangeguard.mission.load_mission`."""

    model_config = ConfigDict(**MODEL_CONFIG, arbitrary_types_allowed=True)

    name: str = Field(..., min_length=1, description="Mission name.")
    description: str = Field("", description="Free text.")
    seed: int = Field(0, ge=0, description="Random seed for simulations (run k uses SeedSequence(seed).spawn).")
    cycle_hz: float = Field(
        10.0,
        gt=0,
        le=1000,
        description=(
            "Engine cycle rate, Hz. The AFSS is stepped at least this often whether or not nav data arrived "
            "(`rangeguard run` on its own clock, `replay` on the log's receive times, the closed-loop simulator "
            "and `validate` on simulated time), so silence is judged within the green time plus one cycle."
        ),
    )
    site: SiteSpec
    vehicle: VehicleSpec | None = Field(None, description="Vehicle model for the simulator (inline, or a file path).")
    sensors: SensorsSpec = Field(default_factory=SensorsSpec, description="Sensor models for the simulator.")
    scenarios: dict[str, ScenarioSpec] = Field(default_factory=dict, description="Named failure scenarios.")
    dispersions: DispersionsSpec | None = Field(
        None,
        description="Monte Carlo dispersions: what differs from run to run (null: every run nominal but for "
        "sensor noise).",
    )
    nav_sources: list[NavSourceSpec] = Field(
        default_factory=lambda: [NavSourceSpec(name="nav")], min_length=1, description="Navigation sources."
    )
    strings: list[StringSpec] | None = Field(None, description="AFTS strings (default: one per nav source).")
    areas: list[AreaSpec] = Field(default_factory=list, description="Protected areas and corridors.")
    events: list[EventSpec] = Field(default_factory=list, description="Named events.")
    phases: list[PhaseSpec] = Field(default_factory=list, description="Named phases.")
    rules: list[RuleSpec] = Field(default_factory=list, description="Termination rules.")
    arming: ArmingSpec = Field(default_factory=ArmingSpec)
    nav_gate: NavGateSpec = Field(default_factory=NavGateSpec, description="What counts as a usable nav sample.")
    termination: TerminationSpec = Field(default_factory=TerminationSpec)
    safing: SafingSpec = Field(default_factory=SafingSpec)
    requirements: RequirementsSpec = Field(default_factory=RequirementsSpec)
    debris: list[DebrisCatalogSpec] | None = Field(
        None, description="Fragment catalogs per stage, for the risk analysis (rangeguard risk)."
    )
    jettisoned: list[JettisonedBodySpec] | None = Field(
        None, description="Planned drops (spent stages, fairings), for the risk analysis (rangeguard risk)."
    )
    failure: FailureSpec | None = Field(None, description="Failure probability and responses, for the risk analysis.")
    population: PopulationSpec = Field(
        default_factory=PopulationSpec, description="Where people are, for the risk analysis."
    )
    risk_criteria: RiskCriteriaSpec = Field(
        default_factory=RiskCriteriaSpec, description="The risk analysis's limits (14 CFR Part 450 by default)."
    )

    _source_path: Path | None = PrivateAttr(None)
    _outlines: dict[str, tuple[list[float], list[float]]] = PrivateAttr(default_factory=dict)
    """Every area's outline, GeoJSON resolved: set once by the loader, never changed afterwards
    (a plain dict so that a mission pickles for worker processes; :attr:`outlines` is its read-only view)."""

    @property
    def source_path(self) -> Path | None:
        """The file this mission was loaded from (None if built in code)."""
        return self._source_path

    @property
    def string_specs(self) -> list[StringSpec]:
        """The AFTS strings, defaulting to one per nav source."""
        if self.strings:
            return list(self.strings)
        return [StringSpec(name=s.name, nav_source=s.name) for s in self.nav_sources]

    def area(self, name: str) -> AreaSpec:
        for a in self.areas:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def outlines(self) -> Mapping[str, tuple[list[float], list[float]]]:
        """Every area's (lat_deg, lon_deg) vertex lists by name, GeoJSON already resolved (read-only)."""
        return MappingProxyType(self._outlines)

    def area_outline(self, name: str) -> tuple[list[float], list[float]]:
        """(lat_deg, lon_deg) vertex lists of an area, GeoJSON already resolved."""
        return self._outlines[name]

    def rule(self, name: str) -> RuleSpec:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)
