"""Wiring of the order intake into the app lifespan.

With ``PARTNER_FEED_URL`` set, a `PartnerFeedPoller` reads the partner's order feed every
``PARTNER_FEED_INTERVAL_SECONDS`` (30 s), its cursor kept in ``feed_cursors``, and hands each page
to `OrderIntake.take_feed` (one work order per partner order). In demo mode without a URL, a local
partner feed simulator runs on a free loopback port in a daemon thread, trickling plausible orders
for the demo stores, and the same poller reads it. The webhook needs no wiring beyond its route.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from realtime.geotab.cursor import FeedCursorStore, InMemoryFeedCursorStore
from realtime.intake import DemoStore, PartnerFeedPoller, PartnerFeedSimulator, Trickle
from storage import tables as t
from storage.feed_cursors import SqlFeedCursorStore
from web.api.intake import order_intake, setting
from web.embedded import serve_in_thread
from web.feeds import supervise_feed
from web.partner_webhooks import new_secret, start_partner_webhooks

log = logging.getLogger("dispatch.intake")
Stopper = Callable[[], Awaitable[None]]


async def start_intake(services: Any) -> PartnerFeedPoller | None:
    """Start the partner feed poller (and the demo simulator) if configured, as a worker of the
    live supervisor; the simulator's stopper joins ``services.live.demo_tasks``."""
    settings = services.settings
    url: str | None = setting(settings, "partner_feed_url", None)
    interval = float(setting(settings, "partner_feed_interval_seconds", 30.0))
    partner = str(setting(settings, "intake_partner", "partner"))
    store: FeedCursorStore = SqlFeedCursorStore(services.engine)
    stop_sim: Stopper | None = None
    demo_hook: tuple[str, str] | None = None  # the simulator takes our webhooks too
    if url is None and settings.demo:
        hook_secret = new_secret()
        started = await start_demo_partner(services.engine, webhook_secret=hook_secret)
        if started is None:
            return None
        url, stop_sim = started
        demo_hook = (f"{url}/webhooks", hook_secret)
        # The simulator starts afresh on every run, so its cursor must not outlive the process.
        store, interval = InMemoryFeedCursorStore(), min(interval, 10.0)
    start_partner_webhooks(services, demo=demo_hook)  # status changes back to the partner
    if url is None:
        return None
    intake = order_intake(services)

    async def on_orders(orders: list[dict[str, Any]]) -> None:
        counts = await intake.take_feed(orders)
        log.info("partner feed %s: %s", partner, counts)

    token = setting(settings, "partner_feed_token", None)
    poller = PartnerFeedPoller(
        url, cursor_store=store, on_orders=on_orders, partner=partner, poll_interval=interval,
        headers={"Authorization": f"Bearer {token}"} if token else None,
    )
    # A supervised worker; its counters are watched by the alert rules and /readyz.
    supervise_feed(services.live, f"intake:{partner}", poller)
    if stop_sim is not None:
        services.live.demo_tasks.append(stop_sim)  # after the supervisor stopped the poller
    log.info("partner feed poller for %s at %s every %.0fs", partner, url, interval)
    return poller


async def start_demo_partner(engine: Any, *, every: float = 60.0,
                             webhook_secret: str | None = None) -> tuple[str, Stopper] | None:
    """Serve a `PartnerFeedSimulator` on a free loopback port; return its URL and a stopper."""
    s = t.stores
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(s.c.code, s.c.lat, s.c.lon).where(s.c.active.is_(True)).order_by(s.c.code)
        )).all()
    if not rows:
        return None
    stores = [DemoStore(code, lat, lon) for code, lat, lon in rows]
    sim = PartnerFeedSimulator(trickle=Trickle(stores, every=every, seed=None),
                               webhook_secret=webhook_secret)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    server, thread = serve_in_thread(sim, sock, "partner-feed")

    async def stop() -> None:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 5)
        sock.close()

    log.info("demo partner order feed on 127.0.0.1:%s (%s stores)", port, len(stores))
    return f"http://127.0.0.1:{port}", stop
