"""``rangeguard import opentsiolkovsky``: a mission (site and vehicle, no rules) from another program's input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from rangeguard.cli.app import app
from rangeguard.errors import InputError

import_app = typer.Typer(
    name="import",
    help="Convert another program's vehicle description into a rangeguard mission.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(import_app, name="import")


class _MissionDumper(yaml.SafeDumper):
    """The safe dumper; lists of numbers on one line (tables stay readable)."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in data)
    rows = all(isinstance(x, list) and all(isinstance(v, (int, float)) for v in x) for x in data) and bool(data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat or rows)


_MissionDumper.add_representer(list, _represent_list)


def mission_yaml(mission: dict[str, Any], header: list[str]) -> str:
    """The mission as YAML (safe dump, keys in the given order) under a '#' comment header."""
    body = yaml.dump(mission, Dumper=_MissionDumper, sort_keys=False, allow_unicode=True, width=120)
    return "".join(f"# {line}\n" if line else "#\n" for line in header) + body


@import_app.command("opentsiolkovsky")
def opentsiolkovsky_cmd(
    param: Path = typer.Argument(..., help="OpenTsiolkovsky parameter file (JSON); its CSV files beside it."),
    out: Path = typer.Option(..., "-o", "--out", help="Mission YAML file to write."),
    core: str = typer.Option(
        "cpp",
        "--core",
        help="Which OpenTsiolkovsky core's reading of 'mass initial' and 'separation time' to follow: cpp (stack "
        "mass, time since liftoff) or rust (stage's own mass, time since the stage's start).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Convert an OpenTsiolkovsky PARAM.json into a rangeguard mission with a vehicle and no rules."""
    from rangeguard.mission.opentsiolkovsky import import_param_file

    if core not in ("cpp", "rust"):
        raise InputError(f"--core {core!r}: allowed: cpp, rust")
    if out.exists() and not force:
        raise InputError(f"{out} exists; give --force to overwrite it, or another -o path")
    conv = import_param_file(param, core=core)  # type: ignore[arg-type]  # checked above
    header = [
        f"Imported by `rangeguard import opentsiolkovsky {param.name}` (see docs/opentsiolkovsky.md).",
        "A mission with a vehicle and no rules: add areas and rules before it guards a flight.",
        "What the importer chose:",
        *[f"  {n}" for n in conv.notes],
        "CSV tables are inlined below; times: thrust and Isp tables since the stage's ignition,",
        "the attitude programme (frame local, as OpenTsiolkovsky's) since liftoff.",
        "",
    ]
    text = mission_yaml(conv.mission, header)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(f"{param} -> {out}")
    for n in conv.notes:
        typer.echo(f"  {n}")
