"""Convert an OpenTsiolkovsky parameter file into a rangeguard mission (site and vehicle, no rules).

OpenTsiolkovsky (Interstellar Technologies, MIT licence) describes a rocket as a JSON file
(``stage1``, ``stage2``, ... with ``thrust``, ``aero``, ``attitude``, ``stage`` sections, a
``launch`` and a ``wind`` section) and CSV tables beside it. Its two cores, the original C++ one and
the Rust port, read a few keys differently; ``core`` chooses the reading (see
docs/opentsiolkovsky.md, which also lists every refusal):

- ``mass initial[kg]``: C++ (``"cpp"``) the mass of the whole stack when that stage starts (upper
  stages included: the next stage's value is dropped at separation); Rust (``"rust"``) the stage's
  own mass (the stack is the sum of it and the stages above).
- ``separation time[s]``: C++ time since liftoff; Rust time since the stage's start (the previous
  separation).

:func:`convert` is pure: it takes the parsed JSON and a function that returns a CSV table's rows;
:func:`import_param_file` reads them from disk. Every problem is one :class:`InputError` line naming
the JSON key path (or the CSV file and line), what is wrong and how to fix it.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rangeguard.constants import G0_MPS2
from rangeguard.errors import InputError

Core = Literal["cpp", "rust"]
TableReader = Callable[[str, str, int], list[list[float]]]
_Table3 = tuple[list[float], list[float], list[float]]
"""(file name from the JSON, the key path naming it, minimum columns) -> rows of numbers."""

ATTITUDE_STEP_S = 1e-3
"""Where two stages command different attitudes at a separation, the programme ramps over this time, s."""
ATTITUDE_TIME_CONSTANT_S = 0.1
"""OpenTsiolkovsky turns instantly; rangeguard's attitude lag is set to the simulator's default step, s."""
_SUBSTEPS = 64  # subdivisions per table interval when integrating the mass flow (a rational function)

FREE_MODES = {0: "aerodynamically stable", 1: "3DoF with the attitude programme", 2: "ballistic"}
POWER_MODES = {0: "3DoF", 1: "3DoF with delay", 2: "6DoF", 3: "6DoF aerodynamically stable"}


@dataclass
class Conversion:
    """The mission mapping and one line per choice the importer made (for the user and the YAML header)."""

    mission: dict[str, Any]
    notes: list[str] = field(default_factory=list)


class _Param:
    """Typed access to the JSON with the key path in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, what: str, fix: str) -> InputError:
        return InputError(f"{self.source}: {path}: {what}; {fix}")

    def section(self, obj: dict[str, Any], path: str, key: str) -> dict[str, Any]:
        v = obj.get(key)
        if not isinstance(v, dict):
            raise self.fail(
                _join(path, key), "missing or not an object", "give the section as OpenTsiolkovsky writes it"
            )
        return v

    def number(self, obj: dict[str, Any], path: str, key: str, default: float | None = None) -> float:
        if key not in obj or obj[key] is None:
            if default is not None:
                return default
            raise self.fail(_join(path, key), "missing", "give it (a number) as in OpenTsiolkovsky's examples")
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.fail(_join(path, key), f"must be a finite number, not {v!r}", "write a JSON number")
        return float(v)

    def flag(self, obj: dict[str, Any], path: str, key: str) -> bool:
        v = obj.get(key)
        if not isinstance(v, bool):
            raise self.fail(_join(path, key), f"must be true or false, not {v!r}", "write a JSON boolean")
        return v

    def text(self, obj: dict[str, Any], path: str, key: str) -> str:
        v = obj.get(key, "")
        if not isinstance(v, str):
            raise self.fail(_join(path, key), f"must be a string, not {v!r}", "write the file name as a JSON string")
        return v

    def numbers(self, obj: dict[str, Any], path: str, key: str, n: int) -> list[float]:
        v = obj.get(key)
        if not isinstance(v, list) or len(v) != n:
            raise self.fail(
                _join(path, key), f"must be a list of {n} numbers, not {v!r}", f"write [{', '.join(['x'] * n)}]"
            )
        out = []
        for x in v:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise self.fail(_join(path, key), f"must hold numbers, not {x!r}", "write JSON numbers")
            out.append(float(x))
        return out


