"""``rangeguard demo``: the main job on the bundled mission."""

from __future__ import annotations

import typer
from rich.console import Console

from rangeguard.cli.app import app


@app.command()
def demo(json_out: bool = typer.Option(False, "--json", help="Print results as JSON.")) -> None:
    """Run the main job on the bundled mission and show what rangeguard decides."""
    Console().print("rangeguard demo: the foundation is in place; impact points come next.")
