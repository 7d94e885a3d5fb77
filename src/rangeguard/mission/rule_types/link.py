"""Nav-integrity rule types: data loss and disagreement between redundant nav sources.

Both are judged by the compiled rule pass (:mod:`rangeguard.rules.program`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, Self

import numpy as np
from pydantic import Field, model_validator

from rangeguard.mission.config import TUPLE_FROM_LIST
from rangeguard.mission.rule_types.base import Action, Packing, RuleType, increasing

if TYPE_CHECKING:
    from rangeguard.mission.model import Mission


class DataLossRule(RuleType):
    """No valid nav for longer than a green time (judged on receive time). Margin unit: s.

    The green time may depend on flight time; flight time during a loss is estimated as the last
    valid sample's time plus the receive time elapsed since it arrived. Persistence for this rule
    runs on that same clock. A source that has delivered nothing since arming is judged from the
    arming time.
    """

    unit: ClassVar[str] = "s"
    default_action: ClassVar[Action] = "degrade"
    clock: ClassVar[Literal["data", "receive"]] = "receive"
    kernel: ClassVar[str] = "data_loss"

    type: Literal["data_loss"]
    green_time_s: float | None = Field(None, gt=0, description="Constant green time, s.")
    table: dict[str, list[float]] | None = Field(
        None, description="Green time against flight time: {t_s: [...], green_time_s: [...]} (interpolated)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.green_time_s is None) == (self.table is None):
            raise ValueError("give exactly one of green_time_s (constant) or table {t_s, green_time_s}")
        if self.table is not None:
            if set(self.table) != {"t_s", "green_time_s"}:
                raise ValueError("table needs exactly the keys t_s and green_time_s")
            increasing(self.table["t_s"])
            if len(self.table["t_s"]) != len(self.table["green_time_s"]) or len(self.table["t_s"]) < 2:
                raise ValueError("table t_s and green_time_s need the same length (at least 2)")
            if min(self.table["green_time_s"]) <= 0:
                raise ValueError("green_time_s values must be positive")
        return self

    def pack(self, entry: Packing, mission: Mission) -> None:
        if self.table is None:
            assert self.green_time_s is not None  # _one_source: exactly one of the two
            entry.set(limit=self.green_time_s)
        else:
            t_s = np.asarray(self.table["t_s"], dtype=np.float64)
            entry.set(flag_a=True)
            entry.tables = (t_s, np.asarray(self.table["green_time_s"], dtype=np.float64), np.full(t_s.shape, np.nan))

    def describe(self, margin: float, mission: Mission) -> str:
        return f"no valid nav for {-margin:.3g} s beyond the green time"


class SourceDisagreementRule(RuleType):
    """Two redundant nav sources disagree. Margin unit: m (position) or m/s (velocity).

    The older sample is propagated linearly to the newer one's time before the comparison;
    samples further apart than ``max_age_s`` are not compared.
    """

    kernel: ClassVar[str] = "source_disagreement"

    type: Literal["source_disagreement"]
    sources: tuple[str, str] = Field(
        ..., strict=TUPLE_FROM_LIST, description="Names of the two nav sources to compare."
    )
    quantity: Literal["position_m", "velocity_mps"] = Field("position_m", description="What to compare.")
    max_difference: float = Field(..., gt=0, description="Largest allowed |difference| in the quantity's unit.")
    max_age_s: float = Field(
        1.0, gt=0, description="Compare only when the two samples' times of validity are at most this far apart (s)."
    )

    def margin_unit(self) -> str:
        return "m" if self.quantity == "position_m" else "m/s"

    def pack(self, entry: Packing, mission: Mission) -> None:
        entry.set(
            src_a=entry.source(self.sources[0]), src_b=entry.source(self.sources[1]),
            flag_a=self.quantity == "position_m", limit=self.max_difference, low=self.max_age_s,
        )  # fmt: skip

    def describe(self, margin: float, mission: Mission) -> str:
        what = "position" if self.quantity == "position_m" else "velocity"
        by = self.max_difference - margin
        return f"sources disagree in {what} by {by:.4g} {self.margin_unit()} (limit {self.max_difference:g})"
