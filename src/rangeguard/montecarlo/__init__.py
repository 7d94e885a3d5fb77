"""Monte Carlo and closed-loop flights: simulator, sensors and the AFSS engine wired together.

- :func:`fly`: N vehicles in lock-step through simulator, sensor models and engine;
- :class:`DispersionSampler`: the dispersed parameters of run k, from its own random stream;
- :func:`validate`: dispersed nominal and failure flights in chunks (in-process, local processes or
  Dask), with statistics and a verdict (``rangeguard validate``).
"""

__all__ = ["DispersionSampler", "FlightResult", "ValidationResult", "fly", "validate"]


def __getattr__(name: str):
    # the closed loop (the engine, the simulator) and the validation stack (scipy.stats, Parquet, Dask) are
    # imported only when asked for, so that a light submodule (montecarlo.defaults) loads alone
    if name in ("FlightResult", "fly"):
        from rangeguard.montecarlo import closedloop

        return getattr(closedloop, name)
    if name == "DispersionSampler":
        from rangeguard.montecarlo.sampling import DispersionSampler

        return DispersionSampler
    if name in ("ValidationResult", "validate"):
        from rangeguard.montecarlo import validation

        return getattr(validation, name)
    raise AttributeError(f"module 'rangeguard.montecarlo' has no attribute {name!r}")