def _join(path: str, key: str) -> str:
    return f'{path}."{key}"' if path else f'"{key}"'


def _interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    """Linear between points, the end values held outside (OpenTsiolkovsky's interp_matrix)."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    for i in range(len(xs) - 1):
        if xs[i] <= x < xs[i + 1]:
            a = (x - xs[i]) / (xs[i + 1] - xs[i])
            return ys[i] + a * (ys[i + 1] - ys[i])
    return ys[-1]


def _columns(p: _Param, rows: list[list[float]], name: str, path: str, n: int) -> list[list[float]]:
    """The first n columns; the first column strictly increasing."""
    cols = [[r[j] for r in rows] for j in range(n)]
    for a, b in zip(cols[0], cols[0][1:], strict=False):
        if not b > a:
            raise p.fail(
                path, f"{name}: the first column must increase strictly; found {a:g} then {b:g}", "sort the rows"
            )
    return cols


@dataclass
class _Burn:
    on_s: float  # ignition, s since the stage's start
    off_s: float  # burnout, s since the stage's start
    thrust_t_s: list[float]  # since ignition
    thrust_n: list[float]
    isp: float | tuple[list[float], list[float]]  # constant, or (t since ignition, Isp)
    propellant_kg: float


def _burn(p: _Param, st: dict[str, Any], path: str, sep_rel_s: float, read: TableReader, core: Core) -> _Burn:
    th_path = f"{path}.thrust"
    th = p.section(st, path, "thrust")
    c_t = p.number(th, th_path, "thrust coefficient[-]", 1.0)
    c_i = p.number(th, th_path, "Isp coefficient[-]", 1.0)
    if c_t <= 0 or c_i <= 0:
        raise p.fail(th_path, f"thrust coefficient {c_t:g} and Isp coefficient {c_i:g} must be > 0", "fix them")
    if core == "rust" and (c_t != 1.0 or c_i != 1.0):
        raise p.fail(
            th_path,
            "a thrust or Isp coefficient other than 1 under --core rust (the Rust core scales the table only, the C++ "
            "core also compresses its time base; rangeguard imports the C++ reading)",
            "use --core cpp, or fold the coefficients into the tables and set them to 1",
        )
    cutoff = p.number(th, th_path, "forced cutoff time(time of each stage)[s]", math.inf)
    end = min(cutoff, sep_rel_s)

    # thrust vac(stage time): C++ reads the file at (t - stage start) * thrust coefficient and
    # multiplies the value by thrust coefficient * Isp coefficient (impulse kept, burn shortened).
    if p.flag(th, th_path, "thrust vac file exist?(bool)"):
        key = _join(th_path, "thrust vac file name(str)")
        name = p.text(th, th_path, "thrust vac file name(str)")
        t_f, f_f = _columns(p, read(name, key, 2), name, key, 2)
        xs = [t / c_t for t in t_f]
        ys = [f * c_t * c_i for f in f_f]
        if min(ys) < 0:
            raise p.fail(key, f"{name}: negative thrust", "thrust vac must be >= 0")
        on = 0.0 if _interp(0.0, xs, ys) != 0 else next((xs[i - 1] for i in range(1, len(xs)) if ys[i] != 0), math.inf)
        if on == math.inf:
            raise p.fail(key, f"{name}: the thrust is 0 everywhere", "give the stage's thrust curve")
        on = max(on, 0.0)
        off = next((x for x, y in zip(xs, ys, strict=True) if x > on and y == 0), math.inf)
        again = [x for x, y in zip(xs, ys, strict=True) if off < x < end and y != 0]
        if again:
            raise p.fail(
                key,
                f"{name}: the thrust returns at {again[0] * c_t:g} s after burning out: a restart",
                "rangeguard flies one burn per stage; split the burns into stages",
            )
        off = min(off, end)
        inner = [x for x in xs if on < x < off]
        thrust_pts = [on, *inner, off] if off < math.inf else []
        thrust = [_interp(x, xs, ys) for x in thrust_pts]
    else:
        f_c = p.number(th, th_path, "const thrust vac[N]")
        t0 = p.number(th, th_path, "burn start time(time of each stage)[s]")
        t1 = p.number(th, th_path, "burn end time(time of each stage)[s]")
        if core == "rust" and t1 != cutoff and cutoff < sep_rel_s:
            raise p.fail(
                th_path,
                "burn end time differs from forced cutoff time (the Rust core burns a constant thrust until the "
                "forced cutoff, the C++ core until the burn end)",
                "make them equal, or use --core cpp",
            )
        on, off = t0, min(t0 + (t1 - t0) / c_t, end)
        if f_c <= 0:
            raise p.fail(_join(th_path, "const thrust vac[N]"), f"{f_c:g} N", "give a thrust > 0")
        thrust_pts = [on, off] if off < math.inf else []
        thrust = [f_c * c_t * c_i] * len(thrust_pts)
    if not thrust_pts:
        raise p.fail(
            th_path,
            "the stage burns for ever (no forced cutoff, no separation, thrust never back to 0)",
            "give forced cutoff time(time of each stage)[s] or end the thrust file with 0",
        )
    if not off > on:
        raise p.fail(
            th_path,
            f"the stage never burns: ignition at {on:g} s, cutoff or separation at {off:g} s (stage time)",
            "check burn start time, forced cutoff time and the separation time",
        )

    # Isp vac: the C++ core reads the Isp file on the same compressed time base, times the Isp coefficient.
    if p.flag(th, th_path, "Isp vac file exist?(bool)"):
        key = _join(th_path, "Isp vac file name(str)")
        name = p.text(th, th_path, "Isp vac file name(str)")
        t_i, i_i = _columns(p, read(name, key, 2), name, key, 2)
        ixs, iys = [t / c_t for t in t_i], [v * c_i for v in i_i]
        if min(iys) <= 0:
            raise p.fail(key, f"{name}: Isp must be > 0", "fix the file")
        pts = [on, *[x for x in ixs if on < x < off], off]
        isp: float | tuple[list[float], list[float]] = ([x - on for x in pts], [_interp(x, ixs, iys) for x in pts])

        def isp_at(x: float) -> float:
            return _interp(x, ixs, iys)
    else:
        isp_c = p.number(th, th_path, "const Isp vac[s]") * c_i
        if isp_c <= 0:
            raise p.fail(_join(th_path, "const Isp vac[s]"), f"{isp_c:g} s", "give an Isp > 0")
        isp = isp_c

        def isp_at(x: float) -> float:
            return isp_c

    grid = sorted({*thrust_pts, *([] if isinstance(isp, float) else [on + t for t in isp[0]])})
    prop = 0.0
    for a, b in zip(grid, grid[1:], strict=False):
        h = (b - a) / _SUBSTEPS
        xs_ = [a + h * (j + 0.5) for j in range(_SUBSTEPS)]
        prop += sum(_interp(x, thrust_pts, thrust) / (isp_at(x) * G0_MPS2) for x in xs_) * h
    return _Burn(on, off, [x - on for x in thrust_pts], thrust, isp, prop)


def _aero(
    p: _Param, st: dict[str, Any], path: str, read: TableReader, core: Core, free_mode: int
) -> tuple[dict[str, Any], float]:
    ae_path = f"{path}.aero"
    ae = p.section(st, path, "aero")
    d = p.number(ae, ae_path, "body diameter[m]")
    if d <= 0:
        raise p.fail(_join(ae_path, "body diameter[m]"), f"{d:g} m", "give the body diameter (> 0)")
    area = math.pi * d * d / 4.0
    m_a = p.number(ae, ae_path, "axial multiplier[-]", 1.0)
    m_n = p.number(ae, ae_path, "normal multiplier[-]", 1.0)
    if p.flag(ae, ae_path, "axial coefficient file exist?(bool)"):
        key = _join(ae_path, "axial coefficient file name(str)")
        name = p.text(ae, ae_path, "axial coefficient file name(str)")
        mach, ca = _columns(p, read(name, key, 2), name, key, 2)
    else:
        if core == "rust" and m_a != 1.0:
            raise p.fail(
                _join(ae_path, "axial multiplier[-]"),
                "a multiplier on the constant CA under --core rust (the Rust core ignores it, the C++ core applies it)",
                "set it to 1 or use --core cpp",
            )
        mach, ca = [0.0], [p.number(ae, ae_path, "const axial coefficient[-]")]
    ca = [c * m_a for c in ca]
    if min(ca) < 0:
        raise p.fail(ae_path, "negative axial coefficient", "CA must be >= 0")
    body: dict[str, Any] = {
        "model": "body_axes",
        "reference_area_m2": area,
        "mach": mach,
        "axial_force_coefficient": ca,
    }
    normal = _normal(p, ae, ae_path, read, m_n)
    if normal is not None:
        body["normal_force"] = normal
    beta = p.number(ae, ae_path, "ballistic coefficient(ballistic flight mode)[kg/m2]", 0.0 if free_mode != 2 else None)
    if free_mode == 2:
        if beta <= 0:
            raise p.fail(
                _join(ae_path, "ballistic coefficient(ballistic flight mode)[kg/m2]"),
                f"{beta:g} kg/m^2 with free flight mode 2 (ballistic)",
                "give beta > 0",
            )
        coasting: dict[str, Any] = {"model": "ballistic", "mach": [0.0], "ballistic_coefficient_kg_m2": [beta]}
    elif free_mode == 0:  # along the relative wind: CA only (alpha is 0)
        coasting = {k: v for k, v in body.items() if k != "normal_force"}
    else:
        coasting = body
    return {"powered": body, "coasting": coasting}, d


def _normal(p: _Param, ae: dict[str, Any], path: str, read: TableReader, mult: float) -> dict[str, Any] | None:
    if p.flag(ae, path, "normal coefficient file exist?(bool)"):
        key = _join(path, "normal coefficient file name(str)")
        name = p.text(ae, path, "normal coefficient file name(str)")
        rows = read(name, key, 0)
        if len(rows) < 2 or len(rows[0]) < 3:
            raise p.fail(key, f"{name}: a CN table needs a header row of angles and one row per Mach", "see CN.csv")
        alphas = rows[0][1:]
        width = len(rows[0])
        keep = [0]
        for j in range(1, len(alphas)):
            if alphas[j] == alphas[keep[-1]]:  # OpenTsiolkovsky pads its 15 columns by repeating the last angle
                if any(r[j + 1] != r[keep[-1] + 1] for r in rows[1:]):
                    raise p.fail(key, f"{name}: angle {alphas[j]:g} deg given twice with different CN", "drop one")
                continue
            keep.append(j)
        mach, table = [], []
        for i, r in enumerate(rows[1:], start=2):
            if len(r) != width:
                raise p.fail(key, f"{name}, line {i}: {len(r)} values, the header has {width}", "give one CN per angle")
            mach.append(r[0])
            table.append([r[j + 1] * mult for j in keep])
        return {"mach": mach, "alpha_deg": [alphas[j] for j in keep], "normal_force_coefficient": table}
    cn = p.number(ae, path, "const normal coefficient[-]") * mult
    if cn == 0:
        return None
    if cn < 0:
        raise p.fail(_join(path, "const normal coefficient[-]"), f"{cn:g}", "CN must be >= 0")
    # A constant CN is read as the Rust core reads it: a slope per radian of angle of attack.
    return {"mach": [0.0], "alpha_deg": [0.0, 180.0], "normal_force_coefficient": [[0.0, cn * math.pi]]}


def _attitude(p: _Param, st: dict[str, Any], path: str, read: TableReader) -> _Table3:
    at_path = f"{path}.attitude"
    at = p.section(st, path, "attitude")
    for key in (
        "pitch offset[deg]",
        "yaw offset[deg]",
        "roll offset[deg]",
        "gyro bias x[deg/h]",
        "gyro bias y[deg/h]",
        "gyro bias z[deg/h]",
    ):
        if p.number(at, at_path, key, 0.0) != 0.0:
            raise p.fail(
                _join(at_path, key),
                "navigation offsets and gyro biases are not in rangeguard's vehicle model",
                "set it to 0 (model attitude errors as dispersions or failures)",
            )
    if p.flag(at, at_path, "attitude file exist?(bool)"):
        key = _join(at_path, "attitude file name(str)")
        name = p.text(at, at_path, "attitude file name(str)")
        t, az, el = _columns(p, read(name, key, 3), name, key, 3)
        return (t, az, el)
    az_key = "const azimuth[deg]" if "const azimuth[deg]" in at else "const azimth[deg]"
    return ([0.0], [p.number(at, at_path, az_key)], [p.number(at, at_path, "const elevation[deg]")])


def _stage_list(p: _Param, param: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(param.get("stages"), list):
        out = []
        for i, s in enumerate(param["stages"]):
            if not isinstance(s, dict):
                raise p.fail(f'"stages"[{i}]', "not an object", "give each stage as an object")
            out.append((f'"stages"[{i}]', s))
        return out
    out = []
    for k in range(1, 100):
        s = param.get(f"stage{k}")
        if s is None:
            break
        if not isinstance(s, dict):
            raise p.fail(f'"stage{k}"', "not an object", "give the stage as an object")
        out.append((f'"stage{k}"', s))
    if not out:
        raise p.fail('"stage1"', "missing", "an OpenTsiolkovsky file has stage1, stage2, ...")
    return out


def _check_unsupported(p: _Param, param: dict[str, Any]) -> None:
    cc = p.section(param, "", "calculate condition")
    if cc.get("air density variation file exist?(bool)") is True:
        raise p.fail(
            '"calculate condition"."air density variation file exist?(bool)"',
            "air density variation files are not in rangeguard's atmosphere",
            "set it to false (disperse the drag with dispersions.cd_scale instead)",
        )
    ratio = p.number(cc, '"calculate condition"', "variation ratio of air density[%](-100to100, default=0)", 0.0)
    if ratio != 0.0:
        raise p.fail(
            '"calculate condition"."variation ratio of air density[%](-100to100, default=0)"',
            f"{ratio:g} %: rangeguard flies the standard atmosphere",
            "set it to 0 (disperse the drag with dispersions.cd_scale instead)",
        )


def convert(param: Any, read: TableReader, core: Core = "cpp", source: str = "PARAM") -> Conversion:
    """The rangeguard mission mapping (site, vehicle, no rules) for a parsed OpenTsiolkovsky file."""
    p = _Param(source)
    if not isinstance(param, dict):
        raise p.fail("(top level)", "not a JSON object", "give an OpenTsiolkovsky parameter file")
    if core not in ("cpp", "rust"):
        raise InputError(f"core must be 'cpp' or 'rust', not {core!r}")
    notes: list[str] = []
    _check_unsupported(p, param)
    launch = p.section(param, "", "launch")
    lat, lon, h = p.numbers(launch, '"launch"', "position LLH[deg,deg,m]", 3)
    vel = p.numbers(launch, '"launch"', "velocity NED[m/s]", 3)
    if any(vel):
        raise p.fail(
            '"launch"."velocity NED[m/s]"',
            f"{vel}: rangeguard launches from rest on the pad",
            "set it to [0, 0, 0] (an air launch is not in rangeguard's model)",
        )
    stages = _stage_list(p, param)

    # Stage start and separation times since liftoff; the two cores differ on the separation time.
    starts, seps = [0.0], []
    for i, (path, st) in enumerate(stages):
        last = i == len(stages) - 1
        sg = p.section(st, path, "stage")
        follows = p.flag(sg, f"{path}.stage", "following stage exist?(bool)")
        if follows and last:
            raise p.fail(
                f'{path}.stage."following stage exist?(bool)"',
                "true, but no next stage is given",
                "add it or set false",
            )
        if not follows and not last:
            raise p.fail(
                f'{path}.stage."following stage exist?(bool)"',
                "false, but a next stage is given (OpenTsiolkovsky would never fly it)",
                "set it to true or remove the later stages",
            )
        if last:
            seps.append(math.inf)
            break
        sep = p.number(sg, f"{path}.stage", "separation time[s]")
        sep_abs = sep if core == "cpp" else starts[-1] + sep
        if not sep_abs > starts[-1]:
            raise p.fail(
                f'{path}.stage."separation time[s]"',
                f"separation at T+{sep_abs:g} s, not after the stage starts (T+{starts[-1]:g} s; core {core})",
                "give a later separation time (C++ core: since liftoff; Rust core: since the stage's start)",
            )
        seps.append(sep_abs)
        starts.append(sep_abs)

    masses = [p.number(st, path, "mass initial[kg]") for path, st in stages]
    for (path, _), m in zip(stages, masses, strict=True):
        if m <= 0:
            raise p.fail(_join(path, "mass initial[kg]"), f"{m:g} kg", "give a mass > 0")
    own = (
        [m - (masses[i + 1] if i + 1 < len(masses) else 0.0) for i, m in enumerate(masses)] if core == "cpp" else masses
    )

    out_stages, diameters, attitudes = [], [], []
    free_modes = []
    for i, (path, st) in enumerate(stages):
        power = int(p.number(st, path, "power flight mode(int)"))
        free = int(p.number(st, path, "free flight mode(int)"))
        if power != 0:
            raise p.fail(
                _join(path, "power flight mode(int)"),
                f"{power} ({POWER_MODES.get(power, 'unknown')}): rangeguard flies powered flight as 3DoF on an "
                "attitude programme",
                "use 0 (3DoF)",
            )
        if free not in FREE_MODES:
            raise p.fail(_join(path, "free flight mode(int)"), f"{free} is not a mode", "use 0, 1 or 2")
        dp = st.get("dumping product", {})
        if isinstance(dp, dict) and dp.get("dumping product exist?(bool)") is True:
            if p.number(dp, f'{path}."dumping product"', "dumping product mass[kg]", 0.0) != 0.0:
                raise p.fail(
                    f'{path}."dumping product"."dumping product exist?(bool)"',
                    "a dumping product with mass: rangeguard drops only stages and a fairing",
                    "set it to false (or model a fairing in the imported mission by hand)",
                )
        neu = st.get("attitude neutrality(3DoF)", {})
        if isinstance(neu, dict) and neu.get("considering neutrality?(bool)") is True:
            raise p.fail(
                f'{path}."attitude neutrality(3DoF)"."considering neutrality?(bool)"',
                "attitude neutrality (CG/CP/gimbal balance) is not in rangeguard's model",
                "set it to false",
            )
        six = st.get("6DoF", {})
        if isinstance(six, dict) and any(isinstance(v, str) and v for v in six.values()):
            raise p.fail(f'{path}."6DoF"', "6DoF files are given: rangeguard flies 3DoF", "clear the file names")
        sep_rel = seps[i] - starts[i]
        burn = _burn(p, st, path, sep_rel, read, core)
        if i == 0 and burn.on_s != 0.0:
            raise p.fail(
                f"{path}.thrust",
                f"the first stage ignites at {burn.on_s:g} s: rangeguard's first stage ignites at liftoff",
                "start the thrust at 0 s",
            )
        aero, d = _aero(p, st, path, read, core, free)
        diameters.append(d)
        free_modes.append(free)
        has_coast = burn.on_s > 0 or seps[i] - starts[i] > burn.off_s
        last = i == len(stages) - 1
        if free == 0 and (burn.on_s > 0 or (not last and has_coast)):
            raise p.fail(
                _join(path, "free flight mode(int)"),
                "0 (aerodynamically stable) for a coast that is not the final one: rangeguard points the body "
                "along the relative wind only after the last burn",
                "use 1 (attitude programme) or 2 (ballistic)",
            )
        dry = own[i] - burn.propellant_kg
        if dry <= 0:
            raise p.fail(
                _join(path, "mass initial[kg]"),
                f"the stage's own mass {own[i]:.1f} kg (core {core}) is not more than the propellant its burn "
                f"uses ({burn.propellant_kg:.1f} kg)",
                "check the mass, the thrust and the Isp, or the --core reading of mass initial",
            )
        th = st["thrust"]
        stage: dict[str, Any] = {
            "name": path.strip('"'),
            "dry_mass_kg": dry,
            "propellant_mass_kg": burn.propellant_kg,
            "thrust": {"t_s": burn.thrust_t_s, "thrust_n": burn.thrust_n},
        }
        if isinstance(burn.isp, float):
            stage["isp_vac_s"] = burn.isp
        else:
            stage["isp_table"] = {"t_s": burn.isp[0], "isp_vac_s": burn.isp[1]}
        d_t = p.number(th, f"{path}.thrust", "throat diameter[m]", 0.0)
        eps = p.number(th, f"{path}.thrust", "nozzle expansion ratio[-]", 1.0)
        if d_t > 0:
            if eps < 1:
                raise p.fail(_join(f"{path}.thrust", "nozzle expansion ratio[-]"), f"{eps:g}", "give a ratio >= 1")
            stage["throat_diameter_m"] = d_t
            stage["expansion_ratio"] = eps
        stage["aero"] = aero
        stage["ignition_delay_s"] = burn.on_s
        stage["separation_delay_s"] = 0.0 if last else seps[i] - starts[i] - burn.off_s
        out_stages.append(stage)
        attitudes.append(_attitude(p, st, path, read))
        notes.append(
            f"{path.strip(chr(34))}: ignition T+{starts[i] + burn.on_s:g} s, burnout T+{starts[i] + burn.off_s:g} s"
            + ("" if last else f", separation T+{seps[i]:g} s")
            + f"; own mass {own[i]:.1f} kg = dry {dry:.1f} + propellant {burn.propellant_kg:.1f}; coasting "
            f"{FREE_MODES[free]}"
        )

    if core == "rust":  # the Rust core flies the first stage's attitude for the whole flight
        attitudes = [attitudes[0]] * len(attitudes)
    programme = _programme(p, stages, attitudes, starts, seps)
    final = {0: "along_velocity", 1: "command", 2: "hold"}[free_modes[-1]]
    wind = _wind(p, param, read)
    epoch = _epoch(p, launch)
    name = param.get("name(str)")
    name = name if isinstance(name, str) and name.strip() else "opentsiolkovsky"
    vehicle: dict[str, Any] = {
        "name": name,
        "length_m": 1.0,
        "diameter_m": max(diameters),
        "stages": out_stages,
        "guidance": {
            "mode": "programme",
            "programme": programme,
            "final_coast_attitude": final,
        },
        "attitude_time_constant_s": ATTITUDE_TIME_CONSTANT_S,
    }
    if wind is not None:
        vehicle["wind"] = wind
    site: dict[str, Any] = {
        "name": f"{name} launch site",
        "lat_deg": lat,
        "lon_deg": lon,
        "alt_m": h,
        "ground_height_m": 0.0,
        "launch_azimuth_deg": programme["azimuth_deg"][0] % 360.0,
    }
    if epoch is not None:
        site["liftoff_epoch_utc"] = epoch
    mission = {
        "name": name,
        "description": f"Imported from OpenTsiolkovsky ({source}, {core} core reading); no rules yet.",
        "site": site,
        "vehicle": vehicle,
        "rules": [],
    }
    notes.insert(
        0,
        f"core {core}: "
        + (
            "mass initial = the stack's mass, separation time since liftoff"
            if core == "cpp"
            else "mass initial = the stage's own mass, separation time since the stage's start"
        ),
    )
    notes.append(f"final coast attitude: {final} (free flight mode {free_modes[-1]} of the last stage)")
    notes.append("length_m 1.0 is a placeholder (OpenTsiolkovsky has no length; informative only)")
    return Conversion(mission, notes)


def _programme(
    p: _Param,
    stages: list[tuple[str, dict[str, Any]]],
    attitudes: list[_Table3],
    starts: list[float],
    seps: list[float],
) -> dict[str, Any]:
    t_out: list[float] = []
    az_out: list[float] = []
    el_out: list[float] = []

    def add(t: float, tab: _Table3) -> None:
        if t_out and t <= t_out[-1]:
            return
        t_out.append(t)
        az_out.append(_interp(t, tab[0], tab[1]))
        el_out.append(_interp(t, tab[0], tab[2]))

    for i, tab in enumerate(attitudes):
        start, end = starts[i], seps[i]
        add(start, tab)
        for t in tab[0]:
            if start < t < end - ATTITUDE_STEP_S:
                add(t, tab)
        if end < math.inf:
            add(end - ATTITUDE_STEP_S, tab)
        else:
            add(max(start + 1.0, tab[0][-1]), tab)
    for path_el, e in zip(t_out, el_out, strict=True):
        if abs(e) > 90:
            raise p.fail(f"{stages[0][0]}.attitude", f"elevation {e:g} deg at T+{path_el:g} s", "keep it in -90..90")
    return {"frame": "local", "t_s": t_out, "azimuth_deg": az_out, "elevation_deg": el_out}


def _wind(p: _Param, param: dict[str, Any], read: TableReader) -> dict[str, Any] | None:
    w = p.section(param, "", "wind")
    if p.flag(w, '"wind"', "wind file exist?(bool)"):
        key = '"wind"."wind file name(str)"'
        name = p.text(w, '"wind"', "wind file name(str)")
        alt, speed, direction = _columns(p, read(name, key, 3), name, key, 3)
        if min(speed) < 0:
            raise p.fail(key, f"{name}: negative wind speed", "give speeds >= 0")
        return {"altitude_m": alt, "speed_mps": speed, "direction_from_deg": direction}
    v, from_deg = p.numbers(w, '"wind"', "const wind[m/s,deg]", 2)
    if v < 0:
        raise p.fail('"wind"."const wind[m/s,deg]"', f"speed {v:g}", "give a speed >= 0")
    if v == 0:
        return None
    return {"altitude_m": [0.0], "speed_mps": [v], "direction_from_deg": [from_deg]}


def _epoch(p: _Param, launch: dict[str, Any]) -> str | None:
    key = "time(UTC)[y,m,d,h,min,sec]"
    if key not in launch:
        return None
    y, mo, d, h, mi, s = p.numbers(launch, '"launch"', key, 6)
    from datetime import UTC, datetime, timedelta

    try:
        t = datetime(int(y), int(mo), int(d), int(h), int(mi), tzinfo=UTC) + timedelta(seconds=s)
    except ValueError as exc:
        raise p.fail(
            _join('"launch"', key), f"not a date: {exc}", "give year, month, day, hour, minute, second"
        ) from None
    return t.isoformat().replace("+00:00", "Z")


# --- Files ---------------------------------------------------------------------------


def read_csv_table(path: Path, key: str, min_columns: int) -> list[list[float]]:
    """Rows of numbers from an OpenTsiolkovsky CSV (a first row that is not all numbers is a header).

    A CN table's header row of angles starts with an empty cell; it is kept as numbers (the empty
    cell as 0). Errors name ``key`` (the JSON key giving the file), the file and the line.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{key}: {path}: file not found; put it beside the parameter file or fix the name") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{key}: {path}: cannot read it ({exc}); give a CSV text file") from None
    rows: list[list[float]] = []
    for n, raw in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in raw]
        if not any(cells):
            continue
        try:
            row = [float(c) if c else (0.0 if j == 0 and n == 1 else float("nan")) for j, c in enumerate(cells)]
        except ValueError:
            if not rows and n == 1:
                continue  # a header
            raise InputError(f"{key}: {path}, line {n}: {raw!r} is not a row of numbers; fix or remove it") from None
        if any(not math.isfinite(v) for v in row):
            raise InputError(f"{key}: {path}, line {n}: an empty or non-finite value; give a number in every column")
        if len(row) < min_columns:
            raise InputError(
                f"{key}: {path}, line {n}: {len(row)} columns, {min_columns} needed; give one value per column"
            )
        rows.append(row)
    if len(rows) < (2 if min_columns else 2):
        raise InputError(f"{key}: {path}: fewer than 2 rows of numbers; give a table")
    return rows


def import_param_file(path: str | Path, core: Core = "cpp") -> Conversion:
    """Read an OpenTsiolkovsky parameter file and the CSV files it names (relative to its folder) and convert it."""
    p = Path(path)
    try:
        param = json.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"{p}: file not found; give an OpenTsiolkovsky parameter file (JSON)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read it ({exc}); give an OpenTsiolkovsky parameter file (JSON)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}, line {exc.lineno}: not valid JSON ({exc.msg}); fix the file") from None

    def read(name: str, key: str, min_columns: int) -> list[list[float]]:
        if not name:
            raise InputError(f"{p}: {key}: empty file name; give the CSV file or set the 'exist' flag to false")
        return read_csv_table(p.parent / name, f"{p}: {key}", min_columns)

    return convert(param, read, core=core, source=str(p))
