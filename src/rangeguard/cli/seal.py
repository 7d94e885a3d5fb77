"""``rangeguard keygen``, ``seal`` and ``prepare``: the pre-shared key, the sealed mission load, and the
kernels compiled ahead of the flight."""

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


@app.command("prepare")
def prepare_cmd(
    mission: Path = typer.Argument(..., help="Sealed mission load (rangeguard seal), or a mission YAML file."),
    key: Path = typer.Option(None, "--key", help="Key file that sealed the load (needed for a .load)."),
) -> None:
    """Compile and cache on disk every kernel that `run` needs for MISSION, so that `run` reaches READY in
    seconds (run it once after installing or upgrading rangeguard, on the flight computer)."""
    import time

    import numba

    from rangeguard.telemetry.warmup import warm_up_engine

    start = time.perf_counter()
    if mission.suffix == ".load":
        from rangeguard.formats.missionload import open_load
        from rangeguard.keyfile import read_key_file

        if key is None:
            raise InputError(f"{mission}: a sealed load is verified with the key that sealed it; give --key")
        m, digest = open_load(mission, read_key_file(key))
        what = f"sealed load {mission} (sha256 {digest})"
    else:
        m = load_mission(mission)
        what = f"mission {mission} (not sealed: `run` will want the sealed load)"
    warm_up_engine(m)
    cache = numba.config.CACHE_DIR  # type: ignore[attr-defined]  # numba.config sets its names at run time
    typer.echo(f"prepared {what} in {time.perf_counter() - start:.1f} s; kernels cached in {cache}")
