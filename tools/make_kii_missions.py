"""Generate the bundled Kii missions from the nominal simulated flight.

``python tools/make_kii_missions.py [--out src/rangeguard/missions]`` writes

- ``kii-sso.yaml``: the validated mission. Envelopes are the nominal
  prediction with generous margins, the IIP corridor follows the nominal IIP
  track with a half-width growing with range;
- ``kii-sso-strict.yaml``: the same flight with the speed envelope set as
  tightly as Kairos flight 1's was (nominal minus a small tolerance, checked
  from T+4.8 s in first-stage flight).

Tables come from one nominal flight of ``missions/vehicles/kairos-class.yaml``
(no dispersions, no failures), so they can be regenerated whenever the
vehicle changes; tests/acceptance/test_kii_missions.py checks that the files
on disk are what this script writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml
from pyproj import Geod

from rangeguard.earth import ecef_to_geodetic
from rangeguard.iip import impact_point
from rangeguard.mission.site import SiteSpec
from rangeguard.mission.vehicle import load_vehicle
from rangeguard.sim import simulate_vehicle

ROOT = Path(__file__).resolve().parents[1]
MISSIONS_DIR = ROOT / "src" / "rangeguard" / "missions"  # package data; ./missions links here
GEOD = Geod(ellps="WGS84")

SITE = {
    "name": "Spaceport Kii",
    "lat_deg": 33.54,
    "lon_deg": 135.89,
    "alt_m": 10.0,
    "ground_height_m": 0.0,  # the vehicle and its debris land at sea
    "liftoff_epoch_utc": "2024-03-13T02:01:12Z",
    "launch_azimuth_deg": 191.5,
}
AREAS = ["kii-peninsula", "shikoku", "kyushu", "nansei-islands", "daito-islands", "izu-islands", "philippines"]

# Validated envelopes: relative and absolute margins around the nominal prediction.
SPEED_REL, SPEED_ABS_MPS = 0.15, 30.0
ALT_REL, ALT_ABS_M = 0.50, 5000.0
ENVELOPE_END_S = 221.0  # third-stage burnout: beyond it the IIP rules and safing decide
ALT_LOWER_END_S = 85.0  # first-stage burnout (the stage1_burnout event): the lower altitude limit ends here
# Why the lower altitude limit ends at first-stage burnout. Evidence: 1,000 dispersed flights of Kairos
# flight 1's weak motor (scenario f1-thrust-low: first-stage thrust x0.97 on top of the dispersions), every
# rule monitor-only and safing off, true altitude / nominal altitude at the table times:
#   T+s      60     85    120    150    180    221
#   mean   0.91   0.87   0.83   0.79   0.75   0.70
#   sigma  0.04   0.05   0.07   0.09   0.11   0.13
#   min    0.79   0.71   0.60   0.50   0.40   0.27
# A weak first stage leaves the vehicle low and slow at staging and the upper stages' programme flattens
# the path further, so the altitude deficit of a flyable vehicle keeps growing to third-stage burnout (it
# reaches orbit, or the weakest come down at sea, their IIP clear of every protected area). With the lower
# limit at 50 % - 5 km to T+221 s, 47 of those flights were terminated by it (T+165..221 s), far out over
# the sea with a legal IIP.
# No lower limit there is both flyable-safe and useful: to hold these flights 4.5 sigma inside at T+221 s
# it would have to sit at 0.70 - 4.5 x 0.13 = 9 % of nominal (16 km), which catches nothing the speed
# envelope (stage failures, within 15-20 s) and the IIP rules (the hazard itself) do not catch first.
# In first-stage flight the vehicle is low, in dense air, near the coast, and the vacuum IIP judges a
# vehicle that is not climbing poorly: there the lower limit is an independent check, and these flights
# stay 9.6 sigma inside it (smallest distance 8.6 km where the limit is above ground, T+45..85 s). The upper
# limit (a vehicle climbing too steeply) stays to third-stage burnout: the same flights stay 6 sigma below it.
# Tumble: |body rate| above TUMBLE_RATE_DEG_S for TUMBLE_PERSISTENCE_S. The persistence rejects commanded
# re-pointing: once the altitude limit no longer stops them, the weakest of those 1,000 flights (37 of them,
# still armed at third-stage separation: no orbit, IIP not yet clear) slew their kick stage 37-56 deg at
# separation, 70-107 deg/s at the peak and above 15 deg/s for 0.8-1.0 s, and a 0.5 s persistence
# terminated every one. The attitude loop settles as a first-order lag (tau 0.52 s fitted to those
# flights), so even a 180 deg slew stays above 15 deg/s for only tau x ln(343/15) = 1.6 s; a loss of
# control keeps rotating and is caught 2 s after it starts (none of 100 uncaught tumble flights brought
# its IIP to a protected area).
TUMBLE_RATE_DEG_S, TUMBLE_PERSISTENCE_S = 15.0, 2.0
# Strict (Kairos flight 1) speed band: nominal minus 2 % and 0.5 m/s, from T+4.8 s to first-stage burnout.
STRICT_REL, STRICT_ABS_MPS = 0.02, 0.5
STRICT_FROM_S, STRICT_TO_S = 4.8, 85.0
# Corridor half-width around the nominal IIP track: grows with IIP range.
CORRIDOR_W0_M, CORRIDOR_W_PER_RANGE = 20e3, 0.06
CORRIDOR_END_RANGE_M = 5000e3  # well beyond the IIP-clear safing range (~4100 km): the corridor never ends first
CORRIDOR_BACK_M = 15e3  # the corridor starts this far behind the pad


class _Flow(dict):
    """A mapping written on one line (distributions)."""


def _normal(three_sigma, mean=None):
    d = _Flow(dist="normal", three_sigma=three_sigma)
    if mean is not None:
        d["mean"] = mean
    return d


DISPERSION_RATIONALE = (
    "Per-run dispersions for `rangeguard validate`, 3-sigma values; engineering estimates for a small solid "
    "launcher, not Space One figures. Solid stages: delivered thrust level 1-sigma 1 % (propellant lot, grain "
    "geometry); burn rate 0.7 % (grain temperature: ~0.14 %/K pressure sensitivity over +-5 K of conditioning; a "
    "faster motor burns shorter at the same total impulse); Isp 0.3 %; inert mass 0.5 %; propellant load 0.3 % "
    "(weighed). The three motors share one conditioning temperature, so their burn rates are correlated (rho 0.6). "
    "Liquid kick stage: thrust 1 %, Isp 0.3 %, masses as above (its burn is guided: no burn-rate term). Axial-force "
    "coefficient 5 % (wind-tunnel and CFD spread near Mach 1). Winds: the flight programme is biased for the "
    "day's measured winds (balloon soundings before launch), so what disperses the flight is the error of that "
    "measurement and forecast: a profile peaking at 15 m/s near 12 km (about the 2-sigma error of a few-hour "
    "upper-wind forecast in the jet), scaled 1 +- 0.2 (1-sigma, cut to 0..1.6: a larger error violates the launch "
    "commit criteria and scrubs the launch) and blowing from any direction (rotation uniform over +-180 deg). "
    "Attitude-programme bias (INS alignment and programme tolerance) 0.05 deg 1-sigma per axis. Thrust-line "
    "misalignment 0.05 deg 1-sigma per axis: the geometric misalignment of a motor is 0.1-0.3 deg, but the TVC loop "
    "trims its moment, and what remains as a side-force angle in a 3-DoF model is a fraction of it. Nav "
    "sensor noise 0.5 to 1.5 times the sensor model's sigmas (satellite geometry, vibration). Failure onset +-2 s "
    "(uniform) around each scenario's time."
)


def _solid():
    return {
        "thrust_scale": _normal(0.03),
        "burn_rate_scale": _normal(0.021),
        "isp_scale": _normal(0.009),
        "dry_mass_scale": _normal(0.015),
        "propellant_mass_scale": _normal(0.009),
    }


def _liquid():
    return {
        "thrust_scale": _normal(0.03),
        "isp_scale": _normal(0.009),
        "dry_mass_scale": _normal(0.015),
        "propellant_mass_scale": _normal(0.009),
    }


def dispersions() -> dict:
    return {
        "description": DISPERSION_RATIONALE,
        "stages": [_solid(), _solid(), _solid(), _liquid()],
        "cd_scale": _normal(0.15),
        "wind_profile": {
            "altitude_m": [0.0, 1000.0, 3000.0, 6000.0, 9000.0, 12000.0, 15000.0, 20000.0, 30000.0],
            "speed_mps": [1.5, 3.0, 5.0, 8.0, 12.0, 15.0, 11.0, 6.0, 4.0],
            "direction_from_deg": [270.0, 270.0, 270.0, 270.0, 270.0, 270.0, 270.0, 270.0, 270.0],
        },
        "wind_scale": _Flow(dist="truncated_normal", three_sigma=0.6, low=0.0, high=1.6),
        "wind_rotation_deg": _Flow(dist="uniform", low=-180.0, high=180.0),
        "attitude_bias_pitch_deg": _normal(0.15),
        "attitude_bias_yaw_deg": _normal(0.15),
        "thrust_misalignment_pitch_deg": _normal(0.15),
        "thrust_misalignment_yaw_deg": _normal(0.15),
        "sensor_noise_scale": _Flow(dist="uniform", low=0.5, high=1.5),
        "failure_time_s": _Flow(dist="uniform", low=-2.0, high=2.0),
        "correlations": [
            _Flow(
                between=[f"stages[{a}].burn_rate_scale", f"stages[{b}].burn_rate_scale"],
                rho=0.6,
                description="the solid motors share one conditioning temperature",
            )
            for a, b in ((0, 1), (0, 2), (1, 2))
        ],
    }


def nominal():
    vehicle = load_vehicle(MISSIONS_DIR / "vehicles" / "kairos-class.yaml")
    site = SiteSpec(**SITE)
    tr = simulate_vehicle(vehicle, site, record_dt=0.5)
    t = tr.t_s
    r, v = tr.r_ecef[0], tr.v_ecef[0]
    speed = np.linalg.norm(v, axis=1)
    h = ecef_to_geodetic(r)[2]
    ilat, ilon, _ = impact_point(r, v)
    return t, speed, h, ilat, ilon


def _grid(t_end, first=0.0):
    return np.unique(np.concatenate([np.arange(first, 20.0, 1.0), np.arange(20.0, t_end, 5.0), [t_end]]))


def envelope(t, values, grid, rel, abs_, lower_floor=None, lower_end_s=None):
    """Limits nominal x (1 -+ rel) -+ abs_ at the grid times; the lower one null after ``lower_end_s``."""
    nom = np.interp(grid, t, values)
    lower = nom * (1 - rel) - abs_
    if lower_floor is not None:
        lower = np.maximum(lower, lower_floor)
    upper = nom * (1 + rel) + abs_
    end = np.inf if lower_end_s is None else lower_end_s
    return (
        [round(float(x), 3) for x in grid],
        [round(float(x), 1) if g <= end else None for x, g in zip(lower, grid, strict=True)],
        [round(float(x), 1) for x in upper],
    )


def corridor(t, ilat, ilon):
    """Left and right boundaries offset from the nominal IIP track; closed behind the pad."""
    ok = np.isfinite(ilat)
    lat, lon = ilat[ok], ilon[ok]
    _, _, rng = GEOD.inv(np.full(lat.shape, SITE["lon_deg"]), np.full(lat.shape, SITE["lat_deg"]), lon, lat)
    keep = (rng <= CORRIDOR_END_RANGE_M) & (np.arange(len(rng)) <= np.argmax(rng >= CORRIDOR_END_RANGE_M))
    lat, lon, rng = lat[keep], lon[keep], rng[keep]
    # sample the track every ~100 km of range (and densely near the pad)
    marks = np.concatenate([[20e3, 50e3], np.arange(100e3, CORRIDOR_END_RANGE_M + 1, 100e3)])
    pts = []
    for m in marks:
        k = int(np.argmax(rng >= m)) if (rng >= m).any() else len(rng) - 1
        pts.append((lat[k], lon[k], rng[k]))
    left, right = [], []
    az_site = SITE["launch_azimuth_deg"]
    back_lon, back_lat, _ = GEOD.fwd(SITE["lon_deg"], SITE["lat_deg"], az_site + 180.0, CORRIDOR_BACK_M)
    for side, sign in ((left, -90.0), (right, 90.0)):
        lo, la, _ = GEOD.fwd(back_lon, back_lat, az_site + sign, CORRIDOR_W0_M)
        side.append((la, lo))
    prev = (SITE["lat_deg"], SITE["lon_deg"])
    for la, lo, rg in pts:
        az, _, _ = GEOD.inv(prev[1], prev[0], lo, la)
        w = CORRIDOR_W0_M + CORRIDOR_W_PER_RANGE * rg
        for side, sign in ((left, -90.0), (right, 90.0)):
            olo, ola, _ = GEOD.fwd(lo, la, az + sign, w)
            side.append((ola, olo))
        prev = (la, lo)
    ring = left + right[::-1]
    return [round(float(p[0]), 4) for p in ring], [round(float(p[1]), 4) for p in ring]


HEADER = """\
# {title}
#
# GENERATED by tools/make_kii_missions.py from the nominal flight of
# missions/vehicles/kairos-class.yaml; edit the script, not this file.
#
# A Kairos-class launch from Spaceport Kii (33.54 N, 135.89 E) southward to a
# 500 km sun-synchronous orbit, under the rangeguard AFSS. The vehicle's
# non-public figures are engineering estimates (see the vehicle file); the
# protected areas are Natural Earth coastlines with 10 km margins
# (missions/areas/README.md). {what}
"""


RISK_NOTE = (
    "ENGINEERING ESTIMATES for a Kairos-class solid launcher (not published figures): fragment counts, sizes and "
    "ballistic coefficients follow the usual break-up of filament-wound solid motor cases (many light shell "
    "pieces with a high explosion velocity, few heavy nozzle/interstage pieces) scaled to each stage's dry mass"
)


def _group(name, count, mass_kg, area_m2, beta, dv, explosive=False):
    return _Flow(
        name=name,
        count=count,
        mass_kg=mass_kg,
        area_m2=area_m2,
        ballistic_coeff_kg_m2=beta,
        ballistic_sigma=0.3,
        explosion_velocity_mps=dv,
        explosive=explosive,
    )


def risk_sections() -> dict:
    """The debris catalogs, planned drops, failure model and population of the Kii missions."""
    debris = [
        {
            "stage": 0,
            "description": RISK_NOTE + "; the whole 23 t stack breaks up.",
            "groups": [
                _group("stage 1 case fragments (CFRP)", 60, 20.0, 0.6, 40.0, 80.0),
                _group("stage 1 nozzle, aft skirt, interstage", 6, 60.0, 0.5, 150.0, 40.0),
                _group("upper stages and payload pieces", 20, 150.0, 0.8, 250.0, 40.0),
            ],
        },
        {
            "stage": 1,
            "description": RISK_NOTE + "; stages 2 to 4 and the payload break up.",
            "groups": [
                _group("stage 2 case fragments (CFRP)", 30, 12.0, 0.4, 40.0, 80.0),
                _group("stage 2 nozzle and interstage", 4, 40.0, 0.4, 150.0, 40.0),
                _group("stage 3, kick stage and payload pieces", 12, 80.0, 0.5, 250.0, 40.0),
            ],
        },
        {
            "stage": 2,
            "description": RISK_NOTE + "; stage 3, the kick stage and the payload break up.",
            "groups": [
                _group("stage 3 case fragments (CFRP)", 20, 6.0, 0.25, 35.0, 80.0),
                _group("stage 3 nozzle", 2, 25.0, 0.2, 200.0, 40.0),
                _group("kick stage and payload pieces", 10, 30.0, 0.3, 150.0, 40.0),
            ],
        },
        {
            "stage": 3,
            "description": RISK_NOTE + "; the liquid kick stage and the payload break up.",
            "groups": [
                _group("kick stage structure and payload pieces", 10, 20.0, 0.3, 100.0, 30.0),
                _group("propellant tanks", 2, 15.0, 0.4, 60.0, 30.0, explosive=True),
                _group("kick stage engine", 1, 20.0, 0.1, 300.0, 20.0),
            ],
        },
    ]
    # spent stages: dry mass over (C_D 1 x the mean projected area of a tumbling 1.35 m cylinder,
    # (pi r^2 + pi r L) / 2, lengths estimated 9 / 3.5 / 2 m); fairing halves: thin shells
    jettisoned = [
        _Flow(
            name="stage 1 (spent)",
            release="stage_separation",
            stage=0,
            mass_kg=1500.0,
            area_m2=10.3,
            ballistic_coeff_kg_m2=146.0,
            ballistic_sigma=0.2,
            separation_velocity_mps=2.0,
        ),
        _Flow(
            name="stage 2 (spent)",
            release="stage_separation",
            stage=1,
            mass_kg=450.0,
            area_m2=4.4,
            ballistic_coeff_kg_m2=102.0,
            ballistic_sigma=0.2,
            separation_velocity_mps=2.0,
        ),
        _Flow(
            name="stage 3 (spent)",
            release="stage_separation",
            stage=2,
            mass_kg=150.0,
            area_m2=2.8,
            ballistic_coeff_kg_m2=53.0,
            ballistic_sigma=0.2,
            separation_velocity_mps=2.0,
        ),
        _Flow(
            name="fairing halves",
            release="fairing_jettison",
            count=2,
            mass_kg=125.0,
            area_m2=3.0,
            ballistic_coeff_kg_m2=35.0,
            ballistic_sigma=0.3,
            separation_velocity_mps=5.0,
        ),
    ]
    failure = {
        "probability": 0.3,
        "description": (
            "ENGINEERING ESTIMATE: about a third of the first flights of new small launchers fail (Kairos lost "
            "its first three); spread over the burns in proportion to burn time"
        ),
        "spread": "uniform_per_stage",
        "responses": [
            _Flow(mode="afss_termination", probability=0.8),
            _Flow(mode="breakup", probability=0.15),
            _Flow(mode="intact_impact", probability=0.05),
        ],
    }
    return {
        "debris": debris,
        "jettisoned": jettisoned,
        "failure": failure,
        "population": {"source": "default", "sheltered_fraction": 0.0},
    }


def mission_dict(strict: bool, t, speed, h, ilat, ilon) -> dict:
    grid = _grid(ENVELOPE_END_S)
    st, slo, shi = envelope(t, speed, grid, SPEED_REL, SPEED_ABS_MPS, lower_floor=0.0)
    at, alo, ahi = envelope(t, h, grid, ALT_REL, ALT_ABS_M, lower_end_s=ALT_LOWER_END_S)
    clat, clon = corridor(t, ilat, ilon)
    rules = []
    for area in AREAS:
        rules.append(
            {
                "name": f"iip-{area}",
                "type": "iip_polygon",
                "area": area,
                "persistence_s": 0.2,
                "description": f"The IIP must stay out of {area} (10 km margin).",
            }
        )
    rules += [
        {
            "name": "iip-corridor",
            "type": "iip_polygon",
            "area": "corridor",
            "persistence_s": 0.5,
            "description": "The IIP must stay inside the corridor around the nominal IIP track (the limit line).",
        },
        {
            "name": "no-overflight-shikoku",
            "type": "position_polygon",
            "area": "shikoku",
            "alt_max_m": 100000.0,
            "persistence_s": 0.5,
            "description": "The vehicle itself must not fly over Shikoku below 100 km.",
        },
    ]
    if strict:
        sgrid = np.arange(STRICT_FROM_S, STRICT_TO_S + 1e-9, 0.5)
        nom = np.interp(sgrid, t, speed)
        rules.append(
            {
                "name": "speed",
                "type": "envelope",
                "quantity": "speed_mps",
                "persistence_s": 0.5,
                "description": "Kairos-flight-1-style speed band: nominal prediction minus 2 % and 0.5 m/s, checked "
                "from T+4.8 s in first-stage flight. Too tight for a flyable, slightly weak motor.",
                "table": {
                    "t_s": [round(float(x), 2) for x in sgrid],
                    "lower": [round(float(x * (1 - STRICT_REL) - STRICT_ABS_MPS), 2) for x in nom],
                    "upper": [round(float(x * (1 + STRICT_REL) + STRICT_ABS_MPS), 2) for x in nom],
                },
            }
        )
    else:
        rules.append(
            {
                "name": "speed",
                "type": "envelope",
                "quantity": "speed_mps",
                "persistence_s": 0.5,
                "description": "Speed within 15 % + 30 m/s of the nominal prediction (validated margins).",
                "table": {"t_s": st, "lower": slo, "upper": shi},
            }
        )
    rules += [
        {
            "name": "altitude",
            "type": "envelope",
            "quantity": "altitude_m",
            "persistence_s": 0.5,
            "description": "Altitude within 50 % + 5 km of the nominal prediction: below it only in first-stage flight "
            "(to T+85 s), above it to T+221 s. A 3 % weak but flyable first stage, dispersed, flies up to "
            "30 % low by T+85 s and up to 73 % low by T+221 s; after first-stage burnout the speed and IIP "
            "rules judge the flight.",
            "table": {"t_s": at, "lower": alo, "upper": ahi},
        },
        {
            "name": "tumble",
            "type": "body_rate",
            "max_rate_deg_s": TUMBLE_RATE_DEG_S,
            "persistence_s": TUMBLE_PERSISTENCE_S,
            "description": f"Tumble detection: |body rate| above {TUMBLE_RATE_DEG_S:g} deg/s "
            f"for {TUMBLE_PERSISTENCE_S:g} s "
            f"(a commanded slew at staging is shorter; a loss of control keeps rotating).",
        },
        {
            "name": "nav-loss",
            "type": "data_loss",
            "green_time_s": 2.0,
            "persistence_s": 0.0,
            "description": "No valid nav for more than 2 s: the string drops out (degrade); with none left, terminate.",
        },
        {
            "name": "nav-disagree",
            "type": "source_disagreement",
            "sources": ["ins_a", "ins_b"],
            "quantity": "position_m",
            "max_difference": 500.0,
            "persistence_s": 1.0,
            "action": "monitor",
            "description": "The two GPS/INS units disagree by more than 500 m "
            "(recorded: with two sources, neither can be blamed).",
        },
    ]
    areas = [{"name": a, "kind": "protected", "geojson": f"areas/{a}.geojson", "margin_m": 10000.0} for a in AREAS]
    areas.append(
        {
            "name": "corridor",
            "kind": "corridor",
            "lat_deg": clat,
            "lon_deg": clon,
            "description": "IIP corridor: nominal IIP track +- (20 km + 6 % of IIP range), to 5000 km.",
        }
    )
    scenarios = {
        "f1-thrust-low": {
            "description": "Kairos flight 1: first-stage thrust 3 % low from liftoff (flyable).",
            "failures": [{"kind": "thrust_scale", "scale": 0.97, "stage": 0}],
            "expect": "continue",
        },
        "f2-nozzle": {
            "description": "Kairos flight 2: first-stage nozzle drive fault at T+80 s; the stuck nozzle "
            "turns the vehicle at 2 deg/s in yaw and it drifts west across the limit line.",
            "failures": [{"kind": "tvc_hardover", "from_t_s": 80.0, "rate_deg_s": 2.0, "axis": "z"}],
            "expect": "terminate",
        },
        "f3-string-fault": {
            "description": "Kairos flight 3: AFTS string B declares itself faulty at T+68.8 s on a nominal path.",
            "nav_faults": [{"kind": "string_fault", "string": "B", "at_t_s": 68.8}],
            "expect": "continue",
        },
        "tumble": {
            "description": "Loss of attitude control at T+60 s: tumble at 30 deg/s.",
            "failures": [
                {"kind": "attitude_loss", "from_t_s": 60.0, "mode": "tumble", "rates_deg_s": [0.0, 30.0, 0.0]}
            ],
            "expect": "terminate",
        },
        "tvc-hardover-north": {
            "description": "TVC hard-over at T+40 s: 3 deg/s pitch-back toward Shikoku/Kii.",
            "failures": [{"kind": "tvc_hardover", "from_t_s": 40.0, "rate_deg_s": -3.0, "axis": "y"}],
            "expect": "terminate",
        },
        "stage2-ignition-failure": {
            "description": "Second stage fails to ignite: ballistic fall into the sea. The "
            "flight is lost either way; terminating it over the sea (the "
            "speed envelope does) is as acceptable as letting it fall.",
            "failures": [{"kind": "ignition_failure", "stage": 1}],
        },
        "stage1-early-cutoff": {
            "description": "First stage burns out at T+50 s; the rest flies as planned.",
            "failures": [{"kind": "early_cutoff", "at_t_s": 50.0, "stage": 0}],
        },
        "gps-dropout-a": {
            "description": "Nav source A drops out for 5 s at T+30 s; B carries on.",
            "nav_faults": [{"kind": "gps_dropout", "source": "ins_a", "from_t_s": 30.0, "to_t_s": 35.0}],
            "expect": "continue",
        },
        "nav-jump-b": {
            "description": "Nav source B jumps 5 km east at T+50 s.",
            "nav_faults": [
                {"kind": "position_jump", "source": "ins_b", "at_t_s": 50.0, "magnitude_m": 5000.0, "direction": "east"}
            ],
        },
        "nav-silence-a": {
            "description": "GPS/INS unit A goes silent from T+30 s to T+40 s: nothing arrives from "
            "it, not even invalid samples. String A drops out after the 2 s green "
            "time; string B carries on and the flight continues.",
            "nav_faults": [{"kind": "nav_silence", "source": "ins_a", "from_t_s": 30.0, "to_t_s": 40.0}],
            "expect": "continue",
        },
        "link-outage": {
            "description": "The telemetry link to the AFSS is cut from T+40 s to T+45 s: neither "
            "GPS/INS unit is heard. Once the 2 s green time has run out on both strings "
            "the AFSS can no longer see the vehicle and must terminate (near T+42 s).",
            "nav_faults": [{"kind": "link_outage", "from_t_s": 40.0, "to_t_s": 45.0}],
            "expect": "terminate",
        },
        "lossy-link": {
            "description": "A poor telemetry link loses 30 % of the nav samples of each unit, at random, "
            "for the whole flight. The gaps are a few tenths of a second, far inside the 2 s "
            "green time: the flight continues.",
            "nav_faults": [{"kind": "link_outage", "from_t_s": 0.0, "missing_probability": 0.3}],
            "expect": "continue",
        },
    }
    doc = {
        "name": "kii-sso-strict" if strict else "kii-sso",
        "description": (
            "Kairos-class to 500 km SSO from Spaceport Kii; speed band as tight as Kairos flight 1's."
            if strict
            else "Kairos-class to 500 km SSO from Spaceport Kii; validated rule margins."
        ),
        "seed": 20240313,
        "site": SITE,
        "vehicle": "vehicles/kairos-class.yaml",
        "sensors": {
            "default": {
                "position_noise_m": 2.0,
                "velocity_noise_mps": 0.05,
                "output_rate_hz": 10.0,
                "latency_s": 0.02,
                "attitude_noise_deg": 0.05,
                "rate_noise_deg_s": 0.02,
            }
        },
        "nav_sources": [
            {"name": "ins_a", "description": "GPS/INS unit A"},
            {"name": "ins_b", "description": "GPS/INS unit B"},
        ],
        "strings": [{"name": "A", "nav_source": "ins_a"}, {"name": "B", "nav_source": "ins_b"}],
        "areas": areas,
        "events": [{"name": "stage1_burnout", "t_s": 85.0}, {"name": "stage3_burnout", "t_s": 221.0}],
        "phases": [{"name": "first_stage", "start_event": "liftoff", "end_event": "stage1_burnout"}],
        "rules": rules,
        "arming": {"liftoff_height_m": 5.0, "liftoff_speed_mps": 3.0, "not_before_t_s": -5.0},
        "termination": {"policy": "health_degraded", "persistence_s": 0.5},
        "safing": {
            "orbit": {"enabled": True, "persistence_s": 2.0, "min_altitude_m": 150000.0},
            "iip_clear": {"enabled": True, "clearance_m": 200000.0, "persistence_s": 2.0},
        },
        "requirements": {"false_termination_max": 1.0e-3},
        "scenarios": scenarios,
        "dispersions": dispersions(),
        **risk_sections(),
    }
    return doc


class _Dumper(yaml.SafeDumper):
    pass


def _list_flow(dumper, data):
    flow = all(isinstance(x, (int, float)) or x is None for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _list_flow)
_Dumper.add_representer(
    _Flow, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)
)


def render(strict: bool) -> str:
    t, speed, h, ilat, ilon = nominal()
    doc = mission_dict(strict, t, speed, h, ilat, ilon)
    title = (
        "kii-sso-strict: the Kii mission with a Kairos-flight-1 speed band"
        if strict
        else "kii-sso: the validated Kii mission"
    )
    what = (
        "The speed envelope is the nominal prediction minus 2 % and 0.5 m/s (plus 2 % and 0.5 m/s above), as "
        "tight as Kairos flight 1's: a 3 % weak but flyable first stage trips it near T+5.3 s."
        if strict
        else "Rule margins are set to hold for dispersed nominal flights (see `rangeguard validate`)."
    )
    return HEADER.format(title=title, what=what) + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=MISSIONS_DIR)
    args = ap.parse_args(argv)
    for strict, name in ((False, "kii-sso.yaml"), (True, "kii-sso-strict.yaml")):
        (args.out / name).write_text(render(strict), encoding="utf-8")
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
