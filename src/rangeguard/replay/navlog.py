"""Nav logs: the documented table of navigation samples that replay and the streamer read.

Columns (CSV with a header row, or Parquet):

=================  ========  ===============================================
column             required  meaning
=================  ========  ===============================================
t_s                yes       time of validity, s from the liftoff epoch (T+)
x_ecef_m ...       yes       ECEF position x, y, z (m): x_ecef_m, y_ecef_m, z_ecef_m
vx_ecef_mps ...    yes       Earth-relative ECEF velocity (m/s): vx_, vy_, vz_ecef_mps
qw, qx, qy, qz     no        attitude quaternion body->ECEF, scalar first
p_rad_s ...        no        body rates about x, y, z (rad/s): p_rad_s, q_rad_s, r_rad_s
source             yes       nav source name (as in the mission) or index
valid              no        the source's validity flag (default true)
receive_time_s     no        when the sample arrived, on the T+ axis (default: derived from t_s, below)
health_<STRING>    no        that AFTS string's self-reported health (default true)
=================  ========  ===============================================

The receive clock. ``rangeguard replay`` steps the engine on the same clock
as ``rangeguard run`` (rangeguard.engine.driver): on each sample, and on
silent cycles whenever nothing arrived for one cycle, at the receive times.
A log without ``receive_time_s`` (e.g. a GPS log) gets a clock derived from
its times of validity that one glitched time tag cannot move
(:func:`derived_receive_clock`). A Parquet log written by ``rangeguard run``
also carries, in its schema metadata, the receive time at which the run's
clock stopped (``rangeguard.clock_end_s``): replay steps silent cycles up to
it, so a run that ended in silence replays to the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rangeguard.errors import InputError

POSITION = ("x_ecef_m", "y_ecef_m", "z_ecef_m")
VELOCITY = ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")
QUATERNION = ("qw", "qx", "qy", "qz")
RATES = ("p_rad_s", "q_rad_s", "r_rad_s")
REQUIRED = ("t_s", *POSITION, *VELOCITY, "source")


@dataclass(frozen=True, eq=False)
class NavLog:
    """A nav log as numpy columns (one row per sample, file order)."""

    t_s: np.ndarray
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    q_body_to_ecef: np.ndarray
    omega_body_rad_s: np.ndarray
    source: np.ndarray          # int source index (-1 = unknown name)
    valid: np.ndarray
    receive_time_s: np.ndarray
    health: np.ndarray | None   # (rows, K) or None
    unknown_sources: tuple[str, ...]
    has_receive_times: bool = True
    """False when the file had no receive_time_s column (``receive_time_s`` is then derived)."""
    clock_end_s: float | None = None
    """Receive time at which the recording's clock stopped (schema metadata), or None."""

    def __len__(self) -> int:
        return self.t_s.shape[0]


def read_table(path) -> pa.Table:
    """A nav log file as a pyarrow Table (format from the extension: .csv or .parquet)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"nav log not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pq.read_table(path)
        if suffix in (".csv", ".txt"):
            return pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read nav log {path}: {exc}") from None
    raise InputError(f"nav log {path}: unknown format '{suffix}'; use .csv or .parquet")


def _column(table: pa.Table, name: str, default=None) -> np.ndarray:
    if name not in table.column_names:
        return default
    col = table.column(name)
    try:
        return col.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(f"nav log column '{name}' must hold numbers") from None


def from_table(table: pa.Table, source_names: list[str], string_names: list[str], where: str = "nav log") -> NavLog:
    """Validate columns and convert to arrays; a missing column is a clear error naming it."""
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise InputError(
            f"{where}: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)} "
            "(see rangeguard.replay.navlog for the format)"
        )
    n = table.num_rows
    t = _column(table, "t_s")
    r = np.stack([_column(table, c) for c in POSITION], axis=1)
    v = np.stack([_column(table, c) for c in VELOCITY], axis=1)
    nan = np.full(n, np.nan)
    q = np.stack([_column(table, c, nan) for c in QUATERNION], axis=1)
    w = np.stack([_column(table, c, nan) for c in RATES], axis=1)
    src_col = table.column("source")
    unknown: set[str] = set()
    if pa.types.is_integer(src_col.type):
        source = src_col.to_numpy(zero_copy_only=False).astype(np.int64)
        source = np.where((source >= 0) & (source < len(source_names)), source, -1)
    else:
        names = [str(s) for s in src_col.cast(pa.string()).to_pylist()]
        index = {name: i for i, name in enumerate(source_names)}
        source = np.array([index.get(s, -1) for s in names], dtype=np.int64)
        unknown = {s for s in names if s not in index}
    if "valid" in table.column_names:
        vcol = table.column("valid")
        if not pa.types.is_boolean(vcol.type):
            vcol = pc.not_equal(vcol.cast(pa.float64()), 0.0)
        valid = vcol.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    else:
        valid = np.ones(n, bool)
    has_receive = "receive_time_s" in table.column_names
    recv = derived_receive_clock(t)
    if has_receive:  # recorded receive times; a missing one (null, NaN) falls back to the derived clock
        recorded = _column(table, "receive_time_s")
        recv = np.where(np.isfinite(recorded), recorded, recv)
    health = None
    hcols = [f"health_{s}" for s in string_names]
    if any(c in table.column_names for c in hcols):
        health = np.stack([(_column(table, c, np.ones(n)) != 0) for c in hcols], axis=1)
    return NavLog(t, r, v, q, w, source, valid, recv, health, tuple(sorted(unknown)), has_receive,
                  clock_end_s(table))


CLOCK_END_KEY = b"rangeguard.clock_end_s"
"""Schema metadata key of a recorded nav log: the receive time (T+ s) at which the run's clock stopped."""

