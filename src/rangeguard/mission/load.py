"""Loading a mission file: YAML (safe loader only) -> validated :class:`Mission`.

Every problem is reported at once, each with its field path and what is
allowed, e.g. ``rules[2].table.t_s: values must increase``.
"""

from __future__ import annotations

import json
import math
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from rangeguard.errors import RangeguardError
from rangeguard.mission import model as m
from rangeguard.mission.areas import outline_problems, read_geojson_outline
from rangeguard.mission.vehicle import resolve_vehicle_paths


class MissionError(RangeguardError):
    """A mission file is invalid. ``problems`` lists one ``path: message`` line each."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s) in the mission file:"] + [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))


# --- formatting pydantic errors ------------------------------------------------

def _format_loc(loc: tuple) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i >= 1 and isinstance(loc[i - 1], int) and i >= 2 and loc[i - 2] == "rules":
            continue  # the discriminator tag pydantic inserts for tagged unions
        elif isinstance(part, str) and part.startswith(("function-", "union[", "tagged-union[")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _model_at(loc: tuple, data) -> type[BaseModel] | None:
    """The pydantic model class owning the field at ``loc[:-1]`` (for listing allowed fields)."""
    from rangeguard.mission import rules_spec

    cls: typing.Any = m.Mission
    for i, part in enumerate(loc[:-1]):
        if isinstance(part, int):
            continue
        if i >= 2 and loc[i - 2] == "rules" and isinstance(loc[i - 1], int):
            cls = next((c for c in typing.get_args(typing.get_args(rules_spec.RuleSpec)[0])
                        if c.model_fields["type"].annotation.__args__[0] == part), None)
            continue
        if cls is None or not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return None
        field = cls.model_fields.get(part)
        if field is None:
            return None
        cls = _unwrap(field.annotation)
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _unwrap(annotation):
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, dict, typing.Union) or str(origin) == "<class 'types.UnionType'>":
        for a in args:
            u = _unwrap(a)
            if isinstance(u, type) and issubclass(u, BaseModel):
                return u
        if origin is list and args:
            return _unwrap(args[0])
        return None
    return annotation


def _describe(err: dict, data) -> str:
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        owner = _model_at(loc, data)
        allowed = ", ".join(owner.model_fields) if owner else "see docs/mission-format.md"
        msg = f"unknown field; allowed here: {allowed}"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "union_tag_invalid":
        msg = msg.replace("Input tag", "rule type").replace("found using 'type' does not match any of the expected tags", "is not one of")
    return f"{_format_loc(loc)}: {msg}"


# --- loading ----------------------------------------------------------------

def load_mission(path) -> m.Mission:
    """Read, validate and resolve a mission file. Raises :class:`MissionError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissionError(str(path), ["file not found; give the path to a mission YAML file (see missions/)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MissionError(str(path), [f"cannot read the file: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MissionError(str(path), [f"{where}not valid YAML: {problem}"]) from None
    return mission_from_dict(data, base_dir=path.parent, source=str(path))


def mission_from_dict(data, base_dir=".", source: str = "<mission>") -> m.Mission:
    """Validate a mission given as a mapping (as read from YAML)."""
    if not isinstance(data, dict):
        raise MissionError(source, ["(top level): the file must hold a mapping of sections (name, site, rules, ...)"])
    base_dir = Path(base_dir)
    data, vehicle_dir = _resolve_includes(dict(data), base_dir)
    try:
        mission = m.Mission.model_validate(data)
    except ValidationError as exc:
        raise MissionError(source, [_describe(e, data) for e in exc.errors()]) from None
    problems, outlines = _cross_check(mission, base_dir)
    if mission.vehicle is not None:
        try:
            vehicle = resolve_vehicle_paths(mission.vehicle, vehicle_dir)
        except RangeguardError as exc:
            problems.append(f"vehicle.{exc}")
        else:
            object.__setattr__(mission, "vehicle", vehicle)
    if problems:
        raise MissionError(source, problems)
    mission._source_path = Path(source) if source != "<mission>" else None
    mission._polygons.update(outlines)
    return mission


def _resolve_includes(data: dict, base_dir: Path) -> tuple[dict, Path]:
    """Sections given as a file path (e.g. ``vehicle: vehicles/kairos.yaml``) are read in place.

    Returns the data and the directory the vehicle's own relative paths (motor files) start from.
    """
    vehicle_dir = base_dir
    for key in ("vehicle", "sensors", "dispersions"):
        value = data.get(key)
        if isinstance(value, str):
            data[key] = _read_yaml_section(base_dir / value, key)
            if key == "vehicle":
                vehicle_dir = (base_dir / value).parent
    return data, vehicle_dir


def _read_yaml_section(path: Path, key: str):
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MissionError(str(path), [f"{key}: file not found ({path}); paths are relative to the mission file"]) from None
    except yaml.YAMLError as exc:
        raise MissionError(str(path), [f"{key}: not valid YAML: {exc}"]) from None
    return loaded


def _duplicates(kind: str, names: list[str]) -> list[str]:
    seen, out = set(), []
    for i, n in enumerate(names):
        if n in seen:
            out.append(f"{kind}[{i}].name: '{n}' is used twice; names must be unique")
        seen.add(n)
    return out


def _cross_check(mission: m.Mission, base_dir: Path) -> tuple[list[str], dict]:
    p: list[str] = []
    p += _duplicates("nav_sources", [s.name for s in mission.nav_sources])
    p += _duplicates("strings", [s.name for s in mission.string_specs])
    p += _duplicates("areas", [a.name for a in mission.areas])
    p += _duplicates("events", [e.name for e in mission.events])
    p += _duplicates("phases", [ph.name for ph in mission.phases])
    p += _duplicates("rules", [r.name for r in mission.rules])

    sources = {s.name for s in mission.nav_sources}
    areas = {a.name: a for a in mission.areas}
    events = {e.name for e in mission.events} | {"liftoff"}
    phases = {ph.name for ph in mission.phases}
    for i, s in enumerate(mission.strings or []):
        if s.nav_source not in sources:
            p.append(f"strings[{i}].nav_source: '{s.nav_source}' is not a nav source; allowed: {', '.join(sorted(sources))}")
    if mission.termination.policy == "2oo2" and len(mission.string_specs) < 2:
        p.append("termination.policy: 2oo2 needs at least two strings")
    for i, ph in enumerate(mission.phases):
        for attr in ("start_event", "end_event"):
            ev = getattr(ph, attr)
            if ev is not None and ev not in events:
                p.append(f"phases[{i}].{attr}: unknown event '{ev}'; allowed: {', '.join(sorted(events))}")

    outlines: dict[str, tuple[list[float], list[float]]] = {}
    for i, a in enumerate(mission.areas):
        if a.geojson is not None:
            try:
                lat, lon = read_geojson_outline(base_dir / a.geojson, a.feature)
            except ValueError as exc:
                p.append(f"areas[{i}].geojson: {exc}")
                continue
        else:
            lat, lon = list(a.lat_deg), list(a.lon_deg)
        bad = outline_problems(lat, lon, a.name)
        p += [f"areas[{i}]: {msg}" for msg in bad]
        if not bad:
            outlines[a.name] = (lat, lon)

    for i, r in enumerate(mission.rules):
        where = f"rules[{i}]"
        if r.type in ("iip_polygon", "position_polygon") and r.area not in areas:
            p.append(f"{where}.area: unknown area '{r.area}'; allowed: {', '.join(sorted(areas)) or '(no areas defined)'}")
        if r.type == "source_disagreement":
            for j, s in enumerate(r.sources):
                if s not in sources:
                    p.append(f"{where}.sources[{j}]: '{s}' is not a nav source; allowed: {', '.join(sorted(sources))}")
            if r.sources[0] == r.sources[1]:
                p.append(f"{where}.sources: compare two different sources")
        for attr in ("after_event", "until_event"):
            ev = getattr(r.active, attr)
            if ev is not None and ev not in events:
                p.append(f"{where}.active.{attr}: unknown event '{ev}'; allowed: {', '.join(sorted(events))}")
        if r.active.phase is not None and r.active.phase not in phases:
            p.append(f"{where}.active.phase: unknown phase '{r.active.phase}'; allowed: {', '.join(sorted(phases)) or '(no phases defined)'}")

    strings = {s.name for s in mission.string_specs}
    for name, sc in mission.scenarios.items():
        for j, fault in enumerate(sc.nav_faults):
            src = getattr(fault, "source", None)
            if src is not None and src not in sources:
                p.append(f"scenarios.{name}.nav_faults[{j}].source: '{src}' is not a nav source; allowed: {', '.join(sorted(sources))}")
            st = getattr(fault, "string", None)
            if st is not None and st not in strings:
                p.append(f"scenarios.{name}.nav_faults[{j}].string: '{st}' is not an AFTS string; allowed: {', '.join(sorted(strings))}")
    for src in mission.sensors.sources:
        if src not in sources:
            p.append(f"sensors.sources.{src}: not a nav source; allowed: {', '.join(sorted(sources))}")
    p += _check_safing(mission, outlines)
    return p, outlines


def _check_safing(mission: m.Mission, outlines: dict) -> list[str]:
    clear = mission.safing.iip_clear
    if not clear.enabled or clear.min_iip_range_m is None:
        return []
    from rangeguard.mission.areas import farthest_vertex_m

    protected = [outlines[a.name] for a in mission.areas if a.kind == "protected" and a.name in outlines]
    if not protected:
        return []
    far = max(farthest_vertex_m(mission.site.lat_deg, mission.site.lon_deg, lat, lon) for lat, lon in protected)
    if clear.min_iip_range_m < far:
        return [
            f"safing.iip_clear.min_iip_range_m: {clear.min_iip_range_m:.0f} m is inside the farthest protected-area "
            f"vertex ({far:.0f} m from the pad); the AFSS could safe itself while the IIP can still reach land. "
            f"Use at least {math.ceil(far):.0f} m or leave it unset"
        ]
    return []


def dump_mission_json_schema() -> str:
    """The JSON schema of the mission file (for editors and docs)."""
    return json.dumps(m.Mission.model_json_schema(), indent=2)
