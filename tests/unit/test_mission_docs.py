"""docs/mission-format.md cannot drift from the schema.

1. The annotated example in the document (and every file it references, given
   in the document as ``<!-- file: PATH -->`` blocks) loads with load_mission
   and uses every section and every rule type.
2. Every pydantic model reachable from :class:`rangeguard.mission.Mission`
   (nested sections, every rule type, vehicle, sensors, scenarios) has a
   reference section headed ``... (`ClassName`)`` whose table lists exactly
   that model's fields, with the model's default for each.

When a field is added to a model, regenerate its rows with
``python tests/unit/test_mission_docs.py ClassName`` and edit the text.
"""

from __future__ import annotations

import math
import re
import sys
import types
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from rangeguard.mission import Mission, load_mission
from rangeguard.mission.rule_types import RULE_TYPES as RULE_CLASSES
from rangeguard.mission.rule_types.limits import Quantity

DOC = Path(__file__).resolve().parents[2] / "docs" / "mission-format.md"
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\s*\n```[a-z]*\n(?P<body>.*?)\n```", re.S)
HEADING = re.compile(r"^#{2,5} .*\(`(?P<cls>\w+)`\)\s*$", re.M)


# --- the schema ----------------------------------------------------------------------------


def _models_in(annotation):
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def documented_models() -> list[type[BaseModel]]:
    """Mission and every model nested in it, depth first, each once."""
    seen: list[type[BaseModel]] = []

    def visit(cls):
        if cls in seen:
            return
        seen.append(cls)
        for field in cls.model_fields.values():
            for sub in _models_in(field.annotation):
                visit(sub)

    visit(Mission)
    return seen


RULE_TYPES = set(RULE_CLASSES)


# --- the document ----------------------------------------------------------------------------


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def doc_files() -> dict[str, str]:
    return {m["path"]: m["body"] + "\n" for m in FILE_BLOCK.finditer(doc_text())}


def doc_sections() -> dict[str, str]:
    """Class name -> the text of its reference section (to the next heading)."""
    text = doc_text()
    heads = list(re.finditer(r"^#{1,5} .*$", text, re.M))
    out = {}
    for i, h in enumerate(heads):
        m = HEADING.match(h.group(0))
        if m:
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            out[m["cls"]] = text[h.end() : end]
    return out


