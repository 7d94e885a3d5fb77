"""Reading the output folders that ``rangeguard demo`` and ``rangeguard simulate`` write.

A *flight folder* holds one closed-loop flight (or a batch flown in
lock-step):

- ``decisions.parquet``: the decision log of vehicle 0
  (:mod:`rangeguard.formats.decisionlog`: ``t_s``, ``state``, ``fired_by``,
  ``reason``, ``iip_lat_deg``, ``iip_lon_deg``, ``margin__<rule>``,
  ``violated__<rule>``);
- ``track.parquet`` (demo) or ``trajectories.parquet`` (simulate): the truth
  track of every vehicle (:class:`rangeguard.montecarlo.closedloop.Track`:
  ``vehicle``, ``t_s``, ECEF state, ``lat_deg``, ``lon_deg``, ``alt_m``,
  ``iip_lat_deg``, ``iip_lon_deg``);
- ``summary.json``: the outcome (demo: one vehicle with ``scenario``,
  ``rules``, ``policy``; simulate: ``mission``, ``scenario``, ``n`` and a
  ``vehicles`` list).

A *demo folder* holds ``demo.json`` and one flight folder per run.

The mission (areas, corridors, envelope tables) is not in these files: it is
found from ``summary.json`` (:func:`resolve_mission`) or given by the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rangeguard.bundled import DEMO_MISSIONS, mission_path
from rangeguard.errors import InputError
from rangeguard.report import files
from rangeguard.report.files import BOOLEAN, NUMBER, TEXT

TRACK_FILES = ("track.parquet", "trajectories.parquet")


@dataclass
class VehicleTrack:
    """Truth track of one vehicle: (T,) arrays in time order; ECEF in metres and m/s."""

    vehicle: int
    t_s: np.ndarray
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    iip_lat_deg: np.ndarray
    iip_lon_deg: np.ndarray


@dataclass
class FlightRun:
    """One flight folder, read: its summary, vehicle tracks and vehicle 0's decision log."""

    path: Path
    title: str
    summary: dict
    tracks: list[VehicleTrack]
    decisions: dict[str, np.ndarray]
    rule_names: list[str]
    vehicles: list[dict] = field(default_factory=list)

    @property
    def margins(self) -> dict[str, np.ndarray]:
        """Rule name -> (C,) margin per decision cycle (rule's unit; NaN where not judged)."""
        return {r: self.decisions[f"margin__{r}"] for r in self.rule_names}

    @property
    def violated(self) -> dict[str, np.ndarray]:
        return {r: self.decisions[f"violated__{r}"] for r in self.rule_names}

    def state_changes(self) -> list[tuple[float, str, str]]:
        """(t_s, state, reason) of every decision-log row that carries a reason (a state change)."""
        d = self.decisions
        return [(float(t), s, r) for t, s, r in zip(d["t_s"], d["state"], d["reason"], strict=True) if r]

    def termination(self, vehicle: int = 0) -> dict | None:
        """Where vehicle ``vehicle`` was terminated: t_s, rule, lat/lon/alt and IIP there; None if not terminated."""
        v = self.vehicles[vehicle] if vehicle < len(self.vehicles) else {}
        if not v.get("terminated"):
            return None
        t = float(v["t_terminate_s"])
        tr = next((k for k in self.tracks if k.vehicle == vehicle), None)
        out = {"t_s": t, "rule": v.get("rule")}
        if tr is not None and tr.t_s.size:
            j = int(np.argmin(np.abs(tr.t_s - t)))
            out.update(
                lat_deg=float(tr.lat_deg[j]),
                lon_deg=float(tr.lon_deg[j]),
                alt_m=float(tr.alt_m[j]),
                iip_lat_deg=float(tr.iip_lat_deg[j]),
                iip_lon_deg=float(tr.iip_lon_deg[j]),
            )
        if vehicle == 0 and self.decisions["t_s"].size:
            # the engine's own IIP at the cycle of termination (what the rule judged)
            d = self.decisions
            k = np.flatnonzero(d["terminate_now"])
            if k.size:
                out.update(
                    engine_iip_lat_deg=float(d["iip_lat_deg"][k[0]]), engine_iip_lon_deg=float(d["iip_lon_deg"][k[0]])
                )
        return out


def is_flight_dir(path: Path) -> bool:
    path = Path(path)
    return (
        (path / "summary.json").is_file()
        and (path / "decisions.parquet").is_file()
        and any((path / f).is_file() for f in TRACK_FILES)
    )


