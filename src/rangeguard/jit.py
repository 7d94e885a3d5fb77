"""The one decorator family for rangeguard's compiled flight kernels (numba).

Every kernel of the flight path (earth, iip, rules, engine, sim) is compiled
by :func:`kernel` or :func:`rows_kernel`, so they share one set of options:

- ``cache=True``: compiled once per machine and state of the source, loaded from disk afterwards
  (see "The on-disk cache" below);
- ``error_model="numpy"``: a division by zero or a domain error gives inf or
  NaN as numpy would, never a Python exception out of the compiled loop. The
  flight logic judges NaN explicitly (a row it cannot judge holds its
  history); an exception inside a cycle would be a failure of the AFSS
  (numba's default "python" model raises ZeroDivisionError, e.g. on a zero
  attitude quaternion).

Options particular to a kernel (``inline="always"``, ``fastmath=...``,
``_nrt=False``) are passed through.

Batches (:func:`rows_kernel`): a kernel over independent rows (vehicles,
points, nav samples) is written once, as a loop over rows ``lo..hi-1``::

    @rows_kernel()
    def _impact_rows(r, v, lat, lon, tof, lo, hi):
        for i in range(lo, hi):
            ...

    _impact_rows(n, r, v, lat, lon, tof)                  # all n rows
    _impact_rows(n, r, v, lat, lon, tof, parallel=False)  # all n rows, this thread only
    run = _impact_rows.bind(n)                            # the same choice, made once ...
    run(r, v, lat, lon, tof)                              # ... for a caller in a 10 Hz loop

A call runs every row: in one call on this thread when ``n`` is below
:data:`PARALLEL_MIN_ROWS` (or ``parallel=False``), else in chunks of
:data:`CHUNK_ROWS` rows on numba's thread pool. The rows are independent, so
both give bit-identical results. ``.serial`` is the compiled loop itself
(``f(*args, lo, hi)``, callable from other kernels); ``.parallel`` the
compiled chunk loop (``g(n, *args)``); ``.bind(n, parallel)`` the choice made
once, as ``run(*args)``.

Arguments may be arrays, scalars and tuples (named or plain) of arrays, but
not tuples of tuples (numba's parallel loops refuse them). numba's dispatcher
types a plain tuple in C and a named tuple in Python: a caller that runs a
kernel every cycle passes ``tuple(named)`` (the kernel unpacks either the
same way), e.g. :class:`rangeguard.sim.simulator.Simulator`.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FunctionType
from typing import Any, TypeVar

import numba
import numpy as np
from numba import njit, prange

F = TypeVar("F", bound=Callable[..., Any])

CACHE_BASE_ENV = "RANGEGUARD_NUMBA_CACHE"
"""The folder under which the compiled kernels are cached (default: the user's cache folder,
``$XDG_CACHE_HOME/rangeguard/numba`` or ``~/.cache/rangeguard/numba``)."""
_DIGEST_CHARS = 16
"""Length of a cache folder's name: the start of the hex SHA-256 of the package's sources."""


PACKAGE_DIR = Path(__file__).resolve().parent
"""The rangeguard package's source folder."""


