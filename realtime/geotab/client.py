"""The GeoTab ingestion client: MyGeotab data feeds → validated fixes and statuses → callbacks.

One `GeotabFeedClient` polls `GetFeed` for `LogRecord` (positions) and, when an `on_status`
handler is given, `DeviceStatusInfo`. Per feed:

- the `fromVersion` token comes from a `FeedCursorStore` and is stored again only after the
  batch was handed off, so a restart continues where the last hand-off ended;
- pacing (`pacing.PollPacer`, counted from the start of each call): a full page
  (`len(data) == resultsLimit`) means more is waiting, so the next call follows after
  `catch_up_interval`; a page with records after `fast_interval`; empty pages wait longer and
  longer, doubling up to `poll_interval`, until records come again (`DeviceStatusInfo`, which
  restates the newest positions, waits `poll_interval` unless a page is full);
- `OverLimitException` (HTTP 200 body or HTTP 429) waits `Retry-After`; network errors, HTML
  error pages and `DbUnavailableException` back off exponentially with jitter; an expired session
  is renewed by `MyGeotabApi` transparently;
- records that fail conversion or `validate_fix` are counted, logged and dropped.

`run()` supervises the feeds until cancelled: it logs every failure, waits, and carries on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import httpx

from domain.positions import DEFAULT_FUTURE_TOLERANCE, InvalidPosition, PositionFix, validate_fix

from .backoff import Backoff
from .cursor import FeedCursorStore
from .pacing import DEFAULT_FAST_SECONDS, DEFAULT_IDLE_SECONDS, PollPacer
from .protocol import (
    RESULTS_LIMIT_MAX,
    DbUnavailableException,
    GeotabError,
    GeotabTransportError,
    InvalidUserException,
    OverLimitException,
    format_datetime,
)
from .records import DeviceStatus, device_status_from_entity, log_record_to_fix
from .rpc import MyGeotabApi

log = logging.getLogger(__name__)

LOG_RECORD: Final = "LogRecord"
DEVICE_STATUS_INFO: Final = "DeviceStatusInfo"

FixesHandler = Callable[[list[PositionFix]], Awaitable[None]]
StatusHandler = Callable[[list[DeviceStatus]], Awaitable[None]]
Converted = TypeVar("Converted", PositionFix, DeviceStatus)
Item = TypeVar("Item")


class HandoffFailed(Exception):
    """The `on_fixes` / `on_status` callback raised; the batch will be fetched again."""


@dataclass(slots=True)
class FeedStats:
    """Counters for one feed, for logs, health checks and tests."""

    calls: int = 0
    full_pages: int = 0
    received: int = 0
    handed_off: int = 0
    invalid: int = 0
    rate_limited: int = 0
    transient_errors: int = 0
    auth_failures: int = 0
    handoff_failures: int = 0
    last_error: str | None = None
    #: When a poll last went through (health checks: ``/readyz``).
    last_success: datetime | None = None
    #: The interval chosen after the last successful call (fast while data flows).
    interval: float | None = None


@dataclass(frozen=True, slots=True)
class FeedPage:
    """What one GetFeed call brought."""

    type_name: str
    received: int
    handed_off: int
    invalid: int
    full: bool
    to_version: str


class GeotabFeedClient:
    """Polls MyGeotab feeds and hands validated batches to async callbacks."""

    def __init__(
        self,
        api: MyGeotabApi,
        *,
        cursor_store: FeedCursorStore,
        on_fixes: FixesHandler,
        on_status: StatusHandler | None = None,
        results_limit: int = RESULTS_LIMIT_MAX,
        poll_interval: float = DEFAULT_IDLE_SECONDS,
        fast_interval: float = DEFAULT_FAST_SECONDS,
        catch_up_interval: float = DEFAULT_FAST_SECONDS,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        seed_from: datetime | None = None,
        future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timer: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= results_limit <= RESULTS_LIMIT_MAX:
            raise ValueError(f"results_limit must be within 1..{RESULTS_LIMIT_MAX}")
        PollPacer(fast=fast_interval, idle=poll_interval, catch_up=catch_up_interval)  # checks
        self.api = api
        self._store = cursor_store
        self._on_fixes = on_fixes
        self._on_status = on_status
        self.results_limit = results_limit
        #: The longest wait between calls (an idle feed); ``/readyz`` allows three of them.
        self.poll_interval = poll_interval
        self.fast_interval = fast_interval
        self.catch_up_interval = catch_up_interval
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._seed_from = seed_from
        self._future_tolerance = future_tolerance
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._timer = timer
        self._rng = rng or random.Random()
        self.feeds: tuple[str, ...] = (LOG_RECORD,) if on_status is None else (LOG_RECORD, DEVICE_STATUS_INFO)
        self.stats: dict[str, FeedStats] = {name: FeedStats() for name in self.feeds}

    def cursor_key(self, type_name: str) -> str:
        return f"geotab:{self.api.login.database}:{type_name}"

    async def run(self) -> None:
        """Poll every feed until cancelled. Never returns on its own; failures are logged."""
        async with asyncio.TaskGroup() as group:
            for type_name in self.feeds:
                group.create_task(self._supervise(type_name), name=f"geotab-feed-{type_name}")

    async def poll_once(self, feeds: Sequence[str] | None = None) -> list[FeedPage]:
        """One GetFeed page per feed, handed off; errors propagate (for tests and tools)."""
        return [await self._poll(type_name) for type_name in (feeds or self.feeds)]

    async def catch_up(self, type_name: str = LOG_RECORD, *, max_pages: int = 10_000) -> int:
        """Fetch pages until one is not full; return how many records were received."""
        received = 0
        for _ in range(max_pages):
            page = await self._poll(type_name)
            received += page.received
            if not page.full:
                break
        return received

    async def _supervise(self, type_name: str) -> None:
        stats = self.stats[type_name]
        backoff = Backoff(base=self._backoff_base, cap=self._backoff_cap, rng=self._rng)
        # DeviceStatusInfo restates each device's newest position (and whether it talks): the
        # positions come from LogRecord, so the status feed keeps the idle interval.
        fast = self.fast_interval if type_name == LOG_RECORD else self.poll_interval
        pacer = PollPacer(fast=fast, idle=self.poll_interval, catch_up=self.catch_up_interval)
        while True:
            started = self._timer()
            try:
                page = await self._poll(type_name)
            except asyncio.CancelledError:
                raise
            except OverLimitException as exc:
                stats.rate_limited += 1
                delay = exc.retry_after if exc.retry_after is not None else backoff.next_delay()
                self._failed(stats, type_name, exc, delay, level=logging.WARNING)
            except InvalidUserException as exc:
                # Authenticate itself refused us: retrying fast only burns the login quota.
                stats.auth_failures += 1
                delay = self._backoff_cap
                self._failed(stats, type_name, exc, delay, level=logging.ERROR)
            except (httpx.TransportError, GeotabTransportError, DbUnavailableException) as exc:
                stats.transient_errors += 1
                delay = backoff.next_delay()
                self._failed(stats, type_name, exc, delay, level=logging.WARNING)
            except HandoffFailed as exc:
                stats.handoff_failures += 1
                delay = backoff.next_delay()
                self._failed(stats, type_name, exc.__cause__ or exc, delay, level=logging.ERROR)
            except Exception as exc:  # a bug or an unexpected answer: log it loudly, keep going
                stats.transient_errors += 1
                delay = backoff.next_delay()
                log.exception("GeoTab %s feed failed unexpectedly; retrying in %.1fs", type_name, delay)
                stats.last_error = repr(exc)
            else:
                backoff.reset()
                stats.last_success = self._clock()
                stats.interval = pacer.after(received=page.received, full=page.full)
                delay = pacer.remaining(stats.interval, self._timer() - started)
            await self._sleep(delay)

    def _failed(
        self, stats: FeedStats, type_name: str, exc: BaseException, delay: float, *, level: int
    ) -> None:
        stats.last_error = f"{type(exc).__name__}: {exc}"
        log.log(level, "GeoTab %s feed: %s; retrying in %.1fs", type_name, stats.last_error, delay)

    async def _poll(self, type_name: str) -> FeedPage:
        stats = self.stats[type_name]
        key = self.cursor_key(type_name)
        from_version = await self._store.get(key)
        params: dict[str, Any] = {"typeName": type_name, "resultsLimit": self.results_limit}
        if from_version is not None:
            params["fromVersion"] = from_version
        elif self._seed_from is not None and type_name == LOG_RECORD:
            params["search"] = {"fromDate": format_datetime(self._seed_from)}
        stats.calls += 1
        data, to_version = _feed_result(await self.api.call("GetFeed", **params))
        full = len(data) >= self.results_limit
        stats.received += len(data)
        stats.full_pages += int(full)

        if type_name == LOG_RECORD:
            fixes, invalid = self._convert(data, type_name, _log_record_fix)
            await self._hand_off(self._on_fixes, fixes)
            handed_off = len(fixes)
        else:
            if from_version is None:
                # A bare first GetFeed only yields a token; take the current state with Get.
                current = _list(await self.api.call("Get", typeName=DEVICE_STATUS_INFO))
                stats.received += len(current)
                data = [*data, *current]
            statuses, invalid = self._convert(data, type_name, device_status_from_entity)
            if self._on_status is not None:
                await self._hand_off(self._on_status, statuses)
            handed_off = len(statuses)

        stats.invalid += invalid
        stats.handed_off += handed_off
        if to_version != from_version:
            await self._store.set(key, to_version)
        return FeedPage(type_name, len(data), handed_off, invalid, full, to_version)

    def _convert(
        self, data: list[Any], type_name: str, convert: Callable[[Any], Converted]
    ) -> tuple[list[Converted], int]:
        now = self._clock()
        kept: list[Converted] = []
        reasons: list[str] = []
        for entity in data:
            try:
                item = convert(entity)
                fix = item if isinstance(item, PositionFix) else item.to_fix()
                validate_fix(fix, now=now, future_tolerance=self._future_tolerance)
            except InvalidPosition as exc:
                reasons.append(str(exc))
                continue
            kept.append(item)
        if reasons:
            log.warning(
                "GeoTab %s feed: dropped %d invalid record(s), first: %s",
                type_name,
                len(reasons),
                reasons[0],
            )
        return kept, len(reasons)

    async def _hand_off(self, handler: Callable[[list[Item]], Awaitable[None]], items: list[Item]) -> None:
        if not items:
            return
        try:
            await handler(items)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise HandoffFailed(f"hand-off of {len(items)} item(s) failed") from exc


def _log_record_fix(record: Any) -> PositionFix:
    return log_record_to_fix(record)


def _feed_result(result: Any) -> tuple[list[Any], str]:
    if not isinstance(result, dict) or not isinstance(result.get("toVersion"), str):
        raise GeotabError(f"malformed FeedResult: {result!r:.120}")
    return _list(result.get("data")), result["toVersion"]


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise GeotabError(f"expected a list, got {type(value).__name__}")
    return value
