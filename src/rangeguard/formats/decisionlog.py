"""The decision log: one row per engine cycle for one vehicle, written to Parquet.

Written by replay, by ``rangeguard run`` (rangeguard.telemetry.afss) and by
the Monte Carlo flights (rangeguard.montecarlo.closedloop); read by the
reports. It takes the engine's :class:`~rangeguard.engine.decisions.Decisions`
as they are, so it imports the engine (formats sits above the core).

Columns: ``cycle``, ``t_s``, ``receive_time_s``, ``state``, ``terminate_now``
(the thrust termination command fired in this cycle), ``fired_by`` (rule name or
string-fault:NAME, on the cycle of termination), ``destruct_now`` (the destruct
command fired in this cycle), ``destructed_by`` (destruct rule name or
destruct-after:SECONDS, on the cycle of destruct), ``reason`` (on cycles where
the state changed, and on the destruct cycle), ``iip_lat_deg``,
``iip_lon_deg`` (first string's), then ``margin__<rule>`` and
``violated__<rule>`` for every rule (margins: smallest over the voting
strings; NaN where not judged).

Header (Parquet schema metadata): ``rangeguard.load_sha256``, the SHA-256 digest of the sealed
mission load that made the decisions (rangeguard.formats.missionload), when the log was made from
one (``rangeguard run`` with a .load); absent otherwise.

Cycles are collected in preallocated column buffers of :data:`ROW_GROUP_ROWS`
rows; a full buffer becomes one Parquet row group. With a ``path`` the log is
written as it grows (to ``PATH.tmp``, renamed to PATH by :meth:`close`: a
crash never leaves half a log at PATH), so a log of any length costs one
buffer of memory; otherwise (or also, ``keep``) the row groups are kept in
memory for :meth:`table` and :meth:`write`. Both ways write the same row
groups with the same settings: the same decisions give byte-identical files,
whether written at once or as they came.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rangeguard.engine import AfssState
from rangeguard.engine.decisions import Decisions, voting_margins

LOAD_DIGEST_KEY = "rangeguard.load_sha256"
"""Schema metadata key of the sealed mission load's SHA-256 digest (hex)."""
ROW_GROUP_ROWS = 16_384
"""Cycles per Parquet row group (and per buffer in memory)."""

_STATE_NAMES = pa.array([s.name for s in sorted(AfssState)], pa.string())
_SAFE = int(AfssState.SAFE)


