"""The outbox relay's pass, one commit at a time (what 50 events a second look like to it): the
pass as it was first written against the pass as it is, in the same run, on the same database.

    .venv/bin/python bench/relay.py [--backend postgres|sqlite] [--events 2000] [--batch 1]

Each step commits ``--batch`` events to the outbox (as a use case's unit of work does), then runs
one relay pass: take (or keep) the leader lock, give the events their sequence numbers, return
them. ``before``: the lock's connection checked on every pass (``SELECT 1`` + commit) and the
numbering in four statements (``SELECT ... FOR UPDATE``, ``max(seq)``, an ``UPDATE`` per row,
``COMMIT``), kept here as it was. ``after``: ``storage.eventlog`` as it is (the lock checked at
most once a second; on PostgreSQL one ``UPDATE ... RETURNING`` numbers them). The two alternate
step by step on the same outbox, so a busy moment on this shared machine falls on both.

Printed per way: the pass's wall time p50 / p99, this process's CPU per event (the app's side:
SQLAlchemy, the driver), the database server's CPU per event (PostgreSQL: its backends, read
from ``/proc``), and the load average. Bounded: ``--events`` per way (at most 20,000); only
127.0.0.1 is contacted; the database made here is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != BENCH), str(BENCH)]
from realtime.events import LogEvent  # noqa: E402
from storage import tables as t  # noqa: E402
from storage.engine import create_engine, create_event_engine  # noqa: E402
from storage.eventlog import LocalLeaderLock, PostgresLeaderLock, SqlEventLog  # noqa: E402


class BeforeLock(PostgresLeaderLock):
    """The lock as first written: its connection checked on every pass."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine, key=0x42454E43, recheck_s=0.0)


class BeforeLog(SqlEventLog):
    """``publish_pending`` as first written: four statements on every backend."""

    async def publish_pending(self, limit: int) -> list[Any]:
        conn = await self._write_conn()
        try:
            return await self._publish_in_statements(conn, limit)
        finally:
            await conn.close()


def row(n: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "name": "WorkOrderUpdated",
            "aggregate_type": "work_order", "aggregate_id": f"wo-{n}", "store_id": "store-1",
            "technician_id": None, "payload": {"n": n, "status": "assigned"},
            "occurred_at": dt.datetime.now(dt.UTC)}


async def run(args: argparse.Namespace, url: str) -> None:
    from storm import cpu_seconds, loadavg, own_cpu_seconds, server_pids

    from storage.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    writer, events = create_engine(url), create_event_engine(url)
    postgres = events.dialect.name == "postgresql"
    ways: dict[str, tuple[Any, Any]] = {
        "before": (BeforeLog(events, LogEvent), BeforeLock(events) if postgres
                   else LocalLeaderLock()),
        "after": (SqlEventLog(events, LogEvent), PostgresLeaderLock(events, key=0x41465452)
                  if postgres else LocalLeaderLock()),
    }
    walls: dict[str, list[float]] = {w: [] for w in ways}
    cpu = dict.fromkeys(ways, 0.0)
    server = dict.fromkeys(ways, 0.0)
    published = dict.fromkeys(ways, 0)
    try:
        for log, lock in ways.values():  # warm-up: connections, statement caches
            await lock.acquire()
            await log.publish_pending(500)
        pids = await server_pids(events) if postgres else []
        n = 0
        for _ in range(args.events // args.batch):
            for name, (log, lock) in ways.items():
                async with writer.begin() as conn:
                    await conn.execute(t.outbox.insert(), [row(n + i) for i in range(args.batch)])
                n += args.batch
                before_server = sum(cpu_seconds(p) for p in pids)
                before_cpu, started = own_cpu_seconds(), time.perf_counter()
                assert await lock.acquire()
                out = await log.publish_pending(500)
                walls[name].append(time.perf_counter() - started)
                cpu[name] += own_cpu_seconds() - before_cpu
                server[name] += sum(cpu_seconds(p) for p in pids) - before_server
                published[name] += len(out)
        print(f"{args.events} events a way, {args.batch} a commit, "
              f"{'PostgreSQL' if postgres else 'SQLite'}, load average {loadavg()}")
        print(f"{'way':8} {'pass p50':>10} {'pass p99':>10} {'app CPU/event':>14} "
              f"{'db CPU/event':>13} {'published':>10}")
        for name in ways:
            ms = sorted(w * 1000 for w in walls[name])
            p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
            count = max(1, published[name])
            db = f"{server[name] / count * 1e6:10.0f} µs" if postgres else f"{'-':>13}"
            print(f"{name:8} {statistics.median(ms):8.2f} ms {p99:7.2f} ms "
                  f"{cpu[name] / count * 1e6:11.0f} µs {db} {published[name]:>10}")
        a, b = (statistics.median(walls[w]) for w in ("after", "before"))
        print(f"after / before: pass p50 {a / b:.2f}x, app CPU per event "
              f"{cpu['after'] / max(cpu['before'], 1e-9):.2f}x")
    finally:
        for _, lock in ways.values():
            await lock.release()
        await writer.dispose()
        await events.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--events", type=int, default=2000, help="per way")
    parser.add_argument("--batch", type=int, default=1, help="events a commit")
    args = parser.parse_args()
    args.events = max(1, min(args.events, 20_000))
    args.batch = max(1, min(args.batch, 500))
    from storm import on_a_fresh_database  # beside this script

    on_a_fresh_database(args.backend, "dispatch_relay", lambda url: run(args, url))

if __name__ == "__main__":
    main()
