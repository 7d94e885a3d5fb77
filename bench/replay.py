"""`rangeguard replay` of a 1,000,000-row nav log: wall time, rows/s and peak memory.

The log is a hand-made vertical climb from Spaceport Kii at a constant
100 m/s (body +x up, no rotation), sampled at 100 Hz by two nav sources, so
1,000,000 rows are 500,000 epochs (5,000 s of flight). Every sample passes the
engine's nav gate and no rule fires, so the engine is stepped on every
epoch to the end of the log (a log that terminated early would measure
nothing). The mission (written next to the log) has the rule types of a real
one: data loss, speed and altitude envelopes, an IIP corridor and a
protected area, a present-position prism, attitude error, body rate and
source disagreement; its engine cycle is 100 Hz.

Two logs, each replayed by the ``rangeguard`` command in a child process
(``--json --out DIR``: the decision log is written too), which reports its
own peak resident memory (VmHWM; the generator's memory does not count):

- ``parquet``: the format ``rangeguard run`` records (nav_log_schema:
  attitude, rates, receive times, string health);
- ``csv``: a GPS-style log without receive times (replay derives the clock).

Figures per log: ``wall_s``, ``rows_per_s``, ``peak_rss_mb``. Reference,
measured in the same run: ``engine_rows_per_s``, the rows per second of the
bare ``Engine.step`` on the same mission and the same samples (both sources
of an epoch stepped together, NavBatches built beforehand), and
``replay_vs_engine`` = rows_per_s / engine_rows_per_s (1.0: replay adds
nothing to the engine's own cost) and ``outside_engine_us_per_row``, the
time per row that is not the engine step (reading, converting, the cycle
driver, the decision log, the timeline, start-up); ``reference_s`` is the
numpy workload of bench/_reference.py, and ``rows_per_reference`` = rows_per_s x
reference_s, the rows replayed in the time of one reference workload, which compares
runs across machines and across the states of a shared one. Targets (issue 14):
rows_per_s >= 20,000 and peak_rss_mb <= 300 (must: <= 600); on the 2-core host these
figures were first measured on, the reference takes 0.12-0.13 s in its usual state, so
20,000 rows/s there is about 2,500 rows per reference.

    .venv/bin/python bench/replay.py [--rows N] [--keep DIR]

The logs go to a temporary folder (deleted afterwards unless ``--keep``).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _reference import reference_s

from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.engine import Engine
from rangeguard.formats.navlog import nav_log_schema
from rangeguard.mission import load_mission
from rangeguard.nav import NavBatch

LAT_DEG, LON_DEG, ALT_M = 33.54, 135.89, 10.0
RATE_HZ = 100.0
CLIMB_MPS = 100.0
LATENCY_S = (0.004, 0.006)  # receive time - time of validity, per source
SOURCES = ("ins_a", "ins_b")
STRINGS = ("A", "B")
CHUNK_EPOCHS = 50_000  # epochs generated and written at a time

MISSION = {
    "name": "bench-replay",
    "cycle_hz": RATE_HZ,
    "site": {"lat_deg": LAT_DEG, "lon_deg": LON_DEG, "alt_m": ALT_M, "launch_azimuth_deg": 180.0},
    "nav_sources": [{"name": s} for s in SOURCES],
    "strings": [{"name": k, "nav_source": s} for k, s in zip(STRINGS, SOURCES, strict=True)],
    "areas": [
        {
            "name": "corridor",
            "kind": "corridor",
            "lat_deg": [34.5, 34.5, 32.0, 32.0],
            "lon_deg": [135.0, 137.0, 137.0, 135.0],
        },
        {
            "name": "island",
            "kind": "protected",
            "lat_deg": [31.0, 31.0, 30.5, 30.5],
            "lon_deg": [135.5, 136.0, 136.0, 135.5],
        },
    ],
    "rules": [
        {"name": "nav-loss", "type": "data_loss", "green_time_s": 1.0, "persistence_s": 0.0},
        {
            "name": "speed",
            "type": "envelope",
            "quantity": "speed_mps",
            "persistence_s": 0.5,
            "table": {"t_s": [0.0, 6000.0], "lower": [50.0, 50.0], "upper": [500.0, 500.0]},
        },
        {
            "name": "altitude",
            "type": "envelope",
            "quantity": "altitude_m",
            "persistence_s": 0.5,
            "table": {"t_s": [10.0, 6000.0], "lower": [0.0, 0.0], "upper": [1.0e6, 1.0e6]},
        },
        {"name": "iip-corridor", "type": "iip_polygon", "area": "corridor", "persistence_s": 0.5},
        {"name": "iip-island", "type": "iip_polygon", "area": "island", "persistence_s": 0.2},
        {"name": "island-overflight", "type": "position_polygon", "area": "island", "alt_max_m": 100000.0},
        {
            "name": "pointing",
            "type": "attitude_error",
            "max_error_deg": 15.0,
            "persistence_s": 0.3,
            "commanded": {"t_s": [0.0, 6000.0], "azimuth_deg": [180.0, 180.0], "elevation_deg": [90.0, 90.0]},
        },
        {"name": "tumble", "type": "body_rate", "max_rate_deg_s": 30.0},
        {
            "name": "agree",
            "type": "source_disagreement",
            "sources": list(SOURCES),
            "quantity": "position_m",
            "max_difference": 500.0,
            "max_age_s": 0.5,
        },
    ],
    "termination": {"policy": "health_degraded"},
    "safing": {"orbit": {"enabled": False}, "iip_clear": {"enabled": False}},
}


def _quaternion_body_to_ecef() -> np.ndarray:
    """Body +x up, +y east, +z north at the pad, as a unit quaternion (w, x, y, z) body->ECEF."""
    enu = ecef_to_enu_matrix(LAT_DEG, LON_DEG)  # rows: east, north, up in ECEF
    m = np.column_stack([enu[2], enu[0], enu[1]])  # columns: the body axes in ECEF
    w = 0.5 * np.sqrt(max(1.0 + np.trace(m), 0.0))
    if w > 1e-3:
        q = np.array([w, (m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w), (m[1, 0] - m[0, 1]) / (4 * w)])
    else:  # a half-turn: the scalar part vanishes; take the largest vector component
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k]) * 2
        q = np.zeros(4)
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i], q[1 + j], q[1 + k] = 0.25 * s, (m[j, i] + m[i, j]) / s, (m[k, i] + m[i, k]) / s
    return q / np.linalg.norm(q)


def climb_chunk(first_epoch: int, epochs: int, strings=STRINGS) -> pa.Table:
    """Rows of epochs ``first_epoch ..``: both sources per epoch, source a first (nav_log_schema order)."""
    enu = ecef_to_enu_matrix(LAT_DEG, LON_DEG)
    pad = geodetic_to_ecef(LAT_DEG, LON_DEG, ALT_M)
    t = (np.arange(first_epoch, first_epoch + epochs) + 1) / RATE_HZ
    t = np.repeat(t, len(SOURCES))
    n = t.size
    r = pad + np.outer(CLIMB_MPS * t, enu[2])
    v = np.broadcast_to(CLIMB_MPS * enu[2], (n, 3))
    q = np.broadcast_to(_quaternion_body_to_ecef(), (n, 4))
    latency = np.tile(LATENCY_S, epochs)
    cols = {"t_s": t}
    cols.update({name: r[:, i] for i, name in enumerate(("x_ecef_m", "y_ecef_m", "z_ecef_m"))})
    cols.update({name: v[:, i] for i, name in enumerate(("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps"))})
    cols.update({name: q[:, i] for i, name in enumerate(("qw", "qx", "qy", "qz"))})
    cols.update({name: np.zeros(n) for name in ("p_rad_s", "q_rad_s", "r_rad_s")})
    cols["source"] = np.tile(np.array(SOURCES, dtype=object), epochs)
    cols["valid"] = np.ones(n, bool)
    cols["receive_time_s"] = t + latency
    for k in strings:
        cols[f"health_{k}"] = np.ones(n, bool)
    return pa.table(cols, schema=nav_log_schema(strings))


def write_log(path: Path, rows: int, fmt: str) -> Path:
    """A climb log of ``rows`` rows (even). Parquet: as `rangeguard run` records it (one call of
    pq.write_table, so a million rows are one row group); CSV: without receive times or health."""
    epochs = rows // len(SOURCES)
    chunks = [climb_chunk(first, min(CHUNK_EPOCHS, epochs - first)) for first in range(0, epochs, CHUNK_EPOCHS)]
    if fmt == "csv":
        recorded = ["receive_time_s", *(f"health_{k}" for k in STRINGS)]
        with pacsv.CSVWriter(path, chunks[0].drop_columns(recorded).schema) as w:
            for chunk in chunks:
                w.write_table(chunk.drop_columns(recorded))
    else:
        pq.write_table(pa.concat_tables(chunks), path, compression="zstd", write_statistics=False)
    return path


CHILD = """
import sys
from rangeguard.cli.app import main
code = main(sys.argv[1:])
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print("peak_rss_kb", int(hwm.split()[1]), file=sys.stderr)
sys.exit(code)
"""
"""The replay child: the ``rangeguard`` command's main(), then its own peak resident memory (VmHWM counts
only after exec, unlike ru_maxrss, which would include this parent's memory at the fork)."""


