"""One websocket session: authentication (``realtime.handshake``), subscriptions, replay or
snapshot, then live delivery.

Transport-agnostic: the web layer adapts its websocket to ``Transport``. Outbound traffic has two
lanes. State messages (events, snapshots, replies) queue in order and are never dropped: when more
than ``max_pending`` wait, the session is closed with 4008 and the client resumes with ``since``.
Positions are coalesced per vehicle and superseded while the client is behind, so a slow reader
costs bounded memory and never delays anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from domain.roles import Principal
from realtime.event_frames import Outgoing, next_frame
from realtime.events import LogEvent, PositionUpdate
from realtime.handshake import handshake, parse
from realtime.lanes import PositionsLane, parse_bounds
from realtime.limits import SessionLimits
from realtime.ports import EventLog, SnapshotSource
from realtime.scope import BadTopic, Bounds, event_matches, may_subscribe, position_matches
from realtime.snapshots import SharedSnapshots
from realtime.transport import (
    CLOSE_INTERNAL,
    CLOSE_TOKEN_EXPIRED,
    CLOSE_TOKEN_REVOKED,
    CLOSE_TOO_BIG,
    CLOSE_TOO_SLOW,
    Authenticator,
    Disconnected,
    PhonePosition,
    SessionConfig,
    Transport,
)

if TYPE_CHECKING:
    from realtime.hub import Hub

log = logging.getLogger("dispatch.ws")
#: What the web layer takes from here (the transport's terms live in ``realtime.transport``).
__all__ = ["CLOSE_TOKEN_REVOKED", "CLOSE_TOO_SLOW", "Disconnected", "Session", "SessionConfig",
           "Transport"]


class Session:
    def __init__(
        self, transport: Transport, *, hub: Hub, event_log: EventLog,
        snapshots: SharedSnapshots | SnapshotSource,
        authenticate: Authenticator, on_phone_position: PhonePosition | None = None,
        config: SessionConfig | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.transport = transport
        self.clock = clock
        self.hub = hub
        self.log = event_log
        #: Shared by the worker's sessions (one read per scope and seq); a bare source is wrapped.
        self.snapshots = (snapshots if isinstance(snapshots, SharedSnapshots)
                          else SharedSnapshots(snapshots))
        self.authenticate = authenticate
        self.on_phone_position = on_phone_position
        self.config = config or SessionConfig()
        self.principal: Principal | None = None
        #: The token the session authenticated with (re-checked when tokens are revoked).
        self.token: str | None = None
        self._topics: frozenset[str] = frozenset()
        #: The hub's number for this session's scope (who it is, what it subscribed): sessions
        #: with the same number see the same events, so the hub decides each event once for them.
        self.audience = 0
        self.bounds: Bounds | None = None
        self.last_sent_seq = 0
        self._out: deque[Outgoing] = deque()
        #: The client asked for queued events as one ``events`` frame (``realtime.event_frames``).
        self.batches = False
        self._positions = PositionsLane()
        self._wake = asyncio.Event()
        self._sent_at = float("-inf")
        self._heartbeat_due = False
        self._heartbeat: asyncio.TimerHandle | None = None
        self._syncing = False
        self._held: list[LogEvent] = []
        self._closing: tuple[int, str] | None = None
        self._limits = SessionLimits(self.config.messages_per_second,
                                     self.config.subscribes_per_minute)
        self._tasks: tuple[asyncio.Task[None], ...] = ()
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def topics(self) -> frozenset[str]:
        return self._topics

    @topics.setter
    def topics(self, topics: frozenset[str]) -> None:
        self._topics = topics
        if self.principal is not None:
            self.audience = self.hub.audience(self.principal, topics)

    # -- lanes fed by the hub --------------------------------------------------------------------

    def offer_event(self, event: LogEvent, text: str | None = None,
                    verdicts: dict[int, bool] | None = None) -> bool:
        """Queue an event (``text``: serialized once by the hub); whether this session takes it.

        ``verdicts``: whether each audience sees this event, filled as the hub goes through its
        sessions, so the scope rules run once per audience rather than once per session."""
        if self.principal is None or self._closing or event.seq <= self.last_sent_seq:
            return False
        if verdicts is None:
            seen = event_matches(self.principal, self._topics, event)
        else:
            known = verdicts.get(self.audience)
            if known is None:
                known = verdicts[self.audience] = event_matches(self.principal, self._topics,
                                                                event)
            seen = known
        if not seen:
            return False
        if self._syncing:
            self._held.append(event)
            return True
        self.last_sent_seq = event.seq
        if text is None:
            self._send(event.message(), event=True)
        else:
            self._send_text(text, event=True)
        return True

    def offer_positions(self, updates: list[PositionUpdate], frames_for_all: list[str]) -> None:
        """The vans that moved since the hub's last flush; ``frames_for_all``: the same as
        messages, serialized once by the hub for the boards that see every van."""
        p = self.principal
        if p is None or self._closing or self._syncing or not self._topics:
            return
        sees_all = (p.store_ids is None and not p.is_technician_only and self.bounds is None
                    and "board" in self._topics)
        self._positions.offer(
            updates, frames_for_all, sees_all=sees_all,
            matches=lambda u: position_matches(p, self._topics, u, self.bounds))
        self._wake.set()

    def _send(self, message: dict[str, Any], *, event: bool = False) -> None:
        self._send_text(json.dumps(message, separators=(",", ":"), default=str), event=event)

    def _send_text(self, text: str, *, event: bool = False) -> None:
        if len(self._out) >= self.config.max_pending:
            self.close_soon(CLOSE_TOO_SLOW, "too slow: reconnect with since")
            return
        self._out.append((text, event))
        self._wake.set()

    def close_soon(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = (code, reason)
            self._out.clear()
            self._wake.set()
            # A writer stuck on a peer that stopped reading never reaches the close: drop the
            # session after a grace period so its memory is freed either way.
            self._watchdog = asyncio.get_running_loop().call_later(
                self.config.close_grace, self._abort)

    def _abort(self) -> None:
        for task in self._tasks:
            task.cancel()

    # -- the session's life ----------------------------------------------------------------------

    async def run(self) -> None:
        expires = await handshake(self)
        if expires is None:
            return
        self.hub.add(self)
        writer = asyncio.create_task(self._writer(), name="ws-writer")
        expiry = asyncio.create_task(self._expire_at(expires), name="ws-expiry")
        try:
            reader = asyncio.create_task(self._reader(), name="ws-reader")
            self._tasks = (reader, writer)
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, writer):
                if task not in done:
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Disconnected):
                    await task
        finally:
            expiry.cancel()
            if self._watchdog is not None:
                self._watchdog.cancel()
            self.hub.remove(self)

    async def _expire_at(self, expires: dt.datetime) -> None:
        await asyncio.sleep(max(0.0, (expires - self.clock()).total_seconds()))
        self.close_soon(CLOSE_TOKEN_EXPIRED, "token expired")

    def _beat(self) -> None:
        """The heartbeat timer: one timer per session and interval, not one per wake-up."""
        self._heartbeat_due = True
        self._wake.set()

    async def _writer(self) -> None:
        """Sends what the lanes hold, in order: state messages, then positions, then a heartbeat
        when one is due. Sleeps on ``_wake`` (a plain wait: at 50 events a second to 500 boards, a
        timed wait per wake-up cost more than the sends themselves), and for a session that
        batches, within ``event_linger`` of its last pass, until the linger is over: what came
        meanwhile (events, positions) goes in one pass, which the server writes to the socket
        at once (``web.ws_protocol``)."""
        loop = asyncio.get_running_loop()
        interval = self.config.heartbeat_interval
        self._heartbeat = loop.call_later(interval, self._beat)
        try:
            while True:
                await self._wake.wait()
                linger = self._sent_at + self.config.event_linger - loop.time()
                if self.batches and linger > 0 and (self._out or self._positions.pending):
                    await asyncio.sleep(linger)  # traffic streams in: gather it
                self._wake.clear()
                if self._closing is not None:
                    await self.transport.close(*self._closing)
                    return
                sent = bool(self._out) or self._positions.pending
                while self._out:
                    await self.transport.send_text(next_frame(self._out, batch=self.batches))
                    if self._closing is not None:
                        break
                for frame in self._positions.take():
                    await self.transport.send_text(frame)
                if sent:
                    self._sent_at = loop.time()
                if self._heartbeat_due:
                    self._heartbeat_due = False
                    await self.transport.send_text(json.dumps({
                        "type": "heartbeat", "seq": self.hub.last_seq,
                        "server_time": self.clock().isoformat()}))
                    self._heartbeat = loop.call_later(interval, self._beat)
        finally:
            if self._heartbeat is not None:
                self._heartbeat.cancel()

    async def _reader(self) -> None:
        while self._closing is None:
            raw = await self.transport.receive_text()
            if len(raw) > self.config.max_frame:
                self.close_soon(CLOSE_TOO_BIG, "frame too big")
                return
            if not self._limits.take_message(asyncio.get_running_loop().time()):
                self._error("rate_limited", "slow down: at most "
                            f"{self.config.messages_per_second:g} messages per second")
                continue
            msg = parse(raw)
            if not isinstance(msg, dict):
                self._error("bad_json", "send one JSON object per frame")
                continue
            await self._handle(msg)

    def _error(self, code: str, message: str) -> None:
        self._send({"type": "error", "code": code, "message": message})

    async def _handle(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "ping":
            self._send({"type": "pong"})
        elif kind == "subscribe":
            await self._subscribe(msg)
        elif kind == "unsubscribe":
            topics = msg.get("topics")
            if not isinstance(topics, list):
                self._error("bad_message", "topics must be a list")
                return
            self.topics = self.topics - {t for t in topics if isinstance(t, str)}
            self._send({"type": "subscribed", "topics": sorted(self.topics)})
        elif kind == "bounds":
            self._set_bounds(msg)
        elif kind == "position":
            await self._phone_position(msg)
        elif kind == "auth":
            self._error("bad_message", "already authenticated")
        else:
            self._error("unknown_type", f"unknown message type {kind!r}")

    def _set_bounds(self, msg: dict[str, Any]) -> None:
        try:
            self.bounds = parse_bounds(msg)
        except ValueError as error:
            self._error("bad_message", str(error))

    async def _phone_position(self, msg: dict[str, Any]) -> None:
        p = self.principal
        if p is None or p.technician_id is None or self.on_phone_position is None:
            self._error("forbidden", "only a technician shares a phone position")
            return
        try:
            await self.on_phone_position(p, msg)
        except ValueError as error:
            self._error("bad_message", str(error))

    async def _subscribe(self, msg: dict[str, Any]) -> None:
        assert self.principal is not None
        if not self._limits.take_subscribe(asyncio.get_running_loop().time()):
            self._error("rate_limited", f"at most {self.config.subscribes_per_minute} subscribes "
                        "a minute (each may read a whole snapshot); try again shortly")
            return
        topics, since, batch = msg.get("topics"), msg.get("since"), msg.get("batch", False)
        if not isinstance(topics, list) or not topics or len(topics) > 50:
            self._error("bad_message", "topics must be a non-empty list")
            return
        if not isinstance(batch, bool):
            self._error("bad_message", "batch must be true or false")
            return
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)
                                  or since < 0):
            self._error("bad_message", "since must be a sequence number or null")
            return
        accepted = set()
        for topic in topics:
            try:
                if may_subscribe(self.principal, topic):
                    accepted.add(topic)
                else:
                    self._error("forbidden_topic", f"{topic} is outside your scope")
            except BadTopic as error:
                self._error("bad_topic", str(error))
        if not accepted:
            return
        self.topics = self.topics | accepted
        self.batches = self.batches or batch
        self._send({"type": "subscribed", "topics": sorted(self.topics)})
        await self._sync(since)

    async def _sync(self, since: int | None) -> None:
        """Replay what was missed, or send a snapshot, while holding live events back."""
        assert self.principal is not None
        self._syncing = True
        self._held = []
        try:
            target = self.hub.last_seq
            replay: list[LogEvent] | None = None
            # Told whenever the read waits its turn (or failed and is tried again).
            loading = partial(self._send, {"type": "loading", "seq": target})
            # Replay when the log still holds everything after ``since``; a ``since`` from the
            # future (another server's log) or too far behind gets a snapshot instead.
            if since is not None and since <= target and target - since <= self.config.max_replay:
                replay = self.hub.recent_since(since)  # memory first: a reconnect storm is cheap
                if replay is None:
                    async with self.snapshots.slot(loading):
                        if since >= await self.log.oldest_seq() - 1:
                            replay = await self.log.read_since(since, self.config.max_replay)
            if replay is None:
                try:  # shared with this worker's sessions of the same scope at this seq
                    text = await self.snapshots.message(self.principal, self.topics, target,
                                                        on_wait=loading)
                except Exception:  # every attempt failed: the client comes back with backoff
                    self.close_soon(CLOSE_INTERNAL, "the board could not be read: reconnect")
                    return
                self._send_text(text)
                self.hub.telemetry.snapshot_sent()
                self.last_sent_seq = max(self.last_sent_seq, target)
            else:
                self.last_sent_seq = max(self.last_sent_seq, since or 0)
                for event in replay:
                    if event.seq > self.last_sent_seq and event_matches(self.principal,
                                                                        self.topics, event):
                        self._send(event.message(), event=True)
                        self.last_sent_seq = event.seq
                self.last_sent_seq = max(self.last_sent_seq,
                                         replay[-1].seq if replay else self.last_sent_seq)
                self.hub.telemetry.replayed(len(replay))
        finally:
            self._syncing = False
        held, self._held = self._held, []
        for event in held:
            self.offer_event(event)
