"""The API benchmark's data: the demo company (200 stores, 200 technicians) and, copied in bulk,
100,000 dispatches on 200 vans and 200,000 work orders, as ``bench/api.py`` measures them."""

from __future__ import annotations

import datetime as dt
import random
import time

import asyncpg

from storage.engine import create_engine
from web.demo.seed import seed

FREE_TICKETS = 2_000


async def bulk_seed(url: str, dispatches: int, work_orders: int) -> float:
    started = time.perf_counter()
    engine = create_engine(url)
    now = dt.datetime.now(dt.UTC)
    await seed(engine, stores=200, technicians=200, orders=1000, seed=11, now=now, progress=False)
    await engine.dispose()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rng = random.Random(5)
        stores = [f"store-{i:04d}" for i in range(1, 201)]
        units = [f"unit-{i:04d}" for i in range(1, 201)]
        tickets = [(f"btt-{i:07d}", f"BTT-{i:07d}", stores[i % 200], now, "bench", None, None, 1)
                   for i in range(dispatches + FREE_TICKETS)]  # the last ones stay free
        await conn.copy_records_to_table(
            "trip_tickets", records=tickets,
            columns=["id", "number", "store_id", "created_at", "description", "work_order_id",
                     "customer_id", "version"])
        base = now + dt.timedelta(days=1)
        rows = []
        for i in range(dispatches):
            unit = units[i % 200]
            when = base + dt.timedelta(minutes=15 * (i // 200))
            rows.append((f"bd-{i:07d}", tickets[i][0], when, unit, stores[i % 200], now,
                         "user-dispatcher" if i % 3 else "user-operations",
                         rng.choice(("draft", "scheduled", "dispatched")), None, 1))
        await conn.copy_records_to_table(
            "dispatches", records=rows,
            columns=["id", "trip_ticket_id", "datetime", "unit", "store_id", "date_created",
                     "created_by", "status", "deleted_at", "version"])
        wo = []
        for i in range(work_orders):
            store = stores[i % 200]
            wo.append((f"bwo-{i:07d}", store, None, rng.choice(("high", "normal", "low")),
                       32.7 + rng.random() / 2, -97.0 + rng.random() / 2, "", "bench job", None,
                       None, "[]", 60, rng.choice(("new", "completed", "cancelled")), "", now,
                       None, None, None, False, None, "[]", None,
                       now - dt.timedelta(minutes=i % 10_000), "user-dispatcher", 1))
        await conn.copy_records_to_table(
            "work_orders", records=wo,
            columns=["id", "store_id", "customer_id", "priority", "lat", "lon", "address",
                     "description", "window_start", "window_end", "required_skills",
                     "estimated_minutes", "status", "status_reason", "status_changed_at",
                     "technician_id", "sequence", "planned_arrival", "pinned", "follow_up_of",
                     "comments", "proof", "created_at", "created_by", "version"])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started
