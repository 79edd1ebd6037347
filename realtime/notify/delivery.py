"""The delivery worker: sends queued alert notifications through a ``Notifier`` and records each
attempt (status, attempts, provider id, error) through a ``NotificationStore``.

A transient failure is retried with exponential backoff (``retry_delay``) up to ``max_attempts``;
a permanent one is given up at once; a 429 holds every send until its ``Retry-After`` has passed.
A notification whose alert was acknowledged or resolved meanwhile is cancelled, not sent.
``run_once`` is the step of a supervised worker (``web/alerts_wiring.py``): every
``poll_interval`` seconds, or at once when ``wake()`` is called.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from domain.alert_delivery import PendingNotification, retry_delay
from realtime.notify.base import DeliveryFailed, Notifier

log = logging.getLogger("dispatch.notify")


class NotificationStore(Protocol):
    async def due(self, now: dt.datetime, limit: int) -> list[PendingNotification]:
        """Pending notifications whose next attempt is due, oldest first."""
        ...

    async def mark_sent(self, id: str, *, provider_id: str, channel: str, attempts: int,
                        at: dt.datetime) -> None: ...

    async def mark_failed(self, id: str, *, error: str, attempts: int,
                          next_attempt_at: dt.datetime | None) -> None:
        """``next_attempt_at`` None: given up (status failed); else pending until then."""
        ...

    async def mark_cancelled(self, id: str, *, reason: str) -> None: ...


class DeliveryWorker:
    def __init__(self, notifier: Notifier, store: NotificationStore, *, max_attempts: int = 5,
                 poll_interval: float = 5.0, batch: int = 50,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.notifier = notifier
        self.store = store
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.batch = batch
        self.clock = clock
        self.blocked_until: dt.datetime | None = None
        self.sent = 0
        self.failed = 0
        #: Set when texts were queued: the supervised worker's wait for the next pass ends.
        self.woken = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self.woken.set()

    async def run_once(self) -> int:
        """Try every due notification once; returns how many were sent."""
        async with self._lock:
            now = self.clock()
            if self.blocked_until is not None and now < self.blocked_until:
                return 0
            sent = 0
            for item in await self.store.due(now, self.batch):
                if item.alert.get("status") != "open":
                    await self.store.mark_cancelled(item.id, reason=f"alert {item.alert.get('status')}")
                    continue
                if not await self._attempt(item):
                    if self.blocked_until is not None and self.clock() < self.blocked_until:
                        break  # the provider asked us to wait
                    continue
                sent += 1
            return sent

    async def _attempt(self, item: PendingNotification) -> bool:
        attempts = item.attempts + 1
        try:
            receipt = await self.notifier.send(item.recipient, item.text())
        except DeliveryFailed as error:
            now = self.clock()
            self.failed += 1
            if error.retry_after is not None:
                self.blocked_until = now + dt.timedelta(seconds=error.retry_after)
                next_at: dt.datetime | None = self.blocked_until
            elif error.permanent or attempts >= self.max_attempts:
                next_at = None
            else:
                next_at = now + retry_delay(attempts)
            if next_at is not None and attempts >= self.max_attempts:
                next_at = None
            log.warning("alert notification %s to %s failed (attempt %s): %s%s", item.id,
                        item.recipient, attempts, error, "" if next_at else "; giving up")
            await self.store.mark_failed(item.id, error=str(error)[:2000], attempts=attempts,
                                         next_attempt_at=next_at)
            return False
        self.sent += 1
        await self.store.mark_sent(item.id, provider_id=receipt.provider_id,
                                   channel=receipt.channel, attempts=attempts, at=self.clock())
        return True

    async def stop(self) -> None:
        """Close the notifier (the supervisor has stopped the passes)."""
        await self.notifier.aclose()
