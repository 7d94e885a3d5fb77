"""``rangeguard check``: validate a mission file and list every problem."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from rangeguard.cli.app import app
from rangeguard.mission import load_mission


@app.command("check")
def check_cmd(mission: Path = typer.Argument(..., help="Mission YAML file.")) -> None:
    """Validate a mission file and list every problem."""
    m = load_mission(mission)
    Console().print(f"{mission}: OK ({len(m.rules)} rules, {len(m.areas)} areas, {len(m.string_specs)} strings)")
