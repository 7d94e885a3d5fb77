"""The ``rangeguard`` command line (typer). Subcommands live in sibling modules."""

from rangeguard.cli.app import app, main, run

__all__ = ["app", "main", "run"]
