"""The partner order-feed poller: ``GET {url}/orders?cursor=...&limit=...`` → order dicts → a callback.

The feed answers ``{"orders": [...], "next_cursor": "<opaque>" | null}``. Per poll:

- the cursor comes from a `FeedCursorStore` (key ``intake:<partner>``) and is stored again only
  after the page was handed off, so a crash in between fetches the page again (at-least-once);
  the hand-off is idempotent (one work order per partner and external id), so that is harmless;
- a full page (``len(orders) == limit``) means more is waiting: fetch again at once; otherwise
  wait ``poll_interval`` (30 s by default);
- HTTP 429/503 wait ``Retry-After`` (or back off); network errors, other non-2xx answers,
  malformed bodies and a failing hand-off back off exponentially with jitter.

`run()` supervises the poll loop until cancelled: it logs every failure, waits, and carries on.
The callback owns validation: an order it cannot take is its to log and skip, so one bad order
never stalls the feed; a callback that *raises* means "try this page again later".
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from realtime.geotab.backoff import Backoff
from realtime.geotab.cursor import FeedCursorStore

log = logging.getLogger(__name__)

OrdersHandler = Callable[[list[dict[str, Any]]], Awaitable[None]]
MAX_PAGE = 500


class FeedError(Exception):
    """The feed answered something unusable (bad status, not the documented JSON)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HandoffFailed(Exception):
    """The callback raised; the page will be fetched again."""


@dataclass(slots=True)
class PollerStats:
    calls: int = 0
    full_pages: int = 0
    received: int = 0
    handed_off: int = 0
    failures: int = 0
    rate_limited: int = 0
    last_error: str | None = None
    #: When a poll last went through (health checks: ``/readyz``).
    last_success: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderPage:
    received: int
    full: bool
    cursor: str | None


class PartnerFeedPoller:
    """Polls one partner's order feed and hands each page to ``on_orders``."""

    def __init__(
        self,
        url: str,
        *,
        cursor_store: FeedCursorStore,
        on_orders: OrdersHandler,
        partner: str = "partner",
        page_size: int = 100,
        poll_interval: float = 30.0,
        catch_up_interval: float = 0.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        timeout: float = 15.0,
        headers: dict[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE}")
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self.url = url.rstrip("/")
        self.partner = partner
        self.page_size = page_size
        self.poll_interval = poll_interval
        self.catch_up_interval = catch_up_interval
        self._store = cursor_store
        self._on_orders = on_orders
        self._timeout = timeout
        self._headers = dict(headers or {})
        self._client = client
        self._sleep = sleep
        self._backoff = Backoff(base=backoff_base, cap=backoff_cap, rng=rng or random.Random())
        self.stats = PollerStats()

    @property
    def cursor_key(self) -> str:
        return f"intake:{self.partner}"

    async def run(self) -> None:
        """Poll until cancelled. Never returns on its own; failures are logged and retried."""
        owned = self._client is None
        client = self._client or httpx.AsyncClient(timeout=self._timeout)
        try:
            while True:
                delay = await self._step(client)
                await self._sleep(delay)
        finally:
            if owned:
                await client.aclose()

    async def poll_once(self) -> OrderPage:
        """One page, handed off; errors propagate (for tests and tools)."""
        async with self._with_client() as client:
            return await self._poll(client)

    async def catch_up(self, *, max_pages: int = 10_000) -> int:
        """Fetch pages until one is not full; return how many orders were received."""
        received = 0
        async with self._with_client() as client:
            for _ in range(max_pages):
                page = await self._poll(client)
                received += page.received
                if not page.full:
                    break
        return received

    async def _step(self, client: httpx.AsyncClient) -> float:
        """One supervised poll; returns how long to wait before the next one."""
        s = self.stats
        try:
            page = await self._poll(client)
        except asyncio.CancelledError:
            raise
        except FeedError as exc:
            s.failures += 1
            if exc.retry_after is not None:
                s.rate_limited += 1
                delay = exc.retry_after
            else:
                delay = self._backoff.next_delay()
            self._failed(exc, delay, logging.WARNING)
            return delay
        except (httpx.HTTPError, HandoffFailed) as exc:
            s.failures += 1
            delay = self._backoff.next_delay()
            self._failed(exc.__cause__ if isinstance(exc, HandoffFailed) and exc.__cause__
                         else exc, delay, logging.WARNING)
            return delay
        except Exception as exc:  # a bug or an unexpected answer: log it loudly, keep going
            s.failures += 1
            delay = self._backoff.next_delay()
            s.last_error = repr(exc)
            log.exception("partner feed %s failed unexpectedly; retrying in %.1fs",
                          self.partner, delay)
            return delay
        self._backoff.reset()
        s.last_success = datetime.now(UTC)
        return self.catch_up_interval if page.full else self.poll_interval

    def _failed(self, exc: BaseException, delay: float, level: int) -> None:
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        log.log(level, "partner feed %s: %s; retrying in %.1fs", self.partner,
                self.stats.last_error, delay)

    async def _poll(self, client: httpx.AsyncClient) -> OrderPage:
        s = self.stats
        cursor = await self._store.get(self.cursor_key)
        params: dict[str, Any] = {"limit": self.page_size}
        if cursor is not None:
            params["cursor"] = cursor
        s.calls += 1
        response = await client.get(f"{self.url}/orders", params=params, headers=self._headers)
        orders, next_cursor = _page(response)
        full = len(orders) >= self.page_size
        s.received += len(orders)
        s.full_pages += int(full)
        if orders:
            try:
                await self._on_orders(orders)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise HandoffFailed(f"hand-off of {len(orders)} order(s) failed") from exc
            s.handed_off += len(orders)
        if next_cursor is not None and next_cursor != cursor:
            await self._store.set(self.cursor_key, next_cursor)
        return OrderPage(len(orders), full, next_cursor if next_cursor is not None else cursor)

    def _with_client(self) -> Any:
        if self._client is not None:
            return _Borrowed(self._client)
        return httpx.AsyncClient(timeout=self._timeout)


class _Borrowed:
    """``async with`` over a client someone else closes."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        return None


def _page(response: httpx.Response) -> tuple[list[dict[str, Any]], str | None]:
    if response.status_code in (429, 503):
        raise FeedError(f"HTTP {response.status_code}",
                        retry_after=_retry_after(response.headers.get("retry-after")))
    if response.status_code != 200:
        raise FeedError(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as error:
        raise FeedError(f"the feed did not answer JSON: {response.text[:120]!r}") from error
    if not isinstance(body, dict) or not isinstance(body.get("orders"), list):
        raise FeedError(f"malformed page (no 'orders' list): {str(body)[:120]}")
    next_cursor = body.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str | int):
        raise FeedError("malformed page: next_cursor must be a string or null")
    orders = body["orders"]
    if not all(isinstance(o, dict) for o in orders):
        raise FeedError("malformed page: every order must be an object")
    return orders, None if next_cursor is None else str(next_cursor)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), 3600.0)
