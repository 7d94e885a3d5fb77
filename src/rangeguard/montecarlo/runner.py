"""Chunked Monte Carlo execution: in-process, local processes or a Dask cluster, resumable.

:func:`run_tasks` takes a list of :class:`~rangeguard.montecarlo.chunks.ChunkTask`
and a directory. A task whose Parquet file is already there, and checks out
against the folder's manifest (:mod:`rangeguard.montecarlo.manifest`: its
SHA-256 digest, and rows that are exactly the task's case and run range), is
skipped, so a rerun with the same arguments resumes an interrupted one; a
file that does not check out (corrupt, truncated, swapped, foreign, not
recorded) is recomputed with a warning that names it and says why. Every
other task runs on the chosen backend and its table is written crash-safely
(temporary file, manifest entry, rename) as soon as it arrives.
:func:`read_rows` checks each file the same way again before it reads it,
and :func:`run_and_read` does both, recomputing a chunk that changed in
between. The folder is named by the mission fingerprint and the files by
case and run range, so runs of a different mission or different dispersions
never mix, and because run k depends only on (mission seed, k) the answer
does not depend on the chunk size, the worker count or the backend.

Backends:

- ``inprocess``: one chunk after another in this process;
- ``processes``: a ``concurrent.futures`` pool of ``workers`` spawned processes;
- ``dask``: ``dask.distributed``, on an existing scheduler (``scheduler``
  address) or on a LocalCluster of ``workers`` single-threaded worker
  processes started here. A worker that dies mid-chunk has its chunk
  rescheduled on another (Dask's own recovery); results are the same.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from rangeguard.errors import RangeguardError
from rangeguard.montecarlo.chunks import ChunkTask, run_chunk
from rangeguard.montecarlo.executors import check_backend, one_numba_thread, run_all
from rangeguard.montecarlo.manifest import Manifest, check_chunk, write_chunk

FORMAT_VERSION = "1"
"""Bumped when a chunk's rows change meaning, so old chunk files are not reused."""


def fingerprint(*missions, extra: str = "") -> str:
    """A short hash of the missions' content (everything that decides a run's outcome)."""
    h = hashlib.sha256(FORMAT_VERSION.encode())
    for m in missions:
        h.update(m.model_dump_json().encode())
        if m.vehicle is not None:  # motor curves come from files: hash the resolved content too
            for st in m.vehicle.stages:
                if st.eng_file:
                    try:
                        h.update(Path(st.eng_file).read_bytes())
                    except OSError:
                        h.update(str(st.eng_file).encode())
        for a in m.areas:  # outlines may come from GeoJSON files: hash the resolved vertices too
            h.update(repr(m.outlines.get(a.name, a.name)).encode())
    h.update(extra.encode())
    return h.hexdigest()[:16]


class ChunkWarning(UserWarning):
    """A chunk file was not trusted (and is recomputed): the message names it and says why."""


class ChunkError(RangeguardError):
    """A chunk file failed its check when its rows were about to be read."""


def chunk_path(directory: Path, task: ChunkTask) -> Path:
    return Path(directory) / f"{task.name}.parquet"


def _warn(message: str) -> None:
    warnings.warn(message, ChunkWarning, stacklevel=3)


def _check_task(manifest: Manifest, task: ChunkTask) -> tuple[pa.Table | None, str]:
    return check_chunk(manifest, chunk_path(manifest.directory, task).name, task.case or "", task.start, task.stop)


def run_tasks(
    tasks: list[ChunkTask],
    directory: Path,
    backend: str = "inprocess",
    workers: int = 1,
    scheduler: str | None = None,
    on_chunk: Callable[[ChunkTask | None, int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> list[Path]:
    """Run every task whose file in ``directory`` is missing or fails its check; return the files of all
    tasks, in task order.

    ``on_chunk(task, runs_done)`` is called after each chunk is written (for
    progress; it may raise to stop the run, e.g. KeyboardInterrupt), and first with task None
    when runs are already on disk;
    ``on_warning(text)`` gets one line per chunk file that is recomputed
    because it failed its check (default: a :class:`ChunkWarning`). The
    folder's name is taken as the mission fingerprint the manifest must carry.
    """
    check_backend(backend, workers)
    warn = on_warning or _warn
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest, problem = Manifest.load(directory, directory.name)
    if problem:
        warn(f"chunk manifest {problem}: no chunk file in {directory} can be verified, each is recomputed")
    todo = []
    for t in tasks:
        if not chunk_path(directory, t).exists():
            todo.append(t)
            continue
        table, why = _check_task(manifest, t)
        if table is None:
            warn(f"chunk {chunk_path(directory, t)}: {why}; recomputing it")
            todo.append(t)
    done_runs = sum(t.n for t in tasks) - sum(t.n for t in todo)
    if on_chunk is not None and done_runs:
        on_chunk(None, done_runs)

    def finished(task, table):
        nonlocal done_runs
        write_chunk(manifest, chunk_path(directory, task).name, task.case or "", task.start, task.stop, table)
        done_runs += task.n
        if on_chunk is not None:
            on_chunk(task, done_runs)

    run_all(
        run_chunk,
        todo,
        finished,
        backend=backend,
        workers=workers,
        scheduler=scheduler,
        worker_init=one_numba_thread,
        name=lambda t: f"chunk-{t.name}",
    )
    return [chunk_path(directory, t) for t in tasks]


def read_rows(paths: list[Path]) -> pa.Table:
    """All rows of the chunk files (nullable columns unified), in file order, each file checked first
    against its folder's manifest (digest, and rows that are the runs recorded for it); raises
    :class:`ChunkError` naming a file that fails."""
    manifests: dict[Path, Manifest] = {}
    tables = []
    for p in map(Path, paths):
        if p.parent not in manifests:
            manifests[p.parent], problem = Manifest.load(p.parent, p.parent.name)
            if problem:
                raise ChunkError(f"chunk manifest {problem}: the chunks cannot be verified; rerun to recompute them")
        m = manifests[p.parent]
        entry = m.entries.get(p.name)
        table, why = (
            (None, "not recorded in the manifest")
            if entry is None
            else check_chunk(m, p.name, entry.case, entry.start, entry.stop)
        )
        if table is None:
            raise ChunkError(
                f"chunk {p}: {why}; it changed after it was checked or written (another process "
                f"writing into {p.parent}?); rerun to recompute it"
            )
        tables.append(table)
    if not tables:
        return pa.table({"case": pa.array([], pa.string()), "run": pa.array([], pa.int64())})
    return pa.concat_tables(tables, promote_options="default")


def run_and_read(
    tasks: list[ChunkTask], directory: Path, on_warning: Callable[[str], None] | None = None, **kwargs
) -> pa.Table:
    """:func:`run_tasks`, then :func:`read_rows` of every task's file; a file that fails its check
    between the two is recomputed once (run_tasks warns about it) before the rows are read again."""
    paths = run_tasks(tasks, directory, on_warning=on_warning, **kwargs)
    try:
        return read_rows(paths)
    except ChunkError:
        pass
    return read_rows(run_tasks(tasks, directory, on_warning=on_warning, **kwargs))
