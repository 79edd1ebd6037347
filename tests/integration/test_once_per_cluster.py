"""Once-per-cluster jobs (retention) run only in the process whose relay holds the leader lock;
the others stand by."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t
from web.live import Live, build_live
from web.settings import Settings

NOW = dt.datetime(2026, 6, 10, 16, 0, tzinfo=dt.UTC)


class AnotherProcessLeads:
    """The leader lock as a follower sees it: held elsewhere."""

    async def acquire(self) -> bool:
        return False

    async def release(self) -> None:
        return None


async def _old_published_event(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(t.outbox).values(
            event_id=str(uuid.uuid4()), name="WorkOrderCreated", aggregate_type="work_order",
            aggregate_id="wo-1", payload={}, occurred_at=NOW - dt.timedelta(days=30), seq=1,
            published_at=NOW - dt.timedelta(days=30)))


async def _events(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return len((await conn.execute(select(t.outbox.c.id))).all())


async def _until(live: Live, done: object) -> None:
    for _ in range(500):  # bounded: a few seconds at most
        if callable(done) and done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened; workers: {live.supervisor.health()}")


async def test_retention_stands_by_on_a_follower_and_runs_on_the_leader(
        engine: AsyncEngine) -> None:
    await _old_published_event(engine)
    settings = Settings(database_url=str(engine.url))

    follower = build_live(settings, engine, clock=lambda: NOW)
    follower.relay.lock = AnotherProcessLeads()
    await follower.start()
    try:
        relay = follower.supervisor.workers["relay"].health
        retention = follower.supervisor.workers["retention"].health
        await _until(follower, lambda: relay.runs >= 2 and retention.state == "standby")
        assert follower.relay.is_leader is False
        assert retention.runs == 0 and retention.leader_only
    finally:
        await follower.stop()
    assert await _events(engine) == 1  # nothing pruned by a follower

    leader = build_live(settings, engine, clock=lambda: NOW)
    await leader.start()
    try:
        retention = leader.supervisor.workers["retention"].health
        await _until(leader, lambda: retention.runs >= 1)
        assert leader.relay.is_leader is True
    finally:
        await leader.stop()
    assert await _events(engine) == 0
