"""The per-worker hub: takes events and positions off the bus and fans them out to sessions.

Events are delivered in ``seq`` order, exactly once per session. The bus is at-most-once, so the
hub checks every sequence number: a gap (``seq`` > last + 1), a heartbeat announcing a later
``seq``, or a bus reconnect makes it read the missing events back from the log before going on.
Positions are coalesced per vehicle and flushed to the sessions every ``flush_interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
from collections import deque
from typing import TYPE_CHECKING

from domain.roles import Principal
from realtime.bus import Bus
from realtime.events import LogEvent, PositionUpdate
from realtime.lanes import positions_messages
from realtime.ports import EventLog
from realtime.telemetry import Telemetry

if TYPE_CHECKING:
    from realtime.session import Session

log = logging.getLogger("dispatch.hub")
#: Distinct audiences remembered (each a principal's scope and a set of topics).
MAX_AUDIENCES = 10_000


class Hub:
    def __init__(self, event_log: EventLog, bus: Bus, *, events_channel: str,
                 positions_channel: str, flush_interval: float = 0.25,
                 recent_events: int = 10_000, telemetry: Telemetry | None = None) -> None:
        self.log = event_log
        self.bus = bus
        self.events_channel = events_channel
        self.positions_channel = positions_channel
        self.flush_interval = flush_interval
        self.sessions: set[Session] = set()
        self.last_seq = 0
        self.repairs = 0
        self.delivered = 0
        self.telemetry = telemetry or Telemetry()
        self._lock = asyncio.Lock()
        self._pending: dict[str, PositionUpdate] = {}
        self._flusher: asyncio.Task[None] | None = None
        self.latest_positions: dict[str, PositionUpdate] = {}
        self._initialized = False
        #: The latest delivered events, so most reconnects replay without touching the database.
        self.recent: deque[LogEvent] = deque(maxlen=recent_events)
        self._audiences: dict[tuple[Principal, frozenset[str]], int] = {}
        self._audience_numbers = itertools.count(1)

    async def start(self) -> None:
        await self._initialize()
        self.bus.subscribe(self.events_channel, self._on_event_message)
        self.bus.subscribe(self.positions_channel, self._on_positions_message, superseding=True)
        self.bus.on_reconnect(self.repair)
        self._flusher = asyncio.create_task(self._flush_loop(), name="hub-positions")

    async def _initialize(self) -> bool:
        """Start from the log's latest sequence; retried until the database answers."""
        if self._initialized:
            return True
        try:
            self.last_seq = await self.log.latest_seq()
        except Exception as error:  # the database may be down at start; try again later
            log.warning("event log unavailable at start (%s); will retry", error)
            return False
        self._initialized = True
        return True

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher

    def recent_since(self, since: int) -> list[LogEvent] | None:
        """The delivered events after ``since`` from memory, or None if memory does not reach."""
        if not self.recent or self.recent[0].seq > since + 1:
            return None
        return [e for e in self.recent if e.seq > since]

    def audience(self, principal: Principal, topics: frozenset[str]) -> int:
        """A number shared by the sessions that see the same events: the same principal but for
        who they are (roles, stores, technician: what the scope rules read) and the same topics.

        Numbers are never reused; forgetting them all (past ``MAX_AUDIENCES``) only makes later
        sessions of a known scope share a new number instead of the old one."""
        key = (dataclasses.replace(principal, user_id="", username=""), topics)
        number = self._audiences.get(key)
        if number is None:
            if len(self._audiences) >= MAX_AUDIENCES:
                self._audiences.clear()
            number = self._audiences[key] = next(self._audience_numbers)
        return number

    def add(self, session: Session) -> None:
        self.sessions.add(session)

    def remove(self, session: Session) -> None:
        self.sessions.discard(session)

    async def _on_event_message(self, raw: str) -> None:
        try:
            msg = json.loads(raw)
            kind = msg.get("kind")
            if kind == "heartbeat":
                if int(msg["seq"]) > self.last_seq:
                    await self.repair()
                return
            event = LogEvent.from_wire(msg)
        except (ValueError, KeyError, TypeError):
            log.warning("dropping a malformed bus message")
            return
        if not await self._initialize():
            return
        async with self._lock:
            if event.seq <= self.last_seq:
                return  # a duplicate, or already repaired from the log
            if event.seq > self.last_seq + 1:
                await self._repair_locked(until=event.seq - 1)
            if event.seq == self.last_seq + 1:
                self._deliver(event)

    async def repair(self) -> None:
        """Read every event after ``last_seq`` from the log and deliver it."""
        if not await self._initialize():
            return
        async with self._lock:
            await self._repair_locked(until=None)

    async def _repair_locked(self, until: int | None) -> None:
        self.repairs += 1
        while True:
            events = await self.log.read_since(self.last_seq, 1000)
            for event in events:
                if until is not None and event.seq > until:
                    return
                if event.seq == self.last_seq + 1:
                    self._deliver(event)
            if len(events) < 1000:
                return

    def _deliver(self, event: LogEvent) -> None:
        self.last_seq = event.seq
        self.delivered += 1
        self.recent.append(event)
        self.telemetry.delivered(event)
        text = json.dumps(event.message(), separators=(",", ":"), default=str)  # once for all
        context = {"correlation_id": event.correlation_id, "seq": event.seq,
                   "event_name": event.name}
        sessions = 0
        verdicts: dict[int, bool] = {}  # the scope rules run once per audience
        for session in list(self.sessions):
            try:
                if session.offer_event(event, text, verdicts):
                    sessions += 1
            except Exception:  # one broken session must not starve the others
                log.exception("delivery to a session failed", extra=context)
        log.debug("event delivered", extra={**context, "sessions": sessions})

    async def _on_positions_message(self, raw: str) -> None:
        try:
            items = json.loads(raw)["items"]
            updates = [PositionUpdate.from_item(i) for i in items]
        except (ValueError, KeyError, TypeError):
            log.warning("dropping a malformed positions message")
            return
        for update in updates:
            current = self.latest_positions.get(update.unit_id)
            if current is None or update.at >= current.at:
                self.latest_positions[update.unit_id] = update
                self._pending[update.unit_id] = update

    def flush_positions(self) -> int:
        if not self._pending:
            return 0
        updates = list(self._pending.values())
        self._pending.clear()
        frames = positions_messages(updates)  # serialized once, for every board that sees all
        for session in list(self.sessions):
            try:
                session.offer_positions(updates, frames)
            except Exception:
                log.exception("position delivery to a session failed")
        if self.sessions:
            self.telemetry.positions_sent(updates)  # device time -> board lag (metrics)
        return len(updates)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self.flush_positions()
