"""One small supervisor for the background work of a process: the relay, alerts, SMS delivery,
retention, the feeds, the revocation refresh.

Two kinds of worker:

- **periodic**: ``step()`` runs, then the worker waits ``interval`` seconds (or, if ``step``
  returned ``After(seconds)``, that long) unless ``wake`` is set first. Only ``After`` sets the
  wait: a step that answers a count (``0`` delivered) or a result waits the ``interval``, so a
  quiet step never runs again at once by accident. A step that raises is logged and retried after a
  backoff (exponential, jittered, capped; an error's ``retry_after`` wins); a success resets it.
  A worker marked ``leader`` runs its step only while ``leader()`` says this process leads (the
  relay's lock), so a once-per-cluster job never runs on two processes at once.
- **service**: ``run()`` is a long-running coroutine (a feed client with its own retry loop). If
  it ever returns or raises, it is started again after a backoff.

Cancellation always goes through: ``stop()`` cancels every worker and waits for it. Each worker
keeps a health record (state, last success, last error, restarts) that ``/readyz`` reads, and
reports what happens to an ``observer`` (the web layer's metrics). The clock, the sleep and the
random source are injected, so tests run the backoff without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("dispatch.supervisor")

#: A periodic step; an ``After`` it returns is the wait before the next step.
Step = Callable[[], Awaitable[object]]
Sleep = Callable[[float], Awaitable[None]]
#: A service's own view of its last success and last error (e.g. a feed client's counters).
Report = Callable[[], tuple[dt.datetime | None, str | None]]

#: How often a worker waiting for leadership looks again (a flag the relay keeps: cheap).
STANDBY_RECHECK = 2.0
#: How long ``Supervisor.stop`` lets a step under way finish before cancelling it.
STOP_GRACE = 5.0


@dataclass(frozen=True)
class After:
    """What a periodic step returns to choose the wait before its next step itself (e.g. the
    relay: its poll while leading, longer while another process leads; 0 for more at once)."""

    seconds: float


class WorkerObserver(Protocol):
    def succeeded(self, name: str, seconds: float) -> None: ...

    def failed(self, name: str, error: BaseException) -> None: ...

    def restarting(self, name: str, delay: float) -> None: ...

    def state_changed(self, name: str, state: str) -> None: ...


@dataclass
class WorkerHealth:
    """What a worker has been doing, for ``/readyz`` and ``/metrics``."""

    name: str
    kind: str
    leader_only: bool = False
    #: idle (not started) | running | waiting | standby (not the leader) | backoff | stopped
    state: str = "idle"
    last_success: dt.datetime | None = None
    last_error: str | None = None
    restarts: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    runs: int = 0
    report: Report | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, object]:
        last_success, last_error = self.last_success, self.last_error
        if self.report is not None:
            reported_ok, reported_error = self.report()
            if reported_ok is not None and (last_success is None or reported_ok > last_success):
                last_success = reported_ok
            last_error = reported_error or last_error
        return {"state": self.state, "kind": self.kind, "leader_only": self.leader_only,
                "last_success": last_success.isoformat() if last_success else None,
                "last_error": last_error, "restarts": self.restarts, "failures": self.failures,
                "consecutive_failures": self.consecutive_failures, "runs": self.runs}


@dataclass
class _Worker:
    health: WorkerHealth
    body: Callable[[_Worker], Coroutine[Any, Any, None]]
    step: Step | None = None
    run: Callable[[], Awaitable[object]] | None = None
    interval: float = 60.0
    wake: asyncio.Event | None = None
    leader: Callable[[], bool] | None = None
    initial_delay: float = 0.0
    min_spacing: float = 0.0
    task: asyncio.Task[None] | None = None
    stepping: bool = False  # a periodic worker in the middle of a step


class Supervisor:
    def __init__(
        self, *, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        sleep: Sleep = asyncio.sleep, rng: random.Random | None = None,
        backoff_base: float = 1.0, backoff_cap: float = 60.0,
        observer: WorkerObserver | None = None,
    ) -> None:
        if backoff_base <= 0 or backoff_cap < backoff_base:
            raise ValueError("need 0 < backoff_base <= backoff_cap")
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.observer = observer
        self.workers: dict[str, _Worker] = {}
        self.running = False

    # -- declaring work ---------------------------------------------------------------------------

    def periodic(self, name: str, step: Step, *, interval: float,
                 wake: asyncio.Event | None = None, leader: Callable[[], bool] | None = None,
                 initial_delay: float = 0.0, min_spacing: float = 0.0) -> WorkerHealth:
        """Run ``step`` every ``interval`` s (an ``After`` it returns is the next wait instead)."""
        health = WorkerHealth(name, "periodic", leader_only=leader is not None)
        return self._add(_Worker(health, self._periodic, step=step, interval=interval, wake=wake,
                                 leader=leader, initial_delay=initial_delay,
                                 min_spacing=min_spacing))

    def service(self, name: str, run: Callable[[], Awaitable[object]], *,
                report: Report | None = None) -> WorkerHealth:
        """Keep ``run()`` running: started again (after a backoff) whenever it ends."""
        health = WorkerHealth(name, "service", report=report)
        return self._add(_Worker(health, self._service, run=run))

    def _add(self, worker: _Worker) -> WorkerHealth:
        name = worker.health.name
        if name in self.workers and self.workers[name].task is not None:
            raise ValueError(f"a worker named {name!r} is already supervised")
        self.workers[name] = worker
        if self.running:
            self._launch(worker)
        return worker.health

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every declared worker; workers declared later start at once."""
        self.running = True
        for worker in self.workers.values():
            if worker.task is None:
                self._launch(worker)

    def _launch(self, worker: _Worker) -> None:
        worker.task = asyncio.create_task(worker.body(worker), name=worker.health.name)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop every worker. One waiting for its next step is cancelled at once; one in the
        middle of a step may finish it, for up to ``grace`` seconds, so that a transaction, a
        claim or a delivery is not cut off halfway (a cancelled database call leaves its
        connection to be torn down, which on SQLite can hold the write lock meanwhile); then it
        is cancelled too. Each is awaited before this returns."""
        self.running = False
        tasks = {w.task: w for w in self.workers.values() if w.task is not None}
        stepping = [task for task, w in tasks.items() if w.stepping and not task.done()]
        for task in tasks:
            if task not in stepping:
                task.cancel()
        if stepping:
            await asyncio.wait(stepping, timeout=grace)
        for task, worker in tasks.items():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            worker.task = None
            worker.stepping = False
            self._state(worker.health, "stopped")

    def health(self) -> dict[str, dict[str, object]]:
        return {name: w.health.as_dict() for name, w in self.workers.items()}

    # -- the loops --------------------------------------------------------------------------------

    def backoff_delay(self, failures: int, error: BaseException | None = None) -> float:
        """The wait after the ``failures``-th failure in a row: base * 2**(n-1), capped, times a
        random factor in [0.5, 1] (so workers do not retry in lock-step)."""
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after >= 0:
            return float(retry_after)
        nominal = min(self.backoff_cap, self.backoff_base * 2.0 ** min(failures - 1, 30))
        return nominal * self.rng.uniform(0.5, 1.0)

    async def _periodic(self, worker: _Worker) -> None:
        health = worker.health
        assert worker.step is not None
        if worker.initial_delay > 0:
            self._state(health, "waiting")
            await self._wait(worker, worker.initial_delay)
        while True:
            if worker.leader is not None and not worker.leader():
                self._state(health, "standby")
                await self._wait(worker, min(worker.interval, STANDBY_RECHECK))
                continue
            self._state(health, "running")
            loop = asyncio.get_running_loop()
            started = loop.time()
            worker.stepping = True
            try:
                outcome = await worker.step()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                worker.stepping = False  # before the backoff's sleep (``finally`` comes after it)
                delay = self._failed(health, error)
                self._state(health, "backoff")
                if not self.running:
                    return
                await self.sleep(delay)
                continue
            finally:
                worker.stepping = False
            self._succeeded(health, loop.time() - started)
            if not self.running:  # stopping: the step was let finish, no next one
                return
            delay = outcome.seconds if isinstance(outcome, After) else worker.interval
            if worker.min_spacing > 0:
                await self.sleep(worker.min_spacing)
            self._state(health, "waiting")
            await self._wait(worker, delay)

    async def _service(self, worker: _Worker) -> None:
        health = worker.health
        assert worker.run is not None
        while True:
            self._state(health, "running")
            try:
                await worker.run()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                delay = self._failed(health, error)
            else:
                delay = self._failed(health, RuntimeError(f"{health.name} ended on its own"))
            self._state(health, "backoff")
            await self.sleep(delay)
            health.restarts += 1
            if self.observer is not None:
                self.observer.restarting(health.name, delay)

    async def _wait(self, worker: _Worker, delay: float) -> None:
        """Sleep ``delay`` (the injected sleep), or less when the worker's ``wake`` is set."""
        if worker.wake is None:
            await self.sleep(delay)
            return
        if worker.wake.is_set():
            worker.wake.clear()
            return
        sleeper = asyncio.ensure_future(self.sleep(delay))
        waker = asyncio.ensure_future(worker.wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (sleeper, waker):
                pending.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)
        worker.wake.clear()

    def _succeeded(self, health: WorkerHealth, seconds: float) -> None:
        health.runs += 1
        health.consecutive_failures = 0
        health.last_success = self.clock()
        if self.observer is not None:
            self.observer.succeeded(health.name, seconds)

    def _failed(self, health: WorkerHealth, error: BaseException) -> float:
        health.runs += 1
        health.failures += 1
        health.consecutive_failures += 1
        health.last_error = f"{type(error).__name__}: {error}"[:500]
        delay = self.backoff_delay(health.consecutive_failures, error)
        log.error("worker %s failed (%s in a row); again in %.1fs", health.name,
                  health.consecutive_failures, delay, exc_info=error)
        if self.observer is not None:
            self.observer.failed(health.name, error)
        return delay

    def _state(self, health: WorkerHealth, state: str) -> None:
        if health.state != state:
            health.state = state
            if self.observer is not None:
                self.observer.state_changed(health.name, state)
