"""Monte Carlo and closed-loop flights: simulator, sensors and the AFSS engine wired together.

- :func:`fly`: N vehicles in lock-step through simulator, sensor models and engine;
- :class:`DispersionSampler`: the dispersed parameters of run k, from its own random stream;
- :func:`validate`: dispersed nominal and failure flights in chunks (in-process, local processes or
  Dask), with statistics and a verdict (``rangeguard validate``).
"""

from rangeguard.montecarlo.closedloop import FlightResult, fly

__all__ = ["DispersionSampler", "FlightResult", "ValidationResult", "fly", "validate"]


def __getattr__(name: str):
    # the validation stack (scipy.stats, Parquet, Dask) is imported only when asked for
    if name == "DispersionSampler":
        from rangeguard.montecarlo.sampling import DispersionSampler

        return DispersionSampler
    if name in ("ValidationResult", "validate"):
        from rangeguard.montecarlo import validation

        return getattr(validation, name)
    raise AttributeError(f"module 'rangeguard.montecarlo' has no attribute {name!r}")