def replay_child(mission: Path, log: Path, out: Path) -> dict:
    """Run ``rangeguard replay LOG --mission M --json --out DIR`` as a child; its summary, wall time and peak RSS."""
    cmd = [sys.executable, "-c", CHILD, "replay", str(log), "--mission", str(mission), "--json", "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"replay of {log} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_kb = int(proc.stderr.rsplit("peak_rss_kb", 1)[1].split()[0])
    return {"summary": summary, "wall_s": wall, "peak_rss_mb": peak_kb / 1024.0}


def engine_rows_per_s(mission_path: Path, epochs: int = 20_000) -> float:
    """Rows per second of the bare engine on the same samples: both sources of an epoch in one step."""
    mission = load_mission(mission_path)
    table = climb_chunk(0, epochs + 1).to_pydict()
    batches = []
    for e in range(epochs):
        pair = []
        for k in (2 * e, 2 * e + 1):
            pair.append(
                NavBatch.from_arrays(
                    table["t_s"][k],
                    [table[c][k] for c in ("x_ecef_m", "y_ecef_m", "z_ecef_m")],
                    [table[c][k] for c in ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")],
                    [table[c][k] for c in ("qw", "qx", "qy", "qz")],
                    [0.0, 0.0, 0.0],
                    True,
                    source=k % 2,
                )
            )
        batches.append((pair, table["receive_time_s"][2 * e + 1]))
    best = np.inf
    for _ in range(2):
        engine = Engine(mission)
        t0 = time.perf_counter()
        for pair, receive in batches:
            engine.step(pair, receive)
        best = min(best, time.perf_counter() - t0)
        if engine.state.samples[0] != 2 * epochs:
            raise SystemExit("the bench log is not accepted by the engine's nav gate: fix the generator")
    return 2 * epochs / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per log (two per epoch)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the logs and decision logs in this folder")
    parser.add_argument("--formats", default="parquet,csv", help="which logs to replay (parquet, csv)")
    args = parser.parse_args()
    rows = args.rows - args.rows % len(SOURCES)
    with tempfile.TemporaryDirectory(prefix="rg-bench-replay-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        mission = folder / "bench-replay.yaml"
        mission.write_text(yaml.safe_dump(MISSION, sort_keys=False))
        result: dict = {"bench": "replay", "rows": rows}
        for fmt in args.formats.split(","):
            log = write_log(folder / f"climb.{fmt}", rows, fmt)
            run = replay_child(mission, log, folder / f"out-{fmt}")
            s = run["summary"]
            if s["terminated"] or s["samples"] != rows or s["rejected_samples"]:
                raise SystemExit(f"the bench log did not fly through ({fmt}): {s}")
            result[fmt] = {
                "wall_s": round(run["wall_s"], 2),
                "rows_per_s": round(rows / run["wall_s"]),
                "peak_rss_mb": round(run["peak_rss_mb"], 1),
            }
        engine = engine_rows_per_s(mission)
        result["engine_rows_per_s"] = round(engine)
        for fmt in args.formats.split(","):
            result[fmt]["replay_vs_engine"] = round(result[fmt]["rows_per_s"] / engine, 3)
            result[fmt]["outside_engine_us_per_row"] = round(1e6 / result[fmt]["rows_per_s"] - 1e6 / engine, 1)
        ref = reference_s()
        result["reference_s"] = round(ref, 4)
        for fmt in args.formats.split(","):
            result[fmt]["rows_per_reference"] = round(result[fmt]["rows_per_s"] * ref)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
