"""What the simulator needs of a vehicle and its failures beyond each field's own checks, in one place.

``rangeguard check`` (through the mission loader) and the simulator's builder
(:mod:`rangeguard.sim.build`) both call these functions, so every mission that ``check`` accepts
``simulate`` flies, and the two give the same message:

- :func:`propellant_problems`: each stage's thrust curve must not burn more propellant than it
  carries (the integral of F_vac / (Isp g0));
- :func:`failure_problems`: a scenario's vehicle failures must name existing stages, a separation
  failure cannot be on the last stage, and each failure group occurs at most once.
"""

from __future__ import annotations

import itertools

import numpy as np

from rangeguard.constants import G0_MPS2
from rangeguard.mission.motors import read_eng
from rangeguard.mission.vehicle import StageSpec, VehicleFailureSpec, VehicleSpec

PROPELLANT_SLACK = 1.01
"""A thrust curve may burn up to 1 % more than the loaded propellant (rounding of a published curve's
impulse); beyond that the stage would run dry before its curve ends."""

SIMPSON_PANELS = 16
"""Simpson panels per segment of the merged thrust/Isp breakpoints: F / Isp is a ratio of linear
functions there, smooth; 16 panels give a relative error of 5e-7 when the Isp triples over one segment
(tested), far inside the 1 % margin of the propellant check."""

FAILURE_GROUPS = {"thrust_loss": "loss", "early_cutoff": "loss", "tvc_hardover": "att", "attitude_loss": "att"}
"""Failures that act on the same part of the vehicle: at most one of each group per scenario (the
others are their own group)."""


def thrust_curve(stage: StageSpec) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, vacuum thrust_n) of a stage: its table, or its .eng file (a resolved path)."""
    if stage.thrust is not None:
        return np.asarray(stage.thrust.t_s, float), np.asarray(stage.thrust.thrust_n, float)
    assert stage.eng_file is not None  # StageSpec asks for one of the two
    motor = read_eng(stage.eng_file)
    return motor.t_s, motor.thrust_n


def propellant_needed_kg(stage: StageSpec, t_s: np.ndarray, thrust_n: np.ndarray) -> float:
    """Propellant burned over the whole thrust curve, kg: the integral of F_vac / (Isp g0).

    With a constant Isp, the curve's impulse over Isp g0 (trapezoid: exact for the piecewise-linear
    curve). With an Isp table, F and Isp are both linear between the merged breakpoints (Isp held
    outside its table), and F / Isp is integrated by composite Simpson on each merged segment
    (:data:`SIMPSON_PANELS` panels)."""
    if stage.isp_table is None:
        assert stage.isp_vac_s is not None  # StageSpec asks for one of the two
        return float(np.trapezoid(thrust_n, t_s)) / (stage.isp_vac_s * G0_MPS2)
    t_isp = np.asarray(stage.isp_table.t_s, float)
    isp = np.asarray(stage.isp_table.isp_vac_s, float)
    knots = np.unique(np.concatenate([t_s, t_isp[(t_isp > t_s[0]) & (t_isp < t_s[-1])]]))
    u = np.linspace(0.0, 1.0, 2 * SIMPSON_PANELS + 1)
    weights = np.ones(u.size)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    total = 0.0
    for a, b in itertools.pairwise(knots):
        tt = a + (b - a) * u
        flow = np.interp(tt, t_s, thrust_n) / np.interp(tt, t_isp, isp)
        total += (b - a) / (6.0 * SIMPSON_PANELS) * float(weights @ flow)
    return total / G0_MPS2


def propellant_problems(vehicle: VehicleSpec) -> list[str]:
    """One ``stages[k]: ...`` line per stage whose thrust curve needs more propellant than it carries.

    The stages' .eng paths must be resolved (the loader does it first; an unreadable motor file is
    reported there, and skipped here)."""
    out = []
    for k, st in enumerate(vehicle.stages):
        try:
            t, f = thrust_curve(st)
        except Exception:  # noqa: BLE001 - the motor file's own problem is reported by the path check
            continue
        need = propellant_needed_kg(st, t, f)
        if need > PROPELLANT_SLACK * st.propellant_mass_kg:
            isp_text = f"isp_vac_s = {st.isp_vac_s}" if st.isp_table is None else "its isp_table"
            out.append(
                f"stages[{k}] ({st.name}): the thrust curve's total impulse {float(np.trapezoid(f, t)):.4g} N s "
                f"needs {need:.1f} kg of propellant at {isp_text}, but propellant_mass_kg is "
                f"{st.propellant_mass_kg}; raise propellant_mass_kg, raise the Isp or lower the thrust"
            )
    return out


def failure_problems(failures: list[VehicleFailureSpec], n_stages: int) -> list[str]:
    """One ``failures[j] ...`` line per vehicle failure that the simulator cannot fly on a vehicle of
    ``n_stages`` stages."""
    out = []
    seen: dict[str, int] = {}
    for j, f in enumerate(failures):
        group = FAILURE_GROUPS.get(f.kind, f.kind)
        if group in seen:
            out.append(
                f"failures[{j}] ({f.kind}) clashes with failures[{seen[group]}]: at most one thrust_scale, one of "
                f"thrust_loss/early_cutoff, one of tvc_hardover/attitude_loss, one ignition_failure and one "
                f"separation_failure per scenario"
            )
        seen.setdefault(group, j)
        stage = getattr(f, "stage", None)
        if stage is not None and stage >= n_stages:
            out.append(f"failures[{j}] ({f.kind}): stage {stage} does not exist; allowed 0..{n_stages - 1}")
        elif f.kind == "separation_failure" and f.stage >= n_stages - 1:
            allowed = f"allowed 0..{n_stages - 2}" if n_stages > 1 else "a single-stage vehicle never separates"
            out.append(
                f"failures[{j}] separation_failure: stage {f.stage} is the last stage and never separates; {allowed}"
            )
    return out
