"""``rangeguard demo``: the main job on the bundled mission."""

from __future__ import annotations

import json

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from rangeguard.cli.app import app
from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.iip import impact_point

# Spaceport Kii (approximate pad position; see missions/).
KII_LAT_DEG, KII_LON_DEG = 33.54, 135.89

# Sample ascent states above the pad: (label, height m, speed m/s, flight-path angle deg, azimuth deg)
SAMPLES = (
    ("on the pad, at rest", 0.0, 0.0, 90.0, 180.0),
    ("T+10 s, vertical rise", 600.0, 120.0, 89.0, 180.0),
    ("T+60 s, first stage", 25e3, 1100.0, 45.0, 185.0),
    ("T+120 s, second stage", 90e3, 3000.0, 25.0, 188.0),
    ("T+300 s, third stage", 300e3, 6500.0, 5.0, 190.0),
    ("orbital insertion", 500e3, 7600.0, 0.0, 192.0),
)


def sample_states():
    """ECEF states for SAMPLES, flown from above the pad in the given direction."""
    rot = ecef_to_enu_matrix(KII_LAT_DEG, KII_LON_DEG)
    r = np.array([geodetic_to_ecef(KII_LAT_DEG, KII_LON_DEG, h) for _, h, _, _, _ in SAMPLES])
    v_enu = []
    for _, _, speed, fpa, az in SAMPLES:
        g, a = np.radians(fpa), np.radians(az)
        v_enu.append(speed * np.array([np.cos(g) * np.sin(a), np.cos(g) * np.cos(a), np.sin(g)]))
    return r, np.array(v_enu) @ rot


@app.command()
def demo(json_out: bool = typer.Option(False, "--json", help="Print results as JSON.")) -> None:
    """Show the AFSS at work on the bundled Kii mission."""
    r, v = sample_states()
    lat, lon, tof = impact_point(r, v)
    rows = [
        {"state": label, "iip_lat_deg": None if np.isnan(a) else round(float(a), 4),
         "iip_lon_deg": None if np.isnan(b) else round(float(b), 4),
         "tof_s": None if np.isnan(c) else round(float(c), 2)}
        for (label, *_), a, b, c in zip(SAMPLES, lat, lon, tof, strict=True)
    ]
    if json_out:
        typer.echo(json.dumps(rows))
        return
    console = Console()
    table = Table(title="Instantaneous impact points from Spaceport Kii (vacuum, rotating WGS84)")
    for col in ("state", "IIP lat (deg)", "IIP lon (deg)", "time of fall (s)"):
        table.add_column(col, justify="left" if col == "state" else "right")
    for row in rows:
        table.add_row(row["state"], *("no impact (orbit)" if row[k] is None else f"{row[k]}" for k in ("iip_lat_deg", "iip_lon_deg", "tof_s")))
    console.print(table)
    console.print("Coming next: the simulator and the Kii mission, replaying Kairos flights 1-3 through the AFSS.")
