"""``rangeguard export``: protected areas, corridors, tracks, IIP traces, footprints and hazard areas as KML /
GeoJSON."""

from __future__ import annotations

from pathlib import Path

import typer

from rangeguard import paths
from rangeguard.cli.app import app
from rangeguard.errors import InputError


@app.command()
def export(
    folder: Path = typer.Argument(
        ..., help="Output folder of `rangeguard demo`, `simulate`, `validate --out` or `risk --out`."
    ),
    kml: Path = typer.Option(None, "--kml", help="KML 2.2 file to write (Google Earth)."),
    geojson: Path = typer.Option(None, "--geojson", help="GeoJSON (RFC 7946) file to write (QGIS)."),
    mission: str = typer.Option(
        None,
        "--mission",
        "-m",
        help="Mission YAML or bundled mission name (default: the one the folder's summary or risk.json names).",
    ),
) -> None:
    """Export FOLDER's mission geometry and flights (or, for `rangeguard risk --out`, its hazard areas) for
    Google Earth (KML) and QGIS (GeoJSON)."""
    from rangeguard.report.export import export as do_export

    paths.input_folder(
        folder, "FOLDER", "the output folder of `rangeguard demo`, `simulate`, `validate --out` or `risk --out`"
    )
    if kml is not None:
        paths.output_file(kml, "--kml", example="flight.kml")
    if geojson is not None:
        paths.output_file(geojson, "--geojson", example="flight.geojson")
        if kml is not None and geojson.resolve() == kml.resolve():
            raise InputError(f"--kml and --geojson are the same file ({kml}); give each its own name")
    for p in do_export(folder, kml=kml, geojson=geojson, mission=mission):
        typer.echo(f"wrote {p}")
