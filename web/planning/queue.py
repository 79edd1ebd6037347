"""The solver queue: a bounded set of solver processes, handed out first come first served.

* **Slots.** ``workers`` slots, each with its own one-process ``ProcessPoolExecutor``
  ("spawn"), started (OR-Tools imported) before its first solve and kept warm. A plan waits for
  a free slot in arrival order (``asyncio.Queue`` serves its getters in order); at most
  ``max_waiting`` plans wait, and none longer than ``queue_timeout`` seconds (503
  ``planner_busy`` with ``Retry-After``).
* **Time limits start at the solve.** The outer guard (``time limit + grace``) is armed once the
  plan holds its slot: time spent waiting is not counted against it.
* **A timeout kills only its own solve.** A timed-out, crashed or cancelled solve kills its
  slot's process alone; the slot gets a fresh process at its next solve. The other slots' solves
  go on.
* **One plan per user at a time**: a second one while the first is queued or running is 409
  ``plan_in_progress``. Re-entrant within one task, so a flow that holds the user's turn (an
  emergency: mark unavailable, then plan) may plan inside it.
* **Several web processes** (``shared``, with ``REDIS_URL``): the slots, the waiting line and the
  users' turns are the cluster's (``web/planning/shared.py``), so ``workers`` plans solve at once
  in all of them together, in arrival order, and a user's second plan is refused whichever
  process it reaches. Each process keeps ``workers`` solver processes of its own (started at its
  first solve), of which it uses only as many as it holds slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain.errors import Conflict, Unavailable
from routing.runner import SolveTimeout, solve_in_pool
from web.planning import worker
from web.planning.shared import LineFull, SharedPlanning, Unreachable

T = TypeVar("T")


class SolveFailed(Exception):
    """The solve timed out or its process died; only its own slot was reset."""


@dataclass
class _Slot:
    number: int
    pool: ProcessPoolExecutor | None = None

    async def ready(self, startup_limit: float) -> ProcessPoolExecutor:
        """The slot's process, started and warmed up (OR-Tools imported) first if need be, so
        that a solve's time limit does not pay for a process start."""
        if self.pool is None:
            pool = ProcessPoolExecutor(max_workers=1,
                                       mp_context=multiprocessing.get_context("spawn"))
            self.pool = pool
            try:
                await solve_in_pool(pool, worker.warm_up, limit_s=startup_limit)
            except BaseException:
                self.kill()
                raise
        return self.pool

    def kill(self) -> None:
        pool, self.pool = self.pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()
        for process in processes:
            process.join(timeout=1.0)


@dataclass
class Turn:
    """A plan's place: how long it waited for its slot (set once it has one)."""

    user_id: str
    queued_seconds: float = 0.0
    slot: int | None = None


@dataclass
class SolverQueue:
    workers: int = 1
    max_waiting: int = 8
    queue_timeout: float = 120.0
    grace: float = 30.0
    startup_limit: float = 60.0
    #: The cluster's slots, line and turns (Redis); None: this process's alone.
    shared: SharedPlanning | None = None
    _free: asyncio.Queue[_Slot] | None = None
    _slots: list[_Slot] = field(default_factory=list)
    _users: dict[str, asyncio.Task[Any] | None] = field(default_factory=dict)
    _waiting: int = 0

    def _queue(self) -> asyncio.Queue[_Slot]:
        if self._free is None:
            self._slots = [_Slot(n) for n in range(self.workers)]
            self._free = asyncio.Queue()
            for slot in self._slots:
                self._free.put_nowait(slot)
        return self._free

    @property
    def waiting(self) -> int:
        """Plans waiting for a slot now."""
        return self._waiting

    @contextlib.asynccontextmanager
    async def user_turn(self, user_id: str) -> AsyncIterator[None]:
        """Hold the user's one plan; 409 ``plan_in_progress`` while another task (here, or in
        another process when shared) holds it."""
        task = asyncio.current_task()
        if user_id in self._users and self._users[user_id] is task:  # planning inside its turn
            yield
            return
        if user_id in self._users:
            raise _in_progress()
        self._users[user_id] = task
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.shared is not None:
                    try:
                        held = await stack.enter_async_context(self.shared.user_turn(user_id))
                    except Unreachable as error:
                        raise _unreachable() from error
                    if not held:
                        raise _in_progress()
                yield
        finally:
            del self._users[user_id]

    @contextlib.asynccontextmanager
    async def slot(self, turn: Turn) -> AsyncIterator[_Slot]:
        """Wait (in arrival order) for a free slot; give it back afterwards."""
        free = self._queue()
        if self.shared is None and free.empty() and self._waiting >= self.max_waiting:
            raise self._busy("every solver is busy and the queue is full", self._waiting)
        started = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            self._waiting += 1
            try:
                async with asyncio.timeout(self.queue_timeout):
                    if self.shared is not None:
                        await stack.enter_async_context(self.shared.slot())
                    held = await free.get()  # at once, unless a lost lease let more in
            except TimeoutError:
                raise self._busy("no solver became free in time", self._waiting) from None
            except LineFull as full:
                raise self._busy("every solver is busy and the queue is full",
                                 full.waiting) from None
            except Unreachable as error:
                raise _unreachable() from error
            finally:
                self._waiting -= 1
            turn.queued_seconds = time.monotonic() - started
            turn.slot = held.number
            try:
                yield held
            finally:
                free.put_nowait(held)

    def _busy(self, why: str, waiting: int) -> Unavailable:
        retry = max(1, math.ceil(min(self.queue_timeout, 5.0 * max(1, waiting))))
        return Unavailable(f"{why}; try again shortly", code="planner_busy", retry_after=retry)

    async def solve(self, slot: _Slot, fn: Callable[..., T], *args: object,
                    time_limit: float) -> T:
        """``fn(*args)`` in the slot's process, guarded by ``time_limit + grace`` from the moment
        the process is ready. A timeout, a dead process or a cancellation kills this slot's
        process only."""
        try:
            executor = await slot.ready(self.startup_limit)
            return await solve_in_pool(executor, fn, *args, limit_s=time_limit + self.grace)
        except (SolveTimeout, BrokenProcessPool) as error:
            slot.kill()
            raise SolveFailed(str(error) or type(error).__name__) from error
        except asyncio.CancelledError:
            slot.kill()
            raise

    async def stop(self) -> None:
        for slot in self._slots:
            slot.kill()
        if self.shared is not None:
            await self.shared.close()


def _in_progress() -> Conflict:
    return Conflict("a plan of yours is already queued or running; wait for it",
                    code="plan_in_progress")


def _unreachable() -> Unavailable:
    return Unavailable("the planning queue cannot be reached; try again shortly",
                       code="planner_busy", retry_after=5)
