"""``rangeguard simulate``: closed-loop flights of a mission, written to Parquet and JSON.

Outputs (``--out``): ``trajectories.parquet`` (every vehicle's truth: one row per
vehicle and sample, every :data:`RECORD_DT_S` seconds from liftoff, the last row
of a vehicle being its impact or orbit insertion itself), ``decisions.parquet``
(vehicle 0's decision log), ``summary.json`` (what ``--json`` prints) and
``report.html``.

Vehicles: ``--n 1`` (the default) flies the nominal vehicle. ``--n N`` with N > 1
flies runs 0..N-1 of the mission's dispersions, drawn by the Monte Carlo sampler
(:class:`rangeguard.montecarlo.DispersionSampler`: run k is the same vehicle, with the same
sensor noise, as run k of ``rangeguard validate`` with the same seed). A mission without
dispersions flies N identical vehicles (only the sensor noise differs), with a
warning. ``--nominal`` flies the undispersed vehicle and takes no ``--n`` above 1.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from rangeguard import paths
from rangeguard.cli import options
from rangeguard.cli.app import app
from rangeguard.errors import InputError
from rangeguard.mission import load_mission

RECORD_DT_S = 1.0
"""Sample interval of trajectories.parquet, s (from liftoff; the impact or orbit insertion is added as the last
sample)."""


@app.command()
def simulate(
    mission: Path = typer.Argument(..., help="Mission YAML file (with a vehicle)."),
    scenario: str = typer.Option(None, "--scenario", "-s", help="Failure scenario name from the mission."),
    n: int = typer.Option(
        1, "--n", help="Number of vehicles flown in lock-step; above 1, drawn from the mission's dispersions."
    ),
    nominal: bool = typer.Option(False, "--nominal", help="Fly the undispersed vehicle (one only)."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default: the mission's)."),
    out: Path = typer.Option(Path("rangeguard-out/simulate"), "--out", help="Output directory."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    report: bool = typer.Option(True, "--report/--no-report", help="Also write the HTML report (report.html)."),
) -> None:
    """Fly MISSION with the AFSS in the loop; write trajectories, decisions and a summary
    (apogee, burnouts, impact or orbit, and for N > 1 dispersed vehicles the spread of apogee and impact)."""
    from rangeguard.montecarlo import fly

    if n < 1:
        raise InputError(f"--n must be a whole number of vehicles >= 1; got {n}")
    if nominal and n > 1:
        raise InputError(
            f"--nominal flies the one undispersed vehicle, but --n {n} asks for {n}: drop --nominal to fly {n} "
            "dispersed vehicles, or drop --n"
        )
    paths.output_folder(out, "--out")
    options.seed(seed, "--seed")
    m = load_mission(mission)
    if m.vehicle is None:
        raise InputError(f"{mission}: the mission has no vehicle section; simulate needs one")
    if scenario is not None and scenario not in m.scenarios:
        raise InputError(f"unknown scenario '{scenario}'; allowed: {', '.join(sorted(m.scenarios)) or '(none)'}")
    run_seed = m.seed if seed is None else seed
    dispersed = n > 1 and not nominal and m.dispersions is not None
    if n > 1 and not nominal and m.dispersions is None:
        typer.echo(
            f"warning: {mission} has no dispersions section: the {n} vehicles are identical (only their sensor "
            "noise differs)",
            err=True,
        )
    inputs = _dispersed_inputs(m, n, run_seed, scenario) if dispersed else {}
    result = fly(m, n=n, scenario=scenario, seed=seed, record=True, record_every=max(1, round(m.cycle_hz)), **inputs)
    records = _record(m, n, scenario, inputs, result.events)
    out.mkdir(parents=True, exist_ok=True)
    dlog = result.decision_log
    assert dlog is not None  # record=True keeps it
    pq.write_table(trajectory_table(records, m.site.impact_height_m), out / "trajectories.parquet", compression="zstd")
    dlog.write(out / "decisions.parquet")
    vehicles = [{**result.summary(i), **flight_summary(rec, m.site.impact_height_m)} for i, rec in enumerate(records)]
    summary = {
        "mission": m.name,
        "scenario": scenario,
        "n": n,
        "dispersed": dispersed,
        "seed": run_seed,
        "record_dt_s": RECORD_DT_S,
        "terminated": int(result.terminated.sum()),
        "iip_entered_protected_area": int(result.iip_entered_protected_area.sum()),
        "in_orbit": int(result.in_orbit.sum()),
        "rules": dict(Counter(v["rule"] for v in vehicles if v["rule"])),
        "dispersion": dispersion_summary(vehicles) if n > 1 else None,
        "vehicles": vehicles,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if report:
        from rangeguard.report import write_report

        write_report(out, mission=mission)
    if json_out:
        typer.echo(json.dumps(summary))
        return
    _print(summary, m.name, scenario, n, out)


def _dispersed_inputs(m, n: int, seed: int, scenario: str | None) -> dict:
    """The closed loop's inputs for runs 0..n-1 of the mission's dispersions (as ``validate`` draws them)."""
    from rangeguard.montecarlo import DispersionSampler

    sampler = DispersionSampler(m.dispersions, len(m.vehicle.stages), [s.name for s in m.nav_sources])
    draws = sampler.draw(seed, np.arange(n))
    return {
        "per_vehicle_params": draws.params,
        "rng": draws.sensor_rngs,
        "noise_scale": draws.noise_scale,
        "failure_time_shift_s": draws.failure_time_shift_s if scenario else None,
        "wind": m.dispersions.wind_profile,
    }


def _record(m, n: int, scenario: str | None, inputs: dict, events):
    """The truth of the flight just flown, recorded again (:func:`rangeguard.sim.api.record_flight`)."""
    from rangeguard.montecarlo.closedloop import shift_failure_onsets
    from rangeguard.sim import Simulator
    from rangeguard.sim.api import record_flight, scenario_failures

    sim = Simulator(
        m.vehicle,
        m.site,
        n=n,
        failures=scenario_failures(m, scenario),
        per_vehicle_params=inputs.get("per_vehicle_params"),
        wind=inputs.get("wind"),
    )
    if inputs.get("failure_time_shift_s") is not None:
        shift_failure_onsets(sim, inputs["failure_time_shift_s"])
    return record_flight(sim, RECORD_DT_S, events)


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def flight_summary(rec, ground_height_m: float = 0.0) -> dict:
    """Apogee, the end of each burn, impact or orbit insertion, and the vacuum IIP at the last burnout
    (on ground at ``ground_height_m``) of one recorded vehicle (SI units, degrees; None where it did not
    happen)."""
    from rangeguard.iip import impact_point
    from rangeguard.sim import orbit_elements
    from rangeguard.sim.trajectories import state_summary

    burnouts = [
        {"stage": e.stage, "event": e.name, "t_s": e.t_s, "mass_kg": e.mass_kg, **state_summary(e.r_ecef, e.v_ecef)}
        for e in rec.burnouts()
    ]
    iip = None
    if rec.burnouts():
        last = rec.burnouts()[-1]
        lat, lon, tof = impact_point(last.r_ecef, last.v_ecef, ground_height_m)
        if math.isfinite(float(lat)):
            iip = {"t_s": last.t_s, "lat_deg": float(lat), "lon_deg": float(lon), "t_impact_s": last.t_s + float(tof)}
    impact = rec.event("impact")
    orbit = rec.event("orbit")
    out: dict = {"apogee": rec.apogee(), "burnouts": burnouts, "iip_at_last_burnout": iip}
    out["impact"] = None
    if impact is not None:
        s = state_summary(impact.r_ecef, impact.v_ecef)
        out["impact"] = {
            "t_s": impact.t_s,
            "lat_deg": s["lat_deg"],
            "lon_deg": s["lon_deg"],
            "speed_mps": s["speed_mps"],
        }
    out["orbit_insertion"] = None
    if orbit is not None:
        el = orbit_elements(orbit.r_ecef, orbit.v_ecef)
        out["orbit_insertion"] = {
            "t_s": orbit.t_s,
            "mass_kg": orbit.mass_kg,
            **state_summary(orbit.r_ecef, orbit.v_ecef),
            "perigee_km": _finite_or_none(float(el.perigee_km)),
            "apogee_km": _finite_or_none(float(el.apogee_km)),
            "inclination_deg": _finite_or_none(float(el.inclination_deg)),
        }
    return out


def _mean_std(x: list[float]) -> dict | None:
    a = np.asarray([v for v in x if v is not None and math.isfinite(v)], dtype=np.float64)
    if a.size == 0:
        return None
    return {"n": int(a.size), "mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0}


def dispersion_summary(vehicles: list[dict]) -> dict:
    """Spread over the vehicles: apogee height and time, impact time (mean, sample std) and the
    impact-dispersion ellipse (:func:`rangeguard.sim.trajectories.impact_dispersion`)."""
    from rangeguard.sim.trajectories import impact_dispersion

    impacts = [v["impact"] for v in vehicles if v["impact"] is not None]
    return {
        "apogee_height_m": _mean_std([v["apogee"]["height_m"] for v in vehicles]),
        "apogee_t_s": _mean_std([v["apogee"]["t_s"] for v in vehicles]),
        "impact_t_s": _mean_std([i["t_s"] for i in impacts]),
        "impact": impact_dispersion([i["lat_deg"] for i in impacts], [i["lon_deg"] for i in impacts]),
    }


def trajectory_table(records, ground_height_m: float = 0.0) -> pa.Table:
    """Long-format truth (one row per vehicle and sample): the columns of the closed loop's track
    (:func:`rangeguard.montecarlo.closedloop.track_table`) plus ``mass_kg``; the IIP lands on the
    mission's ground."""
    from rangeguard.iip import impact_point
    from rangeguard.montecarlo.closedloop import track_table

    r = np.concatenate([x.r_ecef for x in records])
    v = np.concatenate([x.v_ecef for x in records])
    with np.errstate(invalid="ignore", divide="ignore"):
        iip_lat, iip_lon, _ = impact_point(r, v, ground_height_m)
    return track_table(
        np.concatenate([np.full(x.t_s.size, x.vehicle) for x in records]),
        np.concatenate([x.t_s for x in records]),
        r,
        v,
        iip_lat,
        iip_lon,
        np.concatenate([x.mass_kg for x in records]),
    )


