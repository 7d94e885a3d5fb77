"""Sensor models: truth from the simulator -> navigation data for the AFSS.

:class:`SensorModel` turns the true state of N vehicles (stepped in lock-step)
into one :class:`rangeguard.nav.NavBatch` per nav source whenever that source
is due, applying for each source (``rangeguard.mission.sensors``):

- output rate: source s produces a sample at flight times
  ``t_start_s + k / output_rate_hz`` (the first call at or after each);
- latency: a sample output at call time t reports the state at
  ``t - latency_s`` and is time-stamped with that time of validity. Truth is
  kept in a short ring buffer and interpolated: cubic Hermite for position
  (using the velocity as its derivative, so exact for constant acceleration),
  linear for velocity and body rates, normalised linear (nlerp) for the
  attitude quaternion;
- white Gaussian noise: isotropic on position and velocity (1-sigma per ECEF
  axis), a small body-frame rotation ``q_meas = q_true (x) exp(dtheta / 2)``
  with ``dtheta ~ N(0, sigma^2)`` per body axis on the attitude, additive on
  the body rates;
- random dropouts: each sample of each vehicle is lost with
  ``dropout_probability`` (``valid`` False, values NaN: a lost sample carries
  no data);
- random misses (silence, not an invalid sample): each sample of each vehicle
  never arrives with ``missing_probability``; the batch then carries a
  ``present`` mask, False for the vehicles whose sample is missing (their
  rows are NaN and invalid, and the engine skips them as silence);
- nav faults (:mod:`rangeguard.sim.navfaults`), evaluated at the time of
  validity: gps_dropout, position_jump, position_bias, frozen_output,
  noise_increase, nav_silence and link_outage; and string_fault for
  :meth:`SensorModel.health`. A source inside a total silence (nav_silence of
  it, or a link_outage) produces no NavBatch at all; an intermittent one
  (``missing_probability`` below 1) adds its probability to the random
  misses (independently: ``1 - (1 - p_source) (1 - p_fault)``).

Randomness comes only from the generator passed in. Each source gets its own
child generator (``Generator.spawn``), so sources have independent noise and
adding a source does not change another source's noise; every sample draws
the same numbers whatever the faults (a silent sample draws them too and
throws them away), so a fault scenario and the nominal run of the same seed
see identical noise until the fault and again after it. Pass one generator
per vehicle instead (a sequence of N) and each vehicle's noise comes from its
own stream only, so a Monte Carlo run draws the same noise whatever batch it
is flown in (the draws are taken in fixed blocks of :data:`STREAM_BLOCK`
samples per vehicle and source). ``noise_scale`` multiplies every noise sigma
per vehicle (and optionally per source): dispersed sensor quality.

Random misses draw one uniform per sample and vehicle from a separate *link*
stream per source: the next ``len(sources)`` children spawned from the same
generator(s), spawned only when a source can miss at random
(``missing_probability`` > 0, or an intermittent nav_silence/link_outage).
Turning misses on therefore leaves every noise and dropout draw as it was,
and missions without them spawn nothing more. With one threshold on one
uniform, a sample missing at ``missing_probability`` p is also missing in a
scenario that raises the probability above p (common random numbers for the
link too).

:func:`nav_log_from_truth` runs the model over recorded truth and returns the
nav log table that ``rangeguard replay`` and the UDP streamer read (the format
and its writer: :mod:`rangeguard.formats.navlog`); :func:`scenario_navlog` does
so for one simulated flight of a mission scenario (what ``rangeguard stream``
plays). A missing sample is not a row of a nav log: silence shows as a gap in
the receive times.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
from numba import njit

from rangeguard.constants import DEG
from rangeguard.errors import InputError
from rangeguard.formats.navlog import nav_log_from_batches
from rangeguard.mission.sensors import NavSourceModelSpec, SensorsSpec
from rangeguard.nav import NavBatch
from rangeguard.sim.api import _mission_wind, scenario_failures, simulate_vehicle
from rangeguard.sim.navfaults import NavFaults

# Packed truth layout: r (0:3), v (3:6), q (6:10), omega (10:13).
_R, _V, _Q, _W = slice(0, 3), slice(3, 6), slice(6, 10), slice(10, 13)
_WIDTH = 13
_DUE_TOL = 1e-6  # fraction of a period: absorbs round-off in the caller's clock
STREAM_BLOCK = 64
"""Samples drawn at a time from each vehicle's own stream (per source) when generators are per vehicle."""

