"""Engine states and the per-vehicle state arrays the decision function carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from rangeguard.rules import Rule


class AfssState(IntEnum):
    """What the AFSS is doing for one vehicle."""

    SAFE = 0  # before arming (liftoff not yet detected): cannot terminate
    ARMED = 1  # rules are judged; a counted violation terminates
    TERMINATED = 2  # thrust termination command issued; latched for good (destruct may follow: t_destruct_s)
    SAFED = 3  # the vehicle can no longer threaten anyone; no rule can terminate


class Rejection(IntEnum):
    """Why the nav gate rejected a sample (columns of ``EngineState.rejected_by``)."""

    INVALID = 0  # the source's own flag says invalid, or a value is not finite
    IMPLAUSIBLE = 1  # position inside the Earth's core or beyond the Moon, or speed far above escape speed
    NOT_NEWER = 2  # not after the source's last accepted sample (duplicate, late or reordered)
    TIME_AHEAD = 3  # time of validity ahead of the receive clock, or advanced beyond the receive time elapsed
    STALE = 4  # older than the receive clock allows (far past)
    JUMP = 5  # position or velocity moved further than any vehicle can since the last accepted sample


REJECTION_NAMES = tuple(r.name.lower() for r in Rejection)
"""Counter names of the rejection reasons, in column order."""


class Cause(IntEnum):
    """Why a vehicle was terminated or safed."""

    NONE = 0
    RULE = 1  # a rule violation persisted and the vote carried
    FAULTY_STRING = 2  # a string declared itself faulty and the policy counts that as a vote
    NO_HEALTHY_STRING = 3  # health_degraded with every string faulty
    ORBIT = 4  # safed: no impact point (orbit)
    IIP_CLEAR = 5  # safed: IIP beyond every protected area for good
    CYCLE_FAULT = 6  # a cycle failed to compute: every string counted faulty and the policy decided
    DESTRUCT_DELAY = 7  # destruct: termination.destruct_after_s elapsed since the thrust termination


# Columns of the sample store ``EngineState.src_store``: one array, so that a cycle copies it at once
# and the ingest kernel takes it as one argument.
ST_T, ST_R, ST_V, ST_Q, ST_W, ST_RECV, ST_CAND_T, ST_CAND_R, ST_CAND_V = 0, 1, 4, 7, 11, 14, 15, 16, 19
STORE_COLS = 22


def _initial_store(n_sources: int, n: int) -> NDArray[np.float64]:
    """No sample yet: times -inf (any first sample is newer, and no receive clock runs), the rest NaN."""
    store = np.full((n_sources, n, STORE_COLS), np.nan)
    store[:, :, ST_T] = -np.inf
    store[:, :, ST_RECV] = -np.inf
    return store


@dataclass(frozen=True, eq=False)
class EngineState:
    """Everything the decision function remembers between cycles (arrays, first axis vehicles).

    Rows of the (M, ...) arrays (and columns of the (R, M) ones) are (string, vehicle) pairs, string-major:
    row = string * N + vehicle. Sources are indexed like ``mission.nav_sources``.
    """

    mode: NDArray[np.int8]  # (N,) int8 AfssState
    event_t_s: NDArray[np.float64]  # (N, E) time each event occurred (NaN: not yet); event 0 = liftoff
    t_terminate_s: NDArray[np.float64]  # (N,)
    t_safed_s: NDArray[np.float64]  # (N,)
    cause: NDArray[np.int8]  # (N,) int8 Cause
    fired_rule: NDArray[np.int16]  # (N,) int16 rule index (-1 none)
    fired_string: NDArray[np.int16]  # (N,) int16 string index (-1 none)
    degrade_rule: NDArray[np.int16]  # (N, K) int16 rule that degrades each string this cycle (-1 none)
    fired_margin: NDArray[np.float64]  # (N,) margin of the firing rule at termination
    fired_held_s: NDArray[np.float64]  # (N,) how long the firing violation had held
    t_destruct_s: NDArray[np.float64]  # (N,) time of the destruct command (NaN: none yet)
    destruct_cause: NDArray[np.int8]  # (N,) int8 Cause of the destruct (RULE or DESTRUCT_DELAY; NONE: none)
    destruct_rule: NDArray[np.int16]  # (N,) int16 the destruct rule that fired (-1: none, or the delay)
    destruct_string: NDArray[np.int16]  # (N,) int16 the string whose destruct vote fired (-1: none)
    src_store: NDArray[np.float64]  # (S, N, STORE_COLS) each source's latest accepted sample and jump candidate
    src_has: NDArray[np.bool_]  # (S, N) bool: a valid sample has been received
    src_cand_n: NDArray[np.int64]  # (S, N) consecutive jump-rejected samples agreeing with each other
    viol_since: NDArray[np.float64]  # (R, M) time a still-running violation started (NaN: none)
    memory: tuple[NDArray[np.float64] | None, ...]  # per rule: memory array or None
    orbit_since: NDArray[np.float64]  # (N,) safing timers (NaN: condition not holding)
    clear_since: NDArray[np.float64]  # (N,)
    string_fault_t_s: NDArray[np.float64]  # (N, K) first time each string declared itself faulty
    first_violation_t_s: NDArray[np.float64]  # (N, R) first time each rule was violated (active)
    min_margin: NDArray[np.float64]  # (N, R) smallest margin seen while active
    samples: NDArray[np.int64]  # (N,) nav samples accepted
    rejected: NDArray[np.int64]  # (N,) nav samples rejected by the nav gate (all reasons)
    rejected_by: NDArray[np.int64]  # (N, len(Rejection)) rejected samples by reason
    resynced: NDArray[np.int64]  # (N,) times a source's track was re-acquired after consistent jumps
    cycle_faults: NDArray[np.int64]  # (N,) cycles that failed and were judged as every string faulty

    def evolve(self, **changes: Any) -> EngineState:
        """A copy with ``changes`` (the engine's next state): ``dataclasses.replace`` without its
        per-field machinery, which cost more than the rest of a one-vehicle cycle's bookkeeping."""
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"EngineState has no fields {sorted(unknown)}")
        new = object.__new__(EngineState)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def fields(self) -> dict[str, Any]:
        """A copy of the state's fields by name: change some and make the next state with :meth:`of`."""
        return self.__dict__.copy()

    @classmethod
    def of(cls, fields: dict[str, Any]) -> EngineState:
        """The state with these ``fields`` (every field, as :meth:`fields` gives them), taken as they are:
        :meth:`evolve` without its check of the names or its keyword arguments, for the decision function
        (24 keyword arguments cost more than a kernel call in a one-vehicle cycle)."""
        new = object.__new__(cls)
        object.__setattr__(new, "__dict__", fields)
        return new

    # the sample store's columns by name (views into ``src_store``)
    @property
    def src_t_s(self) -> NDArray[np.float64]:
        """(S, N) data time of each source's latest accepted sample (-inf: none)."""
        return self.src_store[:, :, ST_T]

    @property
    def src_r_ecef(self) -> NDArray[np.float64]:
        """(S, N, 3)"""
        return self.src_store[:, :, ST_R : ST_R + 3]

    @property
    def src_v_ecef(self) -> NDArray[np.float64]:
        """(S, N, 3)"""
        return self.src_store[:, :, ST_V : ST_V + 3]

    @property
    def src_q(self) -> NDArray[np.float64]:
        """(S, N, 4) attitude quaternion body -> ECEF, scalar first."""
        return self.src_store[:, :, ST_Q : ST_Q + 4]

    @property
    def src_w(self) -> NDArray[np.float64]:
        """(S, N, 3) body rates, rad/s."""
        return self.src_store[:, :, ST_W : ST_W + 3]

    @property
    def src_recv_s(self) -> NDArray[np.float64]:
        """(S, N) receive time of the latest valid sample (-inf: none)."""
        return self.src_store[:, :, ST_RECV]

    @property
    def src_cand_t_s(self) -> NDArray[np.float64]:
        """(S, N) time of the newest sample rejected as a jump (the candidate new track)."""
        return self.src_store[:, :, ST_CAND_T]

    @property
    def src_cand_r_ecef(self) -> NDArray[np.float64]:
        """(S, N, 3)"""
        return self.src_store[:, :, ST_CAND_R : ST_CAND_R + 3]

    @property
    def src_cand_v_ecef(self) -> NDArray[np.float64]:
        """(S, N, 3)"""
        return self.src_store[:, :, ST_CAND_V : ST_CAND_V + 3]

    @classmethod
    def initial(cls, n: int, n_sources: int, n_strings: int, n_events: int, rules: Sequence[Rule]) -> EngineState:
        m = n * n_strings
        r = len(rules)
        nan = np.nan
        return cls(
            mode=np.zeros(n, np.int8),
            event_t_s=np.full((n, n_events), nan),
            t_terminate_s=np.full(n, nan),
            t_safed_s=np.full(n, nan),
            cause=np.zeros(n, np.int8),
            fired_rule=np.full(n, -1, np.int16),
            fired_string=np.full(n, -1, np.int16),
            degrade_rule=np.full((n, n_strings), -1, np.int16),
            fired_margin=np.full(n, nan),
            fired_held_s=np.full(n, nan),
            t_destruct_s=np.full(n, nan),
            destruct_cause=np.zeros(n, np.int8),
            destruct_rule=np.full(n, -1, np.int16),
            destruct_string=np.full(n, -1, np.int16),
            src_store=_initial_store(n_sources, n),
            src_has=np.zeros((n_sources, n), bool),
            src_cand_n=np.zeros((n_sources, n), np.int64),
            viol_since=np.full((r, m), nan),
            memory=tuple(rule.initial_memory(m) for rule in rules),
            orbit_since=np.full(n, nan),
            clear_since=np.full(n, nan),
            string_fault_t_s=np.full((n, n_strings), nan),
            first_violation_t_s=np.full((n, r), nan),
            min_margin=np.full((n, r), np.inf),
            samples=np.zeros(n, np.int64),
            rejected=np.zeros(n, np.int64),
            rejected_by=np.zeros((n, len(Rejection)), np.int64),
            resynced=np.zeros(n, np.int64),
            cycle_faults=np.zeros(n, np.int64),
        )
