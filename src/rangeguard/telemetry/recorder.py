"""The nav log the real-time AFSS writes: every sample it handed the engine, in the order it did.

Rows follow :func:`rangeguard.formats.navlog.nav_log_schema` (the format that
``rangeguard replay`` reads) and keep processing order, never re-sorted:
replay groups consecutive rows with equal t_s into one engine cycle, which is
exactly how the real-time shell formed its cycles, so replaying this log
reproduces the decision log. ``receive_time_s`` is the shell's receive clock
(the time the data-loss rule judged against) and ``health_<STRING>`` the
string health in force when the sample arrived.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rangeguard.formats.navclock import CLOCK_END_KEY
from rangeguard.formats.navlog import nav_log_schema
from rangeguard.telemetry.packets import NavPacket


class NavRecorder:
    """Accumulates accepted nav samples; :meth:`write` stores them atomically as Parquet."""

    def __init__(self, sources, strings) -> None:
        self.sources = list(sources)
        self.strings = list(strings)
        self.schema = nav_log_schema(self.strings)
        self._cols: list[list] = [[] for _ in self.schema]
        self._flushed = 0
        self._parts = 0

    def __len__(self) -> int:
        return len(self._cols[0])

    def add(self, nav: NavPacket, receive_time_s: float, health) -> None:
        values = (nav.t_s, *nav.r_ecef, *nav.v_ecef, *nav.q_body_to_ecef, *nav.omega_body_rad_s,
                  self.sources[nav.source], nav.valid, receive_time_s, *health)  # fmt: skip
        for col, value in zip(self._cols, values, strict=True):
            col.append(value)

    def table(self, start: int = 0, clock_end_s: float | None = None) -> pa.Table:
        """Rows ``start:`` as a pyarrow Table; ``clock_end_s`` (the receive time at which the run's clock
        stopped) goes into the schema metadata, where replay reads it (rangeguard.formats.navlog)."""
        schema = self.schema
        if clock_end_s is not None and math.isfinite(clock_end_s):
            schema = schema.with_metadata({CLOCK_END_KEY: repr(float(clock_end_s)).encode()})
        arrays = [pa.array(col[start:], type=f.type) for col, f in zip(self._cols, self.schema, strict=True)]
        return pa.Table.from_arrays(arrays, schema=schema)

    def write_part(self, folder, clock_end_s: float | None = None) -> Path | None:
        """Write the rows added since the last part as ``folder/nav-NNNNNN.parquet`` (atomically).

        The cost is bounded by the rows since the last call, whatever the flight's length. The
        parts, read in name order (:func:`read_parts`), are the nav log so far; each carries the
        clock end at its writing. A part with no new rows is written only to move the clock end.
        """
        if self._flushed == len(self) and (clock_end_s is None or self._parts == 0):
            return None
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"nav-{self._parts:06d}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(self.table(self._flushed, clock_end_s), tmp, compression="zstd", write_statistics=False)
        os.replace(tmp, path)
        self._flushed = len(self)
        self._parts += 1
        return path

    def write(self, path, clock_end_s: float | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        pq.write_table(self.table(0, clock_end_s), tmp, compression="zstd", write_statistics=False)
        os.replace(tmp, path)  # atomic: a crash never leaves half a log
        return path


def read_parts(folder) -> pa.Table:
    """The nav log recovered from the parts a run left behind (e.g. after a crash), in order."""
    files = sorted(Path(folder).glob("nav-*.parquet"))
    if not files:
        from rangeguard.errors import InputError

        raise InputError(f"no nav log parts (nav-NNNNNN.parquet) in {folder}")
    tables = [pq.read_table(f) for f in files]
    end = tables[-1].schema.metadata  # the latest part knows where the clock had got to
    out = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
    return out.replace_schema_metadata(end)
