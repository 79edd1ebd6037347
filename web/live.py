"""Wiring of the live stream: bus, relay, hub, positions pipeline, websocket endpoint, demo feed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
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
from storage.attachments import AttachmentJanitor
from storage.eventlog import LocalLeaderLock, PostgresLeaderLock, SqlEventLog
from storage.positions import SqlPositionStore
from storage.queries.board import SqlSnapshotSource, SqlUnitDirectory
from storage.revocations import prune_idempotency_keys, prune_revoked_tokens
from web.clock import Clock, system_clock
from web.embedded import serve_in_thread

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
    event_log: SqlEventLog
    relay: OutboxRelay
    hub: Hub
    snapshots: SqlSnapshotSource
    positions: PositionPipeline
    demo_tasks: list[Any] = field(default_factory=list)
    #: Feed clients running in this process, by name (their counters feed the health alerts).
    feeds: dict[str, Any] = field(default_factory=dict)
    event_retention: dt.timedelta = dt.timedelta(days=7)
    position_retention: dt.timedelta = dt.timedelta(days=30)
    clock: Clock = system_clock
    #: More hourly retention: name -> prune(now) returning how many rows went.
    janitors: dict[str, Callable[[dt.datetime], Awaitable[int]]] = field(default_factory=dict)
    attachments: AttachmentJanitor | None = None
    _maintenance: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.hub.start()
        await self.bus.start()
        await self.relay.start()
        await self.positions.start()
        self._maintenance = asyncio.create_task(self._maintain(), name="retention")

    async def _maintain(self) -> None:
        """Hourly: drop published events and breadcrumbs older than their retention, and the
        uploads that closed work orders' proofs never used."""
        while True:
            try:
                now = self.clock()
                events = await self.event_log.prune(now - self.event_retention)
                crumbs = await self.positions.store.prune(now - self.position_retention)
                files = await self.attachments.prune(now) if self.attachments else 0
                if events or crumbs or files:
                    log.info("retention: %s events, %s breadcrumbs, %s unused attachments removed",
                             events, crumbs, files)
                for name, prune in self.janitors.items():
                    if gone := await prune(now):
                        log.info("retention: %s %s removed", gone, name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention pass failed")
            await asyncio.sleep(3600)

    def stats(self) -> dict[str, Any]:
        p = self.positions
        return {
            "relay": {"leader": self.relay.is_leader, "published": self.relay.published},
            "hub": {"seq": self.hub.last_seq, "sessions": len(self.hub.sessions),
                    "repairs": self.hub.repairs},
            "positions": {"accepted": p.accepted, "rejected": p.rejected,
                          "superseded": p.superseded, "unknown_unit": p.unknown,
                          "units": len({i.unit_id for i in p.units.values()})},
        }

    async def stop(self) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        for stopper in self.demo_tasks:
            with contextlib.suppress(Exception):
                await stopper()
        await self.positions.stop()
        await self.relay.stop()
        await self.hub.stop()
        await self.bus.stop()


def build_live(settings: Any, engine: Any, clock: Clock = system_clock) -> Live:
    prefix = settings.redis_prefix
    bus: Bus = (RedisBus(settings.redis_url, client_name=prefix) if settings.redis_url
                else MemoryBus())
    event_log = SqlEventLog(engine, LogEvent, clock)
    lock = PostgresLeaderLock(engine) if engine.dialect.name == "postgresql" else LocalLeaderLock()
    relay = OutboxRelay(event_log, bus, lock, channel=f"{prefix}:events")
    hub = Hub(event_log, bus, events_channel=f"{prefix}:events",
              positions_channel=f"{prefix}:positions")
    positions = PositionPipeline(bus, SqlPositionStore(engine), SqlUnitDirectory(engine, UnitInfo),
                                 channel=f"{prefix}:positions", on_freshness=event_log.append)
    return Live(bus=bus, event_log=event_log, relay=relay, hub=hub,
                snapshots=SqlSnapshotSource(engine, clock), positions=positions, clock=clock,
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
    services = ws.app.state.services
    live: Live = services.live
    settings = services.settings
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"),
                          settings.allowed_origins):
        await ws.close(code=1008, reason="origin not allowed")  # before accept: HTTP 403
        return
    await ws.accept()
    session = Session(
        StarletteTransport(ws), hub=live.hub, event_log=live.event_log,
        snapshots=live.snapshots, authenticate=services.tokens.verify_with_expiry,
        on_phone_position=live.positions.phone_position,
        config=SessionConfig(auth_timeout=settings.ws_auth_timeout,
                             max_pending=settings.ws_max_pending,
                             heartbeat_interval=settings.ws_heartbeat_seconds,
                             max_frame=settings.ws_max_frame_bytes,
                             subscribes_per_minute=settings.ws_subscribes_per_minute,
                             max_sessions_per_user=settings.ws_max_sessions_per_user),
        clock=services.now,
    )
    try:
        await session.run()
    except Disconnected:
        pass
    except Exception:
        log.exception("websocket session failed")
        await StarletteTransport(ws).close(1011, "internal error")


async def start_geotab_feed(live: Live, engine: Any, settings: Any) -> None:
    """Production: read MyGeotab's feed with the version tokens kept in the database."""
    from realtime.geotab import GeotabFeedClient, GeotabLogin, MyGeotabApi
    from storage.feed_cursors import SqlFeedCursorStore

    api = MyGeotabApi(GeotabLogin(settings.geotab_server, settings.geotab_database,
                                  settings.geotab_username,
                                  settings.geotab_password.get_secret_value()))

    async def on_fixes(fixes: list[Any]) -> None:
        await live.positions.ingest(fixes)

    async def on_status(statuses: list[Any]) -> None:
        await live.positions.ingest([s.to_fix() for s in statuses])

    client = GeotabFeedClient(api, cursor_store=SqlFeedCursorStore(engine), on_fixes=on_fixes,
                              on_status=on_status, poll_interval=settings.geotab_poll_seconds)
    live.feeds["geotab"] = client
    task = asyncio.create_task(client.run(), name="geotab-feed")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await api.aclose()

    live.demo_tasks.append(stop)
    log.info("GeoTab feed from %s", settings.geotab_server)


async def start_demo_feed(live: Live, engine: Any, *, vans: int | None = None) -> None:
    """Demo mode: a MyGeotab simulator on a loopback port, and the real client reading it."""
    from sqlalchemy import select

    from realtime.geotab import (
        Fleet,
        GeotabFeedClient,
        GeotabLogin,
        GeotabSimulator,
        InMemoryFeedCursorStore,
        MyGeotabApi,
        WallClock,
    )
    from storage import tables as t

    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(t.units.c.geotab_device_id, t.stores.c.lat, t.stores.c.lon)
            .join(t.stores, t.stores.c.id == t.units.c.home_store_id)
            .where(t.units.c.geotab_device_id.is_not(None)).limit(vans or 10_000))).all()
    if not rows:
        return
    lats = sorted(r[1] for r in rows)
    lons = sorted(r[2] for r in rows)
    center = (lats[len(lats) // 2], lons[len(lons) // 2])
    fleet = Fleet(vans=0, seed=3, clock=WallClock(), center=center, radius_km=35)
    for index, (device, lat, lon) in enumerate(rows):
        fleet.add_van(device, lat, lon, roaming=True)
        if index % 5 < 3:  # most vans are out on the road when the demo starts
            fleet.resume(device)
    sim = GeotabSimulator(fleet, database="demo", users={"dispatch-service": "demo"})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    server, thread = serve_in_thread(sim, sock, "geotab")
    api = MyGeotabApi(GeotabLogin(f"http://127.0.0.1:{port}", "demo", "dispatch-service", "demo"))

    async def on_fixes(fixes: list[Any]) -> None:
        await live.positions.ingest(fixes)

    async def on_status(statuses: list[Any]) -> None:
        await live.positions.ingest([s.to_fix() for s in statuses])

    client = GeotabFeedClient(api, cursor_store=InMemoryFeedCursorStore(), on_fixes=on_fixes,
                              on_status=on_status, poll_interval=1.0, catch_up_interval=0.0)
    live.feeds["geotab"] = client
    task = asyncio.create_task(client.run(), name="geotab-feed")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await api.aclose()
        server.should_exit = True
        await asyncio.to_thread(thread.join, 5)

    live.demo_tasks.append(stop)
    log.info("demo GeoTab simulator on 127.0.0.1:%s with %s vans", port, len(rows))
