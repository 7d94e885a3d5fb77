"""When the vehicle may fail: the failure times of the sweep and the probability each one carries.

The mission's ``failure`` section gives the probability P_f that the flight fails and how it is spread
over flight time (14 CFR 450.131: a probability of failure analysis, apportioned over flight):

- ``uniform_per_stage``: stage k carries the share s_k of P_f (``stage_share``, or in proportion to
  the stages' burn times), spread evenly over its burn, from ignition to burnout in the nominal flight.
  Failures are taken to begin while a motor burns (powered flight), where launch failures start; a
  coast carries none (give a ``table`` for a failure rate in coasts).
- ``table``: a relative failure rate w(t) against flight time, linear between points, normalised over
  the table.

The sweep cuts that time into intervals of ``step_s`` (1 s by default, the "one-second period" of
14 CFR 450.108) and represents each by the state at its midpoint: :class:`FailureTime` ``t_s`` is the
midpoint, ``probability`` the probability that the flight fails within the interval. Their sum is P_f.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rangeguard.errors import InputError
from rangeguard.mission.risk import FailureSpec
from rangeguard.risk.ensemble import FlightEnsemble

DEFAULT_STEP_S = 1.0
"""Interval of the failure-time sweep, s: the one-second period of 14 CFR 450.108."""


@dataclass(frozen=True)
class FailureTime:
    """One interval of the sweep: ``t0_s`` .. ``t1_s``, represented by its midpoint ``t_s``.

    ``stage``: the stage flying then (the catalog that breaks up); ``probability``: that the flight
    fails within the interval (all response modes together)."""

    t0_s: float
    t1_s: float
    stage: int
    probability: float

    @property
    def t_s(self) -> float:
        return 0.5 * (self.t0_s + self.t1_s)


def _intervals(t0_s: float, t1_s: float, step_s: float) -> list[tuple[float, float]]:
    n = max(1, math.ceil((t1_s - t0_s) / step_s - 1e-9))
    edges = [min(t0_s + k * step_s, t1_s) for k in range(n + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _uniform_per_stage(spec: FailureSpec, ensemble: FlightEnsemble, step_s: float) -> list[FailureTime]:
    burns = ensemble.burns()
    if not burns:
        raise InputError("failure: the nominal flight has no burn (no ignition and burnout events) to spread over")
    by_stage: dict[int, list[tuple[float, float]]] = {}
    for k, (_, t_on, t_off) in enumerate(burns):
        by_stage.setdefault(k, []).append((t_on, t_off))
    durations = {k: sum(b - a for a, b in spans) for k, spans in by_stage.items()}
    if spec.stage_share is not None:
        if len(spec.stage_share) != len(by_stage):
            raise InputError(
                f"failure.stage_share: {len(spec.stage_share)} values, but the nominal flight has "
                f"{len(by_stage)} burns; give one share per stage"
            )
        share = dict(enumerate(spec.stage_share))
    else:
        total = sum(durations.values())
        share = {k: d / total for k, d in durations.items()}
    out: list[FailureTime] = []
    for k, spans in by_stage.items():
        for t_on, t_off in spans:
            for a, b in _intervals(t_on, t_off, step_s):
                p = spec.probability * share[k] * (b - a) / durations[k]
                out.append(FailureTime(a, b, ensemble.stage_at(0.5 * (a + b)), p))
    return out


def _table(spec: FailureSpec, ensemble: FlightEnsemble, step_s: float) -> list[FailureTime]:
    assert spec.table is not None  # the schema gives a table exactly when spread is "table"
    t = np.asarray(spec.table.t_s, dtype=np.float64)
    w = np.asarray(spec.table.weight, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(t))])
    slope = np.diff(w) / np.diff(t)

    def integral(x: float) -> float:
        """The rate integrated from the table's start to x (exact: the rate is linear between rows)."""
        i = min(int(np.searchsorted(t, x, side="right")) - 1, t.size - 2)
        dx = x - t[i]
        return float(cumulative[i] + w[i] * dx + 0.5 * slope[i] * dx * dx)

    t_end = min(float(t[-1]), float(ensemble.t_s[-1]))
    out: list[FailureTime] = []
    for a, b in _intervals(float(t[0]), t_end, step_s):
        share = (integral(b) - integral(a)) / cumulative[-1]
        if share > 0.0:
            out.append(FailureTime(a, b, ensemble.stage_at(0.5 * (a + b)), spec.probability * float(share)))
    return out


def failure_times(spec: FailureSpec, ensemble: FlightEnsemble, step_s: float = DEFAULT_STEP_S) -> list[FailureTime]:
    """The sweep's intervals and their failure probabilities (module docstring)."""
    if not (math.isfinite(step_s) and step_s > 0.0):
        raise InputError(f"risk: the failure-time step must be a positive number of seconds, got {step_s!r}")
    if spec.spread == "table":
        return _table(spec, ensemble, step_s)
    return _uniform_per_stage(spec, ensemble, step_s)