# --- kernels (numba: one pass over the vehicles) ---------------------------------


@njit(cache=True)
def _apply_noise_nb(x, z, sigma_r, sigma_v, sigma_att_rad, sigma_rate_rad_s):  # pragma: no cover - numba
    """Add noise to packed samples x (N, 13) in place, from standard normals z (N, k).

    Columns of z are consumed three at a time by the groups whose sigma is
    positive, in the order position, velocity, attitude, rate. The attitude
    noise is a body-frame rotation q <- q (x) [cos(a/2), sin(a/2) u] with
    rotation vector a u = sigma_att_rad * z (Hamilton product, scalar first).
    """
    n = x.shape[0]
    for i in range(n):
        j = 0
        if sigma_r > 0.0:
            for k in range(3):
                x[i, k] += sigma_r * z[i, j + k]
            j += 3
        if sigma_v > 0.0:
            for k in range(3):
                x[i, 3 + k] += sigma_v * z[i, j + k]
            j += 3
        if sigma_att_rad > 0.0:
            ax = sigma_att_rad * z[i, j]
            ay = sigma_att_rad * z[i, j + 1]
            az = sigma_att_rad * z[i, j + 2]
            j += 3
            angle = math.sqrt(ax * ax + ay * ay + az * az)
            bw = math.cos(0.5 * angle)
            scale = 0.5 if angle < 1e-8 else math.sin(0.5 * angle) / angle  # sin(a/2)/a -> 1/2 as a -> 0
            bx, by, bz = ax * scale, ay * scale, az * scale
            aw, a1, a2, a3 = x[i, 6], x[i, 7], x[i, 8], x[i, 9]
            x[i, 6] = aw * bw - a1 * bx - a2 * by - a3 * bz
            x[i, 7] = aw * bx + a1 * bw + a2 * bz - a3 * by
            x[i, 8] = aw * by - a1 * bz + a2 * bw + a3 * bx
            x[i, 9] = aw * bz + a1 * by - a2 * bx + a3 * bw
        if sigma_rate_rad_s > 0.0:
            for k in range(3):
                x[i, 10 + k] += sigma_rate_rad_s * z[i, j + k]


@njit(cache=True)
def _interpolate_nb(a, b, h, s, out):  # pragma: no cover - numba
    """Packed truth between two entries a, b (N, 13) h seconds apart, at fraction s in [0, 1].

    Position: cubic Hermite with the velocities as end slopes (exact for
    constant acceleration; basis functions as in Burden & Faires, Numerical
    Analysis, sec. 3.4). Velocity and rates: linear. Attitude: nlerp along
    the shorter arc.
    """
    h00 = 2 * s**3 - 3 * s**2 + 1
    h10 = s**3 - 2 * s**2 + s
    h01 = -2 * s**3 + 3 * s**2
    h11 = s**3 - s**2
    for i in range(a.shape[0]):
        for k in range(3):
            out[i, k] = h00 * a[i, k] + h10 * h * a[i, 3 + k] + h01 * b[i, k] + h11 * h * b[i, 3 + k]
            out[i, 3 + k] = (1 - s) * a[i, 3 + k] + s * b[i, 3 + k]
            out[i, 10 + k] = (1 - s) * a[i, 10 + k] + s * b[i, 10 + k]
        dot = a[i, 6] * b[i, 6] + a[i, 7] * b[i, 7] + a[i, 8] * b[i, 8] + a[i, 9] * b[i, 9]
        sign = -1.0 if dot < 0.0 else 1.0
        norm2 = 0.0
        for k in range(6, 10):
            out[i, k] = (1 - s) * a[i, k] + s * sign * b[i, k]
            norm2 += out[i, k] ** 2
        norm = math.sqrt(norm2)
        for k in range(6, 10):
            out[i, k] = out[i, k] / norm if norm > 0.0 else math.nan


