"""Nav logs (rangeguard.formats.navlog): strict column types, the derived clock read in batches, the format doc.

1. Types are strict (issue 14): a number column holds integers or floats, never booleans or text; a
   flag column holds booleans or 0/1; anything else is one InputError naming the file, the column,
   what it holds and what it must hold. An empty or NaN ``valid`` counts as invalid.
2. The reader's receive clock, computed batch by batch with a few rows held back, equals the clock of
   the whole log; the whole-log clock is checked against the definition written out here.
3. docs/navlog.md (where ``rangeguard replay --help`` points) lists exactly the columns of
   :data:`rangeguard.formats.navlog.COLUMNS`; regenerate its tables with
   ``python tests/unit/test_navlog.py``.
4. The writer's schema is the documented format, and what it writes the reader reads back unchanged.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from rangeguard.errors import InputError
from rangeguard.formats import navclock, navlog
from rangeguard.nav import NavBatch

DOC = Path(__file__).resolve().parents[2] / "docs" / "navlog.md"
SOURCES, STRINGS = ["a", "b"], ["A", "B"]
NUMBER_COLUMNS = [
    "t_s",
    "x_ecef_m",
    "y_ecef_m",
    "z_ecef_m",
    "vx_ecef_mps",
    "vy_ecef_mps",
    "vz_ecef_mps",
    "qw",
    "qx",
    "qy",
    "qz",
    "p_rad_s",
    "q_rad_s",
    "r_rad_s",
    "receive_time_s",
]


def rows(n=6, **columns) -> dict:
    """A small valid log (two sources per epoch, 10 Hz, a slow climb along x), columns overridable."""
    t = np.repeat(np.arange(1, n // 2 + 1) * 0.1, 2)
    cols = {
        "t_s": t,
        "x_ecef_m": 6.4e6 + 10.0 * t,
        "y_ecef_m": np.zeros(n),
        "z_ecef_m": np.zeros(n),
        "vx_ecef_mps": np.full(n, 10.0),
        "vy_ecef_mps": np.zeros(n),
        "vz_ecef_mps": np.zeros(n),
        "source": ["a", "b"] * (n // 2),
        "valid": [True] * n,
    }
    cols.update(columns)
    return cols


def table(**columns) -> pa.Table:
    return pa.table(rows(**columns))


def from_table(t: pa.Table):
    return navlog.from_table(t, SOURCES, STRINGS, where="nav.parquet")


def write(tmp_path, t: pa.Table, suffix: str) -> Path:
    path = tmp_path / f"nav{suffix}"
    if suffix == ".csv":
        pacsv.write_csv(t, path)
    else:
        pq.write_table(t, path)
    return path


# --- 1. strict types --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_yes_no_valid_column_is_a_clear_error_naming_the_column_and_the_allowed_values(tmp_path, suffix):
    """Before: pyarrow's ArrowInvalid ("Failed to parse string: 'yes'") reached the user."""
    path = write(tmp_path, table(valid=["yes", "no"] * 3), suffix)
    with pytest.raises(InputError) as err:
        navlog.read_navlog(path, SOURCES, STRINGS)
    text = str(err.value)
    assert str(path) in text and "column 'valid'" in text and "true/false" in text and "0 and 1" in text
    assert "\n" not in text


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_nan_or_empty_valid_counts_as_invalid(tmp_path, suffix):
    """Before: NaN != 0 made a NaN flag valid. Rows 1 (NaN) and 4 (null) are invalid, the others as given."""
    t = table(valid=pa.array([1.0, np.nan, 0.0, 1.0, None, 1.0], pa.float64()))
    log = navlog.read_navlog(write(tmp_path, t, suffix), SOURCES, STRINGS)
    assert log.valid.tolist() == [True, False, False, True, False, True]
    assert from_table(table(valid=pa.array([True, None, False, True, True, None]))).valid.tolist() == [
        True,
        False,
        False,
        True,
        True,
        False,
    ]


