"""Customer notifications off the event path: a supervised worker reads the published event log
after a persisted cursor, turns each work-order event into the notifications the rules call for
(``domain/notifications.py``), records them (the tracking page's messages, queued texts) and
sends the queued texts through the ``Notifier`` (Genesys Cloud SMS, or the log).

It runs on the relay's leader (one process of the cluster), wakes on the bus's work-order events
and also polls every ``POLL_SECONDS``: a lost bus message only delays a notification. Nothing is
sent twice: each (event, channel) is one row (unique index), and a text is claimed
(``pending -> sending``) before it goes out. Events older than ``STALE_AFTER`` when read (after
an outage) are skipped: an "on the way" text an hour late helps no one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from domain.alert_delivery import normalize_phone, retry_delay
from domain.notifications import (
    STALE_AFTER,
    JobFacts,
    NotificationKind,
    notification_for,
    notifications_for,
    texted,
)
from realtime.notify import DeliveryFailed, Notifier
from realtime.supervisor import After
from storage.feed_cursors import SqlFeedCursorStore
from storage.notifications import SqlCustomerNotifications
from web.alert_delivery_wiring import build_notifier
from web.settings import Settings

if TYPE_CHECKING:
    from web.runtime import Runtime

log = logging.getLogger("dispatch.customers")

CURSOR = "customer-notifications"
POLL_SECONDS = 5.0
#: At least this long between two passes: each pass reads the events after the cursor and writes
#: the cursor and the due texts' claims, so under a stream of events (every commit wakes it) one
#: pass takes many events, not one each. A text goes out at most this much later.
PASS_SPACING = 0.5
#: A text left ``sending`` this long (its process stopped mid-send) is queued again.
STUCK_AFTER = dt.timedelta(minutes=2)


def tracking_path(token: str) -> str:
    return f"/t/{token}"


def _parse(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def as_of_event(job: JobFacts, order: dict[str, Any]) -> JobFacts:
    """The job as the event saw it (status, window, plan), with today's names and van."""
    window = order.get("time_window") or {}
    return dataclasses.replace(
        job, status=str(order.get("status") or job.status),
        window_start=_parse(window.get("start")), window_end=_parse(window.get("end")),
        planned_arrival=_parse(order.get("planned_arrival")))