def not_an_output_folder(path: Path) -> InputError:
    """Why ``path`` is none of the output folders a report is made of: an InputError naming what is missing or
    unreadable, to raise."""
    from rangeguard.report.montecarlo import PREFERRED_TABLES

    path = Path(path)
    why = [
        f"{name} is a folder, not a file"
        for name in ("demo.json", "summary.json", "decisions.parquet", *TRACK_FILES, *PREFERRED_TABLES)
        if (path / name).is_dir()
    ]
    flight = {
        "summary.json": (path / "summary.json").is_file(),
        "decisions.parquet": (path / "decisions.parquet").is_file(),
        "trajectories.parquet (or track.parquet)": any((path / f).is_file() for f in TRACK_FILES),
    }
    if (flight["decisions.parquet"] or flight["trajectories.parquet (or track.parquet)"]) and not all(flight.values()):
        why.append(
            "a flight folder needs summary.json, decisions.parquet and trajectories.parquet; missing: "
            + ", ".join(k for k, ok in flight.items() if not ok)
        )
    why += [
        f"{name} is not a readable Parquet table with the columns scenario (or case) and terminated"
        for name in PREFERRED_TABLES
        if (path / name).is_file()
    ]
    return InputError(
        f"{path}: nothing to report: not an output folder of rangeguard demo, simulate or validate --out (expected "
        "demo.json; "
        "or summary.json, decisions.parquet and trajectories.parquet; or runs.parquet)"
        + "".join(f"; {w}" for w in why)
        + ("; " + files.RERUN if why else "")
    )


def is_demo_dir(path: Path) -> bool:
    return (Path(path) / "demo.json").is_file()


def demo_run_dirs(path: Path) -> list[Path]:
    """The flight folders of a demo folder, in the order of demo.json."""
    path = Path(path)
    runs = files.read_json(path / "demo.json", top=list)
    out = []
    for k, r in enumerate(runs):
        where = f"{path / 'demo.json'}: run {k}"
        if not isinstance(r, dict):
            raise InputError(f"{where} must be an object, found {files.describe(r)}; {files.RERUN}")
        files.check_fields(r, {"scenario": (TEXT,), "rules": (TEXT,), "policy": (TEXT,)}, where)
        d = path / f"{r.get('scenario')}-{r.get('rules')}-{r.get('policy')}"
        if is_flight_dir(d):
            out.append(d)
    extra = sorted(p for p in path.iterdir() if p.is_dir() and is_flight_dir(p) and p not in out)
    return out + extra


VEHICLE_FIELDS = {
    "terminated": (BOOLEAN,),
    "t_terminate_s": (NUMBER, "null"),
    "rule": (TEXT, "null"),
    "state": (TEXT, NUMBER),
    "orbit": ("object", "null"),
    "iip_entered_protected_area": (BOOLEAN, NUMBER),
}
SUMMARY_FIELDS = {
    **VEHICLE_FIELDS,
    "terminated": (BOOLEAN, NUMBER),
    "mission": (TEXT,),
    "scenario": (TEXT, "null"),
    "rules": (TEXT, "object"),
    "policy": (TEXT,),
    "lesson": (TEXT,),
    "reason": (TEXT, "null"),
    "n": (NUMBER,),
    "vehicles": ("list",),
}
"""The kinds of the members of a flight summary (demo: one vehicle; simulate: counts and a ``vehicles`` list
of VEHICLE_FIELDS) that the report reads."""


def _read_summary(path: Path) -> dict:
    """A flight folder's summary.json, its members of the kinds the report reads (InputError otherwise)."""
    summary = files.read_json(path)
    files.check_fields(summary, SUMMARY_FIELDS, str(path))
    for k, v in enumerate(summary.get("vehicles") or []):
        if not isinstance(v, dict):
            raise InputError(f"{path}: vehicles[{k}] must be an object, found {files.describe(v)}; {files.RERUN}")
        files.check_fields(v, VEHICLE_FIELDS, f"{path}: vehicles[{k}]")
    for k, v in enumerate(summary.get("vehicles") or [summary]):
        if v.get("terminated") is True and not files.is_number(v.get("t_terminate_s")):
            raise InputError(f"{path}: vehicle {k} is terminated but has no t_terminate_s; {files.RERUN}")
    return summary


TRACK_COLUMNS = {
    "vehicle": NUMBER,
    "t_s": NUMBER,
    "x_ecef_m": NUMBER,
    "y_ecef_m": NUMBER,
    "z_ecef_m": NUMBER,
    "vx_ecef_mps": NUMBER,
    "vy_ecef_mps": NUMBER,
    "vz_ecef_mps": NUMBER,
    "lat_deg": NUMBER,
    "lon_deg": NUMBER,
    "alt_m": NUMBER,
    "iip_lat_deg": NUMBER,
    "iip_lon_deg": NUMBER,
}
DECISION_COLUMNS = {
    "t_s": NUMBER,
    "state": TEXT,
    "terminate_now": BOOLEAN,
    "fired_by": TEXT,
    "reason": TEXT,
    "iip_lat_deg": NUMBER,
    "iip_lon_deg": NUMBER,
}
"""The columns (and their kinds) the report reads from a track file and from a decision log."""


