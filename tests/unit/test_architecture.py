"""Every package imports only what DESIGN.md's "Packages" table allows: the core (earth, iip, nav,
mission, rules, engine) never imports the outer layers, and each outer package has its own arrows.

The contracts live in pyproject.toml ([tool.importlinter]); this test runs them
with import-linter, so a violating import fails `make test`, and checks that
no package of rangeguard is left without a contract.
"""

from __future__ import annotations

import pathlib
import pkgutil
import tomllib

from importlinter import cli as importlinter_cli

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert importlinter_cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_every_package_has_its_arrows():
    """Each top-level package or module of rangeguard is the source of a forbidden contract of its own,
    except the command line (it may import everything) and the demo job (everything but the command line:
    the contract that nothing imports cli, and only cli imports it)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    contracts = config["contracts"]
    sources = {m for c in contracts if c["type"] == "forbidden" for m in c["source_modules"] if "*" not in m}
    packages = {f"rangeguard.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "src" / "rangeguard")])}
    assert {"rangeguard.formats", "rangeguard.telemetry", "rangeguard.cli", "rangeguard.demo"} <= packages
    assert sorted(packages - sources) == ["rangeguard.cli", "rangeguard.demo"]
    assert any(
        c["type"] == "forbidden"
        and c["source_modules"] == ["rangeguard.*"]
        and c["forbidden_modules"] == ["rangeguard.cli"]
        for c in contracts
    )
    assert any(
        c["type"] == "protected"
        and c["protected_modules"] == ["rangeguard.demo"]
        and c["allowed_importers"] == ["rangeguard.cli"]
        for c in contracts
    )


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
