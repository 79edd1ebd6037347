"""Board snapshots built once and sent many times, with a bounded number read at once.

After a deploy or a network blip every board reconnects at once. Subscribers of the same scope
(``scope_key``: the same roles, stores, technician and topics, so the data they may see is the
same) at the same ``seq`` share one computation and one serialized ``snapshot`` message: the
first asks the source, the others wait for its answer (single flight). A finished message is
reused for ``reuse_seconds`` by subscribers that come later at the same ``seq``; a new ``seq``
(an event was published) always means a new read.

Reads hold a database connection, so at most ``slots`` run at once (sized to the main pool by
the composition root); the rest queue here, not in the pool, and whoever has to queue is told
(``on_wait``) so the client can say "loading the board" instead of waiting in silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

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
    joined: int = field(default=0)


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
        self._free = asyncio.Semaphore(self.slots)
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
                "queued": self.queued, "slots": self.slots}

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
            except Exception as error:
                log.warning("snapshot read failed (attempt %s of %s): %s", attempt,
                            self.attempts, error)
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
            flight = await self._start(key, principal, topics, seq)
        flight.joined += 1
        if flight.queued and on_wait is not None:
            on_wait()
        assert flight.task is not None
        text = await asyncio.shield(flight.task)
        self.served += 1
        return text

    async def _start(self, key: ScopeKey, principal: Principal, topics: frozenset[str],
                     seq: int) -> _Flight:
        # A free slot is taken at once (no suspension), so whether this read queues is known now.
        queued = self._free.locked()
        if not queued:
            await self._free.acquire()
        flight = _Flight(seq=seq, queued=queued)
        flight.task = asyncio.create_task(
            self._compute(key, flight, principal, topics, holding=not queued), name="snapshot")
        flight.task.add_done_callback(_retrieve)
        self._flights[key] = flight
        return flight

    async def _compute(self, key: ScopeKey, flight: _Flight, principal: Principal,
                       topics: frozenset[str], *, holding: bool) -> str:
        loop = asyncio.get_running_loop()
        try:
            if not holding:
                await self._free.acquire()
                holding = True
                flight.queued = False
            self.computed += 1
            snap = await self.source.snapshot(principal, topics)
            text = json.dumps({"type": "snapshot", "seq": flight.seq, "topics": sorted(topics),
                               **snap}, separators=(",", ":"), default=str)
        except BaseException as error:
            if not isinstance(error, asyncio.CancelledError):
                self.failed += 1
            if self._flights.get(key) is flight:
                del self._flights[key]
            raise
        finally:
            if holding:
                self._free.release()
        flight.done_at = loop.time()
        loop.call_later(self.reuse_seconds, self._forget, key, flight)
        return text

    def _forget(self, key: ScopeKey, flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    @contextlib.asynccontextmanager
    async def slot(self, on_wait: Waiting | None = None) -> AsyncIterator[None]:
        """Hold one of the read slots (a replay that must read the log from the database)."""
        if self._free.locked() and on_wait is not None:
            on_wait()
        async with self._free:
            yield

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
