"""One pass of the alert rules over the demo company: the whole catalogue against the ten kinds
the engine had before it, on SQLite (default) or PostgreSQL.

    .venv/bin/python bench/alerts.py [--passes 30] [--scale 1] [--postgres-url URL]

Seeds the demo company (``--scale`` times 200 stores, 200 technicians and 300 of today's orders,
no billing history) into a database of its own (a temporary SQLite file, or a new database on the
loopback PostgreSQL server of ``--postgres-url``, dropped at the end), comments on each open order
(half of the comments to the customer: happenings), publishes the events (what the relay does),
and runs a first pass (it raises what the day calls for). Then it times, one at a
time on the instant of the seed (no clock moves, so the steady passes change nothing), in turn:
reading the world alone; a whole pass with the full catalogue; and the baseline, a whole pass
with only the ten kinds of before switched on (the catalogue stored as an admin would leave it).
Prints p50 and p99 (nearest rank) of each, the alerts live, and the machine's load average.
At most ``--passes`` (1-500) of each; exits non-zero only on an error, never because of a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from sqlalchemy import select  # noqa: E402

from domain.alert_catalogue import RuleOverride  # noqa: E402
from domain.alerts import AlertKind  # noqa: E402
from domain.roles import Principal, Role  # noqa: E402
from domain.services.alerts import evaluate_alerts  # noqa: E402
from domain.services.context import Context  # noqa: E402
from domain.services.work_orders import comment_work_order  # noqa: E402
from domain.work_orders import OPEN_STATUSES  # noqa: E402
from realtime.events import LogEvent  # noqa: E402
from storage import tables as t  # noqa: E402
from storage.alert_rule_store import SqlAlertRules  # noqa: E402
from storage.alert_world import SqlAlertFacts  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.eventlog import SqlEventLog  # noqa: E402
from storage.feed_cursors import SqlFeedCursorStore  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402
from web.demo.seed import seed  # noqa: E402

#: The kinds the engine had before the catalogue (the baseline switches the others off).
BEFORE = frozenset({AlertKind.EMERGENCY_ORDER, AlertKind.URGENT_ORDER, AlertKind.JOB_DECLINED,
                    AlertKind.JOB_LATE, AlertKind.NO_SHOW, AlertKind.TRACKER_STALE,
                    AlertKind.TRACKER_OFFLINE, AlertKind.INTEGRATION_FAILING,
                    AlertKind.JOB_FAILED, AlertKind.PARTNER_CHANGE_BLOCKED})


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def timed(label: str, passes: int, step: Callable[[], Awaitable[Any]]) -> list[float]:
    times = []
    for _ in range(passes):
        started = time.perf_counter()
        await step()
        times.append((time.perf_counter() - started) * 1000)
    print(f"{label:<44} p50 {nearest_rank(times, 0.5):8.1f} ms   "
          f"p99 {nearest_rank(times, 0.99):8.1f} ms   ({passes} passes)")
    return times


async def comment_each_order(engine: Any, now: dt.datetime) -> None:
    """A comment on each open order (half of them to the customer): happenings to read."""
    w = t.work_orders
    async with engine.connect() as conn:
        ids = (await conn.execute(select(w.c.id).where(w.c.status.in_(
            sorted(s.value for s in OPEN_STATUSES))))).scalars().all()
    ctx = Context(principal=Principal(user_id="bench", username="dispatcher",
                                      roles=frozenset({Role.DISPATCHER})), now=now)
    for n, order_id in enumerate(ids):
        await comment_work_order(SqlUnitOfWork(engine, actor=ctx.principal, clock=lambda: now),
                                 ctx, work_order_id=order_id, text=f"Call ahead ({n})",
                                 visibility="customer" if n % 2 else "internal")


async def bench(url: str, passes: int, scale: int) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        await seed(engine, stores=200 * scale, technicians=200 * scale, orders=300 * scale,
                   now=now, progress=False, history=False)
        await comment_each_order(engine, now)
        published = await SqlEventLog(engine, LogEvent, lambda: now).publish_pending(100_000)
        print(f"seeded {200 * scale} stores, {200 * scale} technicians, {300 * scale} orders, "
              f"{len(published)} events published in {time.perf_counter() - started:.1f} s")
        facts = SqlAlertFacts(engine, cursors=SqlFeedCursorStore(engine, lambda: now))

        def new_uow() -> SqlUnitOfWork:
            return SqlUnitOfWork(engine, clock=lambda: now)

        first = await evaluate_alerts(new_uow, facts, now)
        print(f"first pass: {len(first.raised)} alerts raised "
              f"({len({a['kind'] for a in first.raised})} kinds)")
        await timed("read the world", passes, lambda: facts.world(now))
        full = await timed("a pass, the whole catalogue (22 kinds)", passes,
                           lambda: evaluate_alerts(new_uow, facts, now))
        rules = SqlAlertRules(engine)
        for kind in AlertKind:
            if kind not in BEFORE:
                override = RuleOverride(kind=kind, enabled=False, version=1, updated_at=now)
                await rules.save(override, expected_version=0, audit={
                    "at": now, "actor": "bench", "action": "alert_rule.change",
                    "entity_type": "alert_rule", "entity_id": kind.value})
        await evaluate_alerts(new_uow, facts, now)  # resolves what the others raised
        base = await timed("baseline: a pass, the 10 kinds of before", passes,
                           lambda: evaluate_alerts(new_uow, facts, now))
        print(f"the catalogue costs {nearest_rank(full, 0.5) / nearest_rank(base, 0.5):.2f}x "
              "the baseline's p50")
        print("load average: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    finally:
        await engine.dispose()


async def _pg(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=30)
    parser.add_argument("--scale", type=int, default=1, choices=range(1, 6))
    parser.add_argument("--postgres-url", default="")
    args = parser.parse_args()
    passes = max(1, min(args.passes, 500))
    if not args.postgres_url:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            upgrade(url)
            print("SQLite")
            asyncio.run(bench(url, passes, args.scale))
        return 0
    admin = args.postgres_url
    host = admin.split("@")[-1].split("/")[0].split(":")[0]
    if host not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("only a loopback PostgreSQL server is a benchmark target")
    name = f"bench_alerts_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(admin, f'CREATE DATABASE "{name}"'))
    try:
        url = "postgresql+asyncpg://" + admin.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        print(f"PostgreSQL ({name})")
        asyncio.run(bench(url, passes, args.scale))
    finally:
        asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