DERIVED_CLOCK_NEIGHBOURS = 3
"""Rows on each side a time of validity is compared with when a receive clock is derived from them."""
DERIVED_CLOCK_MIN_TOLERANCE_S = 1.0
"""Smallest time difference (s) within which two nearby rows count as agreeing (see derived_receive_clock)."""


def clock_end_s(table: pa.Table) -> float | None:
    """The ``rangeguard.clock_end_s`` metadata of a nav log table (None when absent or unreadable)."""
    meta = table.schema.metadata or {}
    try:
        value = float(meta[CLOCK_END_KEY].decode())
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    return value if np.isfinite(value) else None


def derived_receive_clock(t_s: np.ndarray) -> np.ndarray:
    """A receive clock (T+ s, one value per row) for a log that recorded none.

    A row's time of validity is *supported* by each of its w nearest rows on either side (w =
    :data:`DERIVED_CLOCK_NEIGHBOURS`) whose time differs from it by at most a tolerance (the larger
    of :data:`DERIVED_CLOCK_MIN_TOLERANCE_S` and w + 1 sample periods, the period being the median
    positive step of the log). A row with at least w supporters is on the log's timeline; the clock
    is the running maximum of those rows' times, carried over the others. So the clock follows the
    log, a real gap included (the first row after it is supported by the w after it), never goes
    back, and a burst of up to w glitched time tags (1e9, or a time in the past) moves it not at
    all: the engine's nav gate then sees those samples ahead of or behind the clock and rejects
    them. A log with no supported row (fewer than w + 1 rows) uses its own running maximum.
    """
    t = np.asarray(t_s, dtype=np.float64)
    n = t.size
    w = DERIVED_CLOCK_NEIGHBOURS
    finite = np.isfinite(t)
    steps = np.diff(t[finite])
    steps = steps[steps > 0]
    period = float(np.median(steps)) if steps.size else 0.0
    tol = max(DERIVED_CLOCK_MIN_TOLERANCE_S, (w + 1) * period)
    support = np.zeros(n, np.int64)
    with np.errstate(invalid="ignore"):
        for d in range(1, w + 1):
            agree = np.abs(t[d:] - t[:-d]) <= tol  # row k and row k + d agree (False with NaN)
            support[:-d] += agree
            support[d:] += agree
    on_line = finite & (support >= w)
    if not on_line.any():
        on_line = finite
    times = np.where(on_line, t, -np.inf)
    clock = np.maximum.accumulate(times) if n else times
    first = np.flatnonzero(on_line)
    if first.size == 0:
        return np.zeros_like(t)
    clock[: first[0]] = t[first[0]]
    return clock


def read_navlog(path, source_names: list[str], string_names: list[str]) -> NavLog:
    """Read and validate a nav log file (CSV or Parquet)."""
    return from_table(read_table(path), source_names, string_names, where=str(path))
