"""Running solves off the event loop.

Every solve function of this package is a pure function of picklable arguments (``plan``,
``vrptw.solve_instance_json``...), so the web layer can hand it to a process pool. A solve is
time-limited by its own ``time_limit``; ``limit_s`` here is the outer guard.

Two helpers:

* ``solve_in_pool`` uses a shared ``ProcessPoolExecutor``; cancelling the awaiting task cancels
  the work if it has not started, otherwise the worker finishes it at its own time limit and
  the result is discarded (a pool cannot kill one running task).
* ``solve_cancellable`` runs the call in a one-off worker process that is killed at once on
  cancellation or timeout: costs a process start (~0.1-0.3 s), frees the CPU immediately.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class SolveTimeout(TimeoutError):
    """The solve did not answer within its outer timeout."""


async def solve_in_pool(
    executor: Executor, fn: Callable[..., T], *args: object, limit_s: float | None = None
) -> T:
    """Await ``fn(*args)`` run in ``executor`` (normally a ``ProcessPoolExecutor``).

    Raises ``SolveTimeout`` after ``limit_s`` seconds; cancellation reaches the pool future.
    """
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(limit_s):
            return await loop.run_in_executor(executor, fn, *args)
    except TimeoutError as exc:
        raise SolveTimeout(f"solve did not finish within {limit_s} s") from exc


def _spawn_pool() -> ProcessPoolExecutor:
    # "spawn" keeps a forked copy of a running event loop (and its sockets) out of the worker.
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


async def solve_cancellable(fn: Callable[..., T], *args: object, limit_s: float) -> T:
    """Run ``fn(*args)`` in its own worker process; kill it on cancellation or timeout."""
    pool = _spawn_pool()
    try:
        async with asyncio.timeout(limit_s):
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
    except TimeoutError as exc:
        raise SolveTimeout(f"solve did not finish within {limit_s:.1f} s") from exc
    finally:
        _kill(pool)


def _kill(pool: ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor has no public terminate before Python 3.14; its workers are ours alone.
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=1.0)
