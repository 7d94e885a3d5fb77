"""Chunk files are trusted only when they check out against the manifest (issue 13, item 2).

A validation's chunk folder holds a manifest with each file's SHA-256 digest and run range. On resume
a corrupt, truncated, swapped, foreign or unrecorded chunk file is recomputed, with a warning line
that names it and says why; the statistics equal those of an untouched run, and the untouched chunks
are not flown again. The flights are cut at T+5 s: only the mechanism is under test.
"""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rangeguard.mission import load_mission
from rangeguard.montecarlo.validation import validate

ROOT = Path(__file__).resolve().parents[2]
KII = ROOT / "missions" / "kii-sso.yaml"
ARGS = {"runs": 4, "scenarios": "tumble", "failure_runs": 2, "chunk_size": 2, "t_max_s": 5.0}
A, B, T = "_nominal__0000000-0000002.parquet", "_nominal__0000002-0000004.parquet", "tumble__0000000-0000002.parquet"


@pytest.fixture(scope="module")
def mission():
    return load_mission(KII)


def _validate(mission, out) -> tuple[list[str], object]:
    """validate() into ``out``: (the chunk warning lines it gave, its result)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = validate(mission, out_dir=out, **ARGS)
    return [str(w.message) for w in caught if w.category.__name__ == "ChunkWarning"], result


@pytest.fixture(scope="module")
def reference(mission, tmp_path_factory):
    """One untouched validation: its folder (copied by each test) and its rows."""
    out = tmp_path_factory.mktemp("reference")
    lines, result = _validate(mission, out)
    assert lines == []
    return out, _sorted(result.rows)


def _sorted(table) -> list[dict]:
    d = table.to_pydict()
    rows = [dict(zip(d, v, strict=True)) for v in zip(*d.values(), strict=True)]
    return sorted(rows, key=lambda r: (r["case"], r["run"]))


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float) and math.isnan(x[k]):
                assert math.isnan(y[k]), (x["case"], x["run"], k)
            else:
                assert x[k] == y[k], (x["case"], x["run"], k)


def _copy(reference, tmp_path) -> tuple[Path, Path]:
    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    chunk_dir = next((out / "chunks").iterdir())
    return out, chunk_dir


def _rerun(mission, out, chunk_dir):
    """Validate again into ``out``: (warning lines, rows, names of the chunk files written again)."""
    before = {p.name: p.stat().st_mtime_ns for p in chunk_dir.glob("*.parquet")}
    lines, result = _validate(mission, out)
    after = {p.name: p.stat().st_mtime_ns for p in chunk_dir.glob("*.parquet")}
    rewritten = {n for n in after if before.get(n) != after[n]}
    again = []
    validate(mission, out_dir=out, on_warning=again.append, **ARGS)  # the CLI's way: one line per chunk
    assert again == [], "a recomputed chunk must check out on the next run"
    return lines, _sorted(result.rows), rewritten


def test_manifest_records_every_chunk_with_its_digest_and_run_range(reference):
    out, _ = reference
    chunk_dir = next((out / "chunks").iterdir())
    doc = json.loads((chunk_dir / "manifest.json").read_text())
    assert doc["fingerprint"] == chunk_dir.name
    assert set(doc["chunks"]) == {A, B, T}
    import hashlib

    for name, e in doc["chunks"].items():
        data = (chunk_dir / name).read_bytes()
        assert e["sha256"] == hashlib.sha256(data).hexdigest() and e["bytes"] == len(data)
        assert e["rows"] == pq.read_metadata(chunk_dir / name).num_rows == e["stop"] - e["start"]
    assert (doc["chunks"][B]["case"], doc["chunks"][B]["start"], doc["chunks"][B]["stop"]) == ("", 2, 4)
    assert (doc["chunks"][T]["case"], doc["chunks"][T]["start"], doc["chunks"][T]["stop"]) == ("tumble", 0, 2)
    assert not list(chunk_dir.glob(".*.tmp"))  # no temporary file left behind


def test_corrupt_bytes_are_detected_and_recomputed(mission, reference, tmp_path):
    out, chunk_dir = _copy(reference, tmp_path)
    data = bytearray((chunk_dir / A).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the data pages
    (chunk_dir / A).write_bytes(bytes(data))
    lines, rows, rewritten = _rerun(mission, out, chunk_dir)
    assert len(lines) == 1 and A in lines[0] and "SHA-256" in lines[0] and "corrupt" in lines[0]
    assert rewritten == {A}
    _same(rows, reference[1])


def test_a_truncated_chunk_is_detected_and_recomputed(mission, reference, tmp_path):
    out, chunk_dir = _copy(reference, tmp_path)
    data = (chunk_dir / T).read_bytes()
    (chunk_dir / T).write_bytes(data[: len(data) // 3])
    lines, rows, rewritten = _rerun(mission, out, chunk_dir)
    assert len(lines) == 1 and T in lines[0] and "truncated" in lines[0]
    assert rewritten == {T}
    _same(rows, reference[1])


def test_two_swapped_chunks_are_detected_and_recomputed(mission, reference, tmp_path):
    """Each file renamed to the other's name: both are whole Parquet files of real runs, but not the
    runs their names promise."""
    out, chunk_dir = _copy(reference, tmp_path)
    (chunk_dir / A).rename(chunk_dir / "x")
    (chunk_dir / B).rename(chunk_dir / A)
    (chunk_dir / "x").rename(chunk_dir / B)
    lines, rows, rewritten = _rerun(mission, out, chunk_dir)
    assert len(lines) == 2 and rewritten == {A, B}
    assert any(A in w and f"are those of {B}" in w for w in lines)
    assert any(B in w and f"are those of {A}" in w for w in lines)
    _same(rows, reference[1])


def test_a_deleted_manifest_means_nothing_is_trusted(mission, reference, tmp_path):
    out, chunk_dir = _copy(reference, tmp_path)
    (chunk_dir / "manifest.json").unlink()
    lines, rows, rewritten = _rerun(mission, out, chunk_dir)
    assert len(lines) == 3 and all("not recorded in the manifest" in w for w in lines)
    assert rewritten == {A, B, T}
    _same(rows, reference[1])


def test_a_foreign_chunk_is_detected_even_with_a_matching_digest(mission, reference, tmp_path):
    """Another case's chunk copied over a nominal one, and its digest written into the manifest too (an
    edited manifest): the digest matches, the rows (case tumble) do not match the task."""
    out, chunk_dir = _copy(reference, tmp_path)
    shutil.copy(chunk_dir / T, chunk_dir / A)
    doc = json.loads((chunk_dir / "manifest.json").read_text())
    doc["chunks"][A].update({k: doc["chunks"][T][k] for k in ("sha256", "bytes")})
    (chunk_dir / "manifest.json").write_text(json.dumps(doc))
    lines, rows, rewritten = _rerun(mission, out, chunk_dir)
    assert len(lines) == 1 and A in lines[0] and "case 'tumble', not 'nominal'" in lines[0]
    assert rewritten == {A}
    _same(rows, reference[1])


def test_a_manifest_from_another_mission_is_not_used(mission, reference, tmp_path):
    out, chunk_dir = _copy(reference, tmp_path)
    doc = json.loads((chunk_dir / "manifest.json").read_text())
    doc["fingerprint"] = "0123456789abcdef"
    (chunk_dir / "manifest.json").write_text(json.dumps(doc))
    lines, rows, rewritten = _rerun(mission, out, chunk_dir)
    assert "0123456789abcdef" in lines[0] and "recomputed" in lines[0]
    assert rewritten == {A, B, T}
    _same(rows, reference[1])


def test_a_chunk_changed_after_its_check_is_caught_before_reading(mission, reference, tmp_path, monkeypatch):
    """The check runs again just before the rows are read: a file corrupted between the resume check and
    the read is recomputed, never read."""
    from rangeguard.montecarlo import runner

    out, chunk_dir = _copy(reference, tmp_path)
    real_run_tasks = runner.run_tasks
    calls = []

    def run_tasks_then_corrupt(*args, **kwargs):
        paths = real_run_tasks(*args, **kwargs)
        if not calls:  # after the first (resume) pass only
            (chunk_dir / B).write_bytes(b"not parquet")
        calls.append(1)
        return paths

    monkeypatch.setattr(runner, "run_tasks", run_tasks_then_corrupt)
    lines, result = _validate(mission, out)
    assert len(calls) == 2 and len(lines) == 1 and B in lines[0] and "truncated" in lines[0]
    _same(_sorted(result.rows), reference[1])
