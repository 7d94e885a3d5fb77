"""The run's nav log: processing order kept, periodic parts recover the same table."""

from __future__ import annotations

import math

import pyarrow.parquet as pq

from rangeguard.telemetry.packets import NavPacket
from rangeguard.telemetry.recorder import NavRecorder, read_parts


def test_parts_concatenate_to_the_full_log_in_processing_order(tmp_path):
    rec = NavRecorder(["ins_a", "ins_b"], ["A", "B"])
    rows = [(0.1, 1), (0.1, 0), (0.0, 1), (0.2, 0)]  # out of time order on purpose: never re-sorted
    for k, (t, s) in enumerate(rows):
        rec.add(NavPacket(t, (6.4e6 + k, 0.0, 0.0), (1.0, 2.0, 3.0), source=s, valid=k != 2), 10.0 + k, (True, k < 2))
        if k in (1, 3):
            rec.write_part(tmp_path / "parts")
    assert rec.write_part(tmp_path / "parts") is None  # nothing new
    full = rec.write(tmp_path / "nav.parquet")
    a, b = pq.read_table(full), read_parts(tmp_path / "parts")
    assert a.schema == b.schema
    assert repr(a.to_pylist()) == repr(b.to_pylist())  # repr: NaN compares equal to NaN
    assert a.column("t_s").to_pylist() == [0.1, 0.1, 0.0, 0.2]
    assert a.column("source").to_pylist() == ["ins_b", "ins_a", "ins_b", "ins_a"]
    assert a.column("valid").to_pylist() == [True, True, False, True]
    assert a.column("health_B").to_pylist() == [True, True, False, False]
    assert a.column("receive_time_s").to_pylist() == [10.0, 11.0, 12.0, 13.0]
    assert math.isnan(a.column("qw").to_pylist()[0])
