"""The outbox relay: one leader publishes the event log to the bus, in sequence order.

Every process may run a relay; only the one holding the leader lock publishes, so events are never
published twice by design (and a duplicate that slips through is dropped by ``seq`` downstream).
It wakes on ``notify()`` (a commit in this process) or every ``poll_interval`` (commits in other
processes), and sends a heartbeat carrying the latest ``seq`` so workers notice trailing losses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from realtime.bus import Bus
from realtime.events import heartbeat_to_wire
from realtime.ports import EventLog, LeaderLock

log = logging.getLogger("dispatch.relay")


class OutboxRelay:
    def __init__(
        self, log_: EventLog, bus: Bus, lock: LeaderLock, *, channel: str,
        poll_interval: float = 0.2, heartbeat_interval: float = 2.0, batch: int = 500,
    ) -> None:
        self.log = log_
        self.bus = bus
        self.lock = lock
        self.channel = channel
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False
        self.published = 0

    def notify(self) -> None:
        """Something was committed: publish without waiting for the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.is_leader:
            with contextlib.suppress(Exception):
                await self.lock.release()

    async def publish_once(self) -> int:
        """Publish everything pending (leader only). Returns how many events went out."""
        total = 0
        while True:
            events = await self.log.publish_pending(self.batch)
            for event in events:
                await self.bus.publish(self.channel, event.to_wire())
            total += len(events)
            if len(events) < self.batch:
                break
        self.published += total
        return total

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_heartbeat = 0.0
        while True:
            # Cleared before the pass: a commit that notifies during it triggers another pass.
            self._wake.clear()
            try:
                self.is_leader = await self.lock.acquire()
                if self.is_leader:
                    await self.publish_once()
                    if loop.time() >= next_heartbeat:
                        seq = await self.log.latest_seq()
                        await self.bus.publish(self.channel, heartbeat_to_wire(seq))
                        next_heartbeat = loop.time() + self.heartbeat_interval
                    timeout = self.poll_interval
                else:
                    timeout = 2.0
            except asyncio.CancelledError:
                raise
            except Exception:  # supervised: a database or bus hiccup must not stop the relay
                log.exception("relay pass failed; retrying")
                timeout = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
