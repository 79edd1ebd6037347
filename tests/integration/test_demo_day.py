"""The demo is a working day in progress at whatever instant it is seeded, and ``dispatch demo``
brings a day that is over forward (only in a database the demo created)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update

from domain.work_orders import WorkOrderStatus
from storage import tables as t
from storage.engine import create_engine
from web.demo.scenario import TIMEZONE, WorkDay, build
from web.demo.seed import demo_day, prepare_demo_day, seed


def _every_half_hour(year: int, month: int, day: int) -> Iterator[dt.datetime]:
    """Every half hour of a local day, both readings of an hour that a clock change repeats, and
    never one it skips (walked in UTC, so each instant is real)."""
    start = dt.datetime(year, month, day, tzinfo=TIMEZONE).astimezone(dt.UTC)
    end = (dt.datetime(year, month, day, tzinfo=TIMEZONE) + dt.timedelta(days=1)).astimezone(
        dt.UTC)
    at = start
    while at < end:
        yield at
        at += dt.timedelta(minutes=30)


DAYS = {
    "an ordinary day": (2026, 6, 10),
    "spring forward": (2026, 3, 8),   # 02:00 -> 03:00 in the stores' zone
    "fall back": (2026, 11, 1),       # 02:00 -> 01:00: 01:00-01:59 happens twice
    "new year's eve": (2026, 12, 31),  # the local evening is the next year in UTC
    "month end": (2027, 2, 28),
}


@pytest.mark.parametrize("day", DAYS.values(), ids=list(DAYS))
def test_every_half_hour_of_the_day_gives_a_day_in_progress(day: tuple[int, int, int]) -> None:
    for now in _every_half_hour(*day):
        sc = build(stores=4, technicians=6, orders=20, seed=1, now=now)
        label = now.astimezone(TIMEZONE).isoformat()
        for tech in sc.technicians:
            assert tech.shift is not None
            assert tech.shift.start <= now, label
            assert tech.shift.end - now >= dt.timedelta(hours=3), label  # a day still ahead
        windows = [w.time_window for w in sc.work_orders if w.time_window is not None]
        ahead = [w for w in windows if w.end > now + dt.timedelta(hours=1)]
        assert len(ahead) >= len(windows) // 2, label
        assert any(w.start <= now < w.end for w in windows), label
        assert all(w.end - w.start in {dt.timedelta(hours=h) for h in (2, 3, 4)}
                   for w in windows), label  # no window bent by a clock change
        assert WorkDay(now).alive_until - now >= dt.timedelta(hours=2), label
        tech1 = sc.technicians[0].id
        route = [w for w in sc.work_orders if w.technician_id == tech1 and w.is_open]
        assert route, label
        for order in sc.work_orders:
            assert order.created_at <= now, label
            assert all(step <= now for step in (order.status_changed_at, order.en_route_at)
                       if step is not None), label


def test_the_day_follows_the_local_clock_in_the_morning() -> None:
    now = dt.datetime(2026, 6, 10, 10, 15, tzinfo=TIMEZONE)
    day = WorkDay(now)
    assert not day.moved
    assert day.at(8).astimezone(TIMEZONE) == dt.datetime(2026, 6, 10, 8, 0, tzinfo=TIMEZONE)
    night = WorkDay(dt.datetime(2026, 6, 10, 23, 30, tzinfo=TIMEZONE))
    assert night.moved and night.at(11, 30) == dt.datetime(2026, 6, 10, 23, 30, tzinfo=TIMEZONE)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        WorkDay(dt.datetime(2026, 6, 10, 10, 0))


NOW = dt.datetime(2026, 6, 10, 16, 0, tzinfo=dt.UTC)  # 11:00 in Dallas


async def _on_shift(engine: object, now: dt.datetime) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        tech = t.technicians
        return int((await conn.execute(select(func.count()).select_from(tech).where(
            tech.c.shift_start <= now, tech.c.shift_end > now))).scalar() or 0)


async def test_a_demo_seeded_yesterday_is_brought_to_today(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        yesterday = NOW - dt.timedelta(days=1)
        await seed(engine, stores=4, technicians=6, orders=20, seed=1, now=yesterday,
                   progress=False)
        assert await _on_shift(engine, NOW) == 0  # yesterday's shifts: nobody on
        assert (await demo_day(engine, NOW)).state == "over"
        message = await prepare_demo_day(engine, NOW, stores=4, technicians=6, orders=20,
                                         random_seed=1)
        assert "new day" in message
        assert await _on_shift(engine, NOW) == 6
        state = await demo_day(engine, NOW)
        assert state.state == "alive" and state.seeded_at == NOW
        async with engine.connect() as conn:
            stores = (await conn.execute(select(func.count()).select_from(t.stores))).scalar()
            users = (await conn.execute(select(func.count()).select_from(t.users))).scalar()
        assert stores == 4 and users == 8 + 6  # replaced, not added to
    finally:
        await engine.dispose()


async def test_a_day_in_progress_is_kept_with_what_users_changed(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await seed(engine, stores=4, technicians=6, orders=20, seed=1, now=NOW, progress=False)
        async with engine.begin() as conn:
            await conn.execute(update(t.work_orders).where(t.work_orders.c.id == "wo-000001")
                               .values(description="changed by a dispatcher"))
        later = NOW + dt.timedelta(hours=1)
        assert "kept" in await prepare_demo_day(engine, later, stores=4, technicians=6,
                                                orders=20, random_seed=1)
        over = NOW + dt.timedelta(hours=12)
        assert "kept" in await prepare_demo_day(engine, over, keep_day=True, stores=4,
                                                technicians=6, orders=20, random_seed=1)
        async with engine.connect() as conn:
            text = (await conn.execute(select(t.work_orders.c.description).where(
                t.work_orders.c.id == "wo-000001"))).scalar()
        assert text == "changed by a dispatcher"
    finally:
        await engine.dispose()


async def test_data_the_demo_did_not_create_is_never_touched(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await seed(engine, stores=4, technicians=6, orders=20, seed=1,
                   now=NOW - dt.timedelta(days=3), progress=False)
        async with engine.begin() as conn:  # the company's own data: no demo record or logins
            await conn.execute(t.demo_seeds.delete())
            await conn.execute(update(t.users).where(t.users.c.id == "user-admin")
                               .values(id="3f1c9a0e-0000-4000-8000-000000000001"))
            await conn.execute(update(t.work_orders).values(status=WorkOrderStatus.NEW.value)
                               .where(t.work_orders.c.id == "wo-000002"))
            before = (await conn.execute(select(func.count()).select_from(t.work_orders))).scalar()
        message = await prepare_demo_day(engine, NOW, stores=4, technicians=6, orders=20,
                                         random_seed=1)
        assert "did not create" in message
        assert (await demo_day(engine, NOW)).state == "foreign"
        assert await _on_shift(engine, NOW) == 0
        async with engine.connect() as conn:
            after = (await conn.execute(select(func.count()).select_from(t.work_orders))).scalar()
        assert after == before
    finally:
        await engine.dispose()


async def test_an_empty_database_gets_a_day_in_progress(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert (await demo_day(engine, NOW)).state == "empty"
        assert "seeded in" in await prepare_demo_day(engine, NOW, stores=4, technicians=6,
                                                     orders=20, random_seed=1)
        assert await _on_shift(engine, NOW) == 6
    finally:
        await engine.dispose()


async def test_a_demo_seeded_before_it_kept_its_record_is_brought_to_today(
        database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await seed(engine, stores=4, technicians=6, orders=20, seed=1,
                   now=NOW - dt.timedelta(days=2), progress=False)
        async with engine.begin() as conn:  # as the demo of an earlier version left it
            await conn.execute(t.demo_seeds.delete())
        assert (await demo_day(engine, NOW)).state == "over"
        assert "new day" in await prepare_demo_day(engine, NOW, stores=4, technicians=6,
                                                   orders=20, random_seed=1)
        assert await _on_shift(engine, NOW) == 6
    finally:
        await engine.dispose()
