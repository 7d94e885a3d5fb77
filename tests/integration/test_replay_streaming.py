"""`rangeguard replay` streams its nav log and its decision log (issue 14).

The log is read in batches (rangeguard.formats.navlog.NavLogReader) and the samples go to the cycle driver
as they are read; the decision log is written row group by row group as it fills. What must not change:
the decisions. Streamed in batches of any size (1 row, 3 rows, which splits the two rows of every other
epoch, ...), with or without recorded receive times, from CSV or Parquet, the decision log is
byte-identical to the one of the whole log replayed at once. Memory: the replay lets go of each batch once
its samples are stepped, and the decision log file grows during the replay. Figures for a million rows:
bench/replay.py.

The log is a hand-made vertical climb (20 m/s^2: height 10 t^2, speed 20 t) sampled at 10 Hz by two
sources, with one glitched time tag and a 5 s hole from T+30 that the data-loss rule (green time 2 s)
judges: terminate at T+29.9 + 2.0 or 2.1 s.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.formats import decisionlog, navlog
from rangeguard.formats.navlog import read_navlog
from rangeguard.mission import load_mission
from rangeguard.replay import replay
from rangeguard.replay import run as replay_run

SITE = {"lat_deg": 33.54, "lon_deg": 135.89, "alt_m": 0.0, "launch_azimuth_deg": 180.0}
MISSION = {
    "name": "replay-streaming",
    "site": SITE,
    "nav_sources": [{"name": "a"}, {"name": "b"}],
    "rules": [
        {"name": "nav-loss", "type": "data_loss", "green_time_s": 2.0, "persistence_s": 0.0},
        {
            "name": "speed",
            "type": "envelope",
            "quantity": "speed_mps",
            "persistence_s": 0.5,
            "table": {"t_s": [0, 200], "upper": [5000.0, 5000.0]},
        },
    ],
    "termination": {"policy": "health_degraded"},
    "safing": {"orbit": {"enabled": False}, "iip_clear": {"enabled": False}},
}
ROT = ecef_to_enu_matrix(SITE["lat_deg"], SITE["lon_deg"])
PAD = geodetic_to_ecef(SITE["lat_deg"], SITE["lon_deg"], SITE["alt_m"])
CLI = [sys.executable, "-m", "rangeguard.cli"]


def climb(t_end=40.0, hole=(30.0, 35.0)) -> list[dict]:
    out = []
    for k in range(1, int(round(t_end * 10)) + 1):
        t = k / 10
        if hole[0] <= t < hole[1]:
            continue
        r = PAD + ROT.T @ np.array([0.0, 0.0, 10.0 * t * t])
        v = ROT.T @ np.array([0.0, 0.0, 20.0 * t])
        for s in ("a", "b"):
            out.append(
                {
                    "t_s": t,
                    "x_ecef_m": r[0],
                    "y_ecef_m": r[1],
                    "z_ecef_m": r[2],
                    "vx_ecef_mps": v[0],
                    "vy_ecef_mps": v[1],
                    "vz_ecef_mps": v[2],
                    "source": s,
                    "valid": True,
                    "receive_time_s": t + 0.02,
                }
            )
    out[101] = dict(out[101], t_s=1e9)  # one glitched time tag: rejected, moves no clock
    return out


def write_log(folder, table_rows, suffix=".parquet", receive=True):
    table = pa.Table.from_pylist(table_rows)
    if not receive:
        table = table.drop_columns(["receive_time_s"])
    path = folder / f"nav{suffix}"
    if suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


@pytest.fixture(scope="module")
def mission(tmp_path_factory):
    path = tmp_path_factory.mktemp("mission") / "m.yaml"
    path.write_text(yaml.safe_dump(MISSION))
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("receive", [True, False], ids=["receive-times", "derived-clock"])
def test_streamed_decision_log_is_byte_identical_to_the_whole_logs(tmp_path, mission, monkeypatch, suffix, receive):
    """Batches of 1, 2, 3 (every other epoch's two rows split), 5 and 64 rows, and the default; row groups
    of 7 cycles so the file has many: the same bytes, summary and timeline as the whole log at once."""
    monkeypatch.setattr(decisionlog, "ROW_GROUP_ROWS", 7)
    m = load_mission(mission)
    names = ([s.name for s in m.nav_sources], [s.name for s in m.string_specs])
    log = write_log(tmp_path, climb(), suffix, receive)
    whole = replay(m, read_navlog(log, *names))
    assert whole.terminated and whole.rule == "nav-loss" and whole.rejected_samples == 1
    assert 29.9 + 2.0 - 1e-9 <= whole.t_terminate_s <= 29.9 + 2.1 + 1e-9
    want = whole.log.write(tmp_path / "whole.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "whole.parquet").num_row_groups == -(-len(whole.log) // 7)
    for batch_rows in (1, 2, 3, 5, 64, navlog.DEFAULT_BATCH_ROWS):
        out = tmp_path / f"streamed-{batch_rows}.parquet"
        reader = navlog.NavLogReader(log, *names, batch_rows=batch_rows)
        streamed = replay(m, reader, decisions_path=out, keep_decisions=False)
        assert out.read_bytes() == want, f"batches of {batch_rows} rows"
        assert streamed.summary() == whole.summary() and streamed.timeline == whole.timeline
        assert not out.with_suffix(".parquet.tmp").exists()


def test_row_groups_are_written_while_the_replay_runs(tmp_path, mission, monkeypatch):
    """Row groups of 16 cycles: each is appended to decisions.parquet.tmp as it fills (the file grows during
    the replay), nothing is at decisions.parquet until the end, and the final file holds them all."""
    monkeypatch.setattr(decisionlog, "ROW_GROUP_ROWS", 16)
    seen = []
    write = decisionlog._ParquetFile.write

    def spy(self, table):
        write(self, table)
        seen.append((table.num_rows, self.tmp.stat().st_size, self.path.exists()))

    monkeypatch.setattr(decisionlog._ParquetFile, "write", spy)
    m = load_mission(mission)
    log = navlog.NavLogReader(write_log(tmp_path, climb()), ["a", "b"], [s.name for s in m.string_specs], batch_rows=10)
    out = tmp_path / "out" / "decisions.parquet"
    result = replay(m, log, decisions_path=out, keep_decisions=False)
    cycles = len(result.log)
    assert cycles > 100 and len(seen) == -(-cycles // 16)
    assert [n for n, _, _ in seen] == [16] * (len(seen) - 1) + [cycles - 16 * (len(seen) - 1)]
    sizes = [size for _, size, _ in seen]
    assert all(a < b for a, b in zip(sizes, sizes[1:], strict=False)), sizes
    assert not any(exists for _, _, exists in seen)
    f = pq.ParquetFile(out)
    assert f.num_row_groups == len(seen) and f.metadata.num_rows == cycles
    with pytest.raises(RuntimeError, match="keeps no rows in memory"):
        result.log.table()


def test_the_replay_lets_go_of_each_batch_once_its_samples_are_stepped(tmp_path, mission):
    """While batch k is read, batches k - 2 and older are gone (the open cycle may still hold rows of k - 1):
    the replay keeps no reference to the log it has stepped through."""
    m = load_mission(mission)
    reader = navlog.NavLogReader(
        write_log(tmp_path, climb()), ["a", "b"], [s.name for s in m.string_specs], batch_rows=8
    )
    refs: list[weakref.ref] = []
    alive_too_long = []

    def batches():
        for k, chunk in enumerate(reader):
            gc.collect()
            alive_too_long.extend(j for j, ref in enumerate(refs[: max(k - 1, 0)]) if ref() is not None)
            refs.append(weakref.ref(chunk))
            yield chunk
            del chunk

    replay(m, batches(), keep_decisions=False)
    assert len(refs) > 50 and alive_too_long == []


def test_a_decision_log_that_could_not_be_finished_is_not_left_behind(tmp_path, mission):
    """A bad cell far down a CSV (after the first blocks) stops the replay: exit 2, one line naming the
    column and the value; neither decisions.parquet nor its temporary file is left."""
    table_rows = climb(t_end=120.0, hole=(0.0, 0.0))
    table_rows[2000]["valid"] = "maybe"
    log = tmp_path / "nav.csv"
    pacsv.write_csv(pa.Table.from_pylist([dict(r, valid=str(r["valid"]).lower()) for r in table_rows]), log)
    assert log.stat().st_size > 4 * navlog.CSV_BLOCK_BYTES
    proc = subprocess.run(
        [*CLI, "replay", str(log), "--mission", str(mission), "--json", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"{log}: column 'valid' holds 'maybe'; it must hold {navlog.KINDS['flag']} (nav log format: docs/navlog.md)"
    ]
    assert list((tmp_path / "out").glob("*")) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_yes_no_valid_column_is_one_line_and_exit_2(tmp_path, mission, suffix):
    """Before: ArrowInvalid ("Failed to parse string: 'yes' as a scalar of type double") as an internal error."""
    log = write_log(tmp_path, [dict(r, valid="yes" if i % 2 else "no") for i, r in enumerate(climb())], suffix)
    proc = subprocess.run(
        [*CLI, "replay", str(log), "--mission", str(mission)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"{log}: column 'valid' holds ") and "true/false" in lines[0] and "0 and 1" in lines[0]


def test_the_cli_streams_to_the_same_file_and_help_names_the_format_document(tmp_path, mission):
    log = write_log(tmp_path, climb(), ".csv", receive=False)
    proc = subprocess.run(
        [*CLI, "replay", str(log), "--mission", str(mission), "--json", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    m = load_mission(mission)
    whole = replay(m, read_navlog(log, ["a", "b"], [s.name for s in m.string_specs]))
    assert json.loads(proc.stdout) == whole.summary()
    assert (tmp_path / "out" / "decisions.parquet").read_bytes() == whole.log.write(tmp_path / "w.parquet").read_bytes()
    help_text = subprocess.run(
        [*CLI, "replay", "--help"], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"}
    ).stdout
    assert "docs/navlog.md" in help_text


@pytest.mark.parametrize("policy", ["1oo2", "2oo2", "health_degraded"])
def test_the_columnar_decision_log_holds_each_cycles_decisions(tmp_path, monkeypatch, policy):
    """The decision log fills column buffers and computes the voting margins once per row group; every row
    must still say what that cycle's Decisions said (read here one cycle at a time, as the log used to be
    built). String b's source reads 1 % fast, so the strings' margins differ; string a reports itself
    unhealthy from T+10 to T+20 and b from T+15 to T+25 (none healthy in between: health_degraded then
    takes the smallest margin of all); the 'slow' rule is violated from T+15 without persisting long enough."""
    data = {
        **MISSION,
        "termination": {"policy": policy, "all_strings_faulty": "continue", "faulty_string_votes": False},
    }
    data["rules"] = [
        *MISSION["rules"],
        {
            "name": "slow",
            "type": "envelope",
            "quantity": "speed_mps",
            "persistence_s": 30.0,
            "table": {"t_s": [0, 200], "upper": [300.0, 300.0]},
        },
    ]
    if policy != "health_degraded":
        data["termination"].pop("all_strings_faulty")
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))
    table_rows = climb(hole=(100.0, 100.0))
    for r in table_rows:
        if r["source"] == "b":
            r.update(
                vx_ecef_mps=r["vx_ecef_mps"] * 1.01,
                vy_ecef_mps=r["vy_ecef_mps"] * 1.01,
                vz_ecef_mps=r["vz_ecef_mps"] * 1.01,
            )
        r["health_a"] = not 10.0 <= r["t_s"] < 20.0
        r["health_b"] = not 15.0 <= r["t_s"] < 25.0
    m = load_mission(path)
    assert [s.name for s in m.string_specs] == ["a", "b"]  # one string per nav source, named after it
    log = read_navlog(write_log(tmp_path, table_rows), ["a", "b"], ["a", "b"])
    cycles = []

    class Recording(decisionlog.DecisionLog):
        def add(self, decisions):
            super().add(decisions)
            cycles.append(decisions)

    monkeypatch.setattr(replay_run, "DecisionLog", Recording)
    result = replay(m, log)
    got = result.log.table().to_pydict()
    assert len(cycles) == len(got["cycle"]) > 300 and not result.terminated
    last = "SAFE"
    for k, d in enumerate(cycles):
        state = d.state_name(0)
        assert got["state"][k] == state and got["t_s"][k] == float(d.t_s[0])
        assert got["reason"][k] == (d.reason(0) if state != last else None)
        last = state
        for j, rule in enumerate(m.rules):
            want = float(d.margins[0, j])
            assert got[f"margin__{rule.name}"][k] == pytest.approx(want, abs=0, nan_ok=True), (k, rule.name)
            assert got[f"violated__{rule.name}"][k] == bool(d.violated[:, 0, j].any())
    assert any(got["violated__slow"]) and len({tuple(d.health[0]) for d in cycles}) == 4
