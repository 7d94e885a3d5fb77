"""Benchmark of `rangeguard validate` on the Kii mission.

1. The issue's figure: `rangeguard validate missions/kii-sso.yaml --runs 3000 --scenarios all`
   (100 runs per failure scenario), through the CLI with its default backend (local processes, one
   per CPU): wall time, runs/s and the verdict (target: <= 120 s, PASS).
2. Runs per second of each backend (in-process, local processes, Dask LocalCluster) on a smaller
   validation (``--quick-runs`` nominal + 10 per scenario), same machine, same moment.

Prints, as its last line, one JSON object with the figures. The machine is shared: the 1-minute
load average and a fixed single-threaded numpy reference time are printed with them.

    python bench/validate.py [--runs 3000] [--quick-runs 400] [--skip-full]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from _reference import reference_s

ROOT = pathlib.Path(__file__).resolve().parents[1]
KII = ROOT / "missions" / "kii-sso.yaml"


def full_cli(runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-c",
            "import sys; from rangeguard.cli import main; sys.exit(main(sys.argv[1:]))",
            "validate",
            str(KII),
            "--runs",
            str(runs),
            "--scenarios",
            "all",
            "--out",
            tmp,
            "--json",
            "--no-progress",
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    doc = json.loads(proc.stdout)
    total = doc["runs"] + sum(s["runs"] for s in doc["scenarios"].values())
    print(
        f"validate {KII.name} --runs {runs} --scenarios all: {wall:.1f} s wall (CLI, incl. start-up), {total} runs, "
        f"{total / wall:.1f} runs/s, verdict {doc['verdict']}, false terminations {doc['false_termination']['count']}, "
        f"upper95 {doc['false_termination']['upper95']:.3g}, scenarios {len(doc['scenarios'])}, missed "
        f"{sum(s['missed'] for s in doc['scenarios'].values())}"
    )
    return {
        "wall_s": round(wall, 2),
        "runs_total": total,
        "runs_per_s": round(total / wall, 2),
        "verdict": doc["verdict"],
        "exit_code": proc.returncode,
        "false_terminations": doc["false_termination"]["count"],
        "upper95": doc["false_termination"]["upper95"],
        "scenarios": len(doc["scenarios"]),
        "missed": sum(s["missed"] for s in doc["scenarios"].values()),
    }


def _canonical(table) -> list:
    """Rows sorted by (case, run), NaN written as a string so that equal rows compare equal."""
    d = table.sort_by([("case", "ascending"), ("run", "ascending")]).to_pydict()
    return [
        tuple("nan" if (isinstance(v, float) and v != v) else v for v in row) for row in zip(*d.values(), strict=True)
    ]


def per_backend(runs: int) -> dict:
    from rangeguard.mission import load_mission
    from rangeguard.montecarlo.validation import validate

    m = load_mission(KII)
    out, ref_rows = {}, None
    cpus = os.cpu_count() or 1
    for backend, workers in (("inprocess", 1), ("processes", cpus), ("dask", cpus)):
        t0 = time.perf_counter()
        r = validate(m, runs=runs, scenarios="all", failure_runs=10, backend=backend, workers=workers)
        wall = time.perf_counter() - t0
        n = r.rows.num_rows
        rows = _canonical(r.rows)
        same = True if ref_rows is None else rows == ref_rows
        ref_rows = rows if ref_rows is None else ref_rows
        print(
            f"{backend:10s} ({workers} worker(s)): {n} runs in {wall:.1f} s = {n / wall:.1f} runs/s "
            f"(incl. start-up); rows identical to in-process: {same}"
        )
        out[backend] = {
            "workers": workers,
            "runs": n,
            "wall_s": round(wall, 2),
            "runs_per_s": round(n / wall, 2),
            "identical": same,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--quick-runs", type=int, default=400)
    ap.add_argument("--skip-full", action="store_true")
    args = ap.parse_args()
    ref = reference_s()
    load = os.getloadavg()[0]
    full = None if args.skip_full else full_cli(args.runs)
    backends = per_backend(args.quick_runs)
    figures = {
        "bench": "validate",
        "cpus": os.cpu_count(),
        "load_average_1min": round(load, 2),
        "reference_s": round(ref, 4),
    }
    if full is not None:
        figures.update({f"full_{k}": v for k, v in full.items()})
        figures["full_wall_over_reference"] = round(full["wall_s"] / ref, 1)
    for name, b in backends.items():
        figures[f"{name}_runs_per_s"] = b["runs_per_s"]
        figures[f"{name}_identical"] = b["identical"]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
