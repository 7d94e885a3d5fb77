"""Benchmark of `rangeguard risk` on the Kii mission: the whole ascent, failure times every 1 s.

Runs `rangeguard risk missions/kii-sso.yaml` through the CLI in a child process (its default backend:
this process, numba spreading each failure time's fragments over the cores), with 1,000 samples per
fragment group, failure time and response-mode kind, and reports the wall time (issue 17: goal
<= 30 s, must <= 120 s on 2 cores), the fragments propagated per second, and the verdict with E_c
and P_c. The machine is shared: a fixed single-threaded numpy reference workload is timed in the same
run, and the wall time is also given in units of it. A small warm-up run of the same mission first compiles and caches
the kernels (numba's on-disk cache), so the figure is the analysis' own, as for any run after the
first one on a machine.

Prints one JSON object as its last line.

    python bench/risk.py [--samples 1000] [--mission missions/kii-sso.yaml]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq
from _reference import reference_s, sig

ROOT = pathlib.Path(__file__).resolve().parents[1]
KII = ROOT / "missions" / "kii-sso.yaml"
CLI = [sys.executable, "-c", "import sys; from rangeguard.cli import main; sys.exit(main(sys.argv[1:]))", "risk"]


def _fragments(out: pathlib.Path, samples: int) -> int:
    """Fragments flown: samples x groups of every distinct (time, catalog) and of every planned drop."""
    footprints = pq.read_table(out / "footprints.parquet").to_pylist()
    return samples * len(footprints)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--mission", type=pathlib.Path, default=KII)
    args = ap.parse_args()
    ref = reference_s()
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        warm = [*CLI, str(args.mission), "--samples", "10", "--vehicles", "2", "--step", "100"]
        warm += ["--out", str(out / "warm")]
        subprocess.run([*warm, "--no-progress", "--no-report"], capture_output=True, text=True, check=False)
        cmd = [*CLI, str(args.mission), "--samples", str(args.samples), "--out", str(out / "run")]
        cmd += ["--json", "--no-progress", "--no-report"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            print(proc.stderr, file=sys.stderr)
            return 2
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
        fragments = _fragments(out / "run", args.samples)
        times = pq.read_table(out / "run" / "failure_times.parquet").column("t_s").to_pylist()
        failure_times = len(set(times))
    result = {
        "bench": "risk",
        "mission": args.mission.name,
        "wall_s": round(wall, 2),
        "failure_times": failure_times,
        "samples_per_group": args.samples,
        "fragments": fragments,
        "fragments_per_s": round(fragments / wall),
        "verdict": doc["verdict"],
        "ec_total": doc["ec_total"],
        "pc_max": doc["pc_max"],
        "cec_max": doc["cec_max"],
        "wall_per_reference": sig(wall / ref),
        "reference_s": round(ref, 4),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
