"""The demo scenario: deterministic, fast, and consistent with the domain rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.work_orders import Priority, WorkOrderStatus
from storage import tables as t
from web.demo.scenario import build
from web.demo.seed import seed

NOW = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)


def test_the_same_seed_builds_the_same_company() -> None:
    a = build(stores=20, technicians=20, orders=50, seed=3, now=NOW)
    b = build(stores=20, technicians=20, orders=50, seed=3, now=NOW)
    assert [w.snapshot() for w in a.work_orders] == [w.snapshot() for w in b.work_orders]
    c = build(stores=20, technicians=20, orders=50, seed=4, now=NOW)
    assert [w.location for w in a.work_orders] != [w.location for w in c.work_orders]


def test_the_demo_obeys_the_dispatch_rules() -> None:
    sc = build(stores=50, technicians=50, orders=200, seed=1, now=NOW)
    slots = [(d.unit, d.datetime) for d in sc.dispatches]
    assert len(slots) == len(set(slots)), "a unit is double-booked"
    tickets = [d.trip_ticket_id for d in sc.dispatches]
    assert len(tickets) == len(set(tickets)), "a trip ticket serves two dispatches"
    linked = [i.dispatch_id for i in sc.invoices if i.dispatch_id]
    assert all(link in {d.id for d in sc.dispatches} for link in linked)
    techs = {tech.id: tech for tech in sc.technicians}
    for order in sc.work_orders:
        if order.technician_id:
            assert order.required_skills <= techs[order.technician_id].skills
            assert order.status != WorkOrderStatus.NEW


@pytest.mark.parametrize("hour", [3, 11, 15, 20])  # UTC: 21:00, 5:00, 9:00, 14:00 in Texas
def test_the_demo_day_is_in_progress_whenever_it_starts(hour: int) -> None:
    now = NOW.replace(hour=hour, minute=40)
    sc = build(stores=20, technicians=40, orders=200, seed=5, now=now)
    on_shift = [t for t in sc.technicians if t.shift.start <= now < t.shift.end]
    assert len(on_shift) == len(sc.technicians)
    windows = [w.time_window for w in sc.work_orders if w.time_window]
    ahead = sum(1 for tw in windows if tw.end > now)
    assert ahead / len(windows) > 0.5  # most still to come
    started = [w for w in sc.work_orders if w.status == WorkOrderStatus.EN_ROUTE]
    assert started and all(now - dt.timedelta(minutes=30) <= w.en_route_at <= now
                           for w in started if w.en_route_at)
    assert len({w.technician_id for w in started}) == len(started)  # one on the road each


@pytest.mark.parametrize("now", [NOW, NOW.replace(hour=2, minute=59)])  # 9:00, 20:59 in Texas
def test_the_demo_gives_tech1_a_route_and_keeps_emergencies_fresh(now: dt.datetime) -> None:
    sc = build(now=now)  # what `make run` seeds
    first = sc.technicians[0]
    mine = [w for w in sc.work_orders if w.technician_id == first.id and w.is_open]
    assert len(mine) >= 3 and all(w.required_skills <= first.skills for w in mine)
    assert sum(1 for w in mine if w.time_window is None or w.time_window.end > now) >= 3
    waiting = [w for w in sc.work_orders
               if w.priority == Priority.EMERGENCY and w.status == WorkOrderStatus.NEW]
    assert waiting and all(now - w.created_at <= dt.timedelta(minutes=40) for w in waiting)
    assigned = sum(1 for w in sc.work_orders if w.technician_id)
    assert assigned / len(sc.work_orders) > 0.35  # the region's vans help a store without one


def test_stores_lie_in_the_metro_region() -> None:
    sc = build(stores=200, technicians=200, orders=10, seed=7, now=NOW)
    for store in sc.stores:
        assert 32.0 < store.location.lat < 33.6
        assert -98.2 < store.location.lon < -96.0


async def test_seeding_writes_every_table_and_refuses_to_seed_twice(engine: AsyncEngine) -> None:
    counts = await seed(engine, stores=10, technicians=12, orders=30, seed=2, now=NOW,
                        progress=False)
    assert counts["stores"] == 10
    assert counts["technicians"] == 12
    async with engine.connect() as conn:
        users = (await conn.execute(select(func.count()).select_from(t.users))).scalar()
        orders = (await conn.execute(select(func.count()).select_from(t.work_orders))).scalar()
        finished = (await conn.execute(select(func.count()).select_from(t.work_orders).where(
            t.work_orders.c.status == "completed"))).scalar()
        payments = (await conn.execute(select(func.count()).select_from(t.payments))).scalar()
    assert users == 8 + 12
    assert orders == 30 + finished and finished  # the day's, and the months before's (billing)
    assert payments == counts["payments"] > 0
    with pytest.raises(RuntimeError, match="already holds data"):
        await seed(engine, stores=10, technicians=12, orders=30, seed=2, now=NOW, progress=False)