@njit(cache=True)
def _finite_rows_nb(x, ok):  # pragma: no cover - numba
    """ok[i] = every position and velocity column (0:6) of packed sample i is finite."""
    for i in range(x.shape[0]):
        good = True
        for k in range(6):
            good = good and math.isfinite(x[i, k])
        ok[i] = good


@njit(cache=True)
def _split_nb(x, ok, r, v, q, w):  # pragma: no cover - numba
    """Unpack samples x (N, 13) into contiguous r (N, 3), v (N, 3), q (N, 4), w (N, 3); rows
    with ok False become NaN (a lost or invalid sample carries no data)."""
    for i in range(x.shape[0]):
        good = ok[i]
        for k in range(3):
            r[i, k] = x[i, k] if good else math.nan
            v[i, k] = x[i, 3 + k] if good else math.nan
            w[i, k] = x[i, 10 + k] if good else math.nan
        for k in range(4):
            q[i, k] = x[i, 6 + k] if good else math.nan


# --- truth input and history ----------------------------------------------------


def _field(truth, name: str):
    if isinstance(truth, Mapping):
        return truth.get(name)
    return getattr(truth, name, None)


def pack_truth(truth, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """Truth (an object or mapping with r_ecef, v_ecef and optionally
    q_body_to_ecef, omega_body_rad_s) as an (n, 13) array; missing attitude or
    rates are NaN. Single-vehicle (3,)/(4,) inputs broadcast when n == 1.
    """
    out = np.empty((n, _WIDTH), dtype=np.float64) if out is None else out
    for name, cols, width, required in (
        ("r_ecef", _R, 3, True),
        ("v_ecef", _V, 3, True),
        ("q_body_to_ecef", _Q, 4, False),
        ("omega_body_rad_s", _W, 3, False),
    ):
        value = _field(truth, name)
        if value is None:
            if required:
                raise InputError(f"truth has no {name}: pass an object or mapping with r_ecef and v_ecef (N, 3)")
            out[:, cols] = np.nan
            continue
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape not in ((n, width), (width,)) or (arr.ndim == 1 and n != 1):
            raise InputError(f"truth {name} must have shape ({n}, {width}); got {arr.shape}")
        out[:, cols] = arr
    return out


class _TruthHistory:
    """Ring buffer of packed truth (t, (N, 13)) covering the last ``keep_s`` seconds.

    It always keeps the newest entry at or before ``t_newest - keep_s``, so a
    query at any ``t >= t_newest - keep_s`` can be interpolated.
    """

    def __init__(self, n: int, keep_s: float):
        self.keep_s = keep_s
        self._t = np.full(8, np.nan)
        self._x = np.empty((8, n, _WIDTH))
        self._start = 0
        self._count = 0

    def _slot(self, i: int) -> int:
        return (self._start + i) % self._t.size

    def push(self, t_s: float, truth) -> np.ndarray:
        """Store ``truth`` (see :func:`pack_truth`) at ``t_s``; returns the stored (N, 13) entry."""
        cap = self._t.size
        # Drop the oldest while the next one is already old enough to bracket every query.
        while self._count >= 2 and self._t[self._slot(1)] <= t_s - self.keep_s:
            self._start = self._slot(1)
            self._count -= 1
        if self._count == cap:
            order = [self._slot(i) for i in range(cap)]
            self._t = np.concatenate([self._t[order], np.full(cap, np.nan)])
            self._x = np.concatenate([self._x[order], np.empty_like(self._x)])
            self._start = 0
        j = self._slot(self._count)
        pack_truth(truth, self._x.shape[1], out=self._x[j])
        self._t[j] = t_s
        self._count += 1
        return self._x[j]

    def at(self, t_s: float) -> np.ndarray | None:
        """Interpolated packed truth at ``t_s``; None before the oldest entry."""
        times = np.array([self._t[self._slot(i)] for i in range(self._count)])
        i = int(np.searchsorted(times, t_s, side="right")) - 1
        if i < 0:
            return None
        a = self._x[self._slot(i)]
        if times[i] == t_s or i == self._count - 1:
            return a.copy()
        b = self._x[self._slot(i + 1)]
        h = times[i + 1] - times[i]
        s = (t_s - times[i]) / h
        out = np.empty_like(a)
        _interpolate_nb(a, b, float(h), float(s), out)
        return out


# --- the sensor model -------------------------------------------------------------


class _VehicleStreams:
    """Per-vehicle random streams of one source, drawn in blocks of STREAM_BLOCK samples.

    Each refill draws, from each vehicle's generator in turn, ``STREAM_BLOCK``
    uniforms (if ``uniforms``: the source has dropouts) and then
    ``(STREAM_BLOCK, k)`` standard normals: vehicle i's numbers depend only on
    its generator. A source's link stream (random misses) is one of these with
    uniforms only (``k = 0``), on generators of its own.
    """

    def __init__(self, gens, uniforms: bool, k: int):
        self.gens, self.uniforms, self.k = gens, uniforms, k
        self.pos = STREAM_BLOCK
        self.u = self.z = None

    def next(self):
        if not self.uniforms and not self.k:
            return None, None
        if self.pos == STREAM_BLOCK:
            n = len(self.gens)
            # Stored sample-major, (B, n) and (B, n, k), so each sample's rows are contiguous.
            self.u = np.empty((STREAM_BLOCK, n)) if self.uniforms else None
            self.z = np.empty((STREAM_BLOCK, n, self.k)) if self.k else None
            for i, g in enumerate(self.gens):
                if self.uniforms:
                    self.u[:, i] = g.random(STREAM_BLOCK)
                if self.k:
                    self.z[:, i, :] = g.standard_normal((STREAM_BLOCK, self.k))
            self.pos = 0
        j = self.pos
        self.pos += 1
        u = None if self.u is None else self.u[j]
        z = None if self.z is None else self.z[j]
        return u, z


class SensorModel:
    """Nav sources of N vehicles: noise, rate, latency, dropouts, missing samples and nav faults.

    Parameters
    ----------
    spec: sensor models (``None``: GPS/INS defaults for every source).
    sources: nav source names; a NavBatch's ``source`` is the index here.
    n: number of vehicles.
    rng: the run's generator (derived by the caller from the mission seed and
        run index); one child generator per source is spawned from it. Or a
        sequence of ``n`` generators, one per vehicle (one child per source
        spawned from each): vehicle i's noise then depends on its own stream only.
    noise_scale: multiplier on every noise sigma, scalar, (n,) per vehicle or
        (n, n_sources) per vehicle and source (default 1).
    faults: nav faults (``NavFaultSpec`` models or dicts).
    strings: AFTS string names for :meth:`health` (default: one per source,
        named like the source, as ``Mission.string_specs``).
    t_start_s: phase of the output schedules (samples at t_start_s + k / rate).

    Call :meth:`measure` with non-decreasing times, at every integration step
    (or at least as often as the fastest source: latency is interpolated from
    the truth passed in). A source produces at most one sample per call, and
    none while it is silent.
    """

    def __init__(
        self,
        spec: SensorsSpec | None,
        sources: Sequence[str],
        n: int,
        rng: np.random.Generator | Sequence[np.random.Generator],
        faults: Iterable = (),
        strings: Sequence[str] | None = None,
        t_start_s: float = 0.0,
        noise_scale=None,
    ):
        spec = SensorsSpec() if spec is None else spec
        self.sources = [str(s) for s in sources]
        if not self.sources or len(set(self.sources)) != len(self.sources):
            raise InputError(f"sources must be a non-empty list of unique nav source names; got {self.sources}")
        try:
            spec.check_sources(self.sources)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        if int(n) != n or n < 1:
            raise InputError(f"n (number of vehicles) must be a positive integer; got {n!r}")
        per_vehicle = not isinstance(rng, np.random.Generator)
        if not isinstance(rng, np.random.Generator):
            vehicle_rngs = list(rng) if isinstance(rng, Sequence) else None
            if (
                vehicle_rngs is None
                or len(vehicle_rngs) != n
                or not all(isinstance(g, np.random.Generator) for g in vehicle_rngs)
            ):
                raise InputError(
                    "rng must be a numpy.random.Generator (derive it from the mission seed and run index) "
                    f"or a sequence of {n} Generators, one per vehicle"
                )
            rng = vehicle_rngs
        self.n = int(n)
        self.strings = list(self.sources) if strings is None else [str(s) for s in strings]
        self.models: list[NavSourceModelSpec] = [spec.for_source(s) for s in self.sources]
        self.faults = NavFaults(faults, self.sources, self.strings)
        self.t_start_s = float(t_start_s)
        n_src = len(self.sources)
        # Sources whose samples can go missing at random draw a uniform per sample from a link stream.
        self._random_miss = [
            self.models[s].missing_probability > 0 or self.faults.has_intermittent_silence(s) for s in range(n_src)
        ]
        self._link: list = [None] * n_src  # per source that can miss: a Generator, or _VehicleStreams of uniforms
        try:
            if not isinstance(rng, np.random.Generator):  # per_vehicle
                children = [g.spawn(n_src) for g in rng]
                self._rngs = None
                if any(self._random_miss):  # spawned after the noise children: those stay as they were
                    link = [g.spawn(n_src) for g in rng]
                    self._link = [_VehicleStreams([c[s] for c in link], True, 0) if miss else None
                                  for s, miss in enumerate(self._random_miss)]  # fmt: skip
            else:
                self._rngs = rng.spawn(n_src)
                if any(self._random_miss):
                    self._link = [
                        g if miss else None for g, miss in zip(rng.spawn(n_src), self._random_miss, strict=True)
                    ]
        except TypeError as exc:  # its bit generator was not seeded from a SeedSequence
            raise InputError(
                "rng cannot spawn child generators: create it with numpy.random.default_rng(seed_sequence)"
            ) from exc
        self._n_normals = [
            3
            * sum(
                sig > 0 for sig in (m.position_noise_m, m.velocity_noise_mps, m.attitude_noise_deg, m.rate_noise_deg_s)
            )
            for m in self.models
        ]
        self._streams = None
        if per_vehicle:
            self._streams = [
                _VehicleStreams([c[s] for c in children], self.models[s].dropout_probability > 0, self._n_normals[s])
                for s in range(n_src)
            ]
        self._noise_scale = None
        if noise_scale is not None:
            ns = np.asarray(noise_scale, dtype=np.float64)
            if ns.ndim == 1 and ns.shape[0] == self.n:
                ns = ns[:, None]
            try:
                ns = np.array(np.broadcast_to(ns, (self.n, n_src)), dtype=np.float64)
            except ValueError:
                raise InputError(
                    f"noise_scale must be a scalar, ({self.n},) or ({self.n}, {n_src}); got shape {ns.shape}"
                ) from None
            if not np.all(ns >= 0):
                raise InputError("noise_scale must be >= 0 (a multiplier on the noise sigmas)")
            self._noise_scale = ns
        self._next_k: list[int | None] = [None] * len(self.sources)
        self._last_t: float | None = None
        max_latency = max(m.latency_s for m in self.models)
        self._history = _TruthHistory(self.n, max_latency * (1 + 1e-9) + 1e-9) if max_latency > 0 else None
        # Last valid output per source (for frozen_output): values, time tag, validity.
        self._needs_hold = [self.faults.has_frozen(s) for s in range(len(self.sources))]
        self._held = [np.full((self.n, _WIDTH), np.nan) for _ in self.sources]
        self._held_t = [np.full(self.n, np.nan) for _ in self.sources]
        self._held_ok = [np.zeros(self.n, dtype=bool) for _ in self.sources]

    def _due(self, s: int, t_s: float) -> bool:
        phase = (t_s - self.t_start_s) * self.models[s].output_rate_hz
        k = self._next_k[s]
        if k is None:
            k = self._next_k[s] = math.ceil(phase - _DUE_TOL)
        if phase < k - _DUE_TOL:
            return False
        self._next_k[s] = math.floor(phase + _DUE_TOL) + 1
        return True

    def next_due_s(self, source: int) -> float | None:
        """Flight time of the source's next sample (None before the first call)."""
        k = self._next_k[source]
        return None if k is None else self.t_start_s + k / self.models[source].output_rate_hz

    def measure(self, t_s: float, truth) -> list[NavBatch]:
        """Nav samples output at flight time ``t_s`` (T+ s) from the vehicles' true state.

        ``truth`` is an object or mapping with ``r_ecef`` (N, 3) m,
        ``v_ecef`` (N, 3) m/s (Earth-relative, ECEF), and optionally
        ``q_body_to_ecef`` (N, 4) and ``omega_body_rad_s`` (N, 3). Returns one
        :class:`NavBatch` per source that produced a sample at this call, in
        source order (``batch.source`` is the index into ``sources``); an empty
        list when no source is due or every due source is silent. A source
        that can miss samples at random gives its batch a ``present`` mask
        (False: that vehicle's sample never arrived). NaN truth gives invalid
        rows, never an exception.
        """
        t_s = float(t_s)
        if not math.isfinite(t_s):
            raise InputError(f"t_s must be a finite flight time; got {t_s}")
        if self._last_t is not None and t_s < self._last_t:
            raise InputError(f"measure() times must not decrease: got t_s={t_s} after {self._last_t}")
        self._last_t = t_s
        due = [s for s in range(len(self.sources)) if self._due(s, t_s)]
        if self._history is not None:
            packed = self._history.push(t_s, truth)
        elif due:
            packed = pack_truth(truth, self.n)
        batches = [self._sample(s, t_s, packed) for s in due]
        return [b for b in batches if b is not None]

    def _sample(self, s: int, t_s: float, packed: np.ndarray) -> NavBatch | None:
        m, n = self.models[s], self.n
        rng = None if self._rngs is None else self._rngs[s]
        t_valid = t_s - m.latency_s

        # Random numbers: the same draws whatever the faults (common random numbers), silent or not.
        if self._streams is not None:
            u, z = self._streams[s].next()
        else:
            assert rng is not None  # no per-vehicle streams: __init__ spawned one generator per source
            u = rng.random(n) if m.dropout_probability > 0 else None
            z = rng.standard_normal((n, self._n_normals[s])) if self._n_normals[s] else None
        link = self._link[s]
        u_miss = None if link is None else (link.random(n) if self._streams is None else link.next()[0])
        p_miss = 1.0 - (1.0 - m.missing_probability) * (1.0 - self.faults.missing_probability(s, t_valid))
        if p_miss >= 1.0:
            return None  # silence: nothing comes from this source at this call (nor does a frozen_output hold it)
        lost = u < m.dropout_probability if u is not None else None

        if m.latency_s > 0:
            assert self._history is not None  # __init__ keeps a history whenever a source has latency
            x = self._history.at(t_valid)
            x = np.full((n, _WIDTH), np.nan) if x is None else x
        else:
            x = packed.copy()
        # The truth before noise, for nav-fault position offsets (None: no fault acts on this source).
        true_rv = (x[:, _R].copy(), x[:, _V].copy()) if self.faults.has_faults(s) else None
        if self._n_normals[s]:
            f = self.faults.noise_factor(s, t_valid)
            if self._noise_scale is not None:
                z = z * self._noise_scale[:, s : s + 1]
            _apply_noise_nb(
                x, z, f * m.position_noise_m, f * m.velocity_noise_mps,
                f * m.attitude_noise_deg * DEG, f * m.rate_noise_deg_s * DEG,
            )  # fmt: skip
        offset = None if true_rv is None else self.faults.position_offset(s, t_valid, *true_rv)
        if offset is not None:
            x[:, _R] += offset

        t_out = np.full(n, t_valid)
        ok = np.empty(n, dtype=bool)
        _finite_rows_nb(x, ok)
        if self.faults.dropped(s, t_valid):
            ok[:] = False
        frozen = self.faults.frozen(s, t_valid)
        if frozen is not None:
            x = self._held[s].copy()
            ok = self._held_ok[s].copy()
            if frozen.freeze_time_tag:
                t_out = np.where(ok, self._held_t[s], t_valid)
        if lost is not None:
            ok &= ~lost
        if frozen is None and self._needs_hold[s]:
            self._held[s][ok] = x[ok]
            self._held_t[s][ok] = t_valid
            self._held_ok[s] |= ok
        present = None
        if u_miss is not None and p_miss > 0.0:  # lost on the way, after the source output it (a frozen one holds it)
            present = u_miss >= p_miss
            ok &= present
        r, v, q, w = np.empty((n, 3)), np.empty((n, 3)), np.empty((n, 4)), np.empty((n, 3))
        _split_nb(x, ok, r, v, q, w)  # a lost, invalid or missing sample carries no data (NaN)
        return NavBatch(t_out, r, v, q, w, ok, s, present)

    def health(self, t_s: float) -> np.ndarray:
        """(N, n_strings) bool self-health of the AFTS strings at flight time ``t_s``.

        True unless a string_fault for that string has occurred at or before
        ``t_s`` (latched). Columns follow ``strings``.
        """
        return np.broadcast_to(self.faults.string_healthy(float(t_s)), (self.n, len(self.strings))).copy()


# --- nav logs ---------------------------------------------------------------------


def nav_log_from_truth(
    truth,
    *,
    sources: Sequence[str],
    rng: np.random.Generator,
    sensors: SensorsSpec | None = None,
    faults: Iterable = (),
    strings: Sequence[str] | None = None,
    vehicle: int | None = None,
    t_start_s: float = 0.0,
) -> pa.Table:
    """Run the sensor model over recorded truth and return the nav log table.

    ``truth`` is an object or mapping with ``t_s`` (T,) and ``r_ecef``,
    ``v_ecef`` (T, 3) for one vehicle, or (N, T, 3) for N vehicles (a
    Trajectories-like object; then pass ``vehicle``), and optionally
    ``q_body_to_ecef`` (.., T, 4) and ``omega_body_rad_s`` (.., T, 3); ``t_s``
    may also be (N, T). Samples after the vehicle's last finite position
    (padding after impact) are dropped. A source produces at most one sample
    per truth sample, so the log is never denser than the truth.

    Returns a pyarrow Table (:func:`rangeguard.formats.navlog.nav_log_schema`),
    ``receive_time_s`` being the truth time at which the sample was output and
    ``health_<STRING>`` one column per AFTS string (``strings``, default one
    per source; string_fault faults act on them); one row per sample per
    source, sorted by time of validity.
    """
    t = np.asarray(_field(truth, "t_s"), dtype=np.float64)
    r = np.asarray(_field(truth, "r_ecef"), dtype=np.float64)
    if r.ndim == 3:
        if vehicle is None:
            raise InputError(f"truth holds {r.shape[0]} vehicles (r_ecef {r.shape}); pass vehicle=k to log one")
        if not 0 <= vehicle < r.shape[0]:
            raise InputError(f"vehicle must be in 0..{r.shape[0] - 1}; got {vehicle}")

    def pick(name: str, width: int):
        value = _field(truth, name)
        if value is None:
            return None
        arr = np.asarray(value, dtype=np.float64)
        arr = arr[vehicle] if arr.ndim == 3 else arr
        if arr.ndim != 2 or arr.shape[1] != width:
            raise InputError(f"truth {name} must have shape (T, {width}) or (N, T, {width}); got {np.shape(value)}")
        return arr

    cols = {name: pick(name, w) for name, w in
            (("r_ecef", 3), ("v_ecef", 3), ("q_body_to_ecef", 4), ("omega_body_rad_s", 3))}  # fmt: skip
    if t.ndim == 2:
        t = t[vehicle if vehicle is not None else 0]
    if cols["r_ecef"] is None or cols["v_ecef"] is None or t.ndim != 1 or cols["r_ecef"].shape[0] != t.size:
        raise InputError("truth needs t_s (T,) and r_ecef, v_ecef (T, 3) (or (N, T, 3) with vehicle=k)")
    finite = np.isfinite(cols["r_ecef"]).all(axis=1) & np.isfinite(t)
    end = int(np.nonzero(finite)[0][-1]) + 1 if finite.any() else 0
    model = SensorModel(sensors, sources, 1, rng, faults=faults, strings=strings, t_start_s=t_start_s)
    batches, recv, health = [], [], []
    for k in range(end):
        if not math.isfinite(t[k]):
            continue
        sample = {name: (None if a is None else a[k]) for name, a in cols.items()}
        produced = model.measure(t[k], sample)
        if produced:
            h = model.health(t[k])[0]
            batches += produced
            recv += [t[k]] * len(produced)
            health += [h] * len(produced)
    return nav_log_from_batches(batches, model.sources, 0, receive_time_s=recv, health=health, strings=model.strings)


RECORD_DT_FLOOR_S = 0.01
"""Finest truth recording step :func:`scenario_navlog` uses for the sensor models (s)."""


def scenario_navlog(
    mission, scenario: str | None, *, rate_hz: float | None = None, seed: int | None = None, t_max_s: float = 600.0
) -> pa.Table:
    """Nav log table of one simulated flight of ``mission`` under ``scenario`` (None: nominal).

    Flies one vehicle (:func:`rangeguard.sim.simulate_vehicle` with the
    scenario's failures) and runs the mission's sensor models with the
    scenario's nav faults over it (:func:`nav_log_from_truth`). ``rate_hz``
    overrides every nav source's output rate (Hz); the truth is recorded at
    that rate (at least every :data:`RECORD_DT_FLOOR_S`) so each source
    produces one sample per period. ``seed`` (default the mission's) seeds the
    sensor noise: SeedSequence([seed]). ``t_max_s`` caps the flight.
    """
    if getattr(mission, "vehicle", None) is None:
        raise InputError("stream --scenario needs a mission with a vehicle section (or use --navlog FILE)")
    failures = scenario_failures(mission, scenario)
    sc = mission.scenarios.get(scenario) if scenario is not None else None
    nav_faults = list(sc.nav_faults) if sc is not None else []
    sensors = mission.sensors
    if rate_hz is not None:
        if not (rate_hz > 0):
            raise InputError(f"--rate-hz must be > 0; got {rate_hz}")
        default = sensors.default.model_copy(update={"output_rate_hz": float(rate_hz)})
        sources = {k: v.model_copy(update={"output_rate_hz": float(rate_hz)}) for k, v in sensors.sources.items()}
        sensors = sensors.model_copy(update={"default": default, "sources": sources})
    rates = [sensors.for_source(s.name).output_rate_hz for s in mission.nav_sources]
    record_dt = max(RECORD_DT_FLOOR_S, 1.0 / max(rates))
    truth = simulate_vehicle(
        mission.vehicle,
        mission.site,
        failures=failures,
        record_dt=record_dt,
        t_max_s=t_max_s,
        wind=_mission_wind(mission),
    )
    rng = np.random.default_rng(np.random.SeedSequence([mission.seed if seed is None else seed]))
    return nav_log_from_truth(
        truth,
        sources=[s.name for s in mission.nav_sources],
        rng=rng,
        sensors=sensors,
        faults=nav_faults,
        strings=[s.name for s in mission.string_specs],
        vehicle=0,
    )
