"""The receive clock of a nav log: recorded (``rangeguard.clock_end_s``) or derived from the times of
validity when the log has no receive times (a GPS-style CSV). See docs/navlog.md and design/failsafe.md."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pyarrow as pa

# --- the derived receive clock ------------------------------------------------------------------

CLOCK_END_KEY = b"rangeguard.clock_end_s"
"""Schema metadata key of a recorded nav log: the receive time (T+ s) at which the run's clock stopped."""

DERIVED_CLOCK_NEIGHBOURS = 3
"""Rows on each side a time of validity is compared with when a receive clock is derived from them."""
DERIVED_CLOCK_MIN_TOLERANCE_S = 1.0
"""Smallest time difference (s) within which two nearby rows count as agreeing (see derived_receive_clock)."""


def clock_end_s(schema_or_table: pa.Schema | pa.Table) -> float | None:
    """The ``rangeguard.clock_end_s`` metadata of a nav log's schema (None when absent or unreadable)."""
    schema = getattr(schema_or_table, "schema", schema_or_table)
    meta = schema.metadata or {}
    try:
        value = float(meta[CLOCK_END_KEY].decode())
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    return value if np.isfinite(value) else None


class StepCounter:
    """The positive steps between consecutive finite times of validity, counted by value, so that their
    median (the log's sample period) is exact however the log is cut into batches. Memory: one value and
    count per distinct step (a clean periodic log has a handful; a jittered one up to one per row)."""

    def __init__(self) -> None:
        self.values = np.empty(0)
        self.counts = np.empty(0, np.int64)
        self._last = np.nan
        self._new: list[np.ndarray] = []  # steps not yet merged into values/counts
        self._new_size = 0

    def add(self, t: np.ndarray) -> None:
        f = t[np.isfinite(t)]
        if f.size == 0:
            return
        steps = np.diff(f if np.isnan(self._last) else np.concatenate(([self._last], f)))
        self._last = f[-1]
        self._new.append(steps[steps > 0])
        self._new_size += self._new[-1].size
        if self._new_size > max(self.values.size, 1 << 16):  # merge when the new steps outweigh the merged ones
            self._merge()

    def _merge(self) -> None:
        values, inverse = np.unique(np.concatenate([self.values, *self._new]), return_inverse=True)
        counts = np.zeros(values.size, np.int64)
        np.add.at(counts, inverse, np.concatenate([self.counts, np.ones(self._new_size, np.int64)]))
        self.values, self.counts = values, counts
        self._new, self._new_size = [], 0

    def median(self) -> float:
        """``np.median`` of all the steps (0.0 when there are none)."""
        self._merge()
        n = int(self.counts.sum())
        if n == 0:
            return 0.0
        ends = np.cumsum(self.counts)  # rank r (0-based) is values[first index with ends > r]
        lo, hi = self.values[np.searchsorted(ends, [(n - 1) // 2, n // 2], side="right")]
        return float(np.mean([lo, hi]))  # numpy's median: the middle value, or the mean of the two middle ones


class ClockWindow:
    """Times of validity with :data:`DERIVED_CLOCK_NEIGHBOURS` rows of context on either side, as chunks
    arrive: :meth:`push` returns the rows whose following neighbours are known, with their context."""

    def __init__(self) -> None:
        w = DERIVED_CLOCK_NEIGHBOURS
        self._left = np.full(w, np.nan)  # the rows before the held ones (NaN: before the log)
        self._held = np.empty(0)

    def push(self, t: np.ndarray) -> tuple[np.ndarray, int]:
        """``(ext, ready)``: ``ext[w:w + ready]`` are the next ``ready`` rows, with w rows before and after."""
        w = DERIVED_CLOCK_NEIGHBOURS
        buf = np.concatenate((self._held, t))
        ready = max(buf.size - w, 0)
        ext = np.concatenate((self._left, buf))
        self._left = ext[ready : ready + w]
        self._held = buf[ready:]
        return ext, ready

    def finish(self) -> tuple[np.ndarray, int]:
        """The held rows, with NaN (nothing) after them."""
        ext = np.concatenate((self._left, self._held, np.full(DERIVED_CLOCK_NEIGHBOURS, np.nan)))
        ready, self._held = self._held.size, np.empty(0)
        return ext, ready


class DerivedClock:
    """:func:`derived_receive_clock`, chunk by chunk: ``period`` (the log's median step), ``start_s`` (the
    time of its first row on the timeline; None: no finite time at all) and ``fallback`` (no row of the
    log is on the timeline: every finite row counts) are figures of the whole log."""

    def __init__(self, period: float, start_s: float | None = None, fallback: bool = False):
        self.tol = max(DERIVED_CLOCK_MIN_TOLERANCE_S, (DERIVED_CLOCK_NEIGHBOURS + 1) * period)
        self.start_s = start_s
        self.fallback = fallback
        self._running = -np.inf

    def on_line(self, ext: np.ndarray, ready: int) -> np.ndarray:
        """Which of the rows ``ext[w:w + ready]`` are on the log's timeline (finite and supported)."""
        w = DERIVED_CLOCK_NEIGHBOURS
        core = ext[w : w + ready]
        finite: NDArray[np.bool_] = np.isfinite(core)
        if self.fallback:
            return finite
        support = np.zeros(ready, np.int64)
        with np.errstate(invalid="ignore"):
            for d in range(1, w + 1):
                support += np.abs(core - ext[w - d : w - d + ready]) <= self.tol  # NaN never agrees
                support += np.abs(core - ext[w + d : w + d + ready]) <= self.tol
        return finite & (support >= w)

    def __call__(self, ext: np.ndarray, ready: int) -> np.ndarray:
        """The clock of the rows ``ext[w:w + ready]`` (chunks in order)."""
        w = DERIVED_CLOCK_NEIGHBOURS
        if self.start_s is None:
            return np.zeros(ready)
        times = np.where(self.on_line(ext, ready), ext[w : w + ready], -np.inf)
        clock = np.maximum.accumulate(np.concatenate(([self._running], times)))[1:]
        if ready:
            self._running = clock[-1]
        clock[clock == -np.inf] = self.start_s  # before the first row on the timeline
        return clock

    @classmethod
    def for_log(cls, period: float, t_chunks: Iterable[np.ndarray]) -> DerivedClock:
        """The clock of a log with this median step, its times of validity read in chunks until the
        first row on the timeline (usually in the first chunk)."""
        probe = cls(period)
        window = ClockWindow()
        first_finite = None
        for ext, ready in _windows(window, t_chunks):
            on = probe.on_line(ext, ready)
            core = ext[DERIVED_CLOCK_NEIGHBOURS : DERIVED_CLOCK_NEIGHBOURS + ready]
            if on.any():
                return cls(period, float(core[np.argmax(on)]))
            finite = np.isfinite(core)
            if first_finite is None and finite.any():
                first_finite = float(core[np.argmax(finite)])
        return cls(period, first_finite, fallback=True)


def _windows(window: ClockWindow, t_chunks: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, int]]:
    for t in t_chunks:
        ext, ready = window.push(t)
        if ready:
            yield ext, ready
    ext, ready = window.finish()
    if ready:
        yield ext, ready


def derived_receive_clock(t_s: np.ndarray) -> np.ndarray:
    """A receive clock (T+ s, one value per row) for a log that recorded none.

    A row's time of validity is *supported* by each of its w nearest rows on either side (w =
    :data:`DERIVED_CLOCK_NEIGHBOURS`) whose time differs from it by at most a tolerance (the larger
    of :data:`DERIVED_CLOCK_MIN_TOLERANCE_S` and w + 1 sample periods, the period being the median
    positive step of the log). A row with at least w supporters is on the log's timeline; the clock
    is the running maximum of those rows' times, carried over the others (and the first such row's
    time before it). So the clock follows the log, a real gap included (the first row after it is
    supported by the w after it), never goes back, and a burst of up to w glitched time tags (1e9,
    or a time in the past) moves it not at all: the engine's nav gate then sees those samples ahead
    of or behind the clock and rejects them. A log with no supported row (fewer than w + 1 rows)
    uses its own running maximum.

    :class:`NavLogReader` computes the same clock batch by batch (this function is that computation
    with the whole log as one batch).
    """
    t = np.asarray(t_s, dtype=np.float64).reshape(-1)
    steps = StepCounter()
    steps.add(t)
    clock = DerivedClock.for_log(steps.median(), [t])
    return np.concatenate([clock(ext, ready) for ext, ready in _windows(ClockWindow(), [t])] or [np.zeros(0)])


# --- reading ----------------------------------------------------------------------------------------