def test_valid_as_integers_0_and_1_is_accepted_and_other_numbers_are_refused():
    assert from_table(table(valid=[1, 0, 1, 1, 0, 1])).valid.tolist() == [True, False, True, True, False, True]
    with pytest.raises(InputError, match=r"column 'valid' holds 2 \(row 3\); it must hold true/false"):
        from_table(table(valid=[1, 0, 2, 1, 0, 1]))


@pytest.mark.parametrize("column", NUMBER_COLUMNS)
@pytest.mark.parametrize("bad", ["booleans", "text"])
def test_a_number_column_of_booleans_or_text_is_refused(column, bad):
    """Before: a boolean t_s became 1.0/0.0 and numeric text was parsed; now each is an error naming the column."""
    values = [True, False] * 3 if bad == "booleans" else ["1.5"] * 6
    with pytest.raises(InputError) as err:
        from_table(table(**{column: values}))
    text = str(err.value)
    assert f"column '{column}' holds" in text and "it must hold numbers" in text and "docs/navlog.md" in text


@pytest.mark.parametrize("column", ["t_s", "x_ecef_m", "receive_time_s", "qw"])
def test_a_csv_cell_that_is_not_a_number_is_refused(tmp_path, column):
    path = tmp_path / "nav.csv"
    t = table(**{column: ["0.1", "0.1", "true", "0.2", "0.3", "0.3"]})
    pacsv.write_csv(t, path)
    with pytest.raises(InputError, match=rf"nav.csv: column '{column}' holds 'true'; it must hold numbers"):
        navlog.read_navlog(path, SOURCES, STRINGS)


def test_a_boolean_t_s_in_a_csv_is_refused(tmp_path):
    path = tmp_path / "nav.csv"
    path.write_text(
        "t_s,x_ecef_m,y_ecef_m,z_ecef_m,vx_ecef_mps,vy_ecef_mps,vz_ecef_mps,source\n"
        "true,6400000,0,0,10,0,0,a\nfalse,6400001,0,0,10,0,0,a\n"
    )
    with pytest.raises(InputError, match="column 't_s' holds 'true'"):
        navlog.read_navlog(path, SOURCES, STRINGS)


def test_health_flags_are_strict_and_empty_means_healthy():
    log = from_table(table(health_A=pa.array([True, None, False, True, True, True]), health_B=[1, 1, 1, 0, 1, 1]))
    assert log.health[:, 0].tolist() == [True, True, False, True, True, True]
    assert log.health[:, 1].tolist() == [True, True, True, False, True, True]
    with pytest.raises(InputError, match="column 'health_A' holds text; it must hold true/false"):
        from_table(table(health_A=["ok"] * 6))


@pytest.mark.parametrize("values", [[0.0, 1.0] * 3, [True, False] * 3], ids=["floats", "booleans"])
def test_a_source_column_of_floats_or_booleans_is_refused(values):
    with pytest.raises(InputError, match="column 'source' holds .*; it must hold nav source names"):
        from_table(table(source=values))


def test_sources_by_name_index_and_dictionary_and_unknown_names():
    assert from_table(table(source=[0, 1, 1, 0, 5, -1])).source.tolist() == [0, 1, 1, 0, -1, -1]
    log = from_table(table(source=pa.array(["a", "b", "zz", "a", None, "b"]).dictionary_encode()))
    assert log.source.tolist() == [0, 1, -1, 0, -1, 1]
    assert log.unknown_sources == ("(empty)", "zz")


def test_missing_required_columns_are_named():
    with pytest.raises(InputError, match=r"missing column\(s\) vz_ecef_mps, source; required: t_s"):
        from_table(table().drop_columns(["vz_ecef_mps", "source"]))


def test_an_all_empty_optional_column_and_integer_numbers_are_accepted():
    log = from_table(table(qw=pa.nulls(6), t_s=pa.array([1, 1, 2, 2, 3, 3], pa.int32())))
    assert np.isnan(log.q_body_to_ecef[:, 0]).all() and log.t_s.tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]


def test_an_unreadable_file_is_an_input_error(tmp_path):
    for name, data in (("nav.parquet", b"not parquet at all"), ("nav.csv", b"")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=f"cannot read nav log .*{name}"):
            navlog.read_navlog(tmp_path / name, SOURCES, STRINGS)
    with pytest.raises(InputError, match="is a directory"):
        navlog.read_navlog(tmp_path, SOURCES, STRINGS)