def source_cache_dir(base: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """The cache folder of this state of the package's sources: ``base / <digest of every .py file>``.

    numba re-checks only the file of the kernel it loads, so a kernel compiled with a helper
    inlined from another file (``earth/interp.py`` into the simulator's kernels) would run stale
    after that file changed. One folder per state of the whole source cannot: an edit anywhere
    gives a fresh folder. Folders of earlier states under ``base`` are removed.
    """
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(path.read_bytes())
    here = base / digest.hexdigest()[:_DIGEST_CHARS]
    if base.is_dir():
        for old in base.iterdir():
            if old.is_dir() and old != here and len(old.name) == _DIGEST_CHARS:
                shutil.rmtree(old, ignore_errors=True)
    return here


def _default_cache_base() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rangeguard" / "numba"


# The on-disk cache: numba's own NUMBA_CACHE_DIR wins when set; otherwise one folder per state of the
# source under CACHE_BASE_ENV (or the user's cache folder), set before any kernel below is compiled.
if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = str(  # type: ignore[attr-defined]  # numba.config sets its names at run time
        source_cache_dir(Path(os.environ.get(CACHE_BASE_ENV) or _default_cache_base()))
    )

PARALLEL_MIN_ROWS = 2048
"""Below this many rows one thread is faster than starting numba's thread pool (measured for
the IIP and polygon kernels, about 0.3-1 us per row)."""

CHUNK_ROWS = 1024
"""Rows per task on the thread pool (and per call of the row loop there)."""


def kernel(**options: Any) -> Callable[[F], F]:
    """numba's ``njit`` with the flight options (see the module docstring) plus ``options``."""
    decorate: Callable[[F], F] = njit(cache=True, error_model="numpy", **options)
    return decorate


_CHUNK_LOOP = """
def {name}(n, {params}):
    for c in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        lo = np.int64(c) * CHUNK_ROWS  # the serial call's argument types: one compiled row loop
        _rows({params}, lo, min(n, lo + CHUNK_ROWS))
"""


def _chunk_loop(
    rows: Callable[..., None], py_func: Callable[..., None], options: dict[str, Any]
) -> Callable[..., None]:
    """The parallel chunk loop of one row kernel, compiled with ``options``: ``g(n, *args)``.

    Generated from :data:`_CHUNK_LOOP` with the row function's own parameters
    (numba's parallel loops cannot take a tuple holding named tuples of arrays,
    so ``*args`` is spelled out) and ``_rows`` bound through its globals (not a
    closure: numba hashes closure cells with the dispatcher's per-process id,
    so a closure would never load from the cache). The function carries the
    row function's file, line, module and qualified name plus ``_chunks``, so
    its cache files sit beside the row kernel's and are invalidated when that
    file changes.
    """
    params = list(inspect.signature(py_func).parameters)[:-2]  # all but lo, hi
    clash = set(params) & {"n", "c", "lo", "np", "prange", "CHUNK_ROWS", "_rows"}
    if clash:
        raise TypeError(
            f"rows_kernel {py_func.__qualname__}: rename the parameter(s) {sorted(clash)}; the chunk "
            f"loop uses those names"
        )
    name = py_func.__name__ + "_chunks"
    scope: dict[str, Any] = {
        "__name__": py_func.__module__,
        "np": np,
        "prange": prange,
        "CHUNK_ROWS": CHUNK_ROWS,
        "_rows": rows,
    }
    code = compile(_CHUNK_LOOP.format(name=name, params=", ".join(params)), py_func.__code__.co_filename, "exec")
    exec(code, scope)
    fn: FunctionType = scope[name]
    fn.__code__ = fn.__code__.replace(co_firstlineno=py_func.__code__.co_firstlineno)
    fn.__qualname__ = py_func.__qualname__ + "_chunks"
    fn.__doc__ = f"{py_func.__name__} over rows 0..n-1, in chunks of CHUNK_ROWS on numba's thread pool."
    return kernel(parallel=True, **options)(fn)


class RowsKernel:
    """A compiled loop over rows ``lo..hi-1`` and its chunked parallel twin (:func:`rows_kernel`)."""

    def __init__(self, py_func: Callable[..., None], options: dict[str, Any]) -> None:
        self.serial: Callable[..., None] = kernel(**options)(py_func)
        self.parallel: Callable[..., None] = _chunk_loop(
            self.serial, py_func, {k: v for k, v in options.items() if k != "_nrt"}
        )
        self.__name__ = py_func.__name__
        self.__doc__ = py_func.__doc__

    def __call__(self, n: int | np.integer[Any], *args: Any, parallel: bool = True) -> None:
        """Run rows 0..n-1: serial below PARALLEL_MIN_ROWS or when not ``parallel``, else in chunks.

        (Kept lean: the simulator calls it every cycle. ``n`` a Python or numpy integer; numba
        types both as int64, so the serial and chunked calls share one compiled row loop.)"""
        if parallel and n >= PARALLEL_MIN_ROWS:
            self.parallel(n, *args)
        else:
            self.serial(*args, 0, n)

    def bind(self, n: int | np.integer[Any], parallel: bool = True) -> Callable[..., None]:
        """``f(*args)`` that runs rows 0..n-1 as ``self(n, *args, parallel=parallel)`` would, the
        serial/parallel choice made once: for a caller that runs the same rows every cycle."""
        if parallel and n >= PARALLEL_MIN_ROWS:
            return partial(self.parallel, n)
        serial = self.serial
        return lambda *args: serial(*args, 0, n)


def rows_kernel(**options: Any) -> Callable[[Callable[..., None]], RowsKernel]:
    """Decorator: ``f(*args, lo, hi)``, a loop over independent rows lo..hi-1, as a :class:`RowsKernel`.

    ``options`` go to both compiled loops (as for :func:`kernel`; ``_nrt`` only to the
    serial one). Call the result as ``k(n, *args, parallel=True)``; see the module docstring.
    """
    return lambda py_func: RowsKernel(py_func, options)
