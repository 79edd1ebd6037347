"""Wiring of the order intake: `OrderIntake`, the adapters around its use cases that the signed
webhook (``web/api/intake.py``) and the feed poller share, and its start in the app lifespan.

With ``PARTNER_FEED_URL`` set, a `PartnerFeedPoller` reads the partner's order feed every
``PARTNER_FEED_INTERVAL_SECONDS`` (30 s), its cursor kept in ``feed_cursors``, and hands each page
to `OrderIntake.take_feed` (one work order per partner order). In demo mode without a URL, a local
partner feed simulator runs on a free loopback port in a daemon thread, trickling plausible orders
for the demo stores, and the same poller reads it. The webhook needs no wiring beyond its route.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import ConcurrencyConflict, DomainError
from domain.partner_orders import ChangeClaim, IntakeClaim, PartnerChange
from domain.roles import Principal, Role
from domain.services import intake as uc
from domain.services.context import Context
from realtime.geotab.cursor import FeedCursorStore, InMemoryFeedCursorStore
from realtime.intake import DemoStore, PartnerFeedPoller, PartnerFeedSimulator, Trickle
from storage import tables as t
from storage.feed_cursors import SqlFeedCursorStore
from storage.intake import IntakeLedger, IntakeUnitOfWork
from storage.partner_changes import ChangeLedger, PartnerChangeUnitOfWork
from web.embedded import serve_in_thread
from web.feeds import supervise_feed
from web.intake_messages import is_change, parse_change, parse_order
from web.partner_webhooks import new_secret, start_partner_webhooks

if TYPE_CHECKING:
    from web.runtime import Runtime

log = logging.getLogger("dispatch.intake")
Stopper = Callable[[], Awaitable[None]]
#: Outcomes of a change that did something (the others answer what was done before).
_HANDLED = frozenset({"updated", "cancelled", "blocked", "closed"})


def secret(value: SecretStr | None) -> str:
    """A secret setting's text ('' when unset)."""
    return value.get_secret_value() if value is not None else ""


class OrderIntake:
    """Takes a partner's orders and changes (``domain/services/intake.py``) as the system
    principal ``intake:<partner>``, with the ledgers and units of work of ``storage/``."""

    def __init__(self, engine: AsyncEngine, *, source: str,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 after_commit: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.source = source
        self.now = now
        self.after_commit = after_commit
        self.orders = IntakeLedger(engine)
        self.changes = ChangeLedger(engine)
        self.principal = Principal(user_id="intake", username=f"intake:{source}"[:64],
                                   roles=frozenset({Role.DISPATCHER}))

    async def take(self, order: uc.PartnerOrder, *, webhook_id: str | None = None,
                   correlation_id: str | None = None) -> uc.Taken:
        def new_uow(claim: IntakeClaim) -> Any:  # structurally the domain's unit of work
            return IntakeUnitOfWork(self.engine, claim=claim, **self._uow_args(correlation_id))

        taken = await uc.take_partner_order(new_uow, self.orders, self._context(), order,
                                            source=self.source, webhook_id=webhook_id)
        if taken.outcome == "created":
            log.info("intake %s: order %s became work order %s", self.source,
                     order.external_id, taken.work_order["id"])
        return taken

    async def change(self, change: PartnerChange, *, webhook_id: str | None = None,
                     correlation_id: str | None = None) -> uc.Taken:
        def new_uow(claim: ChangeClaim) -> Any:  # structurally the domain's unit of work
            return PartnerChangeUnitOfWork(self.engine, claim=claim,
                                           **self._uow_args(correlation_id))

        changed = await uc.take_partner_change(new_uow, self.orders, self.changes,
                                               self._context(), change, source=self.source,
                                               webhook_id=webhook_id)
        if changed.outcome in _HANDLED:
            log.info("intake %s: order %s version %s: %s", self.source, change.external_id,
                     change.version, changed.outcome)
        return changed

    async def take_feed(self, orders: list[dict[str, Any]]) -> dict[str, int]:
        """A page of the partner feed. An order that is invalid or breaks a rule is logged and
        skipped (it would never pass); a transient failure raises, so the page is read again."""
        counts = {"created": 0, "duplicate": 0, "replayed": 0, "invalid": 0}
        for raw in orders:
            inner = raw.get("data")
            body = inner if isinstance(inner, dict) else raw
            ref = str(body.get("external_id", "?"))[:128]
            correlation_id = f"intake-poll-{uuid.uuid4().hex}"
            try:
                if is_change(raw):  # an update, priority change or cancellation
                    taken = await self.change(parse_change(raw), correlation_id=correlation_id)
                else:
                    taken = await self.take(parse_order(raw), correlation_id=correlation_id)
            except ValidationError as error:
                counts["invalid"] += 1
                log.warning("intake %s: order %s is invalid: %s", self.source, ref,
                            error.errors(include_url=False, include_input=False)[:3])
                continue
            except ConcurrencyConflict:
                raise
            except (DomainError, ValueError) as error:
                counts["invalid"] += 1
                log.warning("intake %s: order %s refused: %s", self.source, ref,
                            getattr(error, "message", str(error)))
                continue
            counts[taken.outcome] = counts.get(taken.outcome, 0) + 1
        return counts

    def _context(self) -> Context:
        return Context(self.principal, self.now())

    def _uow_args(self, correlation_id: str | None) -> dict[str, Any]:
        return {"actor": self.principal, "clock": self.now, "after_commit": self.after_commit,
                "correlation_id": correlation_id or f"intake-{uuid.uuid4().hex}"}


def order_intake(runtime: Runtime) -> OrderIntake:
    return OrderIntake(runtime.engine, source=runtime.settings.intake_partner,
                       now=runtime.now, after_commit=runtime.live.relay.notify)


async def start_intake(runtime: Runtime) -> PartnerFeedPoller | None:
    """Start the partner feed poller (and the demo simulator) if configured, as a worker of the
    live supervisor; the simulator's stopper joins ``services.live.demo_tasks``."""
    settings = runtime.settings
    url = settings.partner_feed_url or None
    interval = settings.partner_feed_interval_seconds
    partner = settings.intake_partner
    store: FeedCursorStore = SqlFeedCursorStore(runtime.engine)
    stop_sim: Stopper | None = None
    demo_hook: tuple[str, str] | None = None  # the simulator takes our webhooks too
    if url is None and settings.demo:
        hook_secret = new_secret()
        started = await start_demo_partner(runtime.engine, webhook_secret=hook_secret)
        if started is None:
            return None
        url, stop_sim = started
        demo_hook = (f"{url}/webhooks", hook_secret)
        # The simulator starts afresh on every run, so its cursor must not outlive the process.
        store, interval = InMemoryFeedCursorStore(), min(interval, 10.0)
    start_partner_webhooks(runtime, demo=demo_hook)  # status changes back to the partner
    if url is None:
        return None
    intake = order_intake(runtime)

    async def on_orders(orders: list[dict[str, Any]]) -> None:
        counts = await intake.take_feed(orders)
        log.info("partner feed %s: %s", partner, counts)

    token = secret(settings.partner_feed_token)
    poller = PartnerFeedPoller(
        url, cursor_store=store, on_orders=on_orders, partner=partner, poll_interval=interval,
        headers={"Authorization": f"Bearer {token}"} if token else None,
    )
    # A supervised worker; its counters are watched by the alert rules and /readyz.
    supervise_feed(runtime.live, f"intake:{partner}", poller)
    if stop_sim is not None:
        runtime.live.demo_tasks.append(stop_sim)  # after the supervisor stopped the poller
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
