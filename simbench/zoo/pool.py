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

import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def process_pool(workers: int):
    """A spawned :class:`~concurrent.futures.ProcessPoolExecutor` of ``workers`` processes."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_ignore_interrupts)
    try:
        _start_workers(pool, workers)
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now, with SIGINT ignored (workers start on submit, one per task)."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may change signal handlers; the initializer still runs
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for _ in range(workers):
            pool.submit(int)
    finally:
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
