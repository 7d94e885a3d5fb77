"""RASP ``.eng`` motor files: written here; read by :mod:`rangeguard.mission.motors`.

Reading is the mission loader's strict reader (format, units and checks
documented there), re-exported here so the simulator flies exactly the curve
``rangeguard check`` accepted; this module adds writing (:func:`format_eng`,
:func:`write_eng`), in the same format: a header line, then ``time_s
thrust_n`` pairs, the leading ``(0, 0)`` point omitted as RASP files do.
"""

from __future__ import annotations

import os
from pathlib import Path

from rangeguard.mission.motors import EngMotor, parse_eng, read_eng

__all__ = ["EngMotor", "format_eng", "parse_eng", "read_eng", "write_eng"]


def format_eng(motor: EngMotor) -> str:
    """The RASP text of ``motor`` (the leading (0, 0) point is omitted, as RASP files do)."""
    lines = [f"; {c}" for c in motor.comments]
    name = motor.name.replace(" ", "_")
    lines.append(
        f"{name} {motor.diameter_mm:g} {motor.length_mm:g} {motor.delays or '0'} "
        f"{motor.propellant_kg:.6g} {motor.total_kg:.6g} {motor.maker.replace(' ', '_') or 'unknown'}"
    )
    start = 1 if (motor.t_s[0] == 0.0 and motor.thrust_n[0] == 0.0) else 0
    for t, f in zip(motor.t_s[start:], motor.thrust_n[start:], strict=True):
        lines.append(f"   {float(t)!r} {float(f)!r}")
    return "\n".join(lines) + "\n"


def write_eng(motor: EngMotor, path: str | os.PathLike) -> None:
    """Write ``motor`` as a RASP .eng file (full float precision, total impulse preserved)."""
    Path(path).write_text(format_eng(motor), encoding="utf-8")
