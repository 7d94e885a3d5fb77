"""The main job: the Kairos flights 1-3 replayed on the bundled Kii missions.

Six closed-loop flights (simulator -> sensors -> AFSS engine), each a
lesson of Space One's Kairos:

1. nominal under the validated rules: reaches orbit, never terminated;
2. flight 1 (-3 % first-stage thrust) under a speed band as strict as
   Kairos flight 1's: terminated by the speed rule near T+5.3 s;
3. the same motor under the validated rules: flies on, IIP legal;
4. flight 2 (nozzle fault at T+80 s) under the validated rules: terminated
   by a boundary rule before its IIP reaches a protected area;
5. flight 3 (AFTS string B declares itself faulty at T+68.8 s) under 1oo2:
   terminated, a false termination;
6. the same under health_degraded: the faulty string drops out, it flies on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from rangeguard.bundled import DEMO_MISSIONS, missions_dir
from rangeguard.mission import load_mission
from rangeguard.montecarlo import fly

KAIROS_LESSONS = {
    ("nominal", "validated"): "nominal flight: must reach orbit untouched",
    ("f1-thrust-low", "strict"): "Kairos F1: a flyable 3 % weak motor vs a tight speed band",
    ("f1-thrust-low", "validated"): "the same motor under validated margins",
    ("f2-nozzle", "validated"): "Kairos F2: nozzle fault, drift west across the limit line",
    ("f3-string-fault", "1oo2"): "Kairos F3: one string declares itself faulty (1oo2)",
    ("f3-string-fault", "health_degraded"): "the same string fault under health_degraded",
}


@dataclass(frozen=True)
class DemoRun:
    scenario: str
    rules: str  # "strict" | "validated"
    policy: str  # "1oo2" | "2oo2" | "health_degraded"

    @property
    def slug(self) -> str:
        return f"{self.scenario}-{self.rules}-{self.policy}"


RUNS = (
    DemoRun("nominal", "validated", "health_degraded"),
    DemoRun("f1-thrust-low", "strict", "health_degraded"),
    DemoRun("f1-thrust-low", "validated", "health_degraded"),
    DemoRun("f2-nozzle", "validated", "health_degraded"),
    DemoRun("f3-string-fault", "validated", "1oo2"),
    DemoRun("f3-string-fault", "validated", "health_degraded"),
)


def _with_policy(mission, policy: str):
    if mission.termination.policy == policy:
        return mission
    return mission.model_copy(update={"termination": mission.termination.model_copy(update={"policy": policy})})


def run_demo(out_dir: Path | None = None, missions: Path | None = None, progress=None) -> list[dict]:
    """Fly the six runs; write each run's decision log and truth track under ``out_dir``; return summaries."""
    missions = missions_dir() if missions is None else Path(missions)
    validated = load_mission(missions / DEMO_MISSIONS["validated"])
    strict = load_mission(missions / DEMO_MISSIONS["strict"])
    results = []
    for run in RUNS:
        rules = strict if run.rules == "strict" else validated
        engine_mission = _with_policy(rules, run.policy)
        scenario = None if run.scenario == "nominal" else run.scenario
        flight = fly(validated, scenario=scenario, engine_mission=engine_mission, record=True)
        summary = {"scenario": run.scenario, "rules": run.rules, "policy": run.policy, **flight.summary(0)}
        summary.pop("state")
        summary["state"] = flight.state[0]
        summary["reason"] = _final_reason(flight)
        summary["mission"] = engine_mission.name
        summary["mission_file"] = DEMO_MISSIONS[run.rules]
        variant = run.policy if run.scenario == "f3-string-fault" else run.rules
        summary["lesson"] = KAIROS_LESSONS[(run.scenario, variant)]
        if out_dir is not None:
            d = Path(out_dir) / run.slug
            d.mkdir(parents=True, exist_ok=True)
            dlog, track = flight.decision_log, flight.track
            assert dlog is not None and track is not None  # record=True keeps both
            dlog.write(d / "decisions.parquet")
            pq.write_table(track.table(), d / "track.parquet", compression="zstd")
            (d / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        results.append(summary)
        if progress is not None:
            progress(run, summary)
    if out_dir is not None:
        (Path(out_dir) / "demo.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def _final_reason(flight) -> str:
    """The reason text of the last state change in the decision log."""
    reasons = [r for r in flight.decision_log.table().column("reason").to_pylist() if r]
    return reasons[-1] if reasons else ""


def json_view(results: list[dict]) -> list[dict]:
    """The documented ``rangeguard demo --json`` objects."""
    keys = ("scenario", "rules", "policy", "terminated", "t_terminate_s", "rule", "iip_entered_protected_area", "orbit")
    return [{k: r[k] for k in keys} for r in results]
