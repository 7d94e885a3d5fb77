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
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rangeguard.errors import InputError


@dataclass(frozen=True)
class EngMotor:
    """A motor read from (or to be written to) a RASP .eng file.

    ``t_s`` and ``thrust_n`` start at the ``(0, 0)`` point; ``thrust_n`` in N.
    """

    name: str
    diameter_mm: float
    length_mm: float
    delays: str
    propellant_kg: float
    total_kg: float
    maker: str
    t_s: np.ndarray = field(repr=False)
    thrust_n: np.ndarray = field(repr=False)
    comments: tuple[str, ...] = ()

    @property
    def total_impulse_ns(self) -> float:
        """Total impulse, N s (trapezoidal integral of the piecewise-linear curve, exact)."""
        return float(np.trapezoid(self.thrust_n, self.t_s))

    @property
    def burn_time_s(self) -> float:
        """Time of the last curve point, s."""
        return float(self.t_s[-1])


def _num(token: str, what: str, where: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise InputError(f"{where}: {what} must be a number, got {token!r}") from None


def parse_eng(text: str, source: str = "<string>") -> EngMotor:
    """Parse the text of a RASP .eng file (see module docstring).

    Errors raise InputError naming the source and the line number.
    """
    header = None
    comments: list[str] = []
    times: list[float] = []
    thrusts: list[float] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{source}, line {lineno}"
        if not line:
            continue
        if line.startswith(";"):
            if header is None:
                comments.append(line[1:].strip())
            continue
        line = line.split(";", 1)[0].strip()  # trailing comment
        tokens = line.split()
        if header is None:
            if len(tokens) < 7:
                raise InputError(
                    f"{where}: header must be 'name diameter_mm length_mm delays propellant_kg total_kg maker' "
                    f"(7 fields), got {len(tokens)}: {line!r}"
                )
            header = (
                tokens[0],
                _num(tokens[1], "diameter_mm", where),
                _num(tokens[2], "length_mm", where),
                tokens[3],
                _num(tokens[4], "propellant_kg", where),
                _num(tokens[5], "total_kg", where),
                " ".join(tokens[6:]),
            )
            continue
        if len(tokens) != 2:
            if len(tokens) >= 7 and times:
                raise InputError(f"{where}: a second motor header; one motor per file is supported")
            raise InputError(f"{where}: expected 'time_s thrust_n', got {line!r}")
        t = _num(tokens[0], "time_s", where)
        f = _num(tokens[1], "thrust_n", where)
        if f < 0:
            raise InputError(f"{where}: thrust must be >= 0 N, got {f}")
        if times and t <= times[-1]:
            raise InputError(f"{where}: time {t} s is not after the previous point ({times[-1]} s); times must increase")
        if not times and t < 0:
            raise InputError(f"{where}: time must be >= 0 s, got {t}")
        times.append(t)
        thrusts.append(f)
    if header is None:
        raise InputError(f"{source}: no header line found (expected 'name diameter_mm length_mm delays propellant_kg total_kg maker')")
    if len(times) < 1:
        raise InputError(f"{source}: no thrust points after the header")
    if times[0] > 0.0:
        times.insert(0, 0.0)
        thrusts.insert(0, 0.0)
    if len(times) < 2:
        raise InputError(f"{source}: need at least two thrust points")
    name, dia, length, delays, prop, total, maker = header
    if prop <= 0 or total <= prop:
        raise InputError(f"{source}: propellant_kg must be > 0 and total_kg > propellant_kg (got {prop}, {total})")
    return EngMotor(name, dia, length, delays, prop, total, maker,
                    np.asarray(times, dtype=np.float64), np.asarray(thrusts, dtype=np.float64), tuple(comments))


def read_eng(path: str | os.PathLike) -> EngMotor:
    """Read a RASP .eng file; errors name the file and the line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read motor file {p}: {exc.strerror}") from None
    return parse_eng(text, str(p))


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
