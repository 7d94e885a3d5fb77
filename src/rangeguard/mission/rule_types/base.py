"""What every rule type shares: the common fields, the activity window, and the class contract.

A rule type is one class, a subclass of :class:`RuleType` in a module of this package. The class is
the rule's schema (its pydantic fields, with ``type: Literal["..."]`` naming it in a mission file) and
declares everything the engine needs to judge it:

- ``unit``: the unit of the rule's margin (or :meth:`RuleType.margin_unit` when a field decides it);
- ``default_action``: the action when the mission gives none;
- ``clock``: "data" (persistence on the nav time of validity) or "receive" (on receive time);
- ``kernel``: the compiled kernel that judges it (:data:`rangeguard.rules.program.KERNELS`), or
  ``"gate"`` for the stateful gate, which evaluates itself;
- :meth:`RuleType.pack`: its parameters for that kernel;
- :meth:`RuleType.describe`: a readable sentence for a violation.

:mod:`rangeguard.mission.rule_types` finds every such class in this package's modules and builds the
mission schema's ``rules`` entry from them; nothing else lists rule types. ``design/extending.md``
shows how to add one.
"""

from __future__ import annotations

import itertools
import math
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, model_validator

from rangeguard.mission.config import MODEL_CONFIG

if TYPE_CHECKING:
    from rangeguard.mission.model import Mission

Action = Literal["terminate", "thrust_termination", "destruct", "degrade", "monitor"]


class Strict(BaseModel):
    model_config = MODEL_CONFIG  # see docs: "Numbers"


def increasing(values: list[float]) -> list[float]:
    """A field validator: the values must increase strictly."""
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError("values must increase")
    return values


def table_array(values: list[float | None] | None) -> NDArray[np.float64] | None:
    """A limit list of the mission (null = no limit) as floats with NaN for null; None for no list."""
    if values is None:
        return None
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


class Packing(Protocol):
    """What a rule type writes its kernel parameters into (:class:`rangeguard.rules.program.Entry`)."""

    tables: tuple[Any, Any, Any]
    """Up to three aligned tables: times, then two value columns (see the kernel)."""

    def set(self, **values: float | int | bool) -> None:
        """Parameters by column: ``col``, ``flag_a``, ``flag_b``, ``src_a``, ``src_b``; ``limit``, ``low``, ``high``."""

    def column(self, quantity: str) -> int:
        """The value-table column of a quantity (:mod:`rangeguard.mission.quantities`)."""

    def polygon(self, area: str) -> int:
        """The index of an area's polygon in the compiled pass."""

    def source(self, name: str) -> int:
        """The index of a nav source."""


class ActiveWindow(Strict):
    """When a rule is evaluated. All conditions must hold (empty = always after arming)."""

    from_t_s: float = Field(-math.inf, description="Active from this flight time (T+ seconds).")
    to_t_s: float = Field(math.inf, description="Active until this flight time (T+ seconds), exclusive.")
    after_event: str | None = Field(None, description="Active only once this event has occurred.")
    until_event: str | None = Field(None, description="Active only until this event occurs.")
    phase: str | None = Field(None, description="Active only during this named phase (see `phases`).")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to_t_s <= self.from_t_s:
            raise ValueError("to_t_s must be greater than from_t_s")
        return self


class RuleType(Strict):
    """The fields every rule has, and the contract of a rule type (see the module docstring)."""

    unit: ClassVar[str] = ""
    default_action: ClassVar[Action] = "terminate"
    clock: ClassVar[Literal["data", "receive"]] = "data"
    kernel: ClassVar[str] = ""

    name: str = Field(..., min_length=1, description="Unique rule name, used in decisions and reports.")
    description: str = Field("", description="What the rule protects against.")
    active: ActiveWindow = Field(default_factory=ActiveWindow, description="When the rule is evaluated.")
    persistence_s: float | None = Field(
        None, ge=0, description="A violation counts once it has held this long (s); default termination.persistence_s."
    )
    enabled: bool = Field(True, description="Set false to keep a rule in the file without evaluating it.")
    action: Action | None = Field(
        None,
        description=(
            "What a persisted violation does: thrust_termination (the string votes to cut thrust: the first "
            "command, APID 0x110; the vehicle falls intact), terminate (an alias of thrust_termination, what terminate "
            "always did), destruct (the string votes to destruct, APID 0x111; judged also after a thrust termination, "
            "and an armed vehicle's destruct cuts thrust in the same cycle), degrade (the string "
            "counts as faulty: under health_degraded it drops out and the others decide; under 1oo2/2oo2 a faulty "
            "string votes per termination.faulty_string_votes), monitor (recorded only). Default: degrade for "
            "data_loss, terminate otherwise."
        ),
    )

    @classmethod
    def type_name(cls) -> str:
        """The name a mission file gives this type (its ``type`` field's one literal value)."""
        field = cls.model_fields.get("type")
        args = typing.get_args(field.annotation) if field is not None else ()
        if len(args) != 1 or not isinstance(args[0], str):
            raise TypeError(f'rule type {cls.__name__} needs a field `type: Literal["its_name"]`')
        return args[0]

    @property
    def effective_action(self) -> Action:
        """The action, the type's default where the mission gives none."""
        return self.default_action if self.action is None else self.action

    def margin_unit(self) -> str:
        """The unit of the margin (the class's ``unit`` unless a field decides it)."""
        return self.unit

    def pack(self, entry: Packing, mission: Mission) -> None:
        """Write the kernel's parameters (a rule whose kernel evaluates itself packs nothing)."""

    def describe(self, margin: float, mission: Mission) -> str:
        """A readable sentence for a violation with this margin."""
        return f"{self.type_name()} rule '{self.name}' margin {margin:.6g} {self.margin_unit()}"
