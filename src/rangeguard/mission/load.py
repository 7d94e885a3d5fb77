"""Loading a mission file: YAML (the strict safe loader of :mod:`.yaml_io`) -> validated :class:`Mission`.

Every problem is reported at once, each with its field path and what is
allowed, e.g. ``rules[2].table.t_s: values must increase``. Three stages:
the schema (pydantic; every number finite), cross-references and input
files (names, polygons, GeoJSON, motor files), then what can never work
(:mod:`.feasibility`: a rule that can never be judged or fire).
"""

from __future__ import annotations

import json
import math
import os
import types
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rangeguard.errors import RangeguardError
from rangeguard.mission import model as m
from rangeguard.mission.areas import outline_problems, read_geojson_outline
from rangeguard.mission.feasibility import feasibility_problems
from rangeguard.mission.flyable import failure_problems, propellant_problems
from rangeguard.mission.rule_types.boundary import IipPolygonRule, PositionPolygonRule
from rangeguard.mission.rule_types.link import SourceDisagreementRule
from rangeguard.mission.vehicle import vehicle_path_problems
from rangeguard.mission.yaml_io import describe_yaml_error, load_yaml


class MissionError(RangeguardError):
    """A mission file is invalid. ``problems`` lists one ``path: message`` line each."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s) in the mission file:"] + [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))


# --- formatting pydantic errors ------------------------------------------------


def _walk(loc: tuple[int | str, ...]) -> tuple[str, type[BaseModel] | None, str | None]:
    """(the field path as written in the file, the model owning the last field, that field's name).

    pydantic's error locations also name the union member it tried (a rule's
    ``type``, a fault's ``kind``, a distribution's ``dist``, or a type such as
    ``list[...]``); those parts are dropped, so a path reads like the YAML:
    ``rules[3].table.lower[1]``, ``dispersions.cd_scale.three_sigma``.
    """
    path = ""
    ann: typing.Any = m.Mission
    owner = name = None
    for part in loc:
        ann = _strip(ann)
        if isinstance(part, str) and part.startswith(("function-", "union[", "tagged-union[")):
            continue
        members = _union_members(ann)
        if members:
            chosen = _member(members, part)
            if chosen is not None:
                ann = chosen
                continue
            ann = None
        if isinstance(part, int):
            path += f"[{part}]"
            args = typing.get_args(ann)
            if typing.get_origin(ann) is tuple and args and args[-1] is not Ellipsis:
                ann = args[part] if part < len(args) else None
            else:
                ann = args[0] if args else None
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            path += ("." if path else "") + str(part)
            owner, name = ann, str(part)
            field = ann.model_fields.get(name)
            ann = field.annotation if field is not None else None
        else:  # a key of a mapping (scenarios.NAME, sensors.sources.NAME, a data-loss table)
            path += ("." if path else "") + str(part)
            args = typing.get_args(ann)
            ann = args[1] if typing.get_origin(ann) is dict and len(args) == 2 else None
    return path or "(top level)", owner, name


def _strip(ann: typing.Any) -> typing.Any:
    """``Annotated[X, ...]`` -> X; ``X | None`` -> X (pydantic adds no location part for either)."""
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) != 1:
                return ann
            ann = args[0]
        else:
            return ann


def _union_members(ann: typing.Any) -> list[typing.Any]:
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(ann) if a is not type(None)]
    return []


def _member(members: list[typing.Any], part: int | str) -> typing.Any:
    """The member of a union that a location part names (by its tag value or its type), else None."""
    if not isinstance(part, str):
        return None
    for a in members:
        if isinstance(a, type) and issubclass(a, BaseModel):
            if part == a.__name__:
                return a
            for f in a.model_fields.values():
                if typing.get_origin(f.annotation) is typing.Literal and typing.get_args(f.annotation) == (part,):
                    return a
        elif typing.get_origin(a) is not None and part.startswith(f"{typing.get_origin(a).__name__}["):
            return a
    return None


def _describe(err: ErrorDetails) -> str:
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    path, owner, name = _walk(tuple(err["loc"]))
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(owner.model_fields) if owner is not None and name not in owner.model_fields else None
        msg = f"unknown field; allowed here: {allowed or 'see docs/mission-format.md'}"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "union_tag_invalid":
        ctx = err.get("ctx") or {}
        kind = str(ctx.get("discriminator", "tag")).strip("'")
        msg = f"{kind} {ctx.get('tag')!r} is not one of {ctx.get('expected_tags', '')}"
    elif err["type"] == "finite_number":
        msg = _NOT_FINITE
    elif err["type"] in _WRONG_TYPE:
        msg = _wrong_type(err["type"], err.get("input"))
    if msg == _NOT_FINITE:  # also the text 'nan' or 'inf' where a number goes
        field = owner.model_fields.get(name) if owner is not None and name is not None else None
        default = getattr(field, "default", None)
        if isinstance(default, float) and math.isinf(default) and str(err["loc"][-1]) == name:
            msg += f"; leave {name} out for no bound (its default, {default:g}, is open)"
    return f"{path}: {msg}"


_NOT_FINITE = "must be a finite number (NaN and .inf are not allowed in a mission file)"

_WRONG_TYPE = {
    "float_type": "a number",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
"""pydantic's type errors (the schema is strict: docs/mission-format.md, "Numbers") and what the field takes."""


