"""The missions that ship with rangeguard, as package data in ``rangeguard/missions/``.

``kii-sso.yaml`` (the validated Kii rules), ``kii-sso-strict.yaml`` (the same
with a Kairos-flight-1-strict speed band) and ``sounding.yaml``, with the
``areas/``, ``motors/`` and ``vehicles/`` files they name by relative path.
They are found through :mod:`importlib.resources`, so ``rangeguard demo``
works the same from a source checkout and from an installed wheel. (The
checkout's top-level ``missions`` is a link to this folder, so documented
commands such as ``rangeguard check missions/kii-sso.yaml`` work there.)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rangeguard.errors import InputError

DEMO_MISSIONS = {"validated": "kii-sso.yaml", "strict": "kii-sso-strict.yaml"}
"""The bundled mission file of each ``rangeguard demo`` rule set (see :mod:`rangeguard.demo`)."""


def missions_dir() -> Path:
    """The folder of the bundled missions (a real directory: installed wheels are unpacked)."""
    folder = Path(str(resources.files("rangeguard").joinpath("missions")))
    if not (folder / DEMO_MISSIONS["validated"]).is_file():
        raise InputError(f"rangeguard's bundled missions are missing from {folder}; reinstall rangeguard")
    return folder


def mission_path(name: str) -> Path:
    """The path of the bundled mission ``name`` (``kii-sso`` or ``kii-sso.yaml``), whether or not it exists.

    Only the last component of ``name`` is used, so a name never reaches
    outside the missions folder; callers check existence and say what to do.
    """
    stem = Path(name).name
    return missions_dir() / (stem if stem.endswith((".yaml", ".yml")) else f"{stem}.yaml")
