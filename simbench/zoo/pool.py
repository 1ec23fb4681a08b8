"""Local process pools that stop at once, and quietly, on Ctrl-C or a failed task.

Workers are spawned (never forked: torch's and BLAS's threads do not survive a fork)
and ignore SIGINT from their first instruction: they are started while the parent
ignores it (an ignored signal stays ignored through ``exec`` and Python's start-up),
and their initializer ignores it again. Ctrl-C in a terminal signals the whole process
group; with the workers deaf to it, only the parent sees it: it cancels the pending
tasks, terminates the workers and re-raises ``KeyboardInterrupt``, which the CLI
reports in one line. Otherwise every worker would print its own traceback and the
parent would wait for the running tasks to finish. The same happens when a task
raises: its exception reaches the caller at once, without waiting for the others.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: the variables that set the thread count of OpenMP (torch), MKL and OpenBLAS
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@contextmanager
def process_pool(workers: int, threads: int | None = None):
    """A spawned :class:`~concurrent.futures.ProcessPoolExecutor` of ``workers`` processes.

    ``threads``: torch/BLAS threads per worker (:data:`THREAD_VARIABLES`, read by each
    library when the worker imports it); a variable the user has set is kept. ``None``
    leaves the workers the libraries' defaults (every core each: oversubscribed when
    several workers share the cores, and BLAS threads that spin-wait for each other
    slow such runs many-fold).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_ignore_interrupts)
    try:
        with _thread_environment(threads):  # workers are started now, so they inherit it
            _start_workers(pool, workers)
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


@contextmanager
def _thread_environment(threads: int | None):
    """``os.environ`` with :data:`THREAD_VARIABLES` defaulting to ``threads``, restored after."""
    added = [] if threads is None else [v for v in THREAD_VARIABLES if v not in os.environ]
    os.environ.update({v: str(threads) for v in added})
    try:
        yield
    finally:
        for variable in added:
            os.environ.pop(variable, None)


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now, with SIGINT ignored (workers start on submit, one per task).

    Only the main thread may change signal handlers; elsewhere the workers still start
    now (and inherit the environment) and their initializer ignores SIGINT."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        for _ in range(workers):
            pool.submit(int)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Cancel the pending tasks and end the workers now."""
    terminate = getattr(pool, "terminate_workers", None)  # Python ≥ 3.14
    if terminate is not None:
        terminate()
        return
    processes = list((pool._processes or {}).values())  # no public handle before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()
