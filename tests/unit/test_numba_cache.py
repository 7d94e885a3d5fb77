"""The compiled kernels' on-disk cache is one folder per state of the whole source (rangeguard.jit): numba
re-checks only the file of the kernel it loads, so a kernel compiled with a helper inlined from another file
must not be reused after that file changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rangeguard.jit import source_cache_dir


def _package(root: Path) -> Path:
    pkg = root / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "kernels.py").write_text("from pkg.sub.helper import h\n")
    (pkg / "sub" / "helper.py").write_text("def h(x):\n    return x + 1\n")
    return pkg


def test_an_edit_in_any_file_gives_a_fresh_folder_and_clears_the_old(tmp_path):
    pkg, base = _package(tmp_path), tmp_path / "cache"
    first = source_cache_dir(base, pkg)
    assert source_cache_dir(base, pkg) == first  # same source, same folder
    first.mkdir(parents=True)
    (pkg / "sub" / "helper.py").write_text("def h(x):\n    return x + 2\n")  # only the inlined helper changes
    second = source_cache_dir(base, pkg)
    assert second != first and second.parent == base
    assert not first.exists()  # the stale folder is gone


def test_the_package_sets_numbas_cache_folder_from_the_base(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["RANGEGUARD_NUMBA_CACHE"] = str(tmp_path)
    code = "import numba, rangeguard.jit as j; print(numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    folder = Path(out.stdout.strip())
    assert folder.parent == tmp_path and len(folder.name) == 16
    assert folder == source_cache_dir(tmp_path)


def test_numbas_own_setting_wins(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "mine"), RANGEGUARD_NUMBA_CACHE=str(tmp_path / "ours"))
    code = "import numba, rangeguard.jit; print(numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()) == tmp_path / "mine"
