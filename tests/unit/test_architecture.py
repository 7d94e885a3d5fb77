"""The core (earth, iip, nav, mission, rules, engine) never imports the outer layers.

The contracts live in pyproject.toml ([tool.importlinter]); this test runs them
with import-linter, so a violating import fails `make test`.
"""

from __future__ import annotations

import pathlib

from importlinter import cli as importlinter_cli

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert importlinter_cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_contract_catches_a_forbidden_import(tmp_path, monkeypatch):
    """The linter is live: a core module importing rangeguard.cli is reported."""
    pkg = tmp_path / "rangeguard"
    for sub in ("earth", "iip", "rules", "engine", "cli"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "earth" / "__init__.py").write_text("import rangeguard.cli\n")
    cfg = tmp_path / "contracts.toml"
    cfg.write_text(
        '[tool.importlinter]\nroot_package = "rangeguard"\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "core"\ntype = "forbidden"\n'
        'source_modules = ["rangeguard.earth"]\nforbidden_modules = ["rangeguard.cli"]\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in list(__import__("sys").modules):
        if name == "rangeguard" or name.startswith("rangeguard."):
            monkeypatch.delitem(__import__("sys").modules, name)
    assert importlinter_cli.lint_imports(config_filename=str(cfg), no_cache=True) != 0