class _ParquetFile:
    """A Parquet file written row group by row group to ``PATH.tmp``, renamed to PATH when closed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd", write_statistics=False)
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))

    def close(self, schema: pa.Schema) -> Path:
        if self._writer is None:  # no rows at all: a file with the columns and no row group
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.tmp, schema, compression="zstd", write_statistics=False)
        self._writer.close()
        self.tmp.replace(self.path)  # atomic: a crash never leaves half a log
        return self.path

    def abort(self) -> None:
        """Stop writing and remove the temporary file (nothing at PATH)."""
        if self._writer is not None:
            try:
                self._writer.close()
            except (OSError, pa.ArrowException):
                pass
        self.tmp.unlink(missing_ok=True)


class DecisionLog:
    """One vehicle's decisions, cycle by cycle (see the module docstring).

    ``path``: write the log there as it grows (finish with :meth:`close`). ``keep``: keep the rows in
    memory for :meth:`table` and :meth:`write` (default: when there is no ``path``). ``load_sha256``:
    the digest of the sealed mission load, written into the header (schema metadata).
    """

    def __init__(
        self,
        rule_names: Iterable[str],
        vehicle: int = 0,
        *,
        path: str | Path | None = None,
        keep: bool | None = None,
        rows_per_group: int | None = None,
        load_sha256: str | None = None,
    ) -> None:
        rows_per_group = ROW_GROUP_ROWS if rows_per_group is None else rows_per_group
        if rows_per_group < 1:
            raise ValueError(f"rows_per_group must be at least 1; got {rows_per_group}")
        self.rule_names = tuple(rule_names)
        self.metadata = None if not load_sha256 else {LOAD_DIGEST_KEY: load_sha256}
        self.vehicle = vehicle
        self.path = None if path is None else Path(path)
        self.keep = (path is None) if keep is None else bool(keep)
        self.rows_per_group = int(rows_per_group)
        self._file = None if path is None else _ParquetFile(path)
        self._groups: list[pa.Table] = []
        self._flushed = 0  # rows in the row groups before the buffer
        self._n = 0  # rows in the buffer
        self._last_state = _SAFE
        self._policy: str | None = None  # set with the buffers (_allocate)
        self._buf: dict[str, np.ndarray] = {}  # allocated on the first cycle (the number of strings comes with it)
        self._fired: dict[int, str | None] = {}
        self._destructed: dict[int, str | None] = {}
        self._reason: dict[int, str] = {}

    def __len__(self) -> int:
        return self._flushed + self._n

    # --- adding cycles ------------------------------------------------------------------------

    def _allocate(self, decisions: Decisions) -> None:
        g, r = self.rows_per_group, len(self.rule_names)
        k = len(decisions.setup.string_names)
        self._policy = decisions.setup.policy
        self._buf = {
            "t_s": np.empty(g),
            "receive_time_s": np.empty(g),
            "state": np.empty(g, np.int8),
            "terminate_now": np.empty(g, bool),
            "destruct_now": np.empty(g, bool),
            "iip_lat_deg": np.empty(g),
            "iip_lon_deg": np.empty(g),
            "margin": np.empty((g, r, k)),
            "violated": np.empty((g, r, k), bool),
            "health": np.empty((g, k), bool),
        }

    def add(self, decisions: Decisions) -> None:
        """Append one cycle (the engine's :class:`~rangeguard.engine.decisions.Decisions`)."""
        if not self._buf:
            self._allocate(decisions)
        elif self._n == self.rows_per_group:
            self._flush()
        b, j, i, n = self._buf, self._n, self.vehicle, decisions.n
        state = int(decisions.state.mode[i])
        b["t_s"][j] = decisions.t_s[i]
        b["receive_time_s"][j] = decisions.receive_time_s[i]
        b["state"][j] = state
        now = bool(decisions.terminate_now[i])
        b["terminate_now"][j] = now
        if now:
            self._fired[j] = decisions.fired_by(i)
        if state != self._last_state:
            self._reason[j] = decisions.reason(i)
            self._last_state = state
        destruct = bool(decisions.destruct_now[i])
        b["destruct_now"][j] = destruct
        if destruct:
            self._destructed[j] = decisions.destructed_by(i)
            reason = decisions.destruct_reason(i) or ""
            self._reason[j] = reason if j not in self._reason else f"{self._reason[j]}; {reason}"
        b["iip_lat_deg"][j] = decisions.iip_lat_deg[0, i]
        b["iip_lon_deg"][j] = decisions.iip_lon_deg[0, i]
        b["margin"][j] = decisions.margin_rm[:, i::n]  # (rules, strings): this vehicle's column of each string
        b["violated"][j] = decisions.violated_rm[:, i::n]
        b["health"][j] = decisions.health[i]
        self._n = j + 1

    # --- the table -----------------------------------------------------------------------------

    def _margins(self, rows: int) -> np.ndarray:
        """(rows, rules) the voting margins of a buffer of cycles at once (the rule of
        :attr:`rangeguard.engine.decisions.Decisions.margins`)."""
        # cast: the policy is set with the buffers, before any row
        return voting_margins(self._buf["margin"][:rows], self._buf["health"][:rows], cast(str, self._policy))

    def _buffer_table(self) -> pa.Table:
        rows, b = self._n, self._buf
        text: dict[str, dict[int, str | None] | dict[int, str]] = {
            "fired_by": self._fired, "destructed_by": self._destructed, "reason": self._reason
        }  # fmt: skip
        cols = {"cycle": pa.array(np.arange(self._flushed, self._flushed + rows, dtype=np.int64))}
        for name in (
            "t_s",
            "receive_time_s",
            "state",
            "terminate_now",
            "fired_by",
            "destruct_now",
            "destructed_by",
            "reason",
            "iip_lat_deg",
            "iip_lon_deg",
        ):
            if name == "state":
                cols[name] = _STATE_NAMES.take(pa.array(b["state"][:rows]))
            elif name in text:
                values: list[str | None] = [None] * rows
                for j, s in text[name].items():
                    values[j] = s
                cols[name] = pa.array(values, pa.string())
            else:  # a copy: the buffer is reused for the next row group
                cols[name] = pa.array(b[name][:rows].copy())
        margins = self._margins(rows)
        violated = np.logical_or.reduce(b["violated"][:rows], axis=2)  # violated by any string
        for j, name in enumerate(self.rule_names):
            cols[f"margin__{name}"] = pa.array(margins[:, j], pa.float64())
        for j, name in enumerate(self.rule_names):
            cols[f"violated__{name}"] = pa.array(violated[:, j], pa.bool_())
        return pa.table(cols, schema=self.schema)

    @property
    def schema(self) -> pa.Schema:
        fields = [
            ("cycle", pa.int64()),
            ("t_s", pa.float64()),
            ("receive_time_s", pa.float64()),
            ("state", pa.string()),
            ("terminate_now", pa.bool_()),
            ("fired_by", pa.string()),
            ("destruct_now", pa.bool_()),
            ("destructed_by", pa.string()),
            ("reason", pa.string()),
            ("iip_lat_deg", pa.float64()),
            ("iip_lon_deg", pa.float64()),
        ]
        fields += [(f"margin__{name}", pa.float64()) for name in self.rule_names]
        fields += [(f"violated__{name}", pa.bool_()) for name in self.rule_names]
        return pa.schema(fields, metadata=self.metadata)

    def _flush(self) -> None:
        """The buffer becomes a row group (written to the file and/or kept) and is reused."""
        if not self._n:
            return
        group = self._buffer_table()
        if self._file is not None:
            self._file.write(group)
        if self.keep:
            self._groups.append(group)
        self._flushed += self._n
        self._n = 0
        self._fired.clear()
        self._destructed.clear()
        self._reason.clear()

    def _tables(self) -> list[pa.Table]:
        if not self.keep:
            raise RuntimeError(f"this decision log keeps no rows in memory (written to {self.path})")
        return self._groups + ([self._buffer_table()] if self._n else [])

    def table(self) -> pa.Table:
        """Every cycle so far as a pyarrow Table (rows kept in memory only)."""
        return pa.concat_tables(self._tables()) if len(self) else self.schema.empty_table()

    def write(self, path: str | Path) -> Path:
        """Write every cycle so far to ``path`` (atomically), in the row groups :meth:`close` would write."""
        out = _ParquetFile(path)
        try:
            for group in self._tables():
                out.write(group)
            return out.close(self.schema)
        except BaseException:
            out.abort()
            raise

    def close(self) -> Path | None:
        """Write the last row group and move the file into place (with a ``path``; returns it)."""
        if self._file is None:
            return None
        try:
            self._flush()
            path = self._file.close(self.schema)
        except BaseException:
            self._file.abort()
            raise
        self._file = None
        return path

    def abort(self) -> None:
        """Give up a log being written: the temporary file is removed, nothing is left at ``path``."""
        if self._file is not None:
            self._file.abort()
            self._file = None