def _wrong_type(kind: str, value: object) -> str:
    """What a field of a strict type says about a value of another type, with the fix where there is one."""
    wanted = _WRONG_TYPE[kind]
    if isinstance(value, str) and kind in ("float_type", "int_type"):
        try:
            number = float(value)
        except ValueError:
            return f"must be {wanted}, not the text {value!r}"
        if not math.isfinite(number):
            return _NOT_FINITE
        return f"must be {wanted}, not the text {value!r}: write the number without quotes"
    if isinstance(value, bool):
        return f"must be {wanted}, not {str(value).lower()}" + (
            " (a boolean is not a number)" if kind in ("float_type", "int_type") else ""
        )
    if kind == "float_type" and isinstance(value, int):  # an integer beyond the float range
        return _NOT_FINITE
    if kind == "int_type" and isinstance(value, float) and value.is_integer():
        return f"must be {wanted}, not {value!r}: write {int(value)}"
    if kind == "string_type" and isinstance(value, int | float):
        return f"must be text, not the number {value!r}: put it in quotes if it is a name"
    return f"must be {wanted}, not {_kind(value)}"


def _kind(value: object) -> str:
    """A YAML value in a message: 'the number 5', "the text 'x'", 'a list', 'a mapping', 'null'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) <= 40 else "a text"
    return {dict: "a mapping", list: "a list", type(None): "null"}.get(type(value), f"a {type(value).__name__}")


def _describe_all(errors: typing.Sequence[ErrorDetails]) -> list[str]:
    """One line per error; where a field may take one of several forms (``stages``: one mapping or a
    list), the "not this form" line is dropped when the other form has a more precise problem."""
    lines = [_describe(e) for e in errors]
    paths = [line.split(": ", 1)[0] for line in lines]
    keep = []
    for e, line, path in zip(errors, lines, paths, strict=True):
        deeper = any(q.startswith((path + ".", path + "[")) for q in paths)
        if not (e["type"].endswith("_type") and deeper):
            keep.append(line)
    return keep


# --- loading ----------------------------------------------------------------


def load_mission(path: str | os.PathLike[str]) -> m.Mission:
    """Read, validate and resolve a mission file. Raises :class:`MissionError`."""
    path = Path(path)
    data = _read_yaml(path, None, str(path))
    return mission_from_dict(data, base_dir=path.parent, source=str(path))


def mission_from_dict(data: object, base_dir: str | os.PathLike[str] = ".", source: str = "<mission>") -> m.Mission:
    """Validate a mission given as a mapping (as read from YAML)."""
    if not isinstance(data, dict):
        raise MissionError(source, ["(top level): the file must hold a mapping of sections (name, site, rules, ...)"])
    base_dir = Path(base_dir)
    data, vehicle_dir, included = _resolve_includes(dict(data), base_dir)
    try:
        mission = m.Mission.model_validate(data)
    except ValidationError as exc:
        raise MissionError(source, _in_included_files(_describe_all(exc.errors()), included)) from None
    problems, outlines = _cross_check(mission, base_dir)
    if mission.vehicle is not None:
        vehicle, bad = vehicle_path_problems(mission.vehicle, vehicle_dir)
        problems += [f"vehicle.{line}" for line in bad]
        problems += [f"vehicle.{line}" for line in propellant_problems(vehicle)]
        for name, scenario in mission.scenarios.items():
            problems += [
                f"scenarios.{name}.{line}" for line in failure_problems(scenario.failures, len(vehicle.stages))
            ]
        object.__setattr__(mission, "vehicle", vehicle)
    if problems:
        raise MissionError(source, problems)
    mission._source_path = Path(source) if source != "<mission>" else None
    mission._outlines = outlines
    return mission


def _resolve_includes(
    data: dict[str, typing.Any], base_dir: Path
) -> tuple[dict[str, typing.Any], Path, dict[str, Path]]:
    """Sections given as a file path (e.g. ``vehicle: vehicles/kairos.yaml``) are read in place.

    Returns the data, the directory the vehicle's own relative paths (motor files) start from, and the
    file each included section came from.
    """
    vehicle_dir = base_dir
    included: dict[str, Path] = {}
    for key in ("vehicle", "sensors", "dispersions"):
        value = data.get(key)
        if isinstance(value, str):
            path = included[key] = base_dir / value
            data[key] = _read_yaml(path, key, str(path))
            if not isinstance(data[key], dict):  # an empty file would silently drop the section
                found = "nothing (it is empty)" if data[key] is None else _kind(data[key])
                raise MissionError(
                    str(path),
                    [
                        f"{key}: the file holds {found}; it must hold the {key} section's "
                        "fields as a mapping (see docs/mission-format.md)"
                    ],
                )
            if key == "vehicle":
                vehicle_dir = (base_dir / value).parent
    return data, vehicle_dir, included


def _in_included_files(lines: list[str], included: dict[str, Path]) -> list[str]:
    """Each problem of a section read from its own file also names that file (where to fix it)."""
    out = []
    for line in lines:
        path = line.split(": ", 1)[0]
        key = next((k for k in included if path == k or path.startswith((k + ".", k + "["))), None)
        out.append(line if key is None else f"{line} (in {included[key]})")
    return out


def _read_yaml(path: Path, key: str | None, source: str) -> typing.Any:
    """One YAML document from ``path`` (the strict safe loader); MissionError naming ``key`` (an included section)."""
    what = f"{key}: " if key else ""
    hint = "paths are relative to the mission file" if key else "give the path to a mission YAML file (see missions/)"
    try:
        if path.exists() and not (path.is_file() or path.is_dir()):  # reading /dev/zero or a FIFO never ends
            raise MissionError(source, [f"{what}{path} is not a regular file (a device, pipe or socket); {hint}"])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissionError(source, [f"{what}file not found" + (f" ({path})" if key else "") + f"; {hint}"]) from None
    except IsADirectoryError:
        raise MissionError(source, [f"{what}{path} is a directory; {hint}"]) from None
    except UnicodeDecodeError:
        raise MissionError(source, [f"{what}not a text file (not UTF-8); give a YAML file"]) from None
    except (OSError, ValueError) as exc:
        raise MissionError(source, [f"{what}cannot read the file: {getattr(exc, 'strerror', None) or exc}"]) from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        raise MissionError(source, [what + describe_yaml_error(exc)]) from None


def _duplicates(kind: str, names: list[str]) -> list[str]:
    seen, out = set(), []
    for i, n in enumerate(names):
        if n in seen:
            out.append(f"{kind}[{i}].name: '{n}' is used twice; names must be unique")
        seen.add(n)
    return out


def _cross_check(mission: m.Mission, base_dir: Path) -> tuple[list[str], dict[str, tuple[list[float], list[float]]]]:
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
            p.append(
                f"strings[{i}].nav_source: '{s.nav_source}' is not a nav source; allowed: {', '.join(sorted(sources))}"
            )
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
            assert a.lat_deg is not None and a.lon_deg is not None  # AreaSpec._one_outline: no geojson, both lists
            lat, lon = list(a.lat_deg), list(a.lon_deg)
        bad = outline_problems(lat, lon, a.name)
        p += [f"areas[{i}]: {msg}" for msg in bad]
        if not bad:
            outlines[a.name] = (lat, lon)

    for i, r in enumerate(mission.rules):
        where = f"rules[{i}]"
        if isinstance(r, IipPolygonRule | PositionPolygonRule) and r.area not in areas:
            p.append(
                f"{where}.area: unknown area '{r.area}'; allowed: {', '.join(sorted(areas)) or '(no areas defined)'}"
            )
        if isinstance(r, SourceDisagreementRule):
            for j, source in enumerate(r.sources):
                if source not in sources:
                    p.append(
                        f"{where}.sources[{j}]: '{source}' is not a nav source; allowed: {', '.join(sorted(sources))}"
                    )
            if r.sources[0] == r.sources[1]:
                p.append(f"{where}.sources: compare two different sources")
        for attr in ("after_event", "until_event"):
            ev = getattr(r.active, attr)
            if ev is not None and ev not in events:
                p.append(f"{where}.active.{attr}: unknown event '{ev}'; allowed: {', '.join(sorted(events))}")
        if r.active.phase is not None and r.active.phase not in phases:
            p.append(
                f"{where}.active.phase: unknown phase '{r.active.phase}'; allowed: "
                f"{', '.join(sorted(phases)) or '(no phases defined)'}"
            )

    strings = {s.name for s in mission.string_specs}
    for name, sc in mission.scenarios.items():
        for j, fault in enumerate(sc.nav_faults):
            src = getattr(fault, "source", None)
            if src is not None and src not in sources:
                p.append(
                    f"scenarios.{name}.nav_faults[{j}].source: '{src}' is not a nav source; allowed: "
                    f"{', '.join(sorted(sources))}"
                )
            st = getattr(fault, "string", None)
            if st is not None and st not in strings:
                p.append(
                    f"scenarios.{name}.nav_faults[{j}].string: '{st}' is not an AFTS string; allowed: "
                    f"{', '.join(sorted(strings))}"
                )
    for src in mission.sensors.sources:
        if src not in sources:
            p.append(f"sensors.sources.{src}: not a nav source; allowed: {', '.join(sorted(sources))}")
    p += _check_safing(mission, outlines)
    p += _check_risk(mission, base_dir)
    p += feasibility_problems(mission)
    return p, outlines


def _check_risk(mission: m.Mission, base_dir: Path) -> list[str]:
    """The risk sections against the vehicle and the files they name."""
    p: list[str] = []
    n_stages = len(mission.vehicle.stages) if mission.vehicle is not None else None
    stages = [c.stage for c in mission.debris or []]
    p += [
        f"debris: stage {k} has two catalogs; give one per stage"
        for k in sorted({k for k in stages if stages.count(k) > 1})
    ]
    if n_stages is not None:
        for i, k in enumerate(stages):
            if k >= n_stages:
                p.append(f"debris[{i}].stage: {k}, but the vehicle has {n_stages} stage(s) (0..{n_stages - 1})")
        for i, body in enumerate(mission.jettisoned or []):
            if body.stage is not None and body.stage >= n_stages - 1:
                p.append(
                    f"jettisoned[{i}].stage: {body.stage}, but only stages 0..{n_stages - 2} separate "
                    f"(the vehicle has {n_stages} stage(s); the last one is not dropped)"
                )
        share = mission.failure.stage_share if mission.failure is not None else None
        if share is not None and len(share) != n_stages:
            p.append(
                f"failure.stage_share: {len(share)} values, but the vehicle has {n_stages} stage(s); give one per stage"
            )
    raster = mission.population.raster
    if raster is not None and not (base_dir / raster).is_file():
        p.append(
            f"population.raster: no file '{base_dir / raster}'; give the path of a GeoTIFF relative to the mission file"
        )
    return p


def _check_safing(mission: m.Mission, outlines: typing.Mapping[str, tuple[list[float], list[float]]]) -> list[str]:
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
            (
                f"safing.iip_clear.min_iip_range_m: {clear.min_iip_range_m:.0f} m is inside the farthest "
                "protected-area "
                f"vertex ({far:.0f} m from the pad); the AFSS could safe itself while the IIP can still reach land. "
                f"Use at least {math.ceil(far):.0f} m or leave it unset"
            )
        ]
    return []


def dump_mission_json_schema() -> str:
    """The JSON schema of the mission file (for editors and docs)."""
    return json.dumps(m.Mission.model_json_schema(), indent=2)
