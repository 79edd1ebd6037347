"""Wiring of the GeoTab feed (production, or the demo's simulator) as a supervised worker.

The feed client keeps its own retry loop (Retry-After, backoff, renewed sessions); the supervisor
starts it again if that loop ever ends, and ``/readyz`` reads each feed's last success from the
client's counters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from collections.abc import Callable
from typing import Any, TypedDict

from web.embedded import serve_in_thread
from web.live import Live
from web.settings import Settings

log = logging.getLogger("dispatch.live")


def feed_report(client: Any) -> Callable[[], tuple[dt.datetime | None, str | None]]:
    """The oldest last success over a client's feeds (each must be going), and the last error."""
    def report() -> tuple[dt.datetime | None, str | None]:
        stats = list(client.stats.values()) if isinstance(client.stats, dict) else [client.stats]
        times = [s.last_success for s in stats]
        oldest = None if any(t is None for t in times) else min(t for t in times if t)
        errors = [s.last_error for s in stats if s.last_error]
        return oldest, errors[-1] if errors else None
    return report


def _handlers(live: Live, feed: str) -> tuple[Any, Any]:
    async def on_fixes(fixes: list[Any]) -> None:
        if fixes and live.metrics is not None:
            live.metrics.position_lag(feed, max(f.device_time for f in fixes))
            live.metrics.positions_ingested(feed, fixes)
        await live.positions.ingest(fixes, validated=True)  # the client applied validate_fix
        await live.positions.publish()  # a feed's batch goes out now, not at the next tick

    async def on_status(statuses: list[Any]) -> None:
        await on_fixes([s.to_fix() for s in statuses])

    return on_fixes, on_status


def supervise_feed(live: Live, name: str, client: Any) -> None:
    """Run ``client.run()`` under the live supervisor; its counters feed health and alerts."""
    live.feeds[name] = client
    live.supervisor.service(f"feed:{name}", client.run, report=feed_report(client))


class Pacing(TypedDict):
    fast_interval: float
    poll_interval: float
    catch_up_interval: float
    backoff_cap: float


def pacing(settings: Settings) -> Pacing:
    """The feed client's intervals from the settings (production and the demo alike): fast while
    positions flow, up to ``GEOTAB_POLL_SECONDS`` when idle, a full page followed as soon as
    MyGeotab allows; and the longest wait between retries."""
    from realtime.geotab.pacing import DEFAULT_FAST_SECONDS

    fast = float(settings.geotab_poll_fast_seconds)
    return Pacing(fast_interval=fast, poll_interval=float(settings.geotab_poll_seconds),
                  catch_up_interval=min(fast, DEFAULT_FAST_SECONDS),
                  backoff_cap=float(settings.geotab_backoff_cap_seconds))


async def start_geotab_feed(live: Live, engine: Any, settings: Settings) -> None:
    """Production: read MyGeotab's feed with the version tokens kept in the database."""
    from realtime.geotab import GeotabFeedClient, GeotabLogin, MyGeotabApi
    from storage.feed_cursors import SqlFeedCursorStore

    if not settings.geotab_server:
        raise ValueError("GEOTAB_SERVER is not set: there is no MyGeotab feed to read")
    api = MyGeotabApi(GeotabLogin(settings.geotab_server, settings.geotab_database,
                                  settings.geotab_username,
                                  settings.geotab_password.get_secret_value()))
    on_fixes, on_status = _handlers(live, "geotab")
    client = GeotabFeedClient(api, cursor_store=SqlFeedCursorStore(engine), on_fixes=on_fixes,
                              on_status=on_status, clock=live.clock, **pacing(settings))
    supervise_feed(live, "geotab", client)
    live.demo_tasks.append(api.aclose)
    log.info("GeoTab feed from %s", settings.geotab_server)


class DevicesOnTheAppClock:
    """The demo's simulated vans log on the app's clock (whole seconds, as devices do), so a demo
    run on a shifted clock shows them fresh, not from another day."""

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self.clock = clock

    def now(self) -> dt.datetime:
        return self.clock().replace(microsecond=0)


async def start_demo_feed(live: Live, engine: Any, settings: Settings, *,
                          vans: int | None = None) -> None:
    """Demo mode: a MyGeotab simulator on a loopback port, and the real client reading it with
    the same settings as production (``GEOTAB_POLL_SECONDS``, ``GEOTAB_POLL_FAST_SECONDS``)."""
    from sqlalchemy import select

    from realtime.geotab import (
        Fleet,
        GeotabFeedClient,
        GeotabLogin,
        GeotabSimulator,
        InMemoryFeedCursorStore,
        MyGeotabApi,
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
    fleet = Fleet(vans=0, seed=3, clock=DevicesOnTheAppClock(live.clock),
                  center=center, radius_km=35)
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
    on_fixes, on_status = _handlers(live, "geotab")
    client = GeotabFeedClient(api, cursor_store=InMemoryFeedCursorStore(), on_fixes=on_fixes,
                              on_status=on_status, clock=live.clock, **pacing(settings))
    supervise_feed(live, "geotab", client)

    async def stop() -> None:
        await api.aclose()
        server.should_exit = True
        await asyncio.to_thread(thread.join, 5)

    live.demo_tasks.append(stop)
    log.info("demo GeoTab simulator on 127.0.0.1:%s with %s vans", port, len(rows))
