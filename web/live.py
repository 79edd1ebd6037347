"""Wiring of the live stream: bus, relay, hub, positions pipeline, retention, websocket endpoint."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from realtime.bus import Bus, MemoryBus, RedisBus
from realtime.events import LogEvent
from realtime.hub import Hub
from realtime.positions import PositionPipeline, UnitInfo
from realtime.relay import OutboxRelay
from realtime.session import Disconnected, Session, SessionConfig
from realtime.snapshots import SharedSnapshots
from realtime.supervisor import Supervisor
from storage.attachments import AttachmentJanitor
from storage.engine import pool_size
from storage.eventlog import LocalLeaderLock, PostgresLeaderLock, SqlEventLog
from storage.positions import SqlPositionStore
from storage.queries.board import SqlSnapshotSource, SqlUnitDirectory
from storage.revocations import prune_idempotency_keys, prune_revoked_tokens
from web.clock import Clock, system_clock
from web.metrics import Metrics
from web.settings import Settings

log = logging.getLogger("dispatch.live")


class StarletteTransport:
    """Adapts Starlette's websocket to ``realtime.session.Transport``."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def receive_text(self) -> str:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise Disconnected()
        if message.get("text") is not None:
            return str(message["text"])
        data = message.get("bytes") or b""
        return data.decode("utf-8", errors="replace")

    async def send_text(self, data: str) -> None:
        try:
            await self.ws.send_text(data)
        except (WebSocketDisconnect, RuntimeError, OSError) as error:
            raise Disconnected() from error

    async def close(self, code: int, reason: str = "") -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(code, reason)


@dataclass
class Live:
    bus: Bus
    #: The log on the event path's own engine: the relay, the hub's repairs, the positions.
    event_log: SqlEventLog
    relay: OutboxRelay
    hub: Hub
    #: Snapshots shared per scope and seq, at most half the main pool read at once.
    snapshots: SharedSnapshots
    positions: PositionPipeline
    #: The log on the main engine, for sessions' replays from the database (bounded like
    #: snapshots); the event path never waits for them.
    session_log: SqlEventLog | None = None
    #: Every background loop of the process (relay, retention, feeds, alerts, revocations).
    supervisor: Supervisor = field(default_factory=Supervisor)
    metrics: Metrics | None = None
    #: Closers of what the feeds opened (API clients, demo simulators), after the workers stop.
    demo_tasks: list[Any] = field(default_factory=list)
    #: Feed clients running in this process, by name (their counters feed the health alerts).
    feeds: dict[str, Any] = field(default_factory=dict)
    event_retention: dt.timedelta = dt.timedelta(days=7)
    position_retention: dt.timedelta = dt.timedelta(days=30)
    clock: Clock = system_clock
    #: More hourly retention: name -> prune(now) returning how many rows went.
    janitors: dict[str, Callable[[dt.datetime], Awaitable[int]]] = field(default_factory=dict)
    attachments: AttachmentJanitor | None = None
    retention_interval: float = 3600.0

    async def start(self) -> None:
        await self.hub.start()
        await self.bus.start()
        self.supervisor.periodic("relay", self.relay.run_pass, interval=self.relay.poll_interval,
                                 wake=self.relay.wake)
        self.supervisor.start()  # workers declared from now on start at once
        await self.positions.start()
        # Once per cluster: only where the relay holds the leader lock.
        self.supervisor.periodic("retention", self.prune_once, interval=self.retention_interval,
                                 leader=lambda: self.relay.is_leader)

    async def prune_once(self) -> None:
        """Drop published events and breadcrumbs older than their retention, and the uploads
        that closed work orders' proofs never used (hourly, on the leader)."""
        now = self.clock()
        events = await self.event_log.prune(now - self.event_retention)
        crumbs = await self.positions.store.prune(now - self.position_retention)
        files = await self.attachments.prune(now) if self.attachments else 0
        if events or crumbs or files:
            log.info("retention: %s events, %s breadcrumbs, %s unused attachments removed",
                     events, crumbs, files)
        for name, prune in list(self.janitors.items()):  # one may register meanwhile
            if gone := await prune(now):
                log.info("retention: %s %s removed", gone, name)

    def stats(self) -> dict[str, Any]:
        p = self.positions
        return {
            "relay": {"leader": self.relay.is_leader, "published": self.relay.published},
            "hub": {"seq": self.hub.last_seq, "sessions": len(self.hub.sessions),
                    "repairs": self.hub.repairs},
            "snapshots": self.snapshots.stats(),
            "positions": {"accepted": p.accepted, "rejected": p.rejected,
                          "superseded": p.superseded, "unknown_unit": p.unknown,
                          "units": len({i.unit_id for i in p.units.values()})},
        }

    async def stop(self) -> None:
        await self.supervisor.stop()
        for stopper in self.demo_tasks:
            with contextlib.suppress(Exception):
                await stopper()
        await self.positions.stop()
        await self.snapshots.close()
        await self.relay.stop()
        await self.hub.stop()
        await self.bus.stop()


