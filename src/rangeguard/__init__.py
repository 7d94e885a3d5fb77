"""rangeguard: an autonomous flight safety system (AFSS) for launch vehicles.

Core (pure, batch-first, no I/O): :mod:`rangeguard.earth`, :mod:`rangeguard.iip`,
:mod:`rangeguard.nav`, :mod:`rangeguard.mission`, :mod:`rangeguard.rules`,
:mod:`rangeguard.engine`. Outer layers (simulator, Monte Carlo, telemetry,
reports, console, command line) build on them; never the other way round.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rangeguard")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
