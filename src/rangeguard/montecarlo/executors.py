"""Where independent tasks run: this process, a pool of local processes, or a Dask cluster.

One small job shared by the Monte Carlo runner (:mod:`rangeguard.montecarlo.runner`) and the risk
sweep (:mod:`rangeguard.risk.sweep`): call ``fn(task)`` for every task and hand each result to
``finished(task, result)`` in this process as soon as it arrives (in completion order, not task
order). The tasks must be pure (a result depends only on its task), so the backend never changes an
answer, only how long it takes.

- ``inprocess``: one task after another here;
- ``processes``: a ``concurrent.futures`` pool of ``workers`` spawned processes;
- ``dask``: ``dask.distributed``, on an existing scheduler (``scheduler`` address) or on a
  LocalCluster of ``workers`` single-threaded worker processes on 127.0.0.1. A worker that dies
  mid-task has its task rescheduled on another (Dask's own recovery).

This module imports nothing of the engine, so packages that must not depend on it (risk) can use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rangeguard.errors import InputError

BACKENDS = ("inprocess", "processes", "dask")

T = TypeVar("T")
R = TypeVar("R")


def check_backend(backend: str, workers: int) -> None:
    """InputError unless ``backend`` is one of :data:`BACKENDS` and ``workers`` >= 1."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if workers < 1:
        raise InputError(f"workers must be >= 1; got {workers}")


def run_all(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    finished: Callable[[T, R], None],
    backend: str = "inprocess",
    workers: int = 1,
    scheduler: str | None = None,
    worker_init: Callable[[], None] | None = None,
    name: Callable[[T], str] = lambda task: "task",
) -> None:
    """``finished(task, fn(task))`` for every task, on ``backend`` (module docstring).

    ``worker_init`` runs once in every worker process first (processes and dask). ``name(task)``
    labels a task's Dask key. If ``finished`` raises (e.g. KeyboardInterrupt from a progress bar),
    the tasks not yet started are cancelled and the exception propagates."""
    check_backend(backend, workers)
    if not tasks:
        return
    if backend == "inprocess":
        for t in tasks:
            finished(t, fn(t))
    elif backend == "processes":
        _run_processes(fn, tasks, finished, workers, worker_init)
    else:
        _run_dask(fn, tasks, finished, workers, scheduler, worker_init, name)


def _run_processes(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    finished: Callable[[T, R], None],
    workers: int,
    worker_init: Callable[[], None] | None,
) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=worker_init) as pool:
        pending: dict[Future[R], T] = {pool.submit(fn, t): t for t in tasks}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    finished(pending.pop(f), f.result())
        except BaseException:
            for f in pending:
                f.cancel()
            raise


def _run_dask(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    finished: Callable[[T, R], None],
    workers: int,
    scheduler: str | None,
    worker_init: Callable[[], None] | None,
    name: Callable[[T], str],
) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise InputError("the dask backend needs dask[distributed]: pip install 'dask[distributed]'") from None
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except OSError as exc:
                raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        else:
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            )
            client = Client(cluster)
        with client:
            if worker_init is not None:
                client.run(worker_init)
            futures: dict[Any, tuple[Any, T]] = {}
            for t in tasks:
                f = client.submit(fn, t, key=f"rangeguard-{name(t)}-{id(t):x}", pure=False, retries=2)
                futures[f.key] = (f, t)
            for f in as_completed([f for f, _ in futures.values()]):
                finished(futures[f.key][1], f.result())
                f.release()
    finally:
        if cluster is not None:
            cluster.close()


def one_numba_thread() -> None:
    """``worker_init`` for worker processes: one numba thread each (the parallelism is the processes)."""
    try:
        import numba

        numba.set_num_threads(1)
    except Exception:  # noqa: BLE001 - best effort
        pass
