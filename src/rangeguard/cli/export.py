"""``rangeguard export``: protected areas, corridors, tracks, IIP traces and footprints as KML / GeoJSON."""

from __future__ import annotations

from pathlib import Path

import typer

from rangeguard.cli.app import app


@app.command()
def export(
    folder: Path = typer.Argument(..., help="Output folder of `rangeguard demo`, `simulate` or `validate --out`."),
    kml: Path = typer.Option(None, "--kml", help="KML 2.2 file to write (Google Earth)."),
    geojson: Path = typer.Option(None, "--geojson", help="GeoJSON (RFC 7946) file to write (QGIS)."),
    mission: str = typer.Option(None, "--mission", "-m", help="Mission YAML or bundled mission name "
                                "(default: the one the folder's summary names)."),
) -> None:
    """Export FOLDER's mission geometry and flights for Google Earth (KML) and QGIS (GeoJSON)."""
    from rangeguard.report.export import export as do_export

    for p in do_export(folder, kml=kml, geojson=geojson, mission=mission):
        typer.echo(f"wrote {p}")