def _print(summary: dict, name: str, scenario: str | None, n: int, out: Path) -> None:
    vehicles = summary["vehicles"]
    console = Console()
    table = Table(
        title=f"{name}: {scenario or 'nominal'}, {n} vehicle(s){' (dispersed)' if summary['dispersed'] else ''}"
    )
    table.add_column("vehicle", justify="right")
    table.add_column("AFSS")
    table.add_column("IIP reached land")
    table.add_column("apogee")
    table.add_column("impact / orbit")
    for i, v in enumerate(vehicles[:20]):
        afss = f"TERMINATED T+{v['t_terminate_s']:.2f} s by {v['rule']}" if v["terminated"] else v["state"]
        apo = f"{v['apogee']['height_m'] / 1e3:.1f} km T+{v['apogee']['t_s']:.1f} s"
        if v["orbit"] is not None:
            end = f"orbit {v['orbit']['perigee_km']:.0f} x {v['orbit']['apogee_km']:.0f} km"
        elif v["impact"] is not None:
            imp = v["impact"]
            end = f"T+{imp['t_s']:.1f} s {imp['lat_deg']:.4f} N {imp['lon_deg']:.4f} E"
        else:
            end = "-"
        table.add_row(str(i), afss, "yes" if v["iip_entered_protected_area"] else "no", apo, end)
    console.print(table)
    if n > 20:
        console.print(f"... {n - 20} more in {out / 'summary.json'}")
    d = summary.get("dispersion")
    if d and d["apogee_height_m"]:
        a = d["apogee_height_m"]
        console.print(f"apogee {a['mean'] / 1e3:.2f} km, std {a['std']:.0f} m")
    if d and d["impact"]:
        e = d["impact"]["ellipse"]
        console.print(
            f"impact mean {d['impact']['mean_lat_deg']:.4f} N {d['impact']['mean_lon_deg']:.4f} E; "
            f"{e['probability']:.0%} ellipse {e['semi_major_m'] / 1e3:.2f} x {e['semi_minor_m'] / 1e3:.2f} km "
            f"(semi-axes), major axis at {e['major_axis_azimuth_deg']:.0f} deg"
        )
    console.print(
        f"terminated {summary['terminated']}/{n}; IIP reached land {summary['iip_entered_protected_area']}; "
        f"wrote {out}/trajectories.parquet, decisions.parquet (vehicle 0), summary.json"
    )
