"""RASP ``.eng`` motor files, as a mission's vehicle names them: read and checked at load time.

The RASP format (G. Simon's RASP simulator, used by ThrustCurve.org,
OpenRocket and RockSim) is plain text:

- lines starting with ``;`` are comments;
- one header line ``name diameter_mm length_mm delays propellant_kg total_kg maker``
  (delays is a dash-separated list such as ``6-10-P``, or ``0``/``P``);
- then one ``time_s thrust_n`` pair per line, time strictly increasing,
  the last point normally at zero thrust (burnout).

The curve is the motor's *vacuum* thrust; a ``(0, 0)`` point is prepended
when the file starts later than ``t = 0``, as RASP does.

This is the strict reader the mission loader uses (``rangeguard check``):
besides the format it refuses numbers that are not finite (``nan``, ``inf``),
a motor that never pushes (zero thrust throughout), a directory or a binary
file, each with the file and line. It reads the same files into the same
numbers as :func:`rangeguard.sim.motors.parse_eng` (the core may not import
the simulator, so the simulator should import this one).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rangeguard.errors import InputError

MAX_ENG_BYTES = 10_000_000
"""Largest motor file read, bytes (ThrustCurve.org files are a few kB)."""

_HEADER = "'name diameter_mm length_mm delays propellant_kg total_kg maker'"


@dataclass(frozen=True)
class EngMotor:
    """A motor read from a RASP .eng file. ``t_s`` and ``thrust_n`` start at the ``(0, 0)`` point; thrust in N."""

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
        value = float(token)
    except ValueError:
        raise InputError(f"{where}: {what} must be a number, got {token!r}") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: {what} must be a finite number, got {token!r}")
    return value


def parse_eng(text: str, source: str = "<string>") -> EngMotor:
    """Parse the text of a RASP .eng file (module docstring). Errors raise InputError naming the source and line."""
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
                raise InputError(f"{where}: header must be {_HEADER} (7 fields), got {len(tokens)}: {line[:80]!r}")
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
            raise InputError(f"{where}: expected 'time_s thrust_n', got {line[:80]!r}")
        t = _num(tokens[0], "time_s", where)
        f = _num(tokens[1], "thrust_n", where)
        if f < 0:
            raise InputError(f"{where}: thrust must be >= 0 N, got {f}")
        if times and t <= times[-1]:
            raise InputError(
                f"{where}: time {t} s is not after the previous point ({times[-1]} s); times must increase"
            )
        if not times and t < 0:
            raise InputError(f"{where}: time must be >= 0 s, got {t}")
        times.append(t)
        thrusts.append(f)
    if header is None:
        raise InputError(f"{source}: no header line found (expected {_HEADER})")
    if len(times) < 1:
        raise InputError(f"{source}: no thrust points after the header")
    if times[0] > 0.0:
        times.insert(0, 0.0)
        thrusts.insert(0, 0.0)
    if len(times) < 2:
        raise InputError(f"{source}: need at least two thrust points")
    if max(thrusts) <= 0.0:
        raise InputError(f"{source}: the thrust is zero at every point; the motor never pushes")
    name, dia, length, delays, prop, total, maker = header
    if prop <= 0 or total <= prop:
        raise InputError(f"{source}: propellant_kg must be > 0 and total_kg > propellant_kg (got {prop}, {total})")
    return EngMotor(
        name,
        dia,
        length,
        delays,
        prop,
        total,
        maker,
        np.asarray(times, dtype=np.float64),
        np.asarray(thrusts, dtype=np.float64),
        tuple(comments),
    )


def read_eng(path: str | os.PathLike[str]) -> EngMotor:
    """Read a RASP .eng file; errors (a directory, a binary or oversized file, a bad line) name the file."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(f"motor file {p} is a directory; give the path of a .eng file")
        if p.exists() and not p.is_file():  # opening a FIFO waits for a writer forever
            raise InputError(f"motor file {p} is not a regular file (a device, pipe or socket); give a .eng file")
        with p.open("rb") as fh:
            data = fh.read(MAX_ENG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read motor file {p}: {exc.strerror or exc}") from None
    if len(data) > MAX_ENG_BYTES:
        raise InputError(f"motor file {p} is larger than {MAX_ENG_BYTES // 1_000_000} MB; a RASP .eng file is a few kB")
    if b"\0" in data:
        raise InputError(f"motor file {p} is not a text file; give a RASP .eng file")
    return parse_eng(data.decode("utf-8", errors="replace"), str(p))