def read_tracks(path: Path) -> list[VehicleTrack]:
    """Every vehicle's truth track from a ``track.parquet`` / ``trajectories.parquet`` file."""
    table = files.read_table(path, TRACK_COLUMNS, "a rangeguard track file")
    cols = {k: table.column(k).to_numpy() for k in table.column_names}
    out = []
    for v in np.unique(cols["vehicle"]):
        sel = cols["vehicle"] == v
        order = np.argsort(cols["t_s"][sel], kind="stable")

        def g(name, sel=sel, order=order):
            return np.asarray(cols[name][sel][order], dtype=np.float64)

        out.append(
            VehicleTrack(
                vehicle=int(v),
                t_s=g("t_s"),
                r_ecef=np.column_stack([g("x_ecef_m"), g("y_ecef_m"), g("z_ecef_m")]),
                v_ecef=np.column_stack([g("vx_ecef_mps"), g("vy_ecef_mps"), g("vz_ecef_mps")]),
                lat_deg=g("lat_deg"),
                lon_deg=g("lon_deg"),
                alt_m=g("alt_m"),
                iip_lat_deg=g("iip_lat_deg"),
                iip_lon_deg=g("iip_lon_deg"),
            )
        )
    return out


def read_decisions(path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns of a decision log as arrays (strings as object arrays) and its rule names in order."""
    table = files.read_table(path, DECISION_COLUMNS, "a rangeguard decision log")
    files.columns_of_kind(table, "margin__", NUMBER, path)
    files.columns_of_kind(table, "violated__", BOOLEAN, path)
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if col.type in ("string", "large_string"):
            cols[name] = np.array(col.to_pylist(), dtype=object)
        else:
            cols[name] = col.to_numpy(zero_copy_only=False)
    rules = [n.removeprefix("margin__") for n in table.column_names if n.startswith("margin__")]
    return cols, rules


def run_title(summary: dict, path: Path) -> str:
    """A short human title: 'f2-nozzle, validated rules, health_degraded' or the folder name."""
    if "rules" in summary and "policy" in summary:
        return f"{summary.get('scenario') or 'nominal'}: {summary['rules']} rules, policy {summary['policy']}"
    if "mission" in summary:
        n = summary.get("n", 1)
        return f"{summary['mission']}: {summary.get('scenario') or 'nominal'}, {n} vehicle{'s' if n != 1 else ''}"
    return Path(path).name


def read_flight(path: Path) -> FlightRun:
    """Read a flight folder (see the module docstring); InputError names what is missing."""
    path = Path(path)
    if not is_flight_dir(path):
        raise InputError(
            f"{path}: not a flight folder (needs summary.json, decisions.parquet and track.parquet or "
            "trajectories.parquet, as `rangeguard demo` or `rangeguard simulate` write)"
        )
    summary = _read_summary(path / "summary.json")
    track_file = next(path / f for f in TRACK_FILES if (path / f).is_file())
    decisions, rules = read_decisions(path / "decisions.parquet")
    vehicles = summary.get("vehicles") or [summary]
    return FlightRun(
        path=path,
        title=run_title(summary, path),
        summary=summary,
        tracks=read_tracks(track_file),
        decisions=decisions,
        rule_names=rules,
        vehicles=list(vehicles),
    )


def mission_hint(path: Path | None, summary: dict) -> str | None:
    """The bundled mission file name a flight folder was flown with, if its summary tells: None otherwise.

    ``simulate`` writes the mission's name (``<name>.yaml`` in the missions
    folder); ``demo`` writes the rule set (``validated`` / ``strict``) of the
    Kii missions.
    """
    if summary.get("mission"):
        return f"{summary['mission']}.yaml"
    if isinstance(summary.get("rules"), str) and summary["rules"] in DEMO_MISSIONS:
        return DEMO_MISSIONS[summary["rules"]]
    return None


def _present(path: Path) -> bool:
    """Something is at ``path``, or the path cannot even be looked at (a name too long): load_mission says which."""
    try:
        return path.exists()
    except OSError:
        return True


def resolve_mission(path: Path | None, summary: dict, mission=None):
    """The Mission for a results folder.

    ``mission``: a Mission (used as is), a path to a mission YAML, or the
    name of a bundled mission (``kii-sso``). Without it the summary's hint
    (:func:`mission_hint`) is looked up in the bundled missions folder
    (:func:`rangeguard.bundled.mission_path`).
    """
    from rangeguard.mission import Mission, load_mission

    if isinstance(mission, Mission):
        return mission
    if mission is not None:
        p = Path(mission)
        if _present(p):  # a file, or a folder or unreadable file that load_mission names as such
            return load_mission(p)
        cand = mission_path(p.name)
        if _present(cand):
            return load_mission(cand)
        raise InputError(f"mission '{mission}': no such file, nor a bundled mission {cand}; give a mission YAML path")
    hint = mission_hint(path, summary)
    if hint is None:
        raise InputError(f"{path}: summary.json does not say which mission was flown; pass --mission FILE")
    cand = mission_path(hint)
    if not cand.is_file():
        raise InputError(f"{path}: flown with mission '{hint}', which is not in {cand.parent}; pass --mission FILE")
    return load_mission(cand)