# --- 2. the derived clock, batch by batch --------------------------------------------------------------


def clock_by_definition(t: np.ndarray) -> np.ndarray:
    """The derived receive clock as its docstring defines it, for the whole log at once."""
    w, n = 3, t.size
    finite = np.isfinite(t)
    steps = np.diff(t[finite])
    steps = steps[steps > 0]
    tol = max(1.0, (w + 1) * (float(np.median(steps)) if steps.size else 0.0))
    support = np.zeros(n, int)
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, no agreement
        for k in range(n):
            for j in range(max(0, k - w), min(n, k + w + 1)):
                support[k] += j != k and bool(abs(t[j] - t[k]) <= tol)
    on_line = finite & (support >= w)
    if not on_line.any():
        on_line = finite
    if not on_line.any():
        return np.zeros(n)
    clock = np.maximum.accumulate(np.where(on_line, t, -np.inf))
    clock[: np.argmax(on_line)] = t[np.argmax(on_line)]
    return clock


def glitchy_times(rng, n: int) -> np.ndarray:
    t = np.round(np.cumsum(rng.choice([0.1, 0.1, 0.0, 0.2, 5.0], n)), 6)
    for _ in range(int(rng.integers(0, 4))):
        if n:
            t[rng.integers(0, n)] = rng.choice([1e9, -5.0, np.nan, np.inf, 60.0])
    return t


def test_the_derived_clock_follows_its_definition():
    rng = np.random.default_rng(14)
    for n in list(range(12)) + [40, 41, 97]:
        for _ in range(20):
            t = glitchy_times(rng, n)
            np.testing.assert_array_equal(navclock.derived_receive_clock(t), clock_by_definition(t))
    t = rng.uniform(-100, 100, 50)  # nothing supported: the running maximum of every finite time
    np.testing.assert_array_equal(navclock.derived_receive_clock(t), clock_by_definition(t))


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 4, 5, 7, 64])
def test_the_readers_clock_is_the_whole_logs_clock_whatever_the_batches(batch_rows):
    """Logs without receive times (and with a few missing): each row's clock depends on 3 rows either side
    and on the whole log's median step; read in batches of 1 .. 64 rows, every row gets the whole log's clock."""
    rng = np.random.default_rng(batch_rows)
    for n in (1, 3, 4, 7, 30, 97):
        t = glitchy_times(rng, n)
        base = {
            "t_s": t,
            "x_ecef_m": np.full(n, 6.4e6),
            "y_ecef_m": np.zeros(n),
            "z_ecef_m": np.zeros(n),
            "vx_ecef_mps": np.zeros(n),
            "vy_ecef_mps": np.zeros(n),
            "vz_ecef_mps": np.zeros(n),
            "source": ["a"] * n,
        }
        recorded = np.where(rng.random(n) < 0.2, np.nan, t + 0.01)
        for tab, want in (
            (pa.table(base), clock_by_definition(t)),
            (
                pa.table({**base, "receive_time_s": recorded}),
                np.where(np.isfinite(recorded), recorded, clock_by_definition(t)),
            ),
        ):
            reader = navlog.NavLogReader(tab, SOURCES, STRINGS, batch_rows=batch_rows)
            chunks = list(reader)
            assert all(len(c) <= batch_rows + 3 for c in chunks)
            got = np.concatenate([c.receive_time_s for c in chunks])
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(np.concatenate([c.t_s for c in chunks]), t)


def test_the_median_step_is_exact_when_counted_in_batches():
    rng = np.random.default_rng(3)
    for n in (2, 3, 10, 101):
        t = np.cumsum(rng.choice([0.01, 0.02, 0.0, 0.015, -0.3], n)) + rng.normal(0, 1e-9, n)
        steps = np.diff(t)
        steps = steps[steps > 0]
        for size in (1, 2, 5, n):
            counter = navclock.StepCounter()
            for i in range(0, n, size):
                counter.add(t[i : i + size])
            assert counter.median() == (float(np.median(steps)) if steps.size else 0.0)


