"""``python -m rangeguard.cli``: the same as the ``rangeguard`` command."""

from rangeguard.cli.app import entry

entry()
