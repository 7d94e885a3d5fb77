"""Per-vehicle multipliers and offsets: what a dispersed Monte Carlo vehicle differs by.

The dispersion sampler (montecarlo) fills a :class:`PerVehicleParams`; the
simulator reads it. Defaults are the nominal vehicle (scales 1, offsets 0).
The parameters are the mission's dispersion fields (:mod:`rangeguard.mission.dispersions`,
the one list): a dispersion added there is a parameter here, and only where it
acts in the simulator (:func:`rangeguard.sim.build.param_arrays`) needs code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.errors import InputError
from rangeguard.mission.dispersions import STAGE_PARAMETERS, VEHICLE_PARAMETERS, nominal

STAGE_FIELDS = STAGE_PARAMETERS
VEHICLE_FIELDS = VEHICLE_PARAMETERS
FIELDS = STAGE_FIELDS + VEHICLE_FIELDS
"""Every parameter, named as the mission's dispersions name them (:mod:`rangeguard.mission.dispersions`)."""


class PerVehicleParams:
    """Per-vehicle dispersions, by the names of the mission's dispersions (``PerVehicleParams(cd_scale=...)``,
    ``params.cd_scale``); a parameter not given is nominal (1 for a scale, 0 for an offset). Each is a
    scalar (all vehicles), ``(N,)``, or for the per-stage ones also ``(S,)`` (per stage) or ``(N, S)``.
    What each one does is its field's description in :mod:`rangeguard.mission.dispersions`; where
    it acts is :func:`rangeguard.sim.build.param_arrays`.
    """

    def __init__(self, **values: ArrayLike) -> None:
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise InputError(
                f"PerVehicleParams: unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}"
            )
        self._values: dict[str, ArrayLike] = {name: values.get(name, nominal(name)) for name in FIELDS}

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"PerVehicleParams has no parameter {name!r}; allowed: {', '.join(FIELDS)}")

    def __repr__(self) -> str:
        given = {k: v for k, v in self._values.items() if not (np.ndim(v) == 0 and v == nominal(k))}
        return f"PerVehicleParams({', '.join(f'{k}={v!r}' for k, v in given.items())})"

    def stage_array(self, name: str, n: int, n_stages: int) -> NDArray[np.float64]:
        """The per-stage field ``name`` broadcast to ``(n, n_stages)``."""
        a = np.asarray(getattr(self, name), dtype=np.float64)
        if a.ndim == 1 and a.shape[0] == n_stages and a.shape[0] != n:
            a = a[None, :]
        elif a.ndim == 1 and a.shape[0] == n:
            a = a[:, None]
        try:
            return np.array(np.broadcast_to(a, (n, n_stages)), dtype=np.float64, order="C")
        except ValueError:
            raise InputError(
                f"PerVehicleParams.{name} has shape {a.shape}; allowed: a scalar, ({n},) per vehicle, "
                f"({n_stages},) per stage or ({n}, {n_stages})"
            ) from None

    def scalar_array(self, name: str, n: int) -> NDArray[np.float64]:
        """The per-vehicle field ``name`` broadcast to ``(n,)``."""
        a = np.asarray(getattr(self, name), dtype=np.float64)
        try:
            return np.array(np.broadcast_to(a, (n,)), dtype=np.float64, order="C")
        except ValueError:
            raise InputError(f"PerVehicleParams.{name} has shape {a.shape}; allowed: a scalar or ({n},)") from None

    def check(self, n: int, n_stages: int) -> None:
        """Raise InputError if a field has the wrong shape or a scale is not positive."""
        for name in FIELDS:
            arr = self.stage_array(name, n, n_stages) if name in STAGE_FIELDS else self.scalar_array(name, n)
            if name.endswith("_scale") and name != "wind_scale" and not np.all(arr > 0):
                raise InputError(f"PerVehicleParams.{name} must be > 0 for every vehicle (a multiplier)")
            if name == "wind_scale" and not np.all(arr >= 0):
                raise InputError("PerVehicleParams.wind_scale must be >= 0")
