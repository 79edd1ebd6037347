"""The partner order-feed poller against the feed simulator over real HTTP on loopback, handing
off to the real intake (work-order use case, ledger) on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import func, select

from realtime.geotab.cursor import InMemoryFeedCursorStore
from realtime.intake import DemoStore, PartnerFeedPoller, PartnerFeedSimulator, Trickle, make_order
from realtime.intake.poller import FeedError
from storage import tables as t
from storage.feed_cursors import SqlFeedCursorStore
from tests.realtime.conftest import Collected, RecordingSleep, serve_asgi
from web.demo.seed import seed
from web.intake_wiring import OrderIntake

STORE = DemoStore("S-TEST", 32.78, -96.8)
IDLE = 3600.0  # poll interval of the tests: the recording sleep parks on it (caught up)


def orders(n: int, *, start: int = 0, store_id: str | None = None) -> list[dict[str, Any]]:
    rng = random.Random(5)
    out = []
    for i in range(start, start + n):
        o = make_order(rng, STORE, external_id=f"P-{i:05d}")
        if store_id is not None:
            del o["store_code"]
            o["store_id"] = store_id
        out.append(o)
    return out


def poller(url: str, store: Any, on_orders: Any, sleep: Any = None, **options: Any
           ) -> PartnerFeedPoller:
    options.setdefault("poll_interval", IDLE)
    return PartnerFeedPoller(url, cursor_store=store, on_orders=on_orders, partner="acme",
                             sleep=sleep or RecordingSleep(park_at=IDLE), rng=random.Random(1),
                             **options)


async def run_until_idle(p: PartnerFeedPoller, sleep: RecordingSleep) -> None:
    sleep.idle.clear()
    task = asyncio.create_task(p.run())
    try:
        async with asyncio.timeout(20):
            await sleep.idle.wait()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_full_pages_are_fetched_at_once_then_it_waits(collected: Collected) -> None:
    sim = PartnerFeedSimulator(orders(250))
    sleep = RecordingSleep(park_at=IDLE)
    async with serve_asgi(sim) as url:
        p = poller(url, InMemoryFeedCursorStore(), collected, sleep, page_size=100)
        await run_until_idle(p, sleep)
    assert [len(b) for b in collected.batches] == [100, 100, 50]
    assert sleep.waits == [0.0, 0.0, IDLE]
    assert [o["external_id"] for o in collected.items] == [f"P-{i:05d}" for i in range(250)]
    assert p.stats.full_pages == 2 and p.stats.received == 250


async def test_cursor_is_persisted_across_a_restart(engine: Any, collected: Collected) -> None:
    sim = PartnerFeedSimulator(orders(30))
    store = SqlFeedCursorStore(engine)
    async with serve_asgi(sim) as url:
        assert await poller(url, store, collected).catch_up() == 30
        assert await store.get("intake:acme") == "o30"
        sim.publish(*orders(5, start=30))
        # A new process: a new poller and a new store object on the same database.
        restarted = poller(url, SqlFeedCursorStore(engine), collected)
        page = await restarted.poll_once()
    assert page.received == 5 and page.cursor == "o35"
    assert len({o["external_id"] for o in collected.items}) == 35 == len(collected.items)
    await store.set("intake:acme", "o2")  # an upsert, not a second row
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(t.feed_cursors))).scalar() == 1


async def test_orders_are_taken_once_even_when_a_page_is_read_again(engine: Any) -> None:
    await seed(engine, stores=2, technicians=2, orders=4, seed=1, progress=False)
    intake = OrderIntake(engine, source="acme")
    results: list[dict[str, int]] = []

    async def on_orders(batch: list[dict[str, Any]]) -> None:
        results.append(await intake.take_feed(batch))

    bad = {"external_id": "P-bad", "store_id": "store-0001", "priority": "soon"}
    sim = PartnerFeedSimulator([*orders(3, store_id="store-0001"), bad,
                                *orders(2, start=3, store_id="store-0002")])
    cursors = InMemoryFeedCursorStore()
    async with serve_asgi(sim) as url:
        await poller(url, cursors, on_orders).catch_up()
        # A crash after the hand-off but before the cursor was stored: the page comes again.
        await cursors.set("intake:acme", "o0")
        await poller(url, cursors, on_orders).catch_up()
    assert results == [{"created": 5, "duplicate": 0, "replayed": 0, "invalid": 1},
                       {"created": 0, "duplicate": 5, "replayed": 0, "invalid": 1}]
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(t.intake_orders))).scalar()
        created = (await conn.execute(select(func.count()).select_from(t.work_orders)
                                      .where(t.work_orders.c.created_by == "intake"))).scalar()
        events = (await conn.execute(select(func.count()).select_from(t.outbox)
                                     .where(t.outbox.c.name == "WorkOrderCreated"))).scalar()
    assert count == created == events == 5


async def test_errors_back_off_and_rate_limits_honour_retry_after(collected: Collected) -> None:
    sim = PartnerFeedSimulator(orders(3))
    sim.fail_next(3, status=503)
    sim.fail_next(1, status=429, headers={"Retry-After": "7"})
    sim.fail_next(1, status=500)
    sleep = RecordingSleep(park_at=IDLE)
    async with serve_asgi(sim) as url:
        p = poller(url, InMemoryFeedCursorStore(), collected, sleep, backoff_base=1.0,
                   backoff_cap=60.0)
        await run_until_idle(p, sleep)
    first, second, third, limited, fourth, idle = sleep.waits
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 2.0 <= third <= 4.0
    assert limited == 7.0
    assert 4.0 <= fourth <= 8.0 and idle == IDLE
    assert len(collected.items) == 3
    assert p.stats.failures == 5 and p.stats.rate_limited == 1


async def test_a_failing_hand_off_keeps_the_cursor_and_retries() -> None:
    sim = PartnerFeedSimulator(orders(4))
    calls: list[int] = []

    async def flaky(batch: list[dict[str, Any]]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("database is down")

    store = InMemoryFeedCursorStore()
    sleep = RecordingSleep(park_at=IDLE)
    async with serve_asgi(sim) as url:
        p = poller(url, store, flaky, sleep)
        await run_until_idle(p, sleep)
    assert calls == [4, 4]
    assert await store.get("intake:acme") == "o4"
    assert 0.5 <= sleep.waits[0] <= 1.0 and sleep.waits[-1] == IDLE
    assert "database is down" in (p.stats.last_error or "")


async def test_unreachable_feed_and_malformed_pages(collected: Collected) -> None:
    async def not_json(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<html>maintenance</html>"})

    async with serve_asgi(not_json) as url:
        with pytest.raises(FeedError, match="JSON"):
            await poller(url, InMemoryFeedCursorStore(), collected).poll_once()
    sleep = RecordingSleep(park_at=0.5)  # the first back-off (0.5 to 1 s) parks it
    p = poller("http://127.0.0.1:9", InMemoryFeedCursorStore(), collected, sleep)
    await run_until_idle(p, sleep)
    assert p.stats.failures == 1 and collected.items == []


async def test_poller_is_cancellable_while_waiting(collected: Collected) -> None:
    sim = PartnerFeedSimulator(orders(1))
    async with serve_asgi(sim) as url:
        p = poller(url, InMemoryFeedCursorStore(), collected, asyncio.sleep, poll_interval=30.0)
        task = asyncio.create_task(p.run())
        async with asyncio.timeout(10):
            await collected.arrived.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert p.stats.calls == 1


async def test_simulator_token_cursor_and_trickle() -> None:
    now = [0.0]
    trickle = Trickle([STORE], every=10.0, seed=3, clock=lambda: now[0])
    sim = PartnerFeedSimulator(token="t0ken", trickle=trickle)
    collected = Collected()
    async with serve_asgi(sim) as url:
        with pytest.raises(FeedError, match="401"):
            await poller(url, InMemoryFeedCursorStore(), collected).poll_once()
        p = poller(url, InMemoryFeedCursorStore(), collected,
                   headers={"Authorization": "Bearer t0ken"})
        assert (await p.poll_once()).received == 0
        now[0] = 61.0
        page = await p.poll_once()
    assert 4 <= page.received <= 12
    for o in collected.items:
        assert o["store_code"] == "S-TEST" and o["priority"] in {"emergency", "high", "normal", "low"}
        window = o["time_window"]
        assert dt.datetime.fromisoformat(window["end"]) > dt.datetime.fromisoformat(window["start"])
