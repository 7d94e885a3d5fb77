"""Per-vehicle multipliers and offsets: what a dispersed Monte Carlo vehicle differs by.

The dispersion sampler (montecarlo) fills a :class:`PerVehicleParams`; the
simulator reads it. Defaults are the nominal vehicle (scales 1, offsets 0).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from rangeguard.errors import InputError

STAGE_FIELDS = ("thrust_scale", "burn_rate_scale", "isp_scale", "dry_mass_scale", "propellant_mass_scale")
VEHICLE_FIELDS = (
    "cd_scale",
    "wind_scale",
    "wind_rotation_deg",
    "attitude_bias_pitch_deg",
    "attitude_bias_yaw_deg",
    "thrust_misalignment_pitch_deg",
    "thrust_misalignment_yaw_deg",
)
_DEFAULTS = {
    "thrust_scale": 1.0,
    "burn_rate_scale": 1.0,
    "isp_scale": 1.0,
    "dry_mass_scale": 1.0,
    "propellant_mass_scale": 1.0,
    "cd_scale": 1.0,
    "wind_scale": 1.0,
    "wind_rotation_deg": 0.0,
    "attitude_bias_pitch_deg": 0.0,
    "attitude_bias_yaw_deg": 0.0,
    "thrust_misalignment_pitch_deg": 0.0,
    "thrust_misalignment_yaw_deg": 0.0,
}


@dataclass
class PerVehicleParams:
    """Per-vehicle dispersions. Each field is a scalar (all vehicles), ``(N,)``, or for
    the per-stage fields also ``(S,)`` (per stage) or ``(N, S)``.

    - ``thrust_scale``: vacuum-thrust multiplier per stage (mass flow follows).
    - ``burn_rate_scale``: burn-rate multiplier per stage; a faster burn is a
      shorter burn with the same total impulse (thrust x s, time / s).
    - ``isp_scale``: vacuum Isp multiplier per stage (less propellant used per N s).
    - ``dry_mass_scale``, ``propellant_mass_scale``: mass multipliers per stage
      (the thrust curve is not stretched; a short load runs dry early).
    - ``cd_scale``: axial-force coefficient multiplier.
    - ``wind_scale``, ``wind_rotation_deg``: wind-profile multiplier and
      rotation (degrees, clockwise seen from above).
    - ``attitude_bias_pitch_deg``, ``attitude_bias_yaw_deg``: constant bias of
      the commanded attitude about body y / z, degrees.
    - ``thrust_misalignment_pitch_deg``, ``thrust_misalignment_yaw_deg``:
      thrust line offset from body x about body y / z, degrees.
    """

    thrust_scale: object = 1.0
    burn_rate_scale: object = 1.0
    isp_scale: object = 1.0
    dry_mass_scale: object = 1.0
    propellant_mass_scale: object = 1.0
    cd_scale: object = 1.0
    wind_scale: object = 1.0
    wind_rotation_deg: object = 0.0
    attitude_bias_pitch_deg: object = 0.0
    attitude_bias_yaw_deg: object = 0.0
    thrust_misalignment_pitch_deg: object = 0.0
    thrust_misalignment_yaw_deg: object = 0.0

    def stage_array(self, name: str, n: int, n_stages: int) -> np.ndarray:
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

    def scalar_array(self, name: str, n: int) -> np.ndarray:
        """The per-vehicle field ``name`` broadcast to ``(n,)``."""
        a = np.asarray(getattr(self, name), dtype=np.float64)
        try:
            return np.array(np.broadcast_to(a, (n,)), dtype=np.float64, order="C")
        except ValueError:
            raise InputError(f"PerVehicleParams.{name} has shape {a.shape}; allowed: a scalar or ({n},)") from None

    def check(self, n: int, n_stages: int) -> None:
        """Raise InputError if a field has the wrong shape or a scale is not positive."""
        for f in fields(self):
            arr = self.stage_array(f.name, n, n_stages) if f.name in STAGE_FIELDS else self.scalar_array(f.name, n)
            if f.name.endswith("_scale") and f.name != "wind_scale" and not np.all(arr > 0):
                raise InputError(f"PerVehicleParams.{f.name} must be > 0 for every vehicle (a multiplier)")
            if f.name == "wind_scale" and not np.all(arr >= 0):
                raise InputError("PerVehicleParams.wind_scale must be >= 0")
