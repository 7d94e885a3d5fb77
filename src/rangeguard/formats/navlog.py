"""Nav logs: the table of navigation samples that replay and the streamer read and that the sensor
models and ``rangeguard run`` write (CSV or Parquet).

The format, one place: :data:`COLUMNS` lists every column with its kind, unit
and meaning, and :data:`KINDS` what each kind of column may hold;
``docs/navlog.md`` (where ``rangeguard replay --help`` points) shows that
table and is checked against it by tests/unit/test_navlog.py. The reader
below checks a log against it, and the writer (:func:`nav_log_schema`,
:func:`nav_log_from_batches`) takes its columns and types from it. Types are
strict: a number column (``t_s``, positions, velocities, attitude, rates,
``receive_time_s``) holds integers or floats, never booleans or text; a flag
column (``valid``, ``health_<STRING>``) holds booleans or 0/1. An empty
(null) or NaN ``valid`` counts as invalid.

Reading. :class:`NavLogReader` reads a log in batches of ``batch_rows``
rows (Parquet page by page, even from one large row group; CSV in small
text blocks) and yields :class:`NavLog` chunks in file order, so a log of
any length replays in bounded memory; :func:`read_navlog` and
:func:`from_table` concatenate the same chunks for callers that want the
whole log at once.

The receive clock. ``rangeguard replay`` steps the engine on the same clock
as ``rangeguard run`` (rangeguard.engine.driver): on each sample, and on
silent cycles whenever nothing arrived for one cycle, at the receive times.
A log without ``receive_time_s`` (e.g. a GPS log) gets a clock derived from
its times of validity that one glitched time tag cannot move
(:func:`rangeguard.formats.navclock.derived_receive_clock`). The derived clock of a row depends on the
:data:`DERIVED_CLOCK_NEIGHBOURS` rows on each side of it and on three
figures of the whole log (its median time step, whether any row is on the
log's timeline, and the first such row's time): the reader takes those in a
first pass over the time columns alone (``t_s``, and ``receive_time_s``:
when every row has one, nothing is derived) and a second that stops at the
first row on the timeline (usually within the first batch), then holds
back the last few rows of each batch until the rows after them are read, so
the clock of a streamed log is exactly the clock of the whole log. A Parquet log written by ``rangeguard
run`` also carries, in its schema metadata, the receive time at which the
run's clock stopped (``rangeguard.clock_end_s``): replay steps silent cycles
up to it, so a run that ended in silence replays to the same decision.

Writing. :func:`nav_log_schema` is the schema of the logs rangeguard writes
(every column of :data:`COLUMNS`, numbers as float64, flags as booleans,
the source by name, one ``health_<STRING>`` per AFTS string), and
:func:`nav_log_from_batches` turns one vehicle's
:class:`rangeguard.nav.NavBatch` samples into such a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rangeguard.errors import InputError
from rangeguard.formats.navclock import ClockWindow, DerivedClock, StepCounter, clock_end_s
from rangeguard.nav import NavBatch

DOC = "docs/navlog.md"
"""Where the nav log format is documented for users (``rangeguard replay --help`` names it)."""

NUMBER, FLAG, SOURCE = "number", "flag", "source"
KINDS = {
    NUMBER: "numbers (an integer or floating-point column; in a CSV, decimal numbers), not true/false or text",
    FLAG: "true/false (a boolean column, or the integers 0 and 1; in a CSV, true/false or 1/0)",
    SOURCE: "nav source names as in the mission's nav_sources (text) or their indices (integers from 0)",
}
"""What a column of each kind may hold (empty cells and NaN: see each column's meaning)."""


@dataclass(frozen=True)
class NavLogColumn:
    """One column of the nav log format: name, kind (:data:`KINDS`), whether required, unit, meaning."""

    name: str
    kind: str
    required: bool
    unit: str
    meaning: str


_INVALID = "Empty or NaN: the sample is invalid (rejected, counted as invalid)."
COLUMNS: tuple[NavLogColumn, ...] = (
    NavLogColumn("t_s", NUMBER, True, "s", f"Time of validity, seconds from the liftoff epoch (T+). {_INVALID}"),
    *(NavLogColumn(f"{c}_ecef_m", NUMBER, True, "m", f"WGS84 ECEF position, {c}. {_INVALID}") for c in "xyz"),
    *(NavLogColumn(f"v{c}_ecef_mps", NUMBER, True, "m/s", f"Earth-relative velocity in ECEF, {c}. {_INVALID}")
      for c in "xyz"),
    *(NavLogColumn(f"q{c}", NUMBER, False, "—", f"Attitude quaternion body->ECEF (Hamilton, scalar first), {c} part. "
                   "Absent, empty or NaN: no attitude (attitude rules do not judge the sample).") for c in "wxyz"),
    *(NavLogColumn(f"{c}_rad_s", NUMBER, False, "rad/s", f"Body rate about body {axis}. Absent, empty or NaN: no rate "
                   "(body-rate rules do not judge the sample).") for c, axis in zip("pqr", "xyz", strict=True)),
    NavLogColumn("source", SOURCE, True, "—", "The nav source that produced the sample: its name in the mission's "
                 "nav_sources, or its index (0 = the first). Rows of other sources are rejected and counted."),
    NavLogColumn("valid", FLAG, False, "—", "The source's own validity flag. Absent: true. Empty or NaN: false "
                 "(the sample is rejected as invalid)."),
    NavLogColumn("receive_time_s", NUMBER, False, "s", "When the sample arrived, on the T+ axis: the clock the "
                 "engine steps on and judges data loss by. Absent, empty or NaN: derived from t_s (the receive "
                 "clock, below)."),
    NavLogColumn("health_<STRING>", FLAG, False, "—", "AFTS string STRING's self-reported health (one column per "
                 "string of the mission). Absent, empty or NaN: healthy."),
)  # fmt: skip
"""The nav log format. Rows are samples in arrival order (never re-sorted: consecutive rows with the same
``t_s`` form one engine cycle). Other columns are ignored."""

HEALTH_PREFIX = "health_"
POSITION = ("x_ecef_m", "y_ecef_m", "z_ecef_m")
VELOCITY = ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")
QUATERNION = ("qw", "qx", "qy", "qz")
RATES = ("p_rad_s", "q_rad_s", "r_rad_s")
REQUIRED = tuple(c.name for c in COLUMNS if c.required)
_KIND = {c.name: c.kind for c in COLUMNS}

DEFAULT_BATCH_ROWS = 16_384
"""Rows per batch a nav log is read and converted in (memory per batch: a few hundred bytes a row)."""
CSV_BLOCK_BYTES = 1 << 16
"""Bytes of CSV text parsed at a time (a row must fit in one; the reader reads a few blocks ahead)."""
PARQUET_BUFFER_BYTES = 1 << 16
"""Read buffer per Parquet column: a large row group is read piece by piece, not loaded whole."""


@dataclass(frozen=True, eq=False)
class NavLog:
    """A nav log, or a chunk of one, as numpy columns (one row per sample, file order)."""

    t_s: np.ndarray
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    q_body_to_ecef: np.ndarray
    omega_body_rad_s: np.ndarray
    source: np.ndarray  # int source index (-1 = unknown name)
    valid: np.ndarray
    receive_time_s: np.ndarray
    health: np.ndarray | None  # (rows, K) or None
    unknown_sources: tuple[str, ...]
    has_receive_times: bool = True
    """False when the file had no receive_time_s column (``receive_time_s`` is then derived)."""
    clock_end_s: float | None = None
    """Receive time at which the recording's clock stopped (schema metadata), or None."""

    def __len__(self) -> int:
        n: int = self.t_s.shape[0]
        return n

    def rows(self, start: int, stop: int | None = None) -> NavLog:
        """Rows ``start:stop`` (views)."""
        s = slice(start, stop)
        rows: dict[str, Any] = {f: getattr(self, f)[s] for f in _ROW_FIELDS if getattr(self, f) is not None}
        return replace(self, **rows)

    @staticmethod
    def concat(logs: list[NavLog]) -> NavLog:
        """Chunks of one log (same columns) as one; unknown sources merged."""
        if len(logs) == 1:
            return logs[0]
        first = logs[0]
        rows: dict[str, Any] = {
            f: None if getattr(first, f) is None else np.concatenate([getattr(x, f) for x in logs]) for f in _ROW_FIELDS
        }
        unknown = tuple(sorted({s for x in logs for s in x.unknown_sources}))
        return replace(first, **rows, unknown_sources=unknown)


_ROW_FIELDS = tuple(
    f.name for f in fields(NavLog) if f.name not in ("unknown_sources", "has_receive_times", "clock_end_s")
)


# --- column types ---------------------------------------------------------------------------


def _kind(name: str) -> str | None:
    return FLAG if name.startswith(HEALTH_PREFIX) else _KIND.get(name)


def _type_ok(kind: str, t: pa.DataType) -> bool:
    if pa.types.is_null(t):
        return True  # an all-empty column: every cell empty
    ok: bool  # (pyarrow's type tests are untyped)
    if kind == NUMBER:
        ok = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        return ok
    if kind == FLAG:
        ok = pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
        return ok
    if pa.types.is_dictionary(t):
        t = t.value_type
    ok = pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
    return ok


def _describe(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "true/false values"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return "text"
    if pa.types.is_floating(t):
        return "floating-point numbers"
    return f"values of type {t}"


def _refuse(where: str, name: str, found: str) -> InputError:
    kind = _kind(name)
    must = "" if kind is None else f"; it must hold {KINDS[kind]}"
    return InputError(f"{where}: column '{name}' holds {found}{must} (nav log format: {DOC})")


def check_columns(schema: pa.Schema, where: str = "nav log", string_names: list[str] | None = None) -> None:
    """Raise :class:`InputError` for a missing required column or a column of the wrong type (of the
    ``health_`` columns, those of ``string_names``; all of them when None)."""
    names = schema.names
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(
            f"{where}: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)} (nav log format: {DOC})"
        )
    health = None if string_names is None else {HEALTH_PREFIX + s for s in string_names}
    for f in schema:
        kind = _kind(f.name)
        if kind is None or (health is not None and f.name.startswith(HEALTH_PREFIX) and f.name not in health):
            continue  # not part of the format, or the health of a string the mission does not have: ignored
        if not _type_ok(kind, f.type):
            raise _refuse(where, f.name, _describe(f.type))


# --- batch sources: where the rows come from ----------------------------------------------------


class _TableSource:
    def __init__(self, table: pa.Table):
        self.table = table
        self.schema = table.schema

    def batches(self, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
        yield from self.table.select(columns).to_batches(max_chunksize=batch_rows)


class _ParquetSource:
    def __init__(self, path: Path, where: str):
        self.path, self.where = path, where
        with _arrow_errors(where):
            self.schema = pq.read_schema(path)  # the footer only

    def batches(self, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with _arrow_errors(self.where):
            f = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES)
            try:
                yield from f.iter_batches(batch_size=batch_rows, columns=columns, use_threads=False)
            finally:
                f.close()


_CSV_CONVERSION = re.compile(
    r"In CSV column #(?P<col>\d+): .*CSV conversion error to \w+: invalid value '(?P<value>.*)'", re.DOTALL
)


def _csv_read_options() -> pacsv.ReadOptions:
    # one block at a time: parsing ahead on threads would hold several blocks (and the pool keeps them)
    return pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False)


class _CsvSource:
    """A CSV log: number columns are read as float64 and flag columns as booleans (so a cell that is
    neither is a clear error naming its column); the source column's type is inferred (names or indices)."""

    def __init__(self, path: Path, where: str):
        self.path, self.where = path, where
        with _arrow_errors(where):
            reader = pacsv.open_csv(path, read_options=_csv_read_options())
            inferred = reader.schema
            reader.close()
        self.names = inferred.names
        forced = {NUMBER: pa.float64(), FLAG: pa.bool_()}
        self.types: dict[str, pa.DataType] = {}
        for f in inferred:
            kind = _kind(f.name)
            self.types[f.name] = forced[kind] if kind in forced else f.type
        self.schema = pa.schema([(n, self.types[n]) for n in self.names])

    def batches(self, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
        convert = pacsv.ConvertOptions(include_columns=columns, column_types={c: self.types[c] for c in columns})
        try:
            reader = pacsv.open_csv(self.path, read_options=_csv_read_options(), convert_options=convert)
            try:
                yield from reader
            finally:
                reader.close()
        except pa.ArrowInvalid as exc:
            m = _CSV_CONVERSION.search(str(exc))
            if m is None:
                raise InputError(f"cannot read nav log {self.where}: {exc}") from None
            col = int(m["col"])  # the message numbers the file's columns from 0
            name = self.names[col] if col < len(self.names) else f"#{col}"
            raise _refuse(self.where, name, f"'{m['value']}'") from None
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot read nav log {self.where}: {exc}") from None


class _arrow_errors:
    """Turns an unreadable file (not Parquet, truncated, unreadable) into an InputError."""

    def __init__(self, where: str):
        self.where = where

    def __enter__(self) -> _arrow_errors:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if exc is not None and isinstance(exc, (pa.ArrowException, OSError)):
            raise InputError(f"cannot read nav log {self.where}: {exc}") from None
        return False


def _open_source(path: str | Path, where: str) -> _ParquetSource | _CsvSource:
    path = Path(path)
    if not path.exists():
        raise InputError(f"nav log not found: {path}")
    if path.is_dir():
        raise InputError(f"nav log {path} is a directory; give a .csv or .parquet file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _ParquetSource(path, where)
    if suffix in (".csv", ".txt"):
        return _CsvSource(path, where)
    raise InputError(f"nav log {path}: unknown format '{suffix}'; use .csv or .parquet")


# --- converting a batch -------------------------------------------------------------------------


def _numbers(batch: pa.Table, name: str) -> np.ndarray:
    """A number column as float64 (a writable copy); empty cells are NaN."""
    col = batch.column(name)
    if not pa.types.is_float64(col.type):
        col = col.cast(pa.float64())
    return np.array(col.to_numpy(zero_copy_only=False), dtype=np.float64)  # nulls -> NaN; a writable copy


def _numbers_if_any(batch: pa.Table, name: str) -> np.ndarray | None:
    return _numbers(batch, name) if name in batch.schema.names else None


def _flags(batch: pa.Table, name: str, empty: bool, where: str, row0: int) -> np.ndarray | None:
    """A flag column as bool; empty cells and NaN are ``empty``; a number other than 0 or 1 is an error."""
    if name not in batch.schema.names:
        return None
    col = batch.column(name)
    if pa.types.is_boolean(col.type):
        return np.asarray(col.fill_null(empty).to_numpy(zero_copy_only=False), dtype=bool)
    x = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    missing = np.isnan(x)
    bad = ~missing & (x != 0.0) & (x != 1.0)
    if bad.any():
        k = int(np.argmax(bad))
        raise _refuse(where, name, f"{x[k]:g} (row {row0 + k + 1})")
    return np.where(missing, empty, x == 1.0)


def _stack(batch: pa.Table, names: Sequence[str], n: int) -> np.ndarray:
    cols = [_numbers_if_any(batch, c) for c in names]
    return np.stack([np.full(n, np.nan) if c is None else c for c in cols], axis=1)


def _sources(batch: pa.Table, source_names: list[str]) -> tuple[np.ndarray, set[str]]:
    col = batch.column("source")
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if pa.types.is_integer(col.type):
        index = np.asarray(col.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        return np.where((index >= 0) & (index < len(source_names)), index, -1), set()
    if pa.types.is_null(col.type):
        return np.full(len(col), -1, np.int64), {"(empty)"} if len(col) else set()
    index = pc.index_in(col, value_set=pa.array(source_names, col.type)).fill_null(-1)
    index = np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.int64)
    unknown = set()
    if (index < 0).any():
        names = pc.unique(col.filter(pa.array(index < 0))).to_pylist()
        unknown = {"(empty)" if s is None else s for s in names}
    return index, unknown


def _convert(
    batch: pa.Table, source_names: list[str], string_names: list[str], where: str, row0: int, clock_end_s: float | None
) -> NavLog:
    """One batch as a NavLog chunk; ``receive_time_s`` as recorded (NaN where absent: the caller derives it)."""
    n = batch.num_rows
    t = _numbers(batch, "t_s")
    recorded = _numbers_if_any(batch, "receive_time_s")
    source, unknown = _sources(batch, source_names)
    valid = _flags(batch, "valid", False, where, row0)
    health = None
    hcols = [HEALTH_PREFIX + s for s in string_names]
    if any(c in batch.schema.names for c in hcols):
        health = np.stack(
            [np.ones(n, bool) if h is None else h for h in (_flags(batch, c, True, where, row0) for c in hcols)], axis=1
        )
    return NavLog(
        t,
        _stack(batch, POSITION, n),
        _stack(batch, VELOCITY, n),
        _stack(batch, QUATERNION, n),
        _stack(batch, RATES, n),
        source,
        np.ones(n, bool) if valid is None else valid,
        np.full(n, np.nan) if recorded is None else recorded,
        health,
        tuple(sorted(unknown)),
        recorded is not None,
        clock_end_s,
    )


class NavLogReader:
    """A nav log read in batches. Iterating yields :class:`NavLog` chunks in file order (each at most
    ``batch_rows`` rows plus the few held back for the derived clock); every iteration reads the file
    again. The columns and their types are checked on opening (a CSV's cells as they are read).

    ``log``: a path (.csv, .txt, .parquet, .pq) or a pyarrow Table. After an iteration,
    :attr:`unknown_sources` holds the source names of the rows that named none of the mission's.
    """

    def __init__(
        self,
        log: str | Path | pa.Table,
        source_names: list[str],
        string_names: list[str],
        *,
        where: str | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1; got {batch_rows}")
        if isinstance(log, pa.Table):
            self.where = where or "nav log"
            self._source: _TableSource | _ParquetSource | _CsvSource = _TableSource(log)
        else:
            self.where = where or str(log)
            self._source = _open_source(log, self.where)
        self.source_names = list(source_names)
        self.string_names = list(string_names)
        self.batch_rows = int(batch_rows)
        schema = self._source.schema
        check_columns(schema, self.where, self.string_names)
        self.clock_end_s = clock_end_s(schema)
        self.has_receive_times = "receive_time_s" in schema.names
        wanted = {c.name for c in COLUMNS} | {HEALTH_PREFIX + s for s in self.string_names}
        self.columns = [c for c in schema.names if c in wanted]
        self.unknown_sources: tuple[str, ...] = ()

    def _batches(self, columns: list[str]) -> Iterator[pa.Table]:
        """The columns in batches of ``batch_rows`` (the last one shorter), whatever the file's own blocks."""
        parts: list[pa.RecordBatch] = []
        rows = 0
        for batch in self._source.batches(columns, self.batch_rows):
            parts.append(batch)
            rows += batch.num_rows
            while rows >= self.batch_rows:
                table = pa.Table.from_batches(parts)
                yield table.slice(0, self.batch_rows)
                parts = table.slice(self.batch_rows).to_batches()
                rows -= self.batch_rows
        if rows:
            yield pa.Table.from_batches(parts)

    def _times(self, columns: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for batch in self._batches(columns):
            yield _numbers(batch, "t_s"), _numbers_if_any(batch, "receive_time_s")

    def _clock(self) -> DerivedClock | None:
        """First pass over the times: the derived clock's whole-log figures (None: every row has a
        recorded receive time, nothing to derive)."""
        steps = StepCounter()
        needed = not self.has_receive_times
        for t, recorded in self._times(["t_s", "receive_time_s"] if self.has_receive_times else ["t_s"]):
            steps.add(t)
            needed = needed or (recorded is not None and not np.isfinite(recorded).all())
        if not needed:
            clock = None
        else:
            clock = DerivedClock.for_log(steps.median(), (t for t, _ in self._times(["t_s"])))
        pa.default_memory_pool().release_unused()  # what the pass read is freed; give it back before the replay
        return clock

    def __iter__(self) -> Iterator[NavLog]:
        clock = self._clock()
        unknown: set[str] = set()
        window = ClockWindow()
        held: list[NavLog] = []
        row0 = 0
        for batch in self._batches(self.columns):
            chunk = _convert(batch, self.source_names, self.string_names, self.where, row0, self.clock_end_s)
            row0 += len(chunk)
            unknown.update(chunk.unknown_sources)
            if clock is None:
                yield chunk
                continue
            ext, ready = window.push(chunk.t_s)
            held.append(chunk)
            if ready:
                rows = NavLog.concat(held)
                held = [rows.rows(ready)]
                yield _with_clock(rows.rows(0, ready), clock(ext, ready))
        if clock is not None:
            ext, ready = window.finish()
            if ready:
                yield _with_clock(NavLog.concat(held), clock(ext, ready))
        self.unknown_sources = tuple(sorted(unknown))

    def read(self) -> NavLog:
        """The whole log as one NavLog."""
        chunks = list(self)
        if not chunks:  # no rows
            empty = pa.schema([self._source.schema.field(c) for c in self.columns]).empty_table()
            return _convert(empty, self.source_names, self.string_names, self.where, 0, self.clock_end_s)
        return replace(NavLog.concat(chunks), unknown_sources=self.unknown_sources)


def _with_clock(rows: NavLog, derived: np.ndarray) -> NavLog:
    recorded = rows.receive_time_s
    return replace(rows, receive_time_s=np.where(np.isfinite(recorded), recorded, derived))


def read_table(path: str | Path) -> pa.Table:
    """A nav log file as a pyarrow Table (format from the extension: .csv or .parquet), columns checked."""
    source = _open_source(path, str(path))
    check_columns(source.schema, str(path))
    return pa.Table.from_batches(list(source.batches(source.schema.names, DEFAULT_BATCH_ROWS)), schema=source.schema)


def from_table(table: pa.Table, source_names: list[str], string_names: list[str], where: str = "nav log") -> NavLog:
    """Validate a nav log table and convert it to arrays; a missing or mistyped column is a clear error."""
    return NavLogReader(table, source_names, string_names, where=where).read()


def read_navlog(path: str | Path, source_names: list[str], string_names: list[str]) -> NavLog:
    """Read and validate a whole nav log file (CSV or Parquet); :class:`NavLogReader` streams it."""
    return NavLogReader(path, source_names, string_names).read()


# --- writing ------------------------------------------------------------------------------------

_WRITTEN_TYPES = {NUMBER: pa.float64(), FLAG: pa.bool_(), SOURCE: pa.string()}
"""The type each kind of column is written with (the source by name)."""
_HEALTH_COLUMN = HEALTH_PREFIX + "<STRING>"


def nav_log_schema(strings: Sequence[str] = ()) -> pa.Schema:
    """pyarrow schema of the nav logs rangeguard writes: the columns of :data:`COLUMNS` in their order,
    ``health_<STRING>`` once per name in ``strings``."""
    fields: list[tuple[str, pa.DataType]] = []
    for c in COLUMNS:
        if c.name == _HEALTH_COLUMN:
            fields += [(HEALTH_PREFIX + name, _WRITTEN_TYPES[c.kind]) for name in strings]
        else:
            fields.append((c.name, _WRITTEN_TYPES[c.kind]))
    return pa.schema(fields)


def nav_log_from_batches(
    batches: Sequence[NavBatch],
    sources: Sequence[str],
    vehicle: int = 0,
    *,
    receive_time_s: Sequence[float] | None = None,
    health: Sequence[np.ndarray] | None = None,
    strings: Sequence[str] = (),
) -> pa.Table:
    """Nav log table (:func:`nav_log_schema`) of one vehicle from a sequence of NavBatches.

    Row ``vehicle`` of each batch becomes one row, unless the batch's
    ``present`` mask says that sample never arrived (a missing sample is not a
    row of a nav log); ``source`` is the name ``sources[batch.source]``.
    ``receive_time_s`` (one per batch; default: the time of validity) and
    ``health`` (one (n_strings,) or (N, n_strings) bool array per batch,
    columns ``health_<STRING>`` named by ``strings``) fill the optional
    columns. Rows are sorted by time of validity (stable, so samples with
    equal times keep their order).
    """
    batches = list(batches)
    strings = list(strings)
    schema = nav_log_schema(strings)
    if receive_time_s is not None and len(receive_time_s) != len(batches):
        raise InputError(f"receive_time_s needs one entry per batch ({len(batches)}); got {len(receive_time_s)}")
    if health is not None and len(health) != len(batches):
        raise InputError(f"health needs one entry per batch ({len(batches)}); got {len(health)}")
    arrived = [b.present is None or bool(b.present[vehicle]) for b in batches]
    if not all(arrived):
        batches = [b for b, a in zip(batches, arrived, strict=True) if a]
        receive_time_s = (
            None if receive_time_s is None else [x for x, a in zip(receive_time_s, arrived, strict=True) if a]
        )
        health = None if health is None else [h for h, a in zip(health, arrived, strict=True) if a]
    if not batches:
        return schema.empty_table()
    t = np.array([b.t_s[vehicle] for b in batches], dtype=np.float64)
    vec = np.array(  # per row: position, velocity, attitude, rates (the number columns after t_s, in order)
        [np.concatenate([b.r_ecef[vehicle], b.v_ecef[vehicle], b.q_body_to_ecef[vehicle], b.omega_body_rad_s[vehicle]])
         for b in batches], dtype=np.float64,
    )  # fmt: skip
    valid = np.array([b.valid[vehicle] for b in batches], dtype=bool)
    names = np.asarray(list(sources), dtype=object)[[b.source for b in batches]]
    recv = t.copy() if receive_time_s is None else np.asarray(receive_time_s, dtype=np.float64)
    if health is None:
        ok = np.ones((len(batches), len(strings)), dtype=bool)
    else:
        ok = np.array([h[vehicle] if np.ndim(h) == 2 else h for h in health], dtype=bool).reshape(-1, len(strings))
    if recv.shape != t.shape or ok.shape[0] != t.size:
        raise InputError(
            f"receive_time_s and health need one entry per batch ({t.size}); got {recv.shape[0]} and {ok.shape[0]}"
        )
    order = np.argsort(t, kind="stable")
    columns = [
        t[order],
        *(vec[order, j] for j in range(vec.shape[1])),
        names[order].tolist(),
        valid[order],
        recv[order],
    ]
    columns += [ok[order, j] for j in range(len(strings))]
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)
