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
receive_time_s     no        when the sample arrived (default: t_s)
health_<STRING>    no        that AFTS string's self-reported health (default true)
=================  ========  ===============================================
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
    recv = _column(table, "receive_time_s", t.copy())
    health = None
    hcols = [f"health_{s}" for s in string_names]
    if any(c in table.column_names for c in hcols):
        health = np.stack([(_column(table, c, np.ones(n)) != 0) for c in hcols], axis=1)
    return NavLog(t, r, v, q, w, source, valid, recv, health, tuple(sorted(unknown)))


def read_navlog(path, source_names: list[str], string_names: list[str]) -> NavLog:
    """Read and validate a nav log file (CSV or Parquet)."""
    return from_table(read_table(path), source_names, string_names, where=str(path))


def groups(log: NavLog) -> list[tuple[int, int]]:
    """(start, stop) row ranges of consecutive samples with the same time: one engine cycle each."""
    if len(log) == 0:
        return []
    t = log.t_s
    same = (t[1:] == t[:-1]) | (np.isnan(t[1:]) & np.isnan(t[:-1]))
    starts = np.concatenate([[0], np.nonzero(~same)[0] + 1])
    stops = np.concatenate([starts[1:], [len(log)]])
    return list(zip(starts.tolist(), stops.tolist(), strict=True))
