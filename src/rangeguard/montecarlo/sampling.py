"""Dispersion sampling: the parameters of Monte Carlo run k, drawn from a stream of its own.

Run ``k`` of a mission with seed ``s`` draws everything from
``SeedSequence([s, k])`` (DESIGN.md "Randomness"): child 0 gives one standard
normal per parameter of the canonical list :attr:`DispersionSampler.names`
(every parameter of the vehicle, dispersed or not, so adding a dispersion
never changes another's draws), child 1 seeds the run's sensor-noise stream.
A run therefore gets the same vehicle and the same noise in any chunk, on any
worker, under any backend.

Correlations use a Gaussian copula (NORTA: Cario & Nelson 1997; Nelsen, An
Introduction to Copulas, sec. 2.9): the standard normals ``z`` of a run are
correlated as ``L z`` with ``L`` the Cholesky factor of the correlation
matrix, then each is mapped to its marginal by the inverse-CDF method:

- normal: ``mean + sigma z``;
- truncated normal on [a, b]: ``mean + sigma Phi^-1(Phi(alpha) + Phi(z) (Phi(beta) - Phi(alpha)))``
  with ``alpha = (a - mean) / sigma``, ``beta = (b - mean) / sigma``;
- uniform on [a, b]: ``a + (b - a) Phi(z)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from rangeguard.errors import InputError
from rangeguard.mission.dispersions import (
    DispersionsSpec,
    NormalDist,
    TruncatedNormalDist,
    UniformDist,
    dist_mean,
    nominal,
)
from rangeguard.sim.params import STAGE_FIELDS, VEHICLE_FIELDS, PerVehicleParams


def run_seed_sequence(seed: int, run: int) -> np.random.SeedSequence:
    """The seed sequence of Monte Carlo run ``run`` of a mission with seed ``seed``."""
    return np.random.SeedSequence([int(seed), int(run)])


@dataclass
class Draws:
    """What a batch of runs differs by (first axis: the runs, in the order asked)."""

    runs: np.ndarray  # (n,) run indices
    names: tuple[str, ...]  # canonical parameter names
    values: np.ndarray  # (n, P) parameter values
    params: PerVehicleParams  # for the simulator
    noise_scale: np.ndarray  # (n, n_sources)
    failure_time_shift_s: np.ndarray  # (n,)
    sensor_rngs: list  # n Generators: the sensor noise of each run

    def dispersed(self, dispersed_names: Sequence[str]) -> dict[str, np.ndarray]:
        """Columns of the dispersed parameters, by name."""
        return {name: self.values[:, self.names.index(name)] for name in dispersed_names}


class DispersionSampler:
    """Draws the dispersed parameters of runs from ``spec`` for a vehicle with ``n_stages``
    stages and nav sources ``sources``. ``spec`` None: every run nominal (sensor noise only)."""

    def __init__(self, spec: DispersionsSpec | None, n_stages: int, sources: Sequence[str]):
        self.spec = spec
        self.n_stages = int(n_stages)
        self.sources = tuple(sources)
        names = [f"stages[{k}].{f}" for k in range(self.n_stages) for f in STAGE_FIELDS]
        names += list(VEHICLE_FIELDS)
        names += [f"sensor_noise_scale.{s}" for s in self.sources]
        names += ["failure_time_s"]
        self.names = tuple(names)
        self.dists = [self._dist_for(name) for name in names]
        if spec is not None and isinstance(spec.stages, list) and len(spec.stages) != self.n_stages:
            raise InputError(
                f"dispersions.stages has {len(spec.stages)} entries but the vehicle has {self.n_stages} stages; "
                "give one entry per stage, or a single mapping for every stage"
            )
        self.corr = np.eye(len(names))
        for j, c in enumerate(spec.correlations if spec is not None else []):
            idx = []
            for p in c.between:
                if p not in self.names:
                    raise InputError(
                        f"dispersions.correlations[{j}].between: unknown parameter '{p}'; allowed: "
                        f"{', '.join(self.names)}"
                    )
                idx.append(self.names.index(p))
            a, b = idx
            self.corr[a, b] = self.corr[b, a] = c.rho
        try:
            self.chol = np.linalg.cholesky(self.corr)
        except np.linalg.LinAlgError:
            raise InputError(
                "dispersions.correlations: the correlations are not consistent (the correlation matrix is not "
                "positive definite); lower some |rho|"
            ) from None
        self.dispersed_names = tuple(n for n, d in zip(self.names, self.dists, strict=True) if d is not None)

    def _dist_for(self, name: str):
        spec = self.spec
        if spec is None:
            return None
        if name.startswith("stages["):
            k = int(name[len("stages[") : name.index("]")])
            return getattr(spec.stage(k), name.split(".", 1)[1])
        if name.startswith("sensor_noise_scale."):
            return spec.sensor_noise_scale
        return getattr(spec, name)

    def standard_normals(self, seed: int, runs) -> tuple[np.ndarray, list]:
        """(n, P) independent standard normals and the n sensor Generators of ``runs``."""
        runs = np.asarray(runs, dtype=np.int64).reshape(-1)
        z = np.empty((runs.size, len(self.names)))
        sensor = []
        for i, k in enumerate(runs):
            params_ss, sensor_ss = run_seed_sequence(seed, int(k)).spawn(2)
            z[i] = np.random.default_rng(params_ss).standard_normal(len(self.names))
            sensor.append(np.random.default_rng(sensor_ss))
        return z, sensor

    def values_from_normals(self, z: np.ndarray) -> np.ndarray:
        """(n, P) parameter values from (n, P) independent standard normals (copula + marginals)."""
        zc = z @ self.chol.T
        out = np.empty_like(zc)
        for j, (name, d) in enumerate(zip(self.names, self.dists, strict=True)):
            out[:, j] = transform(d, zc[:, j], nominal(name))
        return out

    def draw(self, seed: int, runs) -> Draws:
        """Parameters of ``runs`` (run indices) for a mission with seed ``seed``."""
        runs = np.asarray(runs, dtype=np.int64).reshape(-1)
        z, sensor = self.standard_normals(seed, runs)
        values = self.values_from_normals(z)
        n, s = runs.size, self.n_stages
        col = {name: values[:, j] for j, name in enumerate(self.names)}
        stage = {f: np.column_stack([col[f"stages[{k}].{f}"] for k in range(s)]) for f in STAGE_FIELDS}
        params = PerVehicleParams(**stage, **{f: col[f] for f in VEHICLE_FIELDS})
        noise = (
            np.column_stack([col[f"sensor_noise_scale.{x}"] for x in self.sources]) if self.sources else np.ones((n, 0))
        )
        return Draws(
            runs=runs,
            names=self.names,
            values=values,
            params=params,
            noise_scale=noise,
            failure_time_shift_s=col["failure_time_s"].copy(),
            sensor_rngs=sensor,
        )


def transform(d, z: np.ndarray, nominal: float) -> np.ndarray:
    """Values of distribution ``d`` (None: the constant ``nominal``) from standard normals ``z``."""
    z = np.asarray(z, dtype=np.float64)
    if d is None:
        return np.full(z.shape, nominal)
    if isinstance(d, NormalDist):
        return dist_mean(d, nominal) + d.three_sigma / 3.0 * z
    if isinstance(d, UniformDist):
        return d.low + (d.high - d.low) * ndtr(z)
    if isinstance(d, TruncatedNormalDist):
        mu, sigma = dist_mean(d, nominal), d.three_sigma / 3.0
        pa, pb = ndtr((d.low - mu) / sigma), ndtr((d.high - mu) / sigma)
        x = mu + sigma * ndtri(pa + ndtr(z) * (pb - pa))
        return np.clip(x, d.low, d.high)  # round-off only
    raise InputError(f"unknown distribution {d!r}")
