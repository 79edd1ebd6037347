"""The positions fast lane keeps positions moving to the boards while the database is slow:
the batches are written by a task of their own, never in front of the next publish."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from domain.positions import PositionFix
from realtime.bus import MemoryBus
from realtime.events import StoredFix
from realtime.positions import PositionPipeline, UnitInfo

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


class OneVan:
    async def units(self) -> dict[str, UnitInfo]:
        info = UnitInfo("unit-0001", "tech-0001", "store-0001")
        return {"b1": info, "unit-0001": info}


class StuckStore:
    """A position store whose writes hang until released (a database under a long lock)."""

    def __init__(self) -> None:
        self.writing = asyncio.Event()
        self.release = asyncio.Event()
        self.saved: list[StoredFix] = []

    async def save(self, batch: list[StoredFix]) -> None:
        self.writing.set()
        await self.release.wait()
        self.saved.extend(batch)


def fix(record: str, seconds_ago: float) -> PositionFix:
    return PositionFix(unit_id="b1", lat=32.7 + seconds_ago / 1000, lon=-96.8, speed_kmh=40.0,
                       bearing=None, device_time=NOW - dt.timedelta(seconds=seconds_ago),
                       record_id=record)


async def test_a_stuck_database_write_does_not_hold_back_the_next_positions() -> None:
    bus = MemoryBus()
    published: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def board(raw: str) -> None:
        await published.put(json.loads(raw))

    bus.subscribe("positions", board)
    await bus.start()
    store = StuckStore()
    pipeline = PositionPipeline(bus, store, OneVan(), channel="positions",
                                publish_interval=0.01, store_interval=0.01)
    await pipeline.start()
    try:
        await pipeline.ingest([fix("r1", 20)])
        first = await asyncio.wait_for(published.get(), 5)
        await asyncio.wait_for(store.writing.wait(), 5)  # r1's write hangs from here on

        await pipeline.ingest([fix("r2", 10)])
        second = await asyncio.wait_for(published.get(), 5)

        assert [item["at"] for item in first["items"]] == [fix("r1", 20).device_time.isoformat()]
        assert [item["at"] for item in second["items"]] == [fix("r2", 10).device_time.isoformat()]
        assert store.saved == []  # still writing r1 while r2 reached the board
        store.release.set()
    finally:
        store.release.set()
        await pipeline.stop()
        await bus.stop()
    assert [f.record_id for f in store.saved] == ["r1", "r2"]
