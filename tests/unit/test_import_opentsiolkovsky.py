"""The OpenTsiolkovsky importer (issue 16): public examples converted, fields checked by hand, refusals named.

The inputs are OpenTsiolkovsky's own examples (tests/data/opentsiolkovsky/README.md: source, commit,
MIT licence). Every expected value below is computed here from the JSON/CSV numbers, not read back
from the importer.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import pytest

from rangeguard.cli.import_ import mission_yaml
from rangeguard.constants import G0_MPS2
from rangeguard.errors import InputError
from rangeguard.mission import load_mission
from rangeguard.mission.opentsiolkovsky import convert, import_param_file, read_csv_table

DATA = Path(__file__).resolve().parents[1] / "data" / "opentsiolkovsky"


def _load(conv, tmp_path: Path, name: str = "m.yaml"):
    """Write the converted mission as the CLI does and load it as `rangeguard check` does."""
    path = tmp_path / name
    path.write_text(mission_yaml(conv.mission, conv.notes))
    return load_mission(path)


def _json(rel: str) -> dict:
    return json.loads((DATA / rel).read_text())


def _convert_dict(param: dict, base: Path, core="cpp"):
    def read(name, key, n):
        return read_csv_table(base / name, key, n)

    return convert(param, read, core=core, source="test.json")


# --- public examples that convert ----------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "mass", "thrust", "isp", "burn", "d_t", "eps", "d_body", "ca", "cn", "beta", "el", "az", "llh"),
    [
        ("param_momo.json", 1150.0, 30000.0, 250.0, 62.0, 0.13, 4.0, 0.5, 0.5, 0.2, 110.0, 88.0, 113.0,
         (42.4925, 143.4333, 20.0)),
        ("param_sample_01.json", 1000.0, 15000.0, 200.0, 120.0, 0.1, 5.0, 0.5, 0.2, 0.2, 100.0, 83.0, 113.0,
         (42.506129, 143.456482, 15.0)),
    ],
)  # fmt: skip
def test_single_stage_examples_convert_and_load(
    tmp_path, rel, mass, thrust, isp, burn, d_t, eps, d_body, ca, cn, beta, el, az, llh
):
    m = _load(import_param_file(DATA / rel), tmp_path)
    assert m.rules == []
    assert (m.site.lat_deg, m.site.lon_deg, m.site.alt_m) == llh
    assert m.site.ground_height_m == 0.0
    assert m.site.launch_azimuth_deg == az
    (st,) = m.vehicle.stages
    prop = thrust * burn / (isp * G0_MPS2)
    assert st.propellant_mass_kg == pytest.approx(prop, rel=1e-12)
    assert st.dry_mass_kg + st.propellant_mass_kg == pytest.approx(mass, rel=1e-12)
    assert st.thrust.t_s == [0.0, burn] and st.thrust.thrust_n == [thrust, thrust]
    assert st.isp_vac_s == isp
    assert st.exit_area_m2 == pytest.approx(math.pi * d_t**2 / 4 * eps, rel=1e-12)
    assert st.ignition_delay_s == 0.0
    pw = st.aero.powered
    assert pw.model == "body_axes"
    assert pw.reference_area_m2 == pytest.approx(math.pi * d_body**2 / 4, rel=1e-12)
    assert pw.axial_force_coefficient == [ca]
    # A constant CN is a slope per radian (the Rust core's reading): CN(180 deg) = CN * pi.
    assert pw.normal_force.alpha_deg == [0.0, 180.0]
    assert pw.normal_force.normal_force_coefficient == [[0.0, pytest.approx(cn * math.pi)]]
    co = st.aero.coasting
    assert co.model == "ballistic" and co.ballistic_coefficient_kg_m2 == [beta]
    g = m.vehicle.guidance
    assert g.mode == "programme" and g.programme.frame == "local"
    assert set(g.programme.elevation_deg) == {el} and set(g.programme.azimuth_deg) == {az}
    assert g.programme.t_s[0] == 0.0
    assert g.final_coast_attitude == "hold"  # free flight mode 2: the attitude plays no part
    assert m.vehicle.wind is None


def _ss520_with_stage3_constant(tmp_path: Path) -> tuple[dict, Path]:
    """The SS-520-4 example with stage 3's missing thrust file replaced by its own constant (8000 N, 0..25.6 s)."""
    base = tmp_path / "ss520"
    shutil.copytree(DATA / "SS-520-4", base)
    param = _json("SS-520-4/param_SS520-4.json")
    param["stage3"]["thrust"]["thrust vac file exist?(bool)"] = False
    return param, base


