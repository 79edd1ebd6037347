"""The positions fast lane on a real database and the in-process bus."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.positions import PositionFix
from realtime.bus import MemoryBus
from realtime.events import LogEvent
from realtime.positions import PositionPipeline, UnitInfo, heading
from storage import tables as t
from storage.eventlog import SqlEventLog
from storage.positions import SqlPositionStore
from storage.queries.board import SqlUnitDirectory
from tests.integration.helpers import seed_world

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def fix(record: str, lat: float, lon: float, seconds_ago: float, device: str = "b1",
        speed: float = 40.0) -> PositionFix:
    return PositionFix(unit_id=device, lat=lat, lon=lon, speed_kmh=speed, bearing=None,
                       device_time=NOW - dt.timedelta(seconds=seconds_ago), record_id=record)


async def test_fixes_are_validated_mapped_coalesced_stored_and_never_move_back(
    engine: AsyncEngine,
) -> None:
    await seed_world(engine)
    bus = MemoryBus()
    frames: list[dict[str, object]] = []

    async def listen(raw: str) -> None:
        frames.append(json.loads(raw))

    bus.subscribe("p", listen)
    await bus.start()
    log = SqlEventLog(engine, LogEvent)
    pipeline = PositionPipeline(bus, SqlPositionStore(engine), SqlUnitDirectory(engine, UnitInfo),
                                channel="p", on_freshness=log.append)
    await pipeline.start()
    try:
        kept = await pipeline.ingest([
            fix("r1", 32.70, -96.80, 30),
            fix("r2", 32.71, -96.80, 20),            # newer: kept, heading north
            fix("r1", 32.70, -96.80, 30),            # the same record again
            fix("r0", 32.60, -96.90, 60),            # late: a breadcrumb, never moves the marker
            fix("bad", 91.0, -96.80, 10),            # invalid latitude
            fix("x1", 32.70, -96.80, 10, device="unknown-device"),
            fix("f1", 32.72, -96.80, -3600),         # an hour in the future
        ])
        assert kept == 2
        assert (pipeline.rejected, pipeline.unknown) == (2, 1)
        await pipeline.flush()
        await asyncio.sleep(0.05)
        items = frames[-1]["items"]
        assert isinstance(items, list) and len(items) == 1
        assert items[0]["unit_id"] == "unit-1" and items[0]["technician_id"] == "tech-1"
        assert items[0]["lat"] == 32.71 and abs(items[0]["bearing"]) < 1.0
        async with engine.connect() as conn:
            latest = (await conn.execute(select(t.positions_latest))).mappings().one()
            history = (await conn.execute(select(func.count()).select_from(t.position_history))
                       ).scalar()
        assert latest["lat"] == 32.71 and history == 3  # r1, r2 and the late r0 (once each)
        # an older record arriving in a later batch still does not move the stored marker back
        await pipeline.ingest([fix("r-1", 32.5, -96.7, 50)])
        await pipeline.flush()
        async with engine.connect() as conn:
            again = (await conn.execute(select(t.positions_latest.c.lat))).scalar()
        assert again == 32.71
        # ten minutes without a fix: the van goes stale, and that is an event in the log
        assert pipeline.freshness_changes(NOW) == []  # first look: moving, nothing changed
        changes = pipeline.freshness_changes(NOW + dt.timedelta(minutes=10))
        assert [(c["aggregate_id"], c["data"]["freshness"]) for c in changes] == [("unit-1", "stale")]
        await log.append(changes)
        assert [e.name for e in await log.publish_pending(10)][-1] == "UnitFreshnessChanged"
    finally:
        await pipeline.stop()
        await bus.stop()


def test_heading_points_where_the_van_went() -> None:
    east = heading(32.7, -96.8, 32.7, -96.7)
    assert east is not None and 89 < east < 91
    assert heading(32.7, -96.8, 32.7, -96.8) is None
