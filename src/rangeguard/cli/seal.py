"""``rangeguard keygen`` and ``rangeguard seal``: the pre-shared key and the sealed mission load."""

from __future__ import annotations

from pathlib import Path

import typer

from rangeguard import paths
from rangeguard.cli.app import app
from rangeguard.errors import InputError
from rangeguard.mission import load_mission


@app.command("keygen")
def keygen_cmd(
    out: Path = typer.Option(..., "-o", "--out", help="Key file to create (mode 0600; never overwritten)."),
) -> None:
    """Make a new pre-shared key file (256 random bits) for authenticated packets and sealed loads."""
    from rangeguard.keyfile import write_key_file

    key = write_key_file(out)
    typer.echo(f"{out}: new key, fingerprint {key.fingerprint}; give it to run, stream, console and seal with --key")


@app.command("seal")
def seal_cmd(
    mission: Path = typer.Argument(..., help="Mission YAML file to seal."),
    key: Path = typer.Option(..., "--key", help="Key file (rangeguard keygen) that seals the load."),
    out: Path = typer.Option(..., "-o", "--out", help="The sealed load to write (MISSION.load)."),
) -> None:
    """Write the resolved mission as a sealed load (canonical JSON, SHA-256 digest, HMAC-SHA256 seal)."""
    from rangeguard.formats.missionload import seal_mission
    from rangeguard.keyfile import read_key_file

    if mission.suffix == ".load":
        raise InputError(f"{mission}: already a sealed load; seal the mission YAML it was made from")
    paths.output_file(out, "-o", example="mission.load")
    k = read_key_file(key)
    data = seal_mission(load_mission(mission), k)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        raise InputError(f"-o {out}: cannot write it ({exc.strerror})") from None
    from rangeguard.formats.missionload import verify_load

    _, _, digest = verify_load(data, k, str(out))  # what `run` will check, checked once here
    typer.echo(f"{out}: sealed, sha256 {digest} (key {k.fingerprint})")