def _trapz(ts, fs):
    return sum((b - a) * (u + v) / 2 for a, b, u, v in zip(ts, ts[1:], fs, fs[1:], strict=False))


def test_ss520_public_example_is_refused_for_its_missing_stage3_csv():
    with pytest.raises(InputError) as e:
        import_param_file(DATA / "SS-520-4" / "param_SS520-4.json")
    msg = str(e.value)
    assert '"stage3".thrust."thrust vac file name(str)"' in msg and "SS520-4-3_thrust.csv" in msg
    assert "not found" in msg and "\n" not in msg


def test_three_stage_ss520_cpp_reading(tmp_path):
    param, base = _ss520_with_stage3_constant(tmp_path)
    m = _load(_convert_dict(param, base, "cpp"), tmp_path)
    s1, s2, s3 = m.vehicle.stages
    # Stage 1: the thrust file 0..31.7 s (separation at 31.7 ends the burn), CA from SS520-4-1_CD.csv.
    assert s1.thrust.t_s == [0.0, 10.0, 30.0, 31.7]
    assert s1.thrust.thrust_n == [160000.0, 100000.0, 50000.0, 20000.0]
    imp1 = _trapz([0, 10, 30, 31.7], [160000, 100000, 50000, 20000])
    assert s1.propellant_mass_kg == pytest.approx(imp1 / (190.0 * G0_MPS2), rel=1e-9)
    # C++ reading: mass initial is the stack, the upper stages' mass initial is dropped at separation.
    assert s1.dry_mass_kg + s1.propellant_mass_kg == pytest.approx(2200.0 - 510.0)
    assert s2.dry_mass_kg + s2.propellant_mass_kg == pytest.approx(510.0 - 86.0)
    assert s3.dry_mass_kg + s3.propellant_mass_kg == pytest.approx(86.0)
    assert m.vehicle.liftoff_mass_kg == pytest.approx(2200.0)
    assert s1.separation_delay_s == pytest.approx(0.0)
    assert s1.aero.powered.mach[:3] == [0.0, 0.2, 0.4] and s1.aero.powered.axial_force_coefficient[-1] == 0.33
    assert s1.exit_area_m2 == pytest.approx(math.pi * 0.1768**2 / 4 * 8)
    # Stage 2: thrust file on the stage's time base (since separation at 31.7 s): zero until 138.2 s,
    # 45.5 kN at 138.3 s, cut by the forced cutoff at 161.7 s.
    assert s2.ignition_delay_s == pytest.approx(138.2)
    f_cut = 45500 + (24500 - 45500) * (161.7 - 138.3) / (162.0 - 138.3)
    assert s2.thrust.t_s == pytest.approx([0.0, 0.1, 161.7 - 138.2])
    assert s2.thrust.thrust_n == pytest.approx([0.0, 45500.0, f_cut])
    imp2 = _trapz([138.2, 138.3, 161.7], [0, 45500, f_cut])
    assert s2.propellant_mass_kg == pytest.approx(imp2 / (264.8 * G0_MPS2), rel=1e-9)
    # C++ separation time is since liftoff: stage 2 separates at T+228 s, burnout at T+31.7+161.7.
    assert s2.separation_delay_s == pytest.approx(228.0 - (31.7 + 161.7))
    assert s3.thrust.thrust_n == [8000.0, 8000.0] and s3.thrust.t_s == [0.0, 25.6]
    assert s3.ignition_delay_s == 0.0
    assert s3.propellant_mass_kg == pytest.approx(8000 * 25.6 / (264.8 * G0_MPS2))
    # Attitude: stage 1's file (time since liftoff) until separation, then each stage's constants.
    pr = m.vehicle.guidance.programme
    assert pr.frame == "local"
    assert pr.t_s[:2] == [0.0, pytest.approx(31.7 - 1e-3)]
    i2 = pr.t_s.index(31.7)
    assert (pr.azimuth_deg[i2], pr.elevation_deg[i2]) == (99.0, 0.0)
    assert pr.elevation_deg[1] == pytest.approx(82.0 + (77.0 - 82.0) * (31.7 - 1e-3) / 31.7)
    assert 228.0 in pr.t_s


