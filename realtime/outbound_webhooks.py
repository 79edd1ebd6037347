"""The sender of outbound webhooks: the partner learns its jobs' status changes.

Deliveries are queued in the database with the change (``storage/webhook_deliveries.py``); this
worker posts each due one to the partner's URL, signed as Standard Webhooks 1.0 with the same
secret format the intake verifies (``webhook-id`` = the delivery's message id, stable across
attempts; ``webhook-timestamp`` = this attempt; ``webhook-signature: v1,<base64>``).

A 2xx answer delivers it. Anything else (an error status, a timeout, a refused connection) is
retried after a backoff: ``base`` doubling per attempt up to ``cap``, jittered, or the partner's
``Retry-After`` when longer; after ``max_attempts`` tries the delivery is dead (an admin may
replay it). ``run_once`` is the step of a supervised worker (``web/partner_webhooks.py``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from realtime.intake.webhooks import Webhook

log = logging.getLogger("dispatch.partner_webhooks")


class DeliveryStore(Protocol):
    async def due(self, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """Pending deliveries due now (``id``, ``message_id``, ``payload``, ``attempts``)."""
        ...

    async def delivered(self, id: int, *, attempts: int, status_code: int,
                        at: dt.datetime) -> None: ...

    async def failed(self, id: int, *, attempts: int, status_code: int | None, error: str,
                     next_attempt_at: dt.datetime | None) -> None:
        """``next_attempt_at`` None: dead."""
        ...


def retry_delay(attempts: int, *, base: float, cap: float, rng: random.Random,
                retry_after: float | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed ones: base * 2**(n-1), capped,
    times [0.5, 1] (retries of many deliveries spread out); a longer Retry-After wins."""
    nominal = min(cap, base * 2.0 ** min(attempts - 1, 30)) * rng.uniform(0.5, 1.0)
    return max(nominal, min(retry_after, cap)) if retry_after is not None else nominal


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class WebhookSender:
    def __init__(self, store: DeliveryStore, url: str, secret: str, *, max_attempts: int = 8,
                 base: float = 10.0, cap: float = 3600.0, batch: int = 50,
                 poll_interval: float = 5.0, timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None, rng: random.Random | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.store = store
        self.url = url
        self.signer = Webhook(secret, clock=lambda: clock().timestamp())
        self.max_attempts = max_attempts
        self.base, self.cap = base, cap
        self.batch = batch
        self.poll_interval = poll_interval
        self.clock = clock
        self.rng = rng or random.Random()
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owned = client is None
        self.sent = 0
        self.failures = 0
        #: Set when a status change was committed: the supervised worker's wait ends.
        self.woken = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self.woken.set()

    async def on_bus_message(self, raw: str) -> None:
        """A handler for the bus's events channel: a work order's status changed, look now."""
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if (isinstance(message, dict) and message.get("kind") == "event"
                and str(message.get("name", "")).startswith("WorkOrder")):
            self.wake()

    async def run_once(self) -> int:
        """Try every due delivery once; returns how many were delivered."""
        async with self._lock:
            done = 0
            for item in await self.store.due(self.clock(), self.batch):
                done += await self._attempt(item)
            return done

    async def _attempt(self, item: dict[str, Any]) -> int:
        attempts = int(item["attempts"]) + 1
        body = json.dumps(item["payload"], separators=(",", ":"), sort_keys=True).encode()
        headers = {**self.signer.headers(item["message_id"], body),
                   "content-type": "application/json"}
        status: int | None = None
        retry_after = None
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
            status = response.status_code
            if 200 <= status < 300:
                self.sent += 1
                await self.store.delivered(item["id"], attempts=attempts, status_code=status,
                                           at=self.clock())
                return 1
            retry_after = _retry_after(response.headers.get("retry-after"))
            error = f"HTTP {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.failures += 1
        next_at = None
        if attempts < self.max_attempts:
            next_at = self.clock() + dt.timedelta(seconds=retry_delay(
                attempts, base=self.base, cap=self.cap, rng=self.rng, retry_after=retry_after))
        log.warning("partner webhook %s (%s) failed, attempt %s: %s%s", item["message_id"],
                    item["payload"].get("type"), attempts, error,
                    "" if next_at else "; dead-lettered")
        await self.store.failed(item["id"], attempts=attempts, status_code=status, error=error,
                                next_attempt_at=next_at)
        return 0

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
