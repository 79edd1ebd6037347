"""API latency and throughput on PostgreSQL with 100,000 dispatches and 200,000 work orders.

    python bench/api.py [--database-url postgresql://...] [--requests 400] [--keep]

Seeds a fresh database (dropped afterwards unless --keep), starts the app under uvicorn in its own
process on a free loopback port, and drives it with an async client at concurrency 1, 16 and 64:
list-with-filters, detail and create. ``/healthz`` (no database work) runs in the same way as the
baseline, so the framework floor and the app's cost are side by side. Every loop is bounded in
request count and in time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.engine import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from web.demo.seed import seed  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CONCURRENCY = (1, 16, 64)
TIME_CAP_S = 60.0
FREE_TICKETS = 2_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def drive(name: str, call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
                client: httpx.AsyncClient, concurrency: int, total: int) -> None:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    deadline = time.perf_counter() + TIME_CAP_S

    async def worker() -> None:
        nonlocal errors
        for n in counter:
            if time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            response = await call(client, n)
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code >= 400:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    print(f"{name:<22} c={concurrency:<3} n={len(latencies):<5} "
          f"p50={statistics.median(latencies):7.1f} ms  p99={pct(latencies, 0.99):7.1f} ms  "
          f"{len(latencies) / elapsed:7.1f} req/s  errors={errors}", flush=True)


async def run_load(base: str, requests: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 limits=httpx.Limits(max_connections=100)) as client:
        login = await client.post("/api/auth/login",
                                  json={"username": "dispatcher", "password": "demo"})
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
        end = (dt.datetime.now(dt.UTC) + dt.timedelta(days=4)).isoformat()
        free_tt = iter(range(100_000, 100_000 + FREE_TICKETS))  # tickets without a dispatch
        created = iter(range(10**6))

        def health(c: httpx.AsyncClient, n: int) -> Awaitable[httpx.Response]:
            return c.get("/healthz")

        def listing(c: httpx.AsyncClient, n: int) -> Awaitable[httpx.Response]:
            unit = f"unit-{(n % 200) + 1:04d}"
            return c.get("/api/dispatch", params={"unit": unit, "date_from": start,
                                                  "date_to": end, "limit": 50})

        def detail(c: httpx.AsyncClient, n: int) -> Awaitable[httpx.Response]:
            return c.get(f"/api/dispatch/bd-{(n * 7919) % 100_000:07d}")

        def create(c: httpx.AsyncClient, n: int) -> Awaitable[httpx.Response]:
            ticket = f"btt-{next(free_tt):07d}"
            minutes = next(created)  # every create books the spare van at its own time
            when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30, minutes=minutes)).isoformat()
            return c.post("/api/dispatch", json={"trip_ticket_id": ticket, "datetime": when,
                                                 "unit": "unit-spare-001"})

        for name, fn in (("baseline /healthz", health), ("list with filters", listing),
                         ("detail", detail)):
            for c in CONCURRENCY:
                await drive(name, fn, client, c, requests)
        for c in CONCURRENCY:
            await drive("create", create, client, c, min(requests, 150))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--dispatches", type=int, default=100_000)
    parser.add_argument("--work-orders", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    name = f"dispatch_bench_{os.getpid()}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        await conn.execute(sql)
        await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    server = None
    try:
        upgrade(url)
        seconds = asyncio.run(bulk_seed(url, args.dispatches, args.work_orders))
        print(f"seeded {args.dispatches} dispatches and {args.work_orders} work orders "
              f"in {seconds:.1f} s", flush=True)
        port = free_port()
        env = {"SECRET_KEY": secrets.token_urlsafe(48), **os.environ, "DATABASE_URL": url,
               "LOG_LEVEL": "warning"}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(run_load(base, args.requests))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if not args.keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
