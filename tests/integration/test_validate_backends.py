"""`rangeguard validate` gives the same answer whatever the chunk size, worker count or backend."""

from __future__ import annotations

import json
import math
import pathlib

import pytest

from rangeguard.cli import main
from rangeguard.mission import load_mission
from rangeguard.montecarlo.validation import validate

ROOT = pathlib.Path(__file__).resolve().parents[2]
KII = ROOT / "missions" / "kii-sso.yaml"
# Short flights keep this quick: every run ends at T+70 s, after the tumble failure (T+60 +- 2 s)
# has been caught, and the nominal flights are still armed (their rule margins are compared).
SHORT = {"runs": 6, "scenarios": "tumble", "failure_runs": 3, "t_max_s": 70.0}


def _rows(result) -> list[dict]:
    d = result.rows.to_pydict()
    rows = [dict(zip(d, vals, strict=True)) for vals in zip(*d.values(), strict=True)]
    return sorted(rows, key=lambda r: (r["case"], r["run"]))


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            x, y = ra[k], rb[k]
            if isinstance(x, float) and math.isnan(x):
                assert isinstance(y, float) and math.isnan(y), (ra["case"], ra["run"], k)
            else:
                assert x == y, (ra["case"], ra["run"], k, x, y)  # bit for bit


@pytest.mark.slow
def test_chunk_size_and_backend_do_not_change_any_run():
    m = load_mission(KII)
    one_chunk = validate(m, chunk_size=6, **SHORT)
    small_chunks = validate(m, chunk_size=2, **SHORT)
    processes = validate(m, chunk_size=3, backend="processes", workers=2, **SHORT)
    ref = _rows(one_chunk)
    _same(ref, _rows(small_chunks))
    _same(ref, _rows(processes))
    tumble = [r for r in ref if r["case"] == "tumble"]
    assert all(r["terminated"] and r["rule"] == "tumble" for r in tumble)
    assert len({r["t_fail_s"] for r in tumble}) == 3  # the failure time is dispersed
    assert all(58.0 <= r["t_fail_s"] <= 62.0 for r in tumble)
    assert not any(r["terminated"] for r in ref if r["case"] == "")
    assert one_chunk.summary == small_chunks.summary == processes.summary


def test_cli_writes_parquet_and_json(tmp_path, capsys):
    out = tmp_path / "v"
    code = main(
        [
            "validate",
            str(KII),
            "--runs",
            "2",
            "--scenarios",
            "tumble",
            "--failure-runs",
            "1",
            "--t-max",
            "62",
            "--backend",
            "inprocess",
            "--out",
            str(out),
            "--json",
            "--no-progress",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verdict"] == "FAIL"  # 2 runs cannot show 1e-3
    assert doc["runs"] == 2 and set(doc["scenarios"]) == {"tumble"}
    for name in ("runs.parquet", "statistics.parquet", "summary.json"):
        assert (out / name).is_file()
    assert len(list((out / "chunks").glob("*/*.parquet"))) == 2
    assert main(["validate", str(KII), "--scenarios", "nope", "--out", str(out)]) == 2
    assert "unknown scenario" in capsys.readouterr().err


def test_backend_choice():
    """--scheduler: Dask on that cluster; --workers K: a Dask LocalCluster of K; neither: local processes."""
    from rangeguard.cli.validate import _backend
    from rangeguard.errors import InputError

    assert _backend("auto", None, "tcp://127.0.0.1:8786") == ("dask", 1)
    assert _backend("auto", 3, None) == ("dask", 3)
    assert _backend("auto", 1, None) == ("inprocess", 1)
    assert _backend("processes", 2, None) == ("processes", 2)
    assert _backend("inprocess", None, None) == ("inprocess", 1)
    with pytest.raises(InputError, match="dask"):
        _backend("processes", None, "tcp://127.0.0.1:8786")
    with pytest.raises(InputError, match="allowed"):
        _backend("threads", None, None)
