"""RASP ``.eng`` motor files: read and write.

The RASP format (G. Simon's RASP simulator, used by ThrustCurve.org,
OpenRocket and RockSim) is plain text:

- lines starting with ``;`` are comments;
- one header line ``name diameter_mm length_mm delays propellant_kg total_kg maker``
  (delays is a dash-separated list such as ``6-10-P``, or ``0``/``P``);
- then one ``time_s thrust_n`` pair per line, time strictly increasing,
  the last point normally at zero thrust (burnout).

We treat the curve as the motor's *vacuum* thrust (the simulator subtracts
exit area x ambient pressure) and prepend a ``(0, 0)`` point when the file
starts later than ``t = 0``, as RASP does.

Reading is the mission loader's strict reader (:mod:`rangeguard.mission.motors`,
re-exported here: the simulator flies exactly the curve ``check`` accepted);
this module adds writing.
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
    for t, f in zip(motor.t_s[start:], motor.thrust_n[start:]):
        lines.append(f"   {float(t)!r} {float(f)!r}")
    return "\n".join(lines) + "\n"


def write_eng(motor: EngMotor, path: str | os.PathLike) -> None:
    """Write ``motor`` as a RASP .eng file (full float precision, total impulse preserved)."""
    Path(path).write_text(format_eng(motor), encoding="utf-8")
