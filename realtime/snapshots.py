"""Board snapshots built once and sent many times, with a bounded number read at once.

After a deploy or a network blip every board reconnects at once. Subscribers of the same scope
(``scope_key``: the same roles, stores, technician and topics, so the data they may see is the
same) at the same ``seq`` share one computation and one serialized ``snapshot`` message: the
first asks the source, the others wait for its answer (single flight). A finished message is
reused for ``reuse_seconds`` by subscribers that come later at the same ``seq``; a new ``seq``
(an event was published) always means a new read.

Reads hold a database connection, so at most ``slots`` run at once (sized to the main pool by
the composition root); the rest queue here, not in the pool, and whoever has to queue is told
(``on_wait``) so the client can say "loading the board" instead of waiting in silence. A freed
slot goes to the queued read that the most boards wait for (the dispatchers' shared one before
one store manager's), the earliest first among equals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from domain.roles import Principal
from realtime.ports import SnapshotSource

log = logging.getLogger("dispatch.snapshots")

ScopeKey = tuple[frozenset[str], frozenset[str] | None, str | None, frozenset[str]]
Waiting = Callable[[], None]


def scope_key(principal: Principal, topics: frozenset[str]) -> ScopeKey:
    """What a snapshot's content depends on: the roles (permissions: proposals, alerts, system
    alerts), the stores (``None``: every store), the technician (a technician sees only their
    own work) and the topics. Two users with equal keys may see exactly the same data; a store
    manager of other stores, or another technician, never has the same key."""
    return (frozenset(r.value for r in principal.roles),
            None if principal.store_ids is None else frozenset(principal.store_ids),
            principal.technician_id, frozenset(topics))


@dataclass(eq=False)
class _Flight:
    seq: int
    #: Waiting for a slot (those who join it now are told they wait).
    queued: bool
    task: asyncio.Task[str] | None = None
    done_at: float | None = None
    #: Sessions that asked for it (the slots serve the most awaited read first).
    waiters: int = 0


class _Slots:
    """At most ``size`` holders; a freed slot goes to the waiter with the most ``waiters``."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: list[tuple[_Flight, asyncio.Future[None]]] = []

    def busy(self) -> bool:
        return self.free <= 0 or bool(self.waiting)

    def take_now(self) -> bool:
        if self.busy():
            return False
        self.free -= 1
        return True

    async def take(self, flight: _Flight) -> None:
        if self.take_now():
            return
        entry = (flight, asyncio.get_running_loop().create_future())
        self.waiting.append(entry)
        try:
            await entry[1]
        except asyncio.CancelledError:
            if entry in self.waiting:
                self.waiting.remove(entry)
            elif not entry[1].cancelled():
                self.give()  # handed a slot just as it was cancelled: pass it on
            raise

    def give(self) -> None:
        if self.waiting:
            entry = max(self.waiting, key=lambda e: e[0].waiters)  # the earliest among equals
            self.waiting.remove(entry)
            entry[1].set_result(None)  # the slot passes straight to it
        else:
            self.free += 1