class CustomerNotifier:
    def __init__(self, store: SqlCustomerNotifications, event_log: Any,
                 cursors: SqlFeedCursorStore, notifier: Notifier, *,
                 clock: Callable[[], dt.datetime], link_base: str, max_attempts: int = 5,
                 batch: int = 200) -> None:
        self.store = store
        self.event_log = event_log
        self.cursors = cursors
        self.notifier = notifier
        self.clock = clock
        self.link_base = link_base.rstrip("/")
        self.max_attempts = max_attempts
        self.batch = batch
        self.cursor: int | None = None
        self.blocked_until: dt.datetime | None = None
        self.sent = 0
        self.woken = asyncio.Event()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Resume after the stored cursor; a first start begins at the log's end (no texts about
        what happened before the feature was on). No database yet: the first step tries again."""
        try:
            await self._load_cursor()
        except Exception:  # the process still starts; run_once loads it
            log.warning("customer notifications: could not read the cursor yet", exc_info=True)

    async def _load_cursor(self) -> int:
        if self.cursor is None:
            stored = await self.cursors.get(CURSOR)
            cursor = int(stored) if stored else await self.event_log.latest_seq()
            if not stored:
                await self.cursors.set(CURSOR, str(cursor))
            self.cursor = cursor
        return self.cursor

    async def on_bus_message(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if isinstance(message, dict) and message.get("aggregate_type") == "work_order":
            self.woken.set()

    async def run_once(self) -> After | None:
        """Handle the events after the cursor, then send what is due. Answers ``After(0)`` (go
        on at once) while a full batch came back, else None (the usual interval)."""
        async with self._lock:
            events = await self.event_log.read_since(await self._load_cursor(), self.batch)
            for event in events:
                if event.aggregate_type == "work_order":
                    await self.handle(event)
                self.cursor = event.seq
            if events:
                await self.cursors.set(CURSOR, str(self.cursor))
            await self.send_due()
            return After(0.0) if len(events) == self.batch else None

    async def handle(self, event: Any) -> None:
        kind = notification_for(event.name, event.data)
        if kind is None:
            return
        now = self.clock()
        if now - event.at > STALE_AFTER:
            log.info("customer notification %s for %s skipped: the event is %s old", kind,
                     event.aggregate_id, now - event.at)
            return
        job = await self.store.job_facts(event.aggregate_id)
        if job is None:
            return
        job = as_of_event(job, event.data.get("work_order") or {})
        linked = job.work_order_id
        if kind == NotificationKind.FAILED:  # the text leads to the follow-up's page
            linked = await self.store.follow_up_id(job.work_order_id) or linked
        token = await self.store.link_for(linked, now)
        url = self.link_base + tracking_path(token)
        items = notifications_for(kind, job, now, url, event.seq,
                                  text_too=texted(event.name, event.data))
        await self.store.record(items, now)
        if any(item.status == "pending" for item in items):
            self.woken.set()

    async def send_due(self) -> int:
        now = self.clock()
        if self.blocked_until is not None and now < self.blocked_until:
            return 0
        await self.store.release_stuck(now - STUCK_AFTER)
        sent = 0
        for row in await self.store.claim_due(now, 50):
            if not row["sms_opt_in"] or normalize_phone(row["phone"] or "") != row["recipient"]:
                await self.store.finish(row["id"], status="cancelled", attempts=row["attempts"],
                                        at=now, error="no consent to texts at sending time")
                continue
            sent += await self._attempt(row)
            if self.blocked_until is not None and self.clock() < self.blocked_until:
                break
        return sent

    async def _attempt(self, row: dict[str, Any]) -> int:
        attempts = int(row["attempts"]) + 1
        try:
            receipt = await self.notifier.send(row["recipient"], row["text"])
        except DeliveryFailed as error:
            now = self.clock()
            next_at: dt.datetime | None = None
            if error.retry_after is not None:
                self.blocked_until = now + dt.timedelta(seconds=error.retry_after)
                next_at = self.blocked_until
            elif not error.permanent:
                next_at = now + retry_delay(attempts)
            if attempts >= self.max_attempts:
                next_at = None
            log.warning("customer text %s failed (attempt %s): %s", row["id"], attempts, error)
            await self.store.finish(row["id"], status="pending" if next_at else "failed",
                                    attempts=attempts, at=now, error=str(error),
                                    next_attempt_at=next_at)
            return 0
        self.sent += 1
        await self.store.finish(row["id"], status="sent" if receipt.channel == "sms" else "logged",
                                attempts=attempts, at=self.clock(),
                                provider_id=receipt.provider_id)
        return 1


async def start_customer_notifications(runtime: Runtime) -> CustomerNotifier:
    """Declare the worker on this process's supervisor; it acts only where the relay leads."""
    settings, live = runtime.settings, runtime.live
    notifier = build_notifier(settings)
    runner = CustomerNotifier(
        SqlCustomerNotifications(runtime.engine), live.event_log,
        SqlFeedCursorStore(runtime.engine, runtime.now), notifier, clock=runtime.now,
        link_base=public_base(settings), max_attempts=settings.alert_notify_max_attempts)
    await runner.start()
    live.bus.subscribe(f"{settings.redis_prefix}:events", runner.on_bus_message)
    live.supervisor.periodic("customer-notifications", runner.run_once, interval=POLL_SECONDS,
                             wake=runner.woken, leader=lambda: live.relay.is_leader,
                             min_spacing=PASS_SPACING)
    live.demo_tasks.append(notifier.aclose)  # closed after the workers stop
    return runner


def public_base(settings: Settings) -> str:
    """Where customers reach this service (``PUBLIC_URL``); ``http://HOST:PORT`` when unset."""
    return str(settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
