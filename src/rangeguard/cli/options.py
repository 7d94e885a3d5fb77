"""Option values checked before a command does any work (numbers, addresses).

click checks that a number parses and, where the option says so, its range;
but ``nan`` and ``inf`` parse as floats and pass every range check (a NaN
compares false with everything), so each float option that must be a real
number goes through :func:`finite`. Each failure is an
:class:`~rangeguard.errors.InputError` naming the option, the value and what
is allowed (exit 2).
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from rangeguard.errors import InputError

DASK_SCHEMES = ("tcp", "tls")
"""Address schemes of a Dask scheduler that ``validate --scheduler`` can reach."""


def finite(
    value: float | None, option: str, *, above: float | None = None, at_least: float | None = None, unit: str = ""
) -> float | None:
    """``value`` unless it is NaN or infinite, or not above ``above`` / below ``at_least`` (None passes)."""
    if value is None:
        return None
    unit = f" {unit}" if unit else ""
    if not math.isfinite(value):
        raise InputError(f"{option} must be a finite number{f' ({unit.strip()})' if unit else ''}; got {value}")
    if above is not None and not value > above:
        raise InputError(f"{option} must be more than {above:g}{unit}; got {value:g}{unit}")
    if at_least is not None and not value >= at_least:
        raise InputError(f"{option} must be at least {at_least:g}{unit}; got {value:g}{unit}")
    return value


def seed(value: int | None, option: str) -> int | None:
    """A random seed: a whole number >= 0 (numpy's SeedSequence takes no negative entropy)."""
    if value is not None and value < 0:
        raise InputError(f"{option} must be a whole number >= 0; got {value}")
    return value


def dask_address(text: str | None, option: str = "--scheduler") -> str | None:
    """A Dask scheduler address, ``tcp://HOST:PORT`` (or ``tls://``; a bare ``HOST:PORT`` means tcp)."""
    if text is None:
        return None
    address = text if "://" in text else f"tcp://{text}"
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:  # a port that is not a number or out of range
        port = None
        parts = None
    if (
        parts is None
        or parts.scheme not in DASK_SCHEMES
        or not parts.hostname
        or port is None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise InputError(
            f"{option} {text!r} is not a Dask scheduler address; give {DASK_SCHEMES[0]}://HOST:PORT "
            f"as the scheduler prints it (e.g. tcp://127.0.0.1:8786), or leave it out to run here"
        )
    return address
