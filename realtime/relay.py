"""The outbox relay: one leader publishes the event log to the bus, in sequence order.

Every process may run a relay; only the one holding the leader lock publishes, so events are never
published twice by design (and a duplicate that slips through is dropped by ``seq`` downstream).
A supervised worker (``realtime.supervisor``) runs ``run_pass``: it wakes on ``notify()`` (a commit
in this process, or in another one that says so on the bus) or every ``poll_interval``, and sends
a heartbeat carrying the latest ``seq`` so workers notice trailing losses.

With several processes (web workers, the background worker) only one leads, and most commits
happen elsewhere: a process that does not lead tells the leader over the bus
(``<channel>:wake``), so an event is published at once rather than at the leader's next poll (up
to ``poll_interval`` later). The bus is at-most-once: a lost wake-up leaves that commit to the
poll, which is never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from realtime.bus import Bus
from realtime.events import heartbeat_to_wire
from realtime.ports import EventLog, LeaderLock
from realtime.supervisor import After
from realtime.telemetry import Telemetry

log = logging.getLogger("dispatch.relay")


class OutboxRelay:
    def __init__(
        self, log_: EventLog, bus: Bus, lock: LeaderLock, *, channel: str,
        poll_interval: float = 0.2, heartbeat_interval: float = 2.0, batch: int = 500,
        follower_interval: float = 2.0, telemetry: Telemetry | None = None,
    ) -> None:
        self.log = log_
        self.bus = bus
        self.lock = lock
        self.channel = channel
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.batch = batch
        self.follower_interval = follower_interval
        self.telemetry = telemetry or Telemetry()
        #: Set by a commit; the supervisor's wait for the next pass ends early when it is.
        self.wake = asyncio.Event()
        self._next_heartbeat = 0.0
        self.is_leader = False
        self.published = 0
        self.wake_channel = f"{channel}:wake"
        self._telling: asyncio.Task[None] | None = None
        self._tell_again = False
        bus.subscribe(self.wake_channel, self._on_wake, superseding=True)  # one is as good as many

    def notify(self) -> None:
        """Something was committed: publish without waiting for the next poll (here when this
        process leads, else by telling the leader; this one would only find the lock taken)."""
        if self.is_leader:
            self.wake.set()
        else:
            self._tell_leader()

    def _tell_leader(self) -> None:
        """One wake-up message in flight at most; commits meanwhile send one more after it."""
        if self._telling is not None and not self._telling.done():
            self._tell_again = True
            return
        try:
            self._telling = asyncio.get_running_loop().create_task(self._send_wakes(),
                                                                   name="relay-wake")
        except RuntimeError:  # no loop (a tool committing synchronously): the poll publishes it
            self._telling = None

    async def _send_wakes(self) -> None:
        while True:
            self._tell_again = False
            try:
                await self.bus.publish(self.wake_channel, "commit")
            except Exception as error:  # the leader's poll publishes it all the same
                log.warning("could not wake the relay's leader (%s)", error)
                return
            if not self._tell_again:
                return

    async def _on_wake(self, _: str) -> None:
        if self.is_leader:
            self.wake.set()

    async def stop(self) -> None:
        """Give leadership up (the supervisor has stopped the passes)."""
        if self._telling is not None:
            self._telling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._telling
        if self.is_leader:
            self.is_leader = False
            with contextlib.suppress(Exception):
                await self.lock.release()

    async def publish_once(self) -> int:
        """Publish everything pending (leader only). Returns how many events went out."""
        total = 0
        while True:
            events = await self.log.publish_pending(self.batch)
            # In one round trip: under load a reply per event cost a turn of the event loop each
            # (a pass of 50 events took a second with 500 boards connected).
            await self.bus.publish_many(self.channel, [event.to_wire() for event in events])
            for event in events:
                log.info("event published", extra={"correlation_id": event.correlation_id,
                                                   "seq": event.seq, "event_name": event.name})
                self.telemetry.published(event)
            total += len(events)
            if len(events) < self.batch:
                break
        self.published += total
        return total

    async def run_pass(self) -> After:
        """One pass, the supervised worker's step: take (or keep) the leader lock, publish what is
        pending, send the heartbeat when due. Returns the wait before the next pass, unless a
        commit (``wake``) comes first. Errors propagate: the supervisor logs them and backs off."""
        # Cleared before the pass: a commit that notifies during it triggers another pass.
        self.wake.clear()
        try:
            self.is_leader = await self.lock.acquire()
        except BaseException:
            self.is_leader = False  # the lock's connection is gone, and the lock with it
            raise
        if not self.is_leader:
            return After(self.follower_interval)
        await self.publish_once()
        now = asyncio.get_running_loop().time()
        if now >= self._next_heartbeat:
            seq = await self.log.latest_seq()
            await self.bus.publish(self.channel, heartbeat_to_wire(seq))
            self._next_heartbeat = now + self.heartbeat_interval
        return After(self.poll_interval)
