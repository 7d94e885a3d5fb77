"""Sensor-model and nav-fault sections of a mission file.

``sensors`` says how the simulator turns truth into the navigation data the
AFSS sees: one :class:`NavSourceModelSpec` per nav source (GPS/INS unit), with
noise, output rate, latency, random dropouts and random missing samples.
Sources without an entry use ``sensors.default``, whose defaults are those of
a launch-vehicle GPS/INS.

A nav fault (:data:`NavFaultSpec`, tagged by ``kind``) injects a failure on
the navigation side rather than in the vehicle: a GPS dropout window, a
position jump or bias, a frozen output, a noise increase, an AFTS string
declaring itself faulty (Kairos flight 3 was terminated at T+68.8 s this way),
or silence: one source sending nothing (``nav_silence``) or the whole link to
the AFSS cut (``link_outage``).

Invalid is not missing. A dropout (``dropout_probability``, ``gps_dropout``)
delivers a sample flagged invalid: the AFSS hears the unit say it has no
solution. A missing sample (``missing_probability``, ``nav_silence``,
``link_outage``) never arrives: the AFSS hears nothing, and only its clock
(the data-loss rule's green time) can tell.

Time windows are half-open ``[from_t_s, to_t_s)`` in flight time (T+ seconds)
and are compared with a sample's time of validity (the state it reports).
The simulator implements them in :mod:`rangeguard.sim.sensors`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from rangeguard.mission.config import MODEL_CONFIG, TUPLE_FROM_LIST

NAV_FAULT_KINDS = (
    "gps_dropout",
    "position_jump",
    "position_bias",
    "frozen_output",
    "noise_increase",
    "string_fault",
    "nav_silence",
    "link_outage",
)
"""The ``kind`` tags a nav fault may have."""

OFFSET_DIRECTIONS = (
    "east",
    "west",
    "north",
    "south",
    "up",
    "down",
    "along_velocity",
    "against_velocity",
)
"""Named directions for a position offset given as ``magnitude_m`` + ``direction``.