# --- 3. the format document -------------------------------------------------------------------------------


def columns_table() -> str:
    lines = ["| Column | Kind | Required | Unit | Meaning |", "|---|---|---|---|---|"]
    lines += [
        f"| `{c.name}` | {c.kind} | {'yes' if c.required else 'no'} | {c.unit} | {c.meaning} |" for c in navlog.COLUMNS
    ]
    return "\n".join(lines)


def kinds_table() -> str:
    return "\n".join(["| Kind | Holds |", "|---|---|"] + [f"| {k} | {v} |" for k, v in navlog.KINDS.items()])


def test_the_doc_lists_exactly_the_columns_and_kinds_of_the_code():
    text = DOC.read_text(encoding="utf-8")
    assert columns_table() in text, f"docs/navlog.md's column table is stale; regenerate: python {__file__}"
    assert kinds_table() in text, f"docs/navlog.md's kinds table is stale; regenerate: python {__file__}"
    assert navlog.DOC == "docs/navlog.md"
    documented = re.findall(r"^\| `([^`]+)` \|", text, re.MULTILINE)
    assert documented == [c.name for c in navlog.COLUMNS]


# --- 4. writing ----------------------------------------------------------------------------------------------


def test_the_writer_schema_is_the_documented_format():
    f64, flag, text = pa.float64(), pa.bool_(), pa.string()
    expected = [(c, f64) for c in NUMBER_COLUMNS[:-1]]
    expected += [("source", text), ("valid", flag), ("receive_time_s", f64), ("health_A", flag), ("health_B", flag)]
    assert navlog.nav_log_schema(STRINGS) == pa.schema(expected)
    assert navlog.nav_log_schema().names == NUMBER_COLUMNS[:-1] + ["source", "valid", "receive_time_s"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_what_the_writer_writes_the_reader_reads_back(tmp_path, suffix):
    """Vehicle 1 of three 2-vehicle batches, given out of time order: one row per arrived sample, sorted by
    t_s; a sample that never arrived (present False) is no row; an invalid one is a row marked invalid."""

    def batch(t, source, valid=(True, True), present=None):
        r = np.array([[6.4e6, 0.0, 0.0], [6.4e6 + 10 * t, 1.0, 2.0]])
        v = np.array([[0.0, 0.0, 0.0], [10.0, 0.5, 0.25]])
        q = np.array([[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5]])
        w = np.array([[0.0, 0.0, 0.0], [0.01, 0.02, 0.03]])
        return NavBatch(
            np.full(2, t), r, v, q, w, np.array(valid), source, None if present is None else np.array(present)
        )

    batches = [batch(0.2, 1, valid=(True, False)), batch(0.1, 0), batch(0.3, 0, present=(True, False))]
    health = [np.array([True, False]), np.array([True, True]), np.array([False, False])]
    table = navlog.nav_log_from_batches(
        batches, SOURCES, 1, receive_time_s=[0.25, 0.15, 0.35], health=health, strings=STRINGS
    )
    log = navlog.read_navlog(write(tmp_path, table, suffix), SOURCES, STRINGS)
    assert log.t_s.tolist() == [0.1, 0.2]
    assert log.source.tolist() == [0, 1] and log.valid.tolist() == [True, False]
    assert log.receive_time_s.tolist() == [0.15, 0.25]
    assert log.health.tolist() == [[True, True], [True, False]]
    np.testing.assert_array_equal(log.r_ecef, [[6.4e6 + 1.0, 1.0, 2.0], [6.4e6 + 2.0, 1.0, 2.0]])
    np.testing.assert_array_equal(log.v_ecef, [[10.0, 0.5, 0.25]] * 2)
    np.testing.assert_array_equal(log.q_body_to_ecef, [[0.5, 0.5, 0.5, 0.5]] * 2)
    np.testing.assert_array_equal(log.omega_body_rad_s, [[0.01, 0.02, 0.03]] * 2)


if __name__ == "__main__":  # pragma: no cover - a maintenance helper
    sys.stdout.write(columns_table() + "\n\n" + kinds_table() + "\n")
