"""The reports benchmark's history (``bench/report_history.py``): written with COPY into a migrated
PostgreSQL database, every row consistent with the rules the app keeps, the same for a seed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bench.report_history import HOME_ZONE, QUICK, History, seed_history
from tests.conftest import empty_postgres_async

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 12, 6, 18, 30, tzinfo=dt.UTC)
#: Quick mode, smaller still: 90 days of a 20-store company.
SMALL = dataclasses.replace(QUICK, stores=20, technicians=20, customers=400, jobs=4_000,
                            invoices=1_200, days=90)


@pytest.fixture
async def conn(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    await empty_postgres_async(postgres_url)
    connection = await asyncpg.connect(postgres_url)
    try:
        yield connection
    finally:
        await connection.close()
        await empty_postgres_async(postgres_url)


def test_the_same_seed_writes_the_same_history() -> None:
    tiny = dataclasses.replace(SMALL, customers=100, jobs=500, invoices=150, days=20)

    def first_chunks(seed: int) -> tuple[object, object]:
        history = History(tiny, NOW, seed)
        return next(history.work_orders()), next(history.sales_and_invoices())

    assert first_chunks(3) == first_chunks(3)
    assert first_chunks(3) != first_chunks(4)


async def test_the_history_is_written_whole_and_consistent(conn: asyncpg.Connection) -> None:
    counts = await seed_history(conn, History(SMALL, NOW, 1))

    assert {t: counts[t] for t in ("stores", "technicians", "customers")} == {
        "stores": 20, "technicians": 20, "customers": 400}
    assert counts["work_orders"] >= SMALL.jobs  # booked ones, and follow-ups on top
    assert counts["invoices"] >= SMALL.invoices
    assert counts["assignment_declines"] > 0
    for table, n in counts.items():
        assert await conn.fetchval(f'SELECT count(*) FROM "{table}"') == n
    zones = dict(await conn.fetch("SELECT timezone, count(*) FROM stores GROUP BY 1"))
    assert max(zones, key=zones.__getitem__) == HOME_ZONE and len(zones) > 1

    jobs = await conn.fetchrow("""
        SELECT count(*) FILTER (WHERE status IN ('completed', 'failed') AND NOT coalesce(
                                created_at <= assigned_at AND assigned_at <= en_route_at
                                AND en_route_at < on_site_at AND on_site_at < finished_at, false))
                   AS broken_timelines,
               count(*) FILTER (WHERE status IN ('cancelled', 'new') AND (en_route_at IS NOT NULL
                                OR finished_at IS NOT NULL)) AS unstarted_with_times,
               count(*) FILTER (WHERE (assigned_at IS NULL) <> (technician_id IS NULL))
                   AS assignment_without_technician,
               count(*) FILTER (WHERE created_at > $1 OR finished_at > $1
                                OR status_changed_at > $1) AS in_the_future,
               count(*) FILTER (WHERE (channel = 'emergency') AND priority <> 'emergency')
                   AS emergency_channel_not_emergency,
               count(*) FILTER (WHERE window_end IS NOT NULL AND on_site_at IS NOT NULL) AS windowed,
               count(*) FILTER (WHERE on_site_at <= window_end) AS on_time,
               min(created_at) AS first, count(DISTINCT channel) AS channels
        FROM work_orders""", NOW)
    assert jobs["broken_timelines"] == 0
    assert jobs["unstarted_with_times"] == 0
    assert jobs["assignment_without_technician"] == 0
    assert jobs["in_the_future"] == 0
    assert jobs["emergency_channel_not_emergency"] == 0
    assert jobs["channels"] == 4
    assert 0.8 < jobs["on_time"] / jobs["windowed"] < 0.97  # mostly on time
    assert NOW - jobs["first"] < dt.timedelta(days=SMALL.days + 1)

    mix = dict(await conn.fetch("SELECT status, count(*) FROM work_orders GROUP BY 1"))
    assert mix["completed"] > 0.7 * counts["work_orders"]
    assert mix["failed"] > 0 and mix["cancelled"] > 0
    follow_ups = await conn.fetchrow("""
        SELECT count(*) AS n,
               count(*) FILTER (WHERE o.status <> 'failed' OR f.created_at < o.finished_at
                                OR f.customer_id <> o.customer_id OR f.status = 'failed') AS bad
        FROM work_orders f JOIN work_orders o ON o.id = f.follow_up_of""")
    assert follow_ups["n"] > 0 and follow_ups["bad"] == 0
    assert await conn.fetchval("""
        SELECT count(*) FROM assignment_declines d JOIN work_orders w ON w.id = d.work_order_id
        WHERE d.declined_at < w.assigned_at OR d.store_id <> w.store_id
           OR d.technician_id = w.technician_id""") == 0

    money = await conn.fetchrow("""
        SELECT count(*) FILTER (WHERE processed <> (processed_at IS NOT NULL)) AS half_processed,
               count(*) FILTER (WHERE processed_at < created_at OR processed_at > $1) AS misdated,
               count(*) FILTER (WHERE processed) AS processed, count(DISTINCT service_line) AS lines
        FROM invoices""", NOW)
    assert money["half_processed"] == 0 and money["misdated"] == 0
    assert money["processed"] > 0.9 * counts["invoices"] and money["lines"] > 5
    assert await conn.fetchval("""
        SELECT count(*) FROM sales_orders s WHERE total_cents <> (SELECT sum(amount_cents)
        FROM invoices i WHERE i.sales_order_id = s.id) OR s.store_id <> (SELECT store_id FROM
        customers c WHERE c.id = s.customer_id)""") == 0
