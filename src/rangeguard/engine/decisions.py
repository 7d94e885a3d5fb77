"""What one engine cycle returns, per vehicle, with readable reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import NDArray

from rangeguard.engine.state import AfssState, Cause, EngineState

if TYPE_CHECKING:  # the setup module imports this one
    from rangeguard.engine.setup import EngineSetup

_T = TypeVar("_T", bound=np.generic)


def voting_margins(margin: NDArray[np.float64], health: NDArray[np.bool_], policy: str) -> NDArray[np.float64]:
    """(rows, R) each rule's smallest margin over the strings whose votes count.

    ``margin`` (rows, R, K) each string's margin, ``health`` (rows, K) which strings are healthy
    (declared and not degraded); a row is a vehicle, or a cycle of one vehicle. Under
    health_degraded only healthy strings vote, and a row with no healthy string left shows the
    smallest margin over all its strings (what degraded them, e.g. data loss); under 1oo2 and 2oo2
    every string's margin counts. NaN where no counting string judged the rule.
    """
    voting: NDArray[np.float64]  # (numpy types a ufunc's reduce as Any)
    with np.errstate(invalid="ignore"):
        if policy != "health_degraded":
            voting = np.fmin.reduce(margin, axis=2)
            return voting
        voting = np.fmin.reduce(np.where(health[:, None, :], margin, np.nan), axis=2)
        none_healthy = ~health.any(axis=1)
        if none_healthy.any():
            voting[none_healthy] = np.fmin.reduce(margin[none_healthy], axis=2)
    return voting


@dataclass(frozen=True, eq=False)
class Decisions:
    """The engine's answer for N vehicles after one cycle.

    Arrays (first axis vehicles): ``state`` (AfssState values), ``terminate``
    (latched: True from the cycle of termination on), ``terminate_now`` (True
    only in that cycle: the thrust termination command, also ``thrust_termination_now``), ``destruct_now``
    (the destruct command, only in its cycle; ``destruct`` latched), ``t_s`` (the data time the decision is based on),
    ``margins`` (N, R): each rule's margin, the smallest over the strings whose
    votes count (NaN where not judged). Per-string detail: ``margin`` and
    ``violated`` (K, N, R). ``rule`` / ``reason`` name the rule that fired and
    why, per vehicle.
    """

    setup: EngineSetup
    state: EngineState
    t_s: NDArray[np.float64]
    receive_time_s: NDArray[np.float64]
    terminate_now: NDArray[np.bool_]
    destruct_now: NDArray[np.bool_]
    margin_rm: NDArray[np.float64]
    violated_rm: NDArray[np.bool_]
    active_rm: NDArray[np.bool_]
    iip_lat_deg: NDArray[np.float64]
    iip_lon_deg: NDArray[np.float64]
    health: NDArray[np.bool_]

    @classmethod
    def of(
        cls, setup: EngineSetup, state: EngineState, t_s: NDArray[np.float64], receive_time_s: NDArray[np.float64],
        terminate_now: NDArray[np.bool_], destruct_now: NDArray[np.bool_], margin_rm: NDArray[np.float64],
        violated_rm: NDArray[np.bool_],
        active_rm: NDArray[np.bool_], iip_lat_deg: NDArray[np.float64], iip_lon_deg: NDArray[np.float64],
        health: NDArray[np.bool_],
    ) -> Decisions:  # fmt: skip
        """``Decisions(...)`` from the fields in their order, without the frozen dataclass's per-field
        ``__init__`` (the decision function builds one every cycle)."""
        new = object.__new__(cls)
        object.__setattr__(new, "__dict__", {
            "setup": setup, "state": state, "t_s": t_s, "receive_time_s": receive_time_s,
            "terminate_now": terminate_now, "destruct_now": destruct_now, "margin_rm": margin_rm,
            "violated_rm": violated_rm,
            "active_rm": active_rm, "iip_lat_deg": iip_lat_deg, "iip_lon_deg": iip_lon_deg, "health": health,
        })  # fmt: skip
        return new

    def _knr(self, rm: NDArray[_T]) -> NDArray[_T]:
        r = rm.shape[0]
        k = len(self.setup.string_names)
        return rm.reshape(r, k, self.n).transpose(1, 2, 0)

    @property
    def margin(self) -> NDArray[np.float64]:
        """(K, N, R) each string's margin for each rule (NaN where not judged)."""
        return self._knr(self.margin_rm)

    @property
    def violated(self) -> NDArray[np.bool_]:
        """(K, N, R) each string's raw violation flags (before persistence)."""
        return self._knr(self.violated_rm)

    @property
    def active(self) -> NDArray[np.bool_]:
        """(K, N, R) which rules were judged."""
        return self._knr(self.active_rm)

    @property
    def n(self) -> int:
        return len(self.state.mode)

    @property
    def states(self) -> NDArray[np.int8]:
        """(N,) int8 AfssState values."""
        return self.state.mode

    @property
    def terminate(self) -> NDArray[np.bool_]:
        terminated: NDArray[np.bool_] = self.state.mode == AfssState.TERMINATED  # (numpy types == as Any)
        return terminated

    @property
    def thrust_termination_now(self) -> NDArray[np.bool_]:
        """(N,) the thrust termination command fires in this cycle (``terminate_now``)."""
        return self.terminate_now

    @property
    def destruct(self) -> NDArray[np.bool_]:
        """(N,) latched: True from the cycle of the destruct command on."""
        destructed: NDArray[np.bool_] = ~np.isnan(self.state.t_destruct_s)
        return destructed

    @property
    def command_code(self) -> NDArray[np.int8]:
        """(N,) the commands fired in this cycle: 0 none, 1 thrust termination, 2 destruct, 3 both."""
        code: NDArray[np.int8] = self.terminate_now.astype(np.int8) | (self.destruct_now.astype(np.int8) << 1)
        return code

    def destructed_by(self, i: int = 0) -> str | None:
        """What fired vehicle i's destruct: a destruct rule's name, 'destruct-after:SECONDS', or None (none)."""
        cause = int(self.state.destruct_cause[i])
        if cause == Cause.NONE:
            return None
        if cause == Cause.DESTRUCT_DELAY:
            return f"destruct-after:{self.setup.destruct_after_s:g}"
        return self.setup.rule_names[int(self.state.destruct_rule[i])]

    def destruct_reason(self, i: int = 0) -> str | None:
        """A readable account of vehicle i's destruct (None: none)."""
        by = self.destructed_by(i)
        if by is None:
            return None
        st = self.state
        t = st.t_destruct_s[i]
        if int(st.destruct_cause[i]) == Cause.DESTRUCT_DELAY:
            return (
                f"DESTRUCT at T+{t:.2f} s: termination.destruct_after_s {self.setup.destruct_after_s:g} s after the "
                f"thrust termination at T+{st.t_terminate_s[i]:.2f} s"
            )
        s = self.setup.string_names[int(st.destruct_string[i])]
        return f"DESTRUCT at T+{t:.2f} s: rule '{by}' (string {s}; policy {self.setup.policy})"

    @property
    def rule_names(self) -> tuple[str, ...]:
        return self.setup.rule_names

    @property
    def margins(self) -> NDArray[np.float64]:
        """(N, R) smallest margin over the strings whose votes count this cycle.

        Under health_degraded only healthy strings vote; a vehicle with no healthy string left
        shows the smallest margin over all its strings (what degraded them, e.g. data loss).
        """
        return voting_margins(self.margin.transpose(1, 2, 0), self.health, self.setup.policy)

    def state_name(self, i: int = 0) -> str:
        return AfssState(int(self.state.mode[i])).name

    def rule(self, i: int = 0) -> str | None:
        """Name of the rule that terminated vehicle i (None if none did)."""
        j = int(self.state.fired_rule[i])
        return None if j < 0 else self.setup.rule_names[j]

    def fired_by(self, i: int = 0) -> str | None:
        """What terminated vehicle i: a rule name, 'string-fault:NAME' or 'no-healthy-string'.

        A string degraded by one of its own rules (e.g. data loss) names that rule.
        """
        if self.state.mode[i] != AfssState.TERMINATED:
            return None
        if self.state.fired_rule[i] >= 0:
            return self.rule(i)
        cause = int(self.state.cause[i])
        if cause == Cause.FAULTY_STRING:
            return f"string-fault:{self.setup.string_names[int(self.state.fired_string[i])]}"
        if cause == Cause.CYCLE_FAULT:
            return "cycle-fault"
        return "no-healthy-string"

    def reason(self, i: int = 0) -> str:
        """A readable account of vehicle i's current state."""
        st = self.state
        mode = AfssState(int(st.mode[i]))
        cause = Cause(int(st.cause[i]))
        setup = self.setup
        if mode == AfssState.SAFE:
            return "SAFE: waiting for liftoff (not armed)"
        if mode == AfssState.ARMED:
            return f"ARMED since T+{st.event_t_s[i, 0]:.2f} s; no rule violation has persisted"
        if mode == AfssState.SAFED:
            if cause == Cause.ORBIT:
                why = "no impact point (orbit) above the safing altitude"
            else:
                why = "IIP beyond every protected area for good"
            return f"SAFED at T+{st.t_safed_s[i]:.2f} s: {why}"
        t = st.t_terminate_s[i]
        policy = setup.policy
        if cause == Cause.RULE:
            j = int(st.fired_rule[i])
            rule = setup.rules[j]
            s = setup.string_names[int(st.fired_string[i])]
            return (
                f"TERMINATE at T+{t:.2f} s: rule '{rule.name}': {rule.describe(float(st.fired_margin[i]))} "
                f"(margin {st.fired_margin[i]:.4g} {rule.unit}; held {st.fired_held_s[i]:.2f} s >= "
                f"persistence {setup.persistence_s[j]:g} s; string {s}; policy {policy})"
            )
        if cause == Cause.CYCLE_FAULT:
            return (
                f"TERMINATE at T+{t:.2f} s: the engine cycle failed to compute, so every string counted as "
                f"faulty and policy {policy} terminates (see the engine's fault log)"
            )
        s = setup.string_names[int(st.fired_string[i])]
        j = int(st.fired_rule[i])
        if j >= 0:
            rule = setup.rules[j]
            why = f"was degraded by rule '{rule.name}': {rule.describe(float(st.fired_margin[i]))}"
        else:
            why = "declared itself faulty"
        if cause == Cause.FAULTY_STRING:
            return (
                f"TERMINATE at T+{t:.2f} s: string {s} {why} and policy {policy} counts a "
                "faulty string as a terminate vote"
            )
        return (
            f"TERMINATE at T+{t:.2f} s: no healthy AFTS string left (string {s} {why}; "
            "termination.all_strings_faulty: terminate)"
        )