def table_rows(section: str) -> dict[str, list[str]]:
    """Field name -> cells of its row in the section's field table (the table headed "| Field |")."""
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in section.splitlines():
        if line.startswith("| Field |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        m = re.match(r"^\|\s*`(\w+)`\s*\|(.*)\|\s*$", line) if in_table else None
        if m:
            rows[m[1]] = [c.strip() for c in re.split(r"(?<!\\)\|", m[2])]
    return rows


def _parse_default(cell: str):
    m = re.fullmatch(r"`([^`]*)`", cell)
    if m is None:
        return cell
    text = m[1]
    if text in ("inf", "-inf"):
        return float(text)
    return yaml.safe_load(text)


# --- tests ---------------------------------------------------------------------------------------


def test_example_mission_in_the_doc_loads(tmp_path):
    files = doc_files()
    assert "mission.yaml" in files, (
        "the doc must hold the example as <!-- file: mission.yaml --> followed by a yaml block"
    )
    for rel, body in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    mission = load_mission(tmp_path / "mission.yaml")
    raw = yaml.safe_load(files["mission.yaml"])
    assert set(raw) == set(Mission.model_fields), "the example should show every section"
    assert {r.type for r in mission.rules} == RULE_TYPES
    assert {q for r in mission.rules if r.type == "envelope" for q in [r.quantity]} == set(typing.get_args(Quantity))


def test_example_geojson_area_is_used():
    mission_yaml = yaml.safe_load(doc_files()["mission.yaml"])
    assert any("geojson" in a for a in mission_yaml["areas"])
    assert any("lat_deg" in a for a in mission_yaml["areas"])


@pytest.mark.parametrize("cls", documented_models(), ids=lambda c: c.__name__)
def test_every_model_has_a_reference_table_with_exactly_its_fields(cls):
    sections = doc_sections()
    assert cls.__name__ in sections, f"docs/mission-format.md needs a heading ending in (`{cls.__name__}`)"
    rows = table_rows(sections[cls.__name__])
    assert list(rows) == list(cls.model_fields), (
        f"{cls.__name__}: the doc lists {list(rows)}, the model has {list(cls.model_fields)}; "
        f"regenerate with: python tests/unit/test_mission_docs.py {cls.__name__}"
    )


@pytest.mark.parametrize("cls", documented_models(), ids=lambda c: c.__name__)
def test_documented_defaults_match_the_model(cls):
    rows = table_rows(doc_sections().get(cls.__name__, ""))
    for name, field in cls.model_fields.items():
        if name not in rows:
            continue  # reported by the test above
        cell = rows[name][2]  # columns: type, unit, default, allowed, description
        if field.is_required():
            assert cell == "required", f"{cls.__name__}.{name}: default column says {cell!r}, the field is required"
        elif field.default is PydanticUndefined:
            assert cell != "required", f"{cls.__name__}.{name} has a default"
        else:
            want = field.default
            got = _parse_default(cell)
            if isinstance(want, tuple):
                want = list(want)
            assert got == want or (
                isinstance(want, float) and isinstance(got, (int, float)) and math.isclose(got, want)
            ), f"{cls.__name__}.{name}: the doc says default {cell}, the model {field.default!r}"


def test_reference_has_no_stale_sections():
    names = {c.__name__ for c in documented_models()}
    stale = set(doc_sections()) - names
    assert not stale, f"reference sections for classes no longer in the schema: {sorted(stale)}"


# --- regenerating rows -----------------------------------------------------------------------------

_UNITS = [
    ("_deg_s", "deg/s"),
    ("_mps", "m/s"),
    ("_m2", "m²"),
    ("_km", "km"),
    ("_kg", "kg"),
    ("_hz", "Hz"),
    ("_deg", "deg"),
    ("_m", "m"),
    ("_s", "s"),
    ("_n", "N"),
    ("_utc", "UTC"),
]


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "string" if all(isinstance(a, str) for a in args) else "literal"
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(parts) + (" or null" if type(None) in args else "")
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is tuple:
        return f"[{', '.join(_type_name(a) for a in args)}]"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"mapping ({annotation.__name__})"
    return {int: "integer", float: "number", str: "string", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _default_cell(field) -> str:
    if field.is_required():
        return "required"
    if field.default is PydanticUndefined:
        return "see section"
    d = field.default
    if d is None:
        return "`null`"
    if d == "":
        return '`""`'
    if isinstance(d, bool):
        return f"`{str(d).lower()}`"
    if isinstance(d, float) and math.isinf(d):
        return "`inf`" if d > 0 else "`-inf`"
    return f"`{d}`"


def _allowed_cell(field) -> str:
    parts = []
    for a in _models_in_literal(field.annotation):
        parts.append(", ".join(f"`{x}`" for x in a))
    for meta in field.metadata:
        for attr, sym in (
            ("ge", ">="),
            ("gt", ">"),
            ("le", "<="),
            ("lt", "<"),
            ("min_length", "length >="),
            ("max_length", "length <="),
        ):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value}")
    return "; ".join(parts) or "—"


def _models_in_literal(annotation):
    if typing.get_origin(annotation) is typing.Literal:
        yield typing.get_args(annotation)
        return
    for arg in typing.get_args(annotation):
        yield from _models_in_literal(arg)


def reference_rows(cls) -> str:
    lines = ["| Field | Type | Unit | Default | Allowed | Description |", "|---|---|---|---|---|---|"]
    for name, field in cls.model_fields.items():
        unit = next((u for suffix, u in _UNITS if name.endswith(suffix)), "—")
        lines.append(
            f"| `{name}` | {_type_name(field.annotation)} | {unit} | {_default_cell(field)} | {_allowed_cell(field)} | "
            f"{(field.description or '').replace('|', '&#124;')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - a maintenance helper
    wanted = set(sys.argv[1:])
    for model in documented_models():
        if not wanted or model.__name__ in wanted:
            print(f"\n#### {model.__name__} (`{model.__name__}`)\n\n{reference_rows(model)}")


def test_the_quantity_table_is_the_one_of_the_code():
    """docs/mission-format.md's envelope quantity table lists exactly the quantities of
    rangeguard.mission.quantities, with their units and definitions."""
    from rangeguard.mission.quantities import QUANTITIES

    text = DOC.read_text()
    start = text.index("| Quantity | Unit | Definition |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows.append((cells[0].strip("`"), cells[1], cells[2]))
    assert rows == [(q.name, q.unit, q.definition) for q in QUANTITIES]
