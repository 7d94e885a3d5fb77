"""Reliability of `rangeguard validate`: a killed Dask worker, a killed and restarted run, a run that fails."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from rangeguard.mission import load_mission
from rangeguard.mission.dispersions import DispersionsSpec
from rangeguard.montecarlo.chunks import ChunkTask, run_chunk
from rangeguard.montecarlo.sampling import DispersionSampler
from rangeguard.montecarlo.validation import validate

ROOT = pathlib.Path(__file__).resolve().parents[2]
KII = ROOT / "missions" / "kii-sso.yaml"


def _sorted_rows(table) -> list[dict]:
    d = table.to_pydict()
    rows = [dict(zip(d, v, strict=True)) for v in zip(*d.values(), strict=True)]
    return sorted(rows, key=lambda r: (r["case"], r["run"]))


def _assert_same_rows(a, b) -> None:
    """Same runs, same decisions, same strings and counts exactly; floats equal to a few ulps.

    Fast-math numba kernels compiled in different processes may round the last
    bit of a position differently (seen on CI between the test process and a
    Dask worker: an IIP latitude 31.949605318209514 vs ...503), so floats are
    compared to 1e-12 relative; every decision, rule name, count and the
    statistics (checked exactly by the callers) are unaffected.
    """
    ra, rb = _sorted_rows(a), _sorted_rows(b)
    assert len(ra) == len(rb)
    for x, y in zip(ra, rb, strict=True):
        for k in x:
            if isinstance(x[k], float) and x[k] != x[k]:
                assert y[k] != y[k], k
            elif isinstance(x[k], float):
                assert y[k] == pytest.approx(x[k], rel=1e-12, abs=1e-9), (x["case"], x["run"], k)
            else:
                assert x[k] == y[k], (x["case"], x["run"], k)


@pytest.mark.slow
def test_killing_a_dask_worker_mid_run_changes_nothing():
    """A LocalCluster of 2 worker processes on 127.0.0.1; after the first chunk arrives one worker
    process is SIGKILLed. Its chunk is rescheduled (the nanny restarts the worker) and the rows equal
    the in-process run's, bit for bit."""
    from distributed import Client, LocalCluster

    m = load_mission(KII)
    args = {"runs": 8, "scenarios": "tumble", "failure_runs": 2, "t_max_s": 62.0, "chunk_size": 1}
    ref = validate(m, **args)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    killed = []
    try:
        with Client(cluster) as client:
            pids = client.run(os.getpid)

            def kill_one(task, done):
                if task is not None and not killed:
                    pid = sorted(pids.values())[0]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

            result = validate(m, backend="dask", scheduler=cluster.scheduler_address, on_chunk=kill_one, **args)
            assert killed
            assert client.run(os.getpid)  # the cluster is still serving
    finally:
        cluster.close()
    _assert_same_rows(ref.rows, result.rows)
    _assert_same_summary(result.summary, ref.summary)


def _assert_same_summary(a, b, path="summary") -> None:
    """Equal statistics: every key, count and string exactly, floats to a few ulps (see _assert_same_rows)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _assert_same_summary(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_summary(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        assert (a != a and b != b) or b == pytest.approx(a, rel=1e-12, abs=1e-9), path
    else:
        assert a == b, path


def _cli(out, *extra):
    return [
        sys.executable,
        "-c",
        "import sys; from rangeguard.cli import main; sys.exit(main(sys.argv[1:]))",
        "validate",
        str(KII),
        "--runs",
        "6",
        "--scenarios",
        "none",
        "--t-max",
        "40",
        "--chunk-size",
        "1",
        "--backend",
        "inprocess",
        "--out",
        str(out),
        "--json",
        "--no-progress",
        *extra,
    ]


@pytest.mark.slow
def test_a_killed_and_restarted_run_resumes_and_gives_the_same_statistics(tmp_path):
    """The CLI is SIGKILLed once two chunk files exist; the rerun skips them and the statistics equal
    an uninterrupted run's."""
    out = tmp_path / "resumed"
    proc = subprocess.Popen(_cli(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("chunks/*/*.parquet"))) < 2:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("chunks/*/*.parquet")}
    assert 2 <= len(before) < 6 and not (out / "summary.json").exists()
    resumed = subprocess.run(_cli(out), capture_output=True, text=True, timeout=300)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("chunks/*/*.parquet")}
    assert len(after) == 6 and all(after[k] == v for k, v in before.items())  # finished chunks were skipped
    whole = validate(load_mission(KII), runs=6, scenarios="none", t_max_s=40.0, chunk_size=3)
    assert json.loads(resumed.stdout) == whole.json()


def test_a_failing_run_is_recorded_and_the_others_stand():
    """cd_scale ~ N(1, 1) draws a negative multiplier for some runs, which the simulator refuses.
    Those runs get a row with the error; the others equal the same runs flown alone."""
    m = load_mission(KII)
    bad_spec = DispersionsSpec.model_validate({"cd_scale": {"dist": "normal", "three_sigma": 3.0}})
    m = m.model_copy(update={"dispersions": bad_spec})
    cd = DispersionSampler(bad_spec, len(m.vehicle.stages), ["ins_a", "ins_b"]).draw(m.seed, range(8)).params.cd_scale
    bad = {k for k in range(8) if cd[k] <= 0}
    assert 0 < len(bad) < 8
    rows = _sorted_rows(run_chunk(ChunkTask(m, m, None, 0, 8, t_max_s=20.0)))
    errors = {r["run"] for r in rows if r["error"] is not None}
    assert errors == bad
    for r in rows:
        if r["run"] in bad:
            assert "cd_scale" in r["error"] and r["terminated"] is None
    good = next(k for k in range(8) if k not in bad)
    alone = _sorted_rows(run_chunk(ChunkTask(m, m, None, good, good + 1, t_max_s=20.0)))[0]
    row = next(r for r in rows if r["run"] == good)
    assert {k: v for k, v in row.items() if v == v} == {k: v for k, v in alone.items() if v == v}
    result = validate(m, runs=8, scenarios="none", t_max_s=20.0, chunk_size=8)
    assert result.verdict == "FAIL" and len(result.summary["errors"]) == len(bad)
    assert any("error" in reason for reason in result.summary["reasons"])