def test_three_stage_ss520_rust_reading(tmp_path):
    param, base = _ss520_with_stage3_constant(tmp_path)
    m = _load(_convert_dict(param, base, "rust"), tmp_path)
    s1, s2, s3 = m.vehicle.stages
    # Rust reading: mass initial is the stage's own mass; separation time since the stage's start.
    assert s1.dry_mass_kg + s1.propellant_mass_kg == pytest.approx(2200.0)
    assert s2.dry_mass_kg + s2.propellant_mass_kg == pytest.approx(510.0)
    assert s2.separation_delay_s == pytest.approx(228.0 - 161.7)
    # and the first stage's attitude file for the whole flight
    assert set(m.vehicle.guidance.programme.azimuth_deg) == {99.0}
    assert min(m.vehicle.guidance.programme.elevation_deg) == 77.0


def test_cn_and_ca_files_and_attitude_file(tmp_path):
    """OpenTsiolkovsky's sample CN.csv (Mach rows x angle columns, the last angle repeated to fill 15 columns)."""
    base = tmp_path / "cn"
    shutil.copytree(DATA / "legacy_cpp_sample", base)
    param = _json("param_momo.json")
    ae = param["stage1"]["aero"]
    ae["normal coefficient file exist?(bool)"] = True
    ae["normal coefficient file name(str)"] = "CN.csv"
    ae["normal multiplier[-]"] = 2.0
    ae["axial coefficient file exist?(bool)"] = True
    ae["axial coefficient file name(str)"] = "CA.csv"
    at = param["stage1"]["attitude"]
    at["attitude file exist?(bool)"] = True
    at["attitude file name(str)"] = "attitude.csv"
    m = _load(_convert_dict(param, base), tmp_path)
    pw = m.vehicle.stages[0].aero.powered
    rows = [[float(x) if x else 0.0 for x in line.split(",")] for line in (base / "CN.csv").read_text().split()]
    assert pw.normal_force.alpha_deg == rows[0][1:13] + [180.0]
    assert pw.normal_force.mach == [r[0] for r in rows[1:]]
    assert pw.normal_force.normal_force_coefficient[5] == [2.0 * v for v in rows[6][1:14]]
    assert pw.axial_force_coefficient[5] == 0.64 and pw.mach[5] == 1.0
    pr = m.vehicle.guidance.programme
    assert pr.t_s == [0.0, 1000.0] and pr.elevation_deg == [80.0, 80.0] and pr.azimuth_deg == [113.0, 113.0]


def test_coefficients_follow_the_cpp_core(tmp_path):
    """C++: thrust file read at t * thrust coefficient, thrust times both coefficients, Isp times the Isp one."""
    param, base = _ss520_with_stage3_constant(tmp_path)
    th = param["stage1"]["thrust"]
    th["thrust coefficient[-]"] = 1.25
    th["Isp coefficient[-]"] = 1.1
    m = _load(_convert_dict(param, base), tmp_path)
    s1 = m.vehicle.stages[0]
    assert s1.thrust.t_s == pytest.approx([0.0, 8.0, 24.0, 25.36, 25.44])
    assert s1.thrust.thrust_n[:2] == pytest.approx([160000 * 1.25 * 1.1, 100000 * 1.25 * 1.1])
    assert s1.isp_vac_s == pytest.approx(190.0 * 1.1)
    imp = _trapz([0, 10, 30, 31.7, 31.8], [160000, 100000, 50000, 20000, 0])  # same propellant, shorter burn
    assert s1.propellant_mass_kg == pytest.approx(imp / 1.0 / (190.0 * G0_MPS2), rel=1e-9)
    with pytest.raises(InputError, match="--core rust"):
        _convert_dict(param, base, "rust")


# --- refusals ------------------------------------------------------------------------


def _momo_with(path: list[str], value) -> dict:
    param = _json("param_momo.json")
    obj = param
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value
    return param


