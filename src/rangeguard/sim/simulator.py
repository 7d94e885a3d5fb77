"""The steppable batch simulator: N vehicles in lock-step, advanced on demand.

The Monte Carlo runner advances the simulator and the rule engine together
(``sim.advance_to(t); engine.step(sensors(sim.state))``) without keeping
histories; :func:`rangeguard.sim.simulate_vehicle` records instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rangeguard.errors import InputError
from rangeguard.jit import kernel
from rangeguard.mission.vehicle import VehicleSpec
from rangeguard.sim import batch_kernels as B
from rangeguard.sim import kernels as K
from rangeguard.sim.build import build_vehicle_arrays, failure_array, param_arrays
from rangeguard.sim.kernel_math import ENTRY_JIT
from rangeguard.sim.params import PerVehicleParams

DEFAULT_DT_S = 0.1
"""Default RK4 step in powered and attitude-tracking flight, s. design/sim.md: against a
0.0125 s reference the sounding apogee is off by 0.02 % (21 m) and the Kairos-class
perigee by 26 m; 0.2 s would cost 0.15 %. It matches the 10 Hz engine cycle."""

DEFAULT_COAST_DT_S = 2.0
"""Default RK4 step in ballistic flight (no thrust, no attitude tracking), s; see design/sim.md."""

EVENT_NAMES = {
    K.EV_IGNITION: "ignition",
    K.EV_BURNOUT: "burnout",
    K.EV_SEPARATION: "separation",
    K.EV_FAIRING: "fairing_jettison",
    K.EV_IMPACT: "impact",
    K.EV_ORBIT: "orbit",
    K.EV_CUTOFF: "guided_cutoff",
    K.EV_TERMINATION: "termination",
    K.EV_THRUST_LOSS: "thrust_loss",
    K.EV_EARLY_CUTOFF: "early_cutoff",
    K.EV_IGNITION_FAILURE: "ignition_failure",
    K.EV_SEPARATION_FAILURE: "separation_failure",
    K.EV_ATTITUDE_FAILURE: "attitude_failure",
    K.EV_THRUST_SCALE: "thrust_scale",
}

FAILURE_EVENTS = tuple(
    EVENT_NAMES[code]
    for code in (
        K.EV_THRUST_SCALE,
        K.EV_THRUST_LOSS,
        K.EV_EARLY_CUTOFF,
        K.EV_IGNITION_FAILURE,
        K.EV_SEPARATION_FAILURE,
        K.EV_ATTITUDE_FAILURE,
    )
)
"""Event names that mark the onset of a vehicle failure (the Monte Carlo statistics date failures by them)."""

_EVENT_SLOTS = 32


def integration_step(dt_s: float, attitude_time_constant_s: float) -> float:
    """The RK4 step in powered flight: ``dt_s``, or ``dt_s`` split into the fewest equal sub-steps
    no longer than the attitude time constant (RK4 on the first-order attitude lag loses
    accuracy, and beyond 2.8 tau stability, when the step exceeds tau). Equal sub-steps keep
    every multiple of ``dt_s`` on the step grid, so a 10 Hz caller still lands on steps."""
    k = max(1, math.ceil(dt_s / attitude_time_constant_s - 1e-9))
    return dt_s / k


@kernel(**ENTRY_JIT)
def _report_inside_event_step(t1, rows, state, vehicle, dispersions, scratch):
    """Reported state at t1 of the vehicles in ``rows``: one RK4 step from their last step's start
    (XP, at TT[:, 1]) with the discrete state of that start (IS_prev, FS_prev). The tables are
    passed on as the kernels take them (``*vehicle, *dispersions``), whatever they hold."""
    ST, TT, IS_prev, FS_prev = state[0], state[1], state[3], state[5]
    SCR, WK = scratch
    for i in rows:
        tp = TT[i, 1]
        scr = SCR[i]
        wk = WK[i]
        oqr = ST[i, B.OQR_]
        xr = ST[i, B.XR_]
        K.rk4_step(ST[i, B.XP_], tp, t1 - tp, i, IS_prev, FS_prev, *vehicle, *dispersions, xr, scr, wk[9:12], wk[12:16])
        # rates and command at t1 (the derivative itself is not kept)
        K.deriv(xr, t1, 0.5 * (tp + t1), i, IS_prev, FS_prev, *vehicle, *dispersions, scr[0], oqr[0:3], oqr[3:7])


@dataclass(frozen=True)
class SimState:
    """Views of the current state (valid until the next advance). Shapes (N, ...).

    r_ecef (m), v_ecef (m/s, Earth-relative), mass_kg, q_body_to_ecef
    (scalar-first Hamilton, body +x = thrust axis), omega_body_rad_s (inertial
    body rates, body axes), q_cmd_body_to_ecef (guidance command), stage
    (index of the lowest attached stage), active (still integrating).
    """

    t_s: float
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    mass_kg: np.ndarray
    q_body_to_ecef: np.ndarray
    omega_body_rad_s: np.ndarray
    q_cmd_body_to_ecef: np.ndarray
    stage: np.ndarray
    active: np.ndarray


class Simulator:
    """N copies of ``vehicle`` launched from ``site`` at t = 0, integrated in lock-step.

    Parameters: ``failures`` (VehicleFailureSpec models or mappings; applied
    to every vehicle; nav-side faults are ignored here), ``per_vehicle_params``
    (:class:`PerVehicleParams`), ``dt`` (RK4 step, s; split into equal sub-steps no longer than
    the vehicle's attitude time constant when that is shorter, :func:`integration_step`), ``seed`` (kept for
    stochastic models; the present physics is deterministic, so dispersions
    enter only through ``per_vehicle_params``), ``wind`` (a WindSpec overriding
    the vehicle's), ``coast_dt`` (RK4 step in ballistic flight, s), ``gravity``
    ('j2' or 'point_mass'), ``parallel`` (spread the vehicles over numba's threads
    when there are at least :data:`rangeguard.jit.PARALLEL_MIN_ROWS` of them; off by
    default: the Monte Carlo runner parallelises over processes, and on a busy machine
    every 10 Hz step would wait for the slowest thread).
    """

    def __init__(
        self,
        vehicle: VehicleSpec,
        site,
        n: int = 1,
        failures=(),
        per_vehicle_params: PerVehicleParams | None = None,
        dt: float = DEFAULT_DT_S,
        seed: int | None = None,
        wind=None,
        coast_dt: float = DEFAULT_COAST_DT_S,
        gravity: str = "j2",
        parallel: bool = False,
    ):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"n must be a positive integer number of vehicles; got {n!r}")
        if not (coast_dt >= dt and np.isfinite(coast_dt)):
            raise InputError(f"coast_dt must be a finite step >= dt in seconds; got {coast_dt!r}")
        if not (dt > 0 and np.isfinite(dt)):
            raise InputError(f"dt must be a positive step in seconds; got {dt!r}")
        self.vehicle = vehicle
        self.site = site
        self.n = int(n)
        self.dt = float(dt)
        self.integration_dt_s = integration_step(self.dt, vehicle.attitude_time_constant_s)
        self.seed = seed
        if gravity not in ("j2", "point_mass"):
            raise InputError(f"gravity must be 'j2' or 'point_mass'; got {gravity!r}")
        self._va = build_vehicle_arrays(vehicle, site, wind=wind, j2=(gravity == "j2"))
        n_st = len(vehicle.stages)
        self._PS, self._PV = param_arrays(per_vehicle_params, self.n, n_st)
        self._FP = failure_array(failures, self.n, n_st)
        N = self.n
        self.coast_dt = float(coast_dt)
        self._ST = np.zeros((N, B.NST, 11))
        self._TT = np.zeros((N, 2))
        self._IS = np.zeros((N, K.NIS), dtype=np.int64)
        self._FS = np.zeros((N, K.NFS))
        self._IS[:, K.I_STAGE] = 0
        self._IS[:, K.I_PHASE] = K.COAST_IGN
        self._IS[:, K.I_ACTIVE] = 1
        self._IS[:, K.I_FAIRING] = 1 if vehicle.fairing is not None else 0
        self._FS[:, K.T_EVT] = 0.0
        self._FS[:, K.T_IMPACT] = np.nan
        xi = self._ST[:, B.XI_]
        xi[:, 0:3] = self._va.r0_ecef
        # liftoff mass = every stage + payload + fairing (the mass "above stage -1")
        for i in range(N):
            xi[i, 6] = K.upper_mass(i, -1, self._IS, self._va.SC, self._PS, self._va.VC)
        up = self._va.PAD[2]
        az = self._va.azimuth_rad
        xi[:, 7:11] = np.array(K.q_from_direction(up[0], up[1], up[2], np.cos(az), np.sin(az), self._va.PAD))
        self._IS_prev = self._IS.copy()
        self._FS_prev = self._FS.copy()
        self._EVC = np.zeros(N, dtype=np.int64)
        self._EVC_prev = np.zeros(N, dtype=np.int64)
        self._EVT = np.zeros((N, _EVENT_SLOTS))
        self._EVK = np.zeros((N, _EVENT_SLOTS), dtype=np.int64)
        self._REP = np.zeros((N, 3), dtype=np.int64)
        self._REP[:, 2] = 1
        self._SCR = np.zeros((N, 7, 11))
        self._WK = np.zeros((N, 16))
        self._terminated = np.zeros(N, dtype=bool)
        self._destroyed = np.zeros(N, dtype=bool)
        self._t_destroyed = np.full(N, np.nan)
        self._out_i = np.zeros(4 * N + 64, dtype=np.int64)
        self._out_t = np.zeros(4 * N + 64)
        self._out_k = np.zeros(4 * N + 64, dtype=np.int64)
        self.events: list[tuple[int, float, str]] = []
        self.t_s = 0.0
        self.parallel = bool(parallel)
        # The kernels' arguments: views of the arrays above (their contents change, never the arrays).
        self._state = K.BatchState(
            self._ST, self._TT, self._IS, self._IS_prev, self._FS, self._FS_prev, self._EVC, self._EVC_prev, self._REP,
            self._EVT, self._EVK,
        )  # fmt: skip
        self._vehicle = self._va.tables()
        self._dispersions = K.VehicleDispersions(self._PS, self._PV, self._FP)
        self._scratch = K.Scratch(self._SCR, self._WK)
        # Passed as plain tuples (the kernels unpack them by position): numba's dispatcher types a
        # plain tuple in C but a named tuple in Python, a few microseconds more per 10 Hz call.
        self._args = tuple(tuple(group) for group in (self._state, self._vehicle, self._dispersions, self._scratch))
        self._advance = B.advance.bind(N, parallel=self.parallel)  # B.advance(N, ..., parallel=...), chosen once
        self._run(0.0, init=True)  # liftoff events (stage 0 ignition)

    # ------------------------------------------------------------------ stepping
    def _kernel_args(self):
        return self._args

    def _run(self, t1: float, init: bool = False) -> None:
        # numpy scalars: numba's dispatcher takes a slow path for some Python floats
        self._advance(np.float64(t1), np.float64(self.integration_dt_s), np.float64(self.coast_dt), init, *self._args)
        if not init:
            self._report_before_events(t1)
        self._drain_events(t1)

    def _report_before_events(self, t1: float) -> None:
        """Replace the dense output of vehicles whose last step ended on an event after ``t1``.

        The Hermite interpolant of a step joins its start to its end state *after* the
        events applied there (a separation's mass drop, a burnout's change of
        acceleration), so a time just before a separation read a blend of the two
        masses. For those vehicles the reported state is instead one RK4 step from the
        step's start to ``t1`` in the step's own (pre-event) modes: what stepping
        exactly to ``t1`` gives.
        """
        tt = self._TT
        rows = np.flatnonzero(
            (self._EVC > self._EVC_prev) & (self._REP[:, 2] == 1) & (tt[:, 1] < t1) & (t1 < tt[:, 0] - K._EPS_T)
        )
        if rows.size:
            _report_inside_event_step(np.float64(t1), rows, *self._args)

    def _drain_events(self, t: float) -> None:
        m = B.drain_events(
            np.float64(t), self._EVC, self._EVT, self._EVK, self._EVC_prev, self._out_i, self._out_t, self._out_k
        )
        if m == 0:
            return
        order = np.lexsort((self._out_i[:m], self._out_t[:m]))
        self.events.extend(
            (int(self._out_i[j]), float(self._out_t[j]), EVENT_NAMES[int(self._out_k[j])]) for j in order
        )

    def advance_to(self, t_s: float) -> None:
        """Integrate every active vehicle from the current time to ``t_s`` (s since liftoff)."""
        t_s = float(t_s)
        if not np.isfinite(t_s) or t_s < self.t_s - 1e-9:
            raise InputError(f"advance_to({t_s}): the simulator is at t = {self.t_s} s and only moves forward")
        if t_s > self.t_s:
            self._run(t_s)
            self.t_s = t_s

    def terminate(self, mask) -> None:
        """Flight termination at the current time for the vehicles in ``mask`` ((N,) bool or
        indices): thrust off now, no further stage events; they fly ballistic to impact."""
        arr = np.asarray(mask)
        if arr.dtype == bool:
            if arr.shape != (self.n,):
                raise InputError(f"terminate(mask): a boolean mask must have shape ({self.n},); got {arr.shape}")
            m = arr.copy()
        else:
            m = np.zeros(self.n, dtype=bool)
            m[arr.astype(np.int64)] = True
        new = m & ~self._terminated & (self._REP[:, 2] == 1)
        if new.any():
            B.terminate_at(np.float64(self.t_s), new, *self._kernel_args())
            self._drain_events(self.t_s)
        self._terminated |= new

    def destruct(self, mask) -> None:
        """Destruct (break-up) at the current time for the vehicles in ``mask`` ((N,) bool or indices):
        thrust off (as :meth:`terminate`, if not already) and the vehicle stops being a flying body. It is
        no longer integrated: its state stays the break-up state (position and velocity at the moment
        of destruct), :attr:`destroyed` marks it and :attr:`destruct_t_s` dates it, and an event
        ``destruct`` is logged. Where the fragments fall is the risk analysis's business
        (rangeguard.risk, a fragment catalog from the break-up state), not the simulator's: for the
        closed loop the vehicle's footprint is the vacuum IIP of its break-up state."""
        arr = np.asarray(mask)
        if arr.dtype == bool:
            if arr.shape != (self.n,):
                raise InputError(f"destruct(mask): a boolean mask must have shape ({self.n},); got {arr.shape}")
            m = arr.copy()
        else:
            m = np.zeros(self.n, dtype=bool)
            m[arr.astype(np.int64)] = True
        self.terminate(m)
        new = m & ~self._destroyed & (self._REP[:, 2] == 1)
        for i in np.nonzero(new)[0]:
            self._IS[i, K.I_ACTIVE] = 0
            self._REP[i, 2] = 0
            self.events.append((int(i), float(self.t_s), "destruct"))
        self._t_destroyed[new] = self.t_s
        self._destroyed |= new

    def set_ballistic_state(self, r_ecef, v_ecef) -> None:
        """Start every vehicle at t = 0 in ballistic flight from the given ECEF state
        (``(3,)`` or ``(N, 3)``, m and m/s Earth-relative): no thrust, no further stage
        events. For coast studies and checks against impact-point predictions."""
        if self.t_s != 0.0:
            raise InputError("set_ballistic_state is only allowed before the first advance_to (t = 0)")
        r = np.broadcast_to(np.asarray(r_ecef, dtype=np.float64), (self.n, 3))
        v = np.broadcast_to(np.asarray(v_ecef, dtype=np.float64), (self.n, 3))
        xi = self._ST[:, B.XI_]
        xi[:, 0:3] = r
        xi[:, 3:6] = v
        self._IS[:, K.I_PHASE] = K.FINAL
        self._IS[:, K.I_LIFTED] = 1
        self._IS[:, K.I_FAIRING] = 0
        self._EVC[:] = 0
        self.events.clear()
        self._run(0.0, init=True)

    # ------------------------------------------------------------------ views
    @property
    def state(self) -> SimState:
        """The current state (views; copy them to keep)."""
        return SimState(
            t_s=self.t_s,
            r_ecef=self._ST[:, B.XR_, 0:3],
            v_ecef=self._ST[:, B.XR_, 3:6],
            mass_kg=self._ST[:, B.XR_, 6],
            q_body_to_ecef=self._ST[:, B.XR_, 7:11],
            omega_body_rad_s=self._ST[:, B.OQR_, 0:3],
            q_cmd_body_to_ecef=self._ST[:, B.OQR_, 3:7],
            stage=self._REP[:, 0],
            active=self._REP[:, 2] == 1,
        )

    @property
    def done(self) -> bool:
        """True when no vehicle is still integrating (all impacted or in orbit)."""
        return not bool(np.any(self._REP[:, 2]))

    @property
    def impacted(self) -> np.ndarray:
        """(N,) bool: reached the ground (geodetic height site.impact_height_m)."""
        return (self._IS[:, K.I_STATUS] == K.IMPACTED) & (self._REP[:, 2] == 0)

    @property
    def in_orbit(self) -> np.ndarray:
        """(N,) bool: stopped in orbit (ballistic with perigee above 100 km)."""
        return (self._IS[:, K.I_STATUS] == K.IN_ORBIT) & (self._REP[:, 2] == 0)

    @property
    def terminated(self) -> np.ndarray:
        """(N,) bool: terminated by :meth:`terminate`."""
        return self._terminated.copy()

    @property
    def destroyed(self) -> np.ndarray:
        """(N,) bool: broken up by :meth:`destruct` (no longer a flying body)."""
        return self._destroyed.copy()

    @property
    def destruct_t_s(self) -> np.ndarray:
        """(N,) time of the destruct, s since liftoff; NaN where not destroyed."""
        return self._t_destroyed.copy()

    @property
    def impact_t_s(self) -> np.ndarray:
        """(N,) impact time, s since liftoff; NaN where not (yet) impacted."""
        return np.where(self.impacted, self._FS[:, K.T_IMPACT], np.nan)

    @property
    def burning(self) -> np.ndarray:
        """(N,) bool: an engine is burning now."""
        return (self._REP[:, 1] == K.BURN) & (self._REP[:, 2] == 1)