east/west/north/south/up/down are the local geodetic (WGS84 ENU) axes at the
vehicle's position; along/against_velocity follow the Earth-relative velocity.
"""


class _Strict(BaseModel):
    model_config = MODEL_CONFIG  # see docs: "Numbers"


class NavSourceModelSpec(_Strict):
    """Error model of one navigation source (a GPS/INS unit).

    Noise is white, Gaussian, zero-mean and independent per axis, per sample,
    per vehicle and per source. Position and velocity noise are isotropic (the
    same 1-sigma on each ECEF axis); attitude noise is a small rotation about
    each body axis; rate noise is added to each body rate. Defaults are
    engineering estimates for a tactical-grade GPS/INS on a small launcher.
    """

    position_noise_m: float = Field(
        2.0, ge=0, description="Position noise, 1-sigma per ECEF axis, m (GPS-aided INS: a few m)."
    )
    velocity_noise_mps: float = Field(0.05, ge=0, description="Velocity noise, 1-sigma per ECEF axis, m/s.")
    output_rate_hz: float = Field(
        50.0, gt=0, le=10000, description="Output rate, Hz: a new sample every 1/output_rate_hz seconds."
    )
    latency_s: float = Field(
        0.02,
        ge=0,
        le=10,
        description="Age of a sample when it is output, s: at time t the source reports the state at t - latency_s.",
    )
    dropout_probability: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Probability that a sample is lost (output invalid), independently per sample and vehicle (0..1).",
    )
    missing_probability: float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "Probability that a sample never arrives (silence, not an invalid sample: a packet lost on the link), "
            "independently per sample and vehicle (0..1)."
        ),
    )
    attitude_noise_deg: float = Field(
        0.05, ge=0, description="Attitude noise, 1-sigma small rotation about each body axis, degrees."
    )
    rate_noise_deg_s: float = Field(0.02, ge=0, description="Body-rate noise, 1-sigma per body axis, deg/s.")

    @classmethod
    def perfect(cls, output_rate_hz: float = 50.0) -> NavSourceModelSpec:
        """A source with no noise, no latency, no dropouts and no missing samples (truth at the given rate)."""
        return cls(
            position_noise_m=0.0,
            velocity_noise_mps=0.0,
            output_rate_hz=output_rate_hz,
            latency_s=0.0,
            dropout_probability=0.0,
            missing_probability=0.0,
            attitude_noise_deg=0.0,
            rate_noise_deg_s=0.0,
        )


class SensorsSpec(_Strict):
    """Sensor models for the simulator: one entry per nav source name.

    Example::

        sensors:
          default: {position_noise_m: 3.0}
          sources:
            gps_ins_a: {latency_s: 0.02}
            gps_ins_b: {latency_s: 0.03, output_rate_hz: 20}
    """

    default: NavSourceModelSpec = Field(
        default_factory=NavSourceModelSpec,
        description="Model for every nav source without its own entry in `sources` (GPS/INS defaults).",
    )
    sources: dict[str, NavSourceModelSpec] = Field(
        default_factory=dict,
        description="Model per nav source, keyed by the source name in `nav_sources`.",
    )

    def for_source(self, name: str) -> NavSourceModelSpec:
        """The model of source ``name`` (its own entry, else ``default``)."""
        return self.sources.get(name, self.default)

    def check_sources(self, names: Iterable[str]) -> None:
        """Raise ValueError if an entry names a source not in ``names``."""
        known = list(names)
        unknown = sorted(set(self.sources) - set(known))
        if unknown:
            raise ValueError(
                f"sensors.sources has entries for unknown nav sources {unknown}; "
                f"allowed names (from nav_sources): {known}"
            )


class _OffsetMixin(_Strict):
    """A position offset: a vector in a frame, or a magnitude along a named direction."""

    offset_m: tuple[float, float, float] | None = Field(
        None, strict=TUPLE_FROM_LIST, description="Offset vector, m, in `frame` (give this OR magnitude_m + direction)."
    )
    frame: Literal["enu", "ecef"] = Field(
        "enu", description="Frame of offset_m: enu = local East-North-Up at the vehicle; ecef = WGS84 ECEF axes."
    )
    magnitude_m: float | None = Field(
        None, description="Offset length, m, along `direction` (give this with direction OR offset_m)."
    )
    direction: Literal[OFFSET_DIRECTIONS] | None = Field(  # type: ignore[valid-type]  # a Literal of the names tuple
        None, description=f"Direction of magnitude_m: one of {', '.join(OFFSET_DIRECTIONS)}."
    )

    @model_validator(mode="after")
    def _one_offset(self) -> Self:
        vector = self.offset_m is not None
        named = self.magnitude_m is not None or self.direction is not None
        if vector == named:
            raise ValueError(
                "give the offset either as offset_m: [x, y, z] (with frame: enu or ecef) "
                "or as magnitude_m together with direction, not both and not neither"
            )
        values: tuple[float, ...]
        if self.offset_m is not None:
            values = self.offset_m
        elif self.magnitude_m is None or self.direction is None:  # named: vector == named was refused above
            raise ValueError(f"magnitude_m and direction go together; direction is one of {list(OFFSET_DIRECTIONS)}")
        else:
            values = (self.magnitude_m,)
        if not all(math.isfinite(x) for x in values):
            raise ValueError("the offset must be finite (no NaN or inf)")
        return self


class _Window(_Strict):
    from_t_s: float = Field(..., description="Start of the fault, flight time (T+ seconds).")
    to_t_s: float = Field(math.inf, description="End of the fault, flight time (T+ seconds), exclusive; default never.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not math.isfinite(self.from_t_s):
            raise ValueError("from_t_s must be a finite flight time (T+ seconds)")
        if self.to_t_s <= self.from_t_s:
            raise ValueError("to_t_s must be greater than from_t_s (the window is [from_t_s, to_t_s))")
        return self

    @property
    def onset_t_s(self) -> float:
        """When the fault starts acting, flight time (T+ seconds)."""
        return self.from_t_s


def _source_field() -> Any:
    return Field(..., min_length=1, description="Name of the nav source affected (an entry of nav_sources).")


class GpsDropoutFault(_Window):
    """The source outputs no valid solution in ``[from_t_s, to_t_s)``: its samples are invalid."""

    kind: Literal["gps_dropout"]
    source: str = _source_field()
    to_t_s: float = Field(..., description="End of the dropout, flight time (T+ seconds), exclusive.")


class PositionJumpFault(_OffsetMixin):
    """The reported position jumps by an offset at ``at_t_s`` and stays offset.

    With ``duration_s`` the jump is a glitch: the offset is removed after that
    long. Velocity, attitude and rates are unaffected.
    """

    kind: Literal["position_jump"]
    source: str = _source_field()
    at_t_s: float = Field(..., description="Time of the jump, flight time (T+ seconds).")
    duration_s: float | None = Field(
        None, gt=0, description="How long the offset lasts, s; default: for the rest of the flight."
    )

    @property
    def onset_t_s(self) -> float:
        """When the fault starts acting, flight time (T+ seconds)."""
        return self.at_t_s


class PositionBiasFault(_OffsetMixin, _Window):
    """A constant offset is added to the reported position in ``[from_t_s, to_t_s)``."""

    kind: Literal["position_bias"]
    source: str = _source_field()


class FrozenOutputFault(_Window):
    """From ``from_t_s`` the source keeps repeating its last valid sample (values and validity flag).

    By default the time tag keeps advancing (the data looks fresh, the nastier
    case); with ``freeze_time_tag`` it repeats too.
    """

    kind: Literal["frozen_output"]
    source: str = _source_field()
    freeze_time_tag: bool = Field(
        False, description="Also repeat the time tag (default: the time tag advances, the data look fresh)."
    )


class NoiseIncreaseFault(_Window):
    """All noise sigmas of the source are multiplied by ``factor`` in ``[from_t_s, to_t_s)``."""

    kind: Literal["noise_increase"]
    source: str = _source_field()
    factor: float = Field(
        ...,
        ge=1,
        le=1e6,
        description="Multiplier on the position, velocity, attitude and rate noise sigmas (>= 1).",
    )


class StringFault(_Strict):
    """An AFTS string declares itself faulty at ``at_t_s`` (latched): its health flag goes False.

    Kairos flight 3 (5 Mar 2026) was terminated at T+68.8 s on a nominal path
    because one of its two strings did this.
    """

    kind: Literal["string_fault"]
    string: str = Field(..., min_length=1, description="Name of the AFTS string (an entry of strings).")
    at_t_s: float = Field(..., description="Time the string declares itself faulty, flight time (T+ seconds).")

    @property
    def onset_t_s(self) -> float:
        """When the fault starts acting, flight time (T+ seconds)."""
        return self.at_t_s


def _missing_probability_field() -> Any:
    return Field(
        1.0,
        gt=0,
        le=1,
        description=(
            "Probability that a sample in the window is missing, independently per sample and vehicle "
            "(default 1: nothing arrives at all; below 1: an intermittent, lossy link)."
        ),
    )


class NavSilenceFault(_Window):
    """Source ``source`` sends nothing in ``[from_t_s, to_t_s)``: no sample arrives, valid or not.

    Unlike gps_dropout (the unit says it has no solution), the AFSS hears
    nothing from the source: only the data-loss rule's green time can judge
    the gap. With ``missing_probability`` below 1 the source is intermittent
    instead: each of its samples in the window is missing with that
    probability. Like every nav fault the window is compared with the time of
    validity, so silence from receive time T is a window from T - latency_s.
    """

    kind: Literal["nav_silence"]
    source: str = _source_field()
    missing_probability: float = _missing_probability_field()


class LinkOutageFault(_Window):
    """Every nav source sends nothing in ``[from_t_s, to_t_s)``: the telemetry link to the AFSS is cut.

    Silence on every string at once: the data-loss rule judges it, and an
    outage longer than its green time leaves no string with data. With
    ``missing_probability`` below 1 the link is lossy instead: each sample of
    each source in the window is missing with that probability, independently
    per sample, source and vehicle. Windows compare with the time of validity,
    as for nav_silence.
    """

    kind: Literal["link_outage"]
    missing_probability: float = _missing_probability_field()


NavFaultSpec = Annotated[
    GpsDropoutFault
    | PositionJumpFault
    | PositionBiasFault
    | FrozenOutputFault
    | NoiseIncreaseFault
    | StringFault
    | NavSilenceFault
    | LinkOutageFault,
    Field(discriminator="kind"),
]
"""A nav-side failure, tagged by ``kind`` (one of :data:`NAV_FAULT_KINDS`)."""

NAV_FAULT_ADAPTER: TypeAdapter[NavFaultSpec] = TypeAdapter(NavFaultSpec)
"""Validates one nav fault from a dict: ``NAV_FAULT_ADAPTER.validate_python({...})``."""


def check_nav_fault_names(faults: Iterable[NavFaultSpec], sources: Iterable[str], strings: Iterable[str]) -> None:
    """Raise ValueError if a fault names a nav source or string that does not exist.

    ``sources`` and ``strings`` are the names from the mission's nav_sources
    and strings; the message lists the allowed names. A link_outage names
    nothing (it acts on every source).
    """
    sources, strings = list(sources), list(strings)
    for i, fault in enumerate(faults):
        if isinstance(fault, StringFault):
            if fault.string not in strings:
                raise ValueError(
                    f"nav fault {i} ({fault.kind}) names string {fault.string!r}; allowed strings: {strings}"
                )
        elif isinstance(fault, LinkOutageFault):
            continue
        elif fault.source not in sources:
            raise ValueError(
                f"nav fault {i} ({fault.kind}) names nav source {fault.source!r}; allowed sources: {sources}"
            )
