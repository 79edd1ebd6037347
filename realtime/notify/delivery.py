"""The delivery worker: sends queued alert notifications through their channel (text, call,
mail, webhook) and records each attempt (status, attempts, provider id, error) through a
``NotificationStore``.

The database rows are the truth, so each message goes out once however many workers run and
across restarts: a worker **claims** a due row (``pending -> sending``, one UPDATE that only one
worker can win) before it sends, and records the outcome on that claim. A row left ``sending``
by a worker that stopped is taken back after ``claim_lease``: a text, mail or post is queued
again (at least once), a call is not placed again (at most once; the alert climbs on the clock).

A transient failure is retried with exponential backoff (``retry_delay``) up to ``max_attempts``;
a permanent one is given up at once. Each channel sits behind its ``CircuitBreaker``: while a
provider is down (or asked us to wait, 429) its rows are postponed without calling it. A call
that got no key within ``call_timeout`` is recorded as unanswered. A notification whose alert
was acknowledged or resolved meanwhile is cancelled, not sent. ``run_once`` is the step of a
supervised worker (``web/alerts_wiring.py``): every ``poll_interval`` seconds, or at once when
``wake()`` is called.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from domain.alert_delivery import VOICE, PendingNotification, retry_delay
from domain.alert_responses import new_call_token, token_hash
from realtime.notify.base import DeliveryFailed
from realtime.notify.breaker import CircuitBreaker

log = logging.getLogger("dispatch.notify")


class NotificationStore(Protocol):
    async def due(self, now: dt.datetime, limit: int) -> list[PendingNotification]:
        """Pending notifications whose next attempt is due, oldest first."""
        ...

    async def claim(self, id: str, now: dt.datetime, *, call_token: str | None = None) -> bool:
        """Take it for this worker; False when another one did first."""
        ...

    async def mark_sent(self, id: str, *, provider_id: str, channel: str, attempts: int,
                        at: dt.datetime) -> None: ...

    async def mark_failed(self, id: str, *, error: str, attempts: int,
                          next_attempt_at: dt.datetime | None) -> None:
        """``next_attempt_at`` None: given up (status failed); else pending until then."""
        ...

    async def postpone(self, id: str, *, until: dt.datetime, reason: str) -> None: ...

    async def mark_cancelled(self, id: str, *, reason: str) -> None: ...

    async def release_stuck(self, before: dt.datetime, now: dt.datetime) -> int: ...

    async def expire_calls(self, placed_before: dt.datetime, now: dt.datetime) -> int: ...


class DeliveryWorker:
    def __init__(self, channels: Mapping[str, CircuitBreaker], store: NotificationStore, *,
                 max_attempts: int = 5, poll_interval: float = 5.0, batch: int = 50,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 call_timeout: dt.timedelta = dt.timedelta(minutes=3),
                 claim_lease: dt.timedelta = dt.timedelta(minutes=2)) -> None:
        self.channels = dict(channels)
        self.store = store
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.batch = batch
        self.clock = clock
        self.call_timeout = call_timeout
        self.claim_lease = claim_lease
        self.sent = 0
        self.failed = 0
        #: Set when messages were queued: the supervised worker's wait for the next pass ends.
        self.woken = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self.woken.set()

    async def run_once(self) -> int:
        """Try every due notification once; returns how many went out."""
        async with self._lock:
            now = self.clock()
            await self.store.release_stuck(now - self.claim_lease, now)
            await self.store.expire_calls(now - self.call_timeout, now)
            sent = 0
            for item in await self.store.due(now, self.batch):
                sent += await self._one(item)
            return sent

    async def _one(self, item: PendingNotification) -> int:
        if item.alert.get("status") != "open":
            await self.store.mark_cancelled(item.id, reason=f"alert {item.alert.get('status')}")
            return 0
        # a webhook endpoint is a channel of its own (its own circuit); the others by their kind
        channel = self.channels.get(f"{item.channel}:{item.recipient}") \
            or self.channels.get(item.channel)
        now = self.clock()
        if channel is None:
            if await self.store.claim(item.id, now):
                await self.store.mark_failed(item.id, attempts=item.attempts + 1,
                                             error=f"no {item.channel} provider configured",
                                             next_attempt_at=None)
            return 0
        until = channel.blocked_until(now)
        if until is not None:  # the provider is down or asked us to wait: do not call it
            await self.store.postpone(item.id, until=until,
                                      reason=f"{channel.provider} unavailable ({channel.state})")
            return 0
        token = new_call_token() if item.channel == VOICE else None
        if not await self.store.claim(item.id, now,
                                      call_token=token_hash(token) if token else None):
            return 0  # another worker has it
        return await self._attempt(dataclasses.replace(item, call_token=token), channel)

    async def _attempt(self, item: PendingNotification, channel: CircuitBreaker) -> int:
        attempts = item.attempts + 1
        try:
            receipt = await channel.deliver(item)
        except DeliveryFailed as error:
            now = self.clock()
            if not error.attempted:
                attempts = item.attempts
            else:
                self.failed += 1
            if error.retry_after is not None:
                next_at: dt.datetime | None = now + dt.timedelta(seconds=error.retry_after)
            elif error.permanent:
                next_at = None
            else:
                next_at = now + retry_delay(attempts)
            if next_at is not None and attempts >= self.max_attempts:
                next_at = None
            log.warning("alert %s %s to %s failed (attempt %s): %s%s", item.channel, item.id,
                        item.recipient[:3] + "…", attempts, error,
                        "" if next_at else "; giving up")
            await self.store.mark_failed(item.id, error=str(error)[:2000], attempts=attempts,
                                         next_attempt_at=next_at)
            return 0
        self.sent += 1
        await self.store.mark_sent(item.id, provider_id=receipt.provider_id,
                                   channel=receipt.channel, attempts=attempts, at=self.clock())
        return 1

    async def stop(self) -> None:
        """Close the providers' clients (the supervisor has stopped the passes)."""
        for channel in self.channels.values():
            await channel.aclose()