@pytest.mark.parametrize(
    ("path", "value", "names"),
    [
        (["launch", "velocity NED[m/s]"], [0.0, 0.0, -5.0], '"launch"."velocity NED[m/s]"'),
        (["calculate condition", "air density variation file exist?(bool)"], True, "air density variation file"),
        (["calculate condition", "variation ratio of air density[%](-100to100, default=0)"], 5.0, "variation ratio"),
        (["stage1", "power flight mode(int)"], 2, '"stage1"."power flight mode(int)"'),
        (["stage1", "free flight mode(int)"], 7, '"stage1"."free flight mode(int)"'),
        (["stage1", "attitude neutrality(3DoF)", "considering neutrality?(bool)"], True, "considering neutrality"),
        (["stage1", "6DoF", "moment of inertia file name(str)"], "inertia.csv", '"stage1"."6DoF"'),
        (["stage1", "attitude", "gyro bias y[deg/h]"], 1.0, '"stage1".attitude."gyro bias y[deg/h]"'),
        (["stage1", "attitude", "pitch offset[deg]"], 0.5, '"stage1".attitude."pitch offset[deg]"'),
        (["stage1", "mass initial[kg]"], 700.0, '"stage1"."mass initial[kg]"'),
        (["stage1", "thrust", "forced cutoff time(time of each stage)[s]"], 0.0, '"stage1".thrust'),
        (["stage1", "stage", "following stage exist?(bool)"], True, "following stage exist"),
        (["stage1", "thrust", "const thrust vac[N]"], "lots", '"stage1".thrust."const thrust vac[N]"'),
        (["stage1", "thrust", "thrust vac file exist?(bool)"], True, "thrust vac file name(str)"),
    ],
)
def test_refusals_name_the_key(path, value, names):
    with pytest.raises(InputError) as e:
        _convert_dict(_momo_with(path, value), DATA)
    msg = str(e.value)
    assert names in msg and "\n" not in msg and "; " in msg  # what, where; how to fix


def test_dumping_product_with_mass_is_refused():
    param = _momo_with(["stage1", "dumping product", "dumping product exist?(bool)"], True)
    param["stage1"]["dumping product"]["dumping product mass[kg]"] = 10.0
    with pytest.raises(InputError, match='"stage1"."dumping product"'):
        _convert_dict(param, DATA)


def test_old_format_bin_sample_is_refused():
    """bin/param_sample_01.json (the pre-2018 keys, a 10 kg dumping product, neutrality, 6DoF files)."""
    with pytest.raises(InputError, match='"stage1"."dumping product"."dumping product exist'):
        import_param_file(DATA / "bin" / "param_sample_01.json")


def test_aerodynamically_stable_coast_only_after_the_last_burn(tmp_path):
    param = _momo_with(["stage1", "free flight mode(int)"], 0)
    m = _load(_convert_dict(param, DATA), tmp_path)
    assert m.vehicle.guidance.final_coast_attitude == "along_velocity"
    assert m.vehicle.stages[0].aero.coasting.normal_force is None
    param, base = _ss520_with_stage3_constant(tmp_path)
    param["stage2"]["free flight mode(int)"] = 0  # stage 2 coasts 107 s before its ignition
    with pytest.raises(InputError, match='"stage2"."free flight mode'):
        _convert_dict(param, base)


def test_wind_constant_and_file(tmp_path):
    param = _momo_with(["wind", "const wind[m/s,deg]"], [5.0, 270.0])
    m = _load(_convert_dict(param, DATA), tmp_path)
    assert m.vehicle.wind.speed_mps == [5.0] and m.vehicle.wind.direction_from_deg == [270.0]
    (tmp_path / "wind.csv").write_text("altitude[m],wind_speed[m/s],direction[deg]\n0,2,90\n10000,20,100\n")
    param = copy.deepcopy(param)
    param["wind"].update({"wind file exist?(bool)": True, "wind file name(str)": "wind.csv"})
    m = _load(_convert_dict(param, tmp_path), tmp_path, "w.yaml")
    assert m.vehicle.wind.altitude_m == [0.0, 10000.0] and m.vehicle.wind.speed_mps == [2.0, 20.0]


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("time,thrust\n0,100\nabc,5\n", "line 3"),
        ("time,thrust\n0\n1,5\n", "line 2: 1 columns, 2 needed"),
        ("time,thrust\n0,1\n", "fewer than 2 rows"),
        ("time,thrust\n0,100\n0,50\n", "increase strictly"),
    ],
)
def test_bad_csv_is_one_line_naming_the_file(tmp_path, text, expect):
    (tmp_path / "t.csv").write_text(text)
    param = _momo_with(["stage1", "thrust", "thrust vac file exist?(bool)"], True)
    param["stage1"]["thrust"]["thrust vac file name(str)"] = "t.csv"
    with pytest.raises(InputError) as e:
        _convert_dict(param, tmp_path)
    assert expect in str(e.value) and "t.csv" in str(e.value) and "\n" not in str(e.value)