def build_live(settings: Settings, engine: Any, clock: Clock = system_clock,
               metrics: Metrics | None = None, event_engine: Any = None) -> Live:
    """``engine``: the main pool (API, snapshots); ``event_engine``: the event path's own small
    one (the relay and its leader lock, the hub's repairs, the positions store), so publishing
    never waits behind reads. Without it (tools, some tests) everything shares ``engine``."""
    prefix = settings.redis_prefix
    events = event_engine if event_engine is not None else engine
    bus: Bus = (RedisBus(settings.redis_url, client_name=prefix) if settings.redis_url
                else MemoryBus())
    event_log = SqlEventLog(events, LogEvent, clock)
    lock = PostgresLeaderLock(events) if events.dialect.name == "postgresql" else LocalLeaderLock()
    relay = OutboxRelay(event_log, bus, lock, channel=f"{prefix}:events", telemetry=metrics)
    hub = Hub(event_log, bus, events_channel=f"{prefix}:events",
              positions_channel=f"{prefix}:positions", telemetry=metrics)
    positions = PositionPipeline(bus, SqlPositionStore(events), SqlUnitDirectory(events, UnitInfo),
                                 channel=f"{prefix}:positions", on_freshness=event_log.append,
                                 clock=clock)
    snapshots = SharedSnapshots(SqlSnapshotSource(engine, clock),
                                slots=max(1, pool_size(engine) // 2))
    return Live(bus=bus, event_log=event_log, relay=relay, hub=hub,
                snapshots=snapshots, positions=positions, clock=clock,
                session_log=SqlEventLog(engine, LogEvent, clock),
                metrics=metrics, supervisor=Supervisor(observer=metrics),
                event_retention=dt.timedelta(days=settings.event_retention_days),
                position_retention=dt.timedelta(days=settings.position_history_days),
                attachments=AttachmentJanitor(engine, dt.timedelta(
                    days=settings.attachment_unused_keep_days)),
                janitors={
                    "expired signed-out tokens": partial(prune_revoked_tokens, engine),
                    "old idempotency keys": lambda now: prune_idempotency_keys(
                        engine, now - dt.timedelta(hours=settings.idempotency_keep_hours)),
                })


def origin_allowed(origin: str | None, host: str | None, allowed: str) -> bool:
    """A browser's ``Origin`` must be the server's own host or one configured; clients that are
    not browsers send none. (The token travels in the first message, not in a cookie, so this is
    defence in depth against pages of other sites opening sockets.)"""
    if origin is None:
        return True
    if origin in allowed.split():
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == str(host).lower()


async def websocket_endpoint(ws: WebSocket) -> None:
    runtime = ws.app.state.runtime
    live: Live = runtime.live
    settings = runtime.settings
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"),
                          settings.allowed_origins):
        await ws.close(code=1008, reason="origin not allowed")  # before accept: HTTP 403
        return
    await ws.accept()
    session = Session(
        StarletteTransport(ws), hub=live.hub, event_log=live.session_log or live.event_log,
        snapshots=live.snapshots, authenticate=runtime.tokens.verify_with_expiry,
        on_phone_position=live.positions.phone_position,
        config=SessionConfig(auth_timeout=settings.ws_auth_timeout,
                             max_pending=settings.ws_max_pending,
                             heartbeat_interval=settings.ws_heartbeat_seconds,
                             max_frame=settings.ws_max_frame_bytes,
                             subscribes_per_minute=settings.ws_subscribes_per_minute,
                             max_sessions_per_user=settings.ws_max_sessions_per_user),
        clock=runtime.now,
    )
    try:
        await session.run()
    except Disconnected:
        pass
    except Exception:
        log.exception("websocket session failed")
        await StarletteTransport(ws).close(1011, "internal error")
