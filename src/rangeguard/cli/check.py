"""``rangeguard check``: validate a mission file (or verify a sealed load) and list every problem."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from rangeguard.cli.app import app
from rangeguard.errors import InputError
from rangeguard.mission import load_mission


@app.command("check")
def check_cmd(
    mission: Path = typer.Argument(..., help="Mission YAML file, or a sealed load (.load) with --key."),
    key: Path = typer.Option(None, "--key", help="Key file that sealed the load (needed for a .load)."),
) -> None:
    """Validate a mission file and list every problem; a .load is verified (digest and seal) and validated."""
    if mission.suffix == ".load":
        from rangeguard.formats.missionload import open_load
        from rangeguard.keyfile import read_key_file

        if key is None:
            raise InputError(f"{mission}: a sealed load is verified with the key that sealed it; give --key KEYFILE")
        m, digest = open_load(mission, read_key_file(key), what="check")
        Console().print(
            f"{mission}: OK, seal verified, sha256 {digest} ({len(m.rules)} rules, {len(m.areas)} areas, "
            f"{len(m.string_specs)} strings)",
            soft_wrap=True,
        )
        return
    m = load_mission(mission)
    Console().print(f"{mission}: OK ({len(m.rules)} rules, {len(m.areas)} areas, {len(m.string_specs)} strings)")
