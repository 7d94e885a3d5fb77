"""The ``rangeguard`` command line (typer). Subcommands live in sibling modules."""

from rangeguard.cli.app import app, entry, main

__all__ = ["app", "entry", "main"]
