"""``rangeguard report``: one self-contained HTML report (maps, plots, decisions or risk) for an output folder."""

from __future__ import annotations

from pathlib import Path

import typer

from rangeguard import paths
from rangeguard.cli.app import app


@app.command()
def report(
    folder: Path = typer.Argument(
        ..., help="Output folder of `rangeguard demo`, `simulate`, `validate --out` or `risk --out`."
    ),
    mission: str = typer.Option(
        None,
        "--mission",
        "-m",
        help="Mission YAML or bundled mission name (default: the one the folder's summary or risk.json names).",
    ),
    output: Path = typer.Option(None, "--output", "-o", help="HTML file to write (default: FOLDER/report.html)."),
) -> None:
    """Write a self-contained HTML report (works offline) for FOLDER."""
    from rangeguard.report import write_report

    paths.input_folder(
        folder, "FOLDER", "the output folder of `rangeguard demo`, `simulate`, `validate --out` or `risk --out`"
    )
    paths.output_file(folder / "report.html" if output is None else output, "--output", example="report.html")
    path = write_report(folder, mission=mission, output=output)
    typer.echo(f"wrote {path}")