class SharedSnapshots:
    """Single-flight snapshot messages per scope and ``seq``, at most ``slots`` read at once."""

    def __init__(self, source: SnapshotSource, *, slots: int = 4, reuse_seconds: float = 1.0,
                 attempts: int = 3, retry_after: float = 1.0) -> None:
        self.source = source
        self.slots = max(1, slots)
        self.reuse_seconds = reuse_seconds
        #: A failed read (the database away, the pool exhausted) is tried this many times in
        #: all, ``retry_after`` seconds apart (doubling), before ``message`` raises.
        self.attempts = max(1, attempts)
        self.retry_after = retry_after
        self._free = _Slots(self.slots)
        self._flights: dict[ScopeKey, _Flight] = {}
        #: Snapshot reads made, and snapshot messages handed out (computed once, sent many times).
        self.computed = 0
        self.served = 0
        self.failed = 0

    @property
    def queued(self) -> int:
        """Reads waiting for a slot now."""
        return sum(1 for f in self._flights.values() if f.queued)

    def stats(self) -> dict[str, int]:
        return {"computed": self.computed, "sent": self.served, "failed": self.failed,
                "in_flight": sum(1 for f in self._flights.values() if f.done_at is None),
                "queued": self.queued, "kept": len(self._flights), "slots": self.slots}

    async def message(self, principal: Principal, topics: frozenset[str], seq: int,
                      on_wait: Waiting | None = None) -> str:
        """The serialized ``snapshot`` message for this scope at ``seq``: shared with every
        concurrent subscriber of the same scope and ``seq``. ``on_wait`` is called whenever the
        answer is delayed: the read has to queue for a free slot, or failed and will be tried
        again. Raises the last failure when every attempt failed."""
        wait = self.retry_after
        for attempt in range(1, self.attempts + 1):
            try:
                return await self._message(principal, topics, seq, on_wait)
            except Exception:  # logged once by the read that failed, not by each who waited
                if attempt == self.attempts:
                    raise
                if on_wait is not None:
                    on_wait()
                await asyncio.sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")

    async def _message(self, principal: Principal, topics: frozenset[str], seq: int,
                       on_wait: Waiting | None) -> str:
        key = scope_key(principal, topics)
        loop = asyncio.get_running_loop()
        flight = self._flights.get(key)
        if flight is None or flight.seq != seq or (
                flight.done_at is not None and loop.time() - flight.done_at > self.reuse_seconds):
            flight = self._start(key, principal, topics, seq)
        flight.waiters += 1
        if flight.queued and on_wait is not None:
            on_wait()
        assert flight.task is not None
        text = await asyncio.shield(flight.task)
        self.served += 1
        return text

    def _start(self, key: ScopeKey, principal: Principal, topics: frozenset[str],
               seq: int) -> _Flight:
        # A free slot is taken at once, so whether this read queues is known now.
        holding = self._free.take_now()
        flight = _Flight(seq=seq, queued=not holding)
        flight.task = asyncio.create_task(
            self._compute(key, flight, principal, topics, holding=holding), name="snapshot")
        flight.task.add_done_callback(_retrieve)
        self._flights[key] = flight
        return flight

    async def _compute(self, key: ScopeKey, flight: _Flight, principal: Principal,
                       topics: frozenset[str], *, holding: bool) -> str:
        loop = asyncio.get_running_loop()
        try:
            if not holding:
                await self._free.take(flight)
                holding = True
                flight.queued = False
            self.computed += 1
            snap = await self.source.snapshot(principal, topics)
            text = json.dumps({"type": "snapshot", "seq": flight.seq, "topics": sorted(topics),
                               **snap}, separators=(",", ":"), default=str)
        except BaseException as error:
            if not isinstance(error, asyncio.CancelledError):
                self.failed += 1
                log.warning("snapshot read failed (it is tried again): %s", error)
            if self._flights.get(key) is flight:
                del self._flights[key]
            raise
        finally:
            if holding:
                self._free.give()
        flight.done_at = loop.time()
        loop.call_later(self.reuse_seconds, self._forget, key, flight)
        return text

    def _forget(self, key: ScopeKey, flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    @contextlib.asynccontextmanager
    async def slot(self, on_wait: Waiting | None = None) -> AsyncIterator[None]:
        """Hold one of the read slots (a replay that must read the log from the database)."""
        if self._free.busy() and on_wait is not None:
            on_wait()
        await self._free.take(_Flight(seq=0, queued=True, waiters=1))
        try:
            yield
        finally:
            self._free.give()

    async def close(self) -> None:
        """Cancel the reads still running (the process is stopping)."""
        tasks = [f.task for f in self._flights.values() if f.task is not None and not f.task.done()]
        self._flights.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


def _retrieve(task: asyncio.Task[str]) -> None:
    """A read whose every waiter went away still has its failure looked at (no warning)."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("a snapshot read failed", exc_info=task.exception())
