"""The validate command shows and uses the library's defaults, not copies of them."""

from __future__ import annotations

import inspect

from rangeguard.cli import validate as cli_validate
from rangeguard.montecarlo import validation
from rangeguard.montecarlo.suggest import derive_envelopes


def _cli_defaults() -> dict[str, object]:
    fn = cli_validate.validate  # the command (typer.Option defaults)
    return {
        name: p.default.default for name, p in inspect.signature(fn).parameters.items() if hasattr(p.default, "default")
    }


def test_validate_defaults_are_the_library_defaults():
    lib = {name: p.default for name, p in inspect.signature(validation.validate).parameters.items()}
    cli = _cli_defaults()
    assert cli["runs"] == lib["runs"]
    assert cli["failure_runs"] == lib["failure_runs"]
    assert cli["chunk_size"] == lib["chunk_size"]
    assert cli["t_max"] == lib["t_max_s"]
    assert cli["suggest_spread"] == inspect.signature(derive_envelopes).parameters["spread"].default
