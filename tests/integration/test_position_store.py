"""The position store writes batches without SQLAlchemy's per-row parameter processing; what it
stores must be exactly what the tables' types would store: the same values read back, times in
``UTCDateTime``'s stored form (so ordering, the range reads and the unique index hold), a
re-sent record kept once, and a latest position that never moves back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.events import StoredFix
from storage import tables as t
from storage.positions import SqlPositionStore
from tests.integration.helpers import NOW, seed_world

CENTRAL = dt.timezone(dt.timedelta(hours=-5))


def fix(unit_id: str, lat: float, lon: float, speed_kmh: float, bearing: float | None,
        at: dt.datetime, record_id: str, source: str = "geotab") -> StoredFix:
    return StoredFix(unit_id, lat, lon, speed_kmh, bearing, at, record_id, source)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


async def history(engine: AsyncEngine) -> dict[str, tuple[object, ...]]:
    h = t.position_history
    async with engine.connect() as conn:
        rows = (await conn.execute(select(
            h.c.record_id, h.c.unit_id, h.c.lat, h.c.lon, h.c.speed_kmh, h.c.bearing,
            h.c.device_time, h.c.source))).all()
    return {r[0]: tuple(r[1:]) for r in rows}


async def latest(engine: AsyncEngine) -> dict[str, tuple[object, ...]]:
    p = t.positions_latest
    async with engine.connect() as conn:
        rows = (await conn.execute(select(p.c.unit_id, p.c.lat, p.c.device_time, p.c.record_id,
                                          p.c.bearing))).all()
    return {r[0]: tuple(r[1:]) for r in rows}


async def test_a_batch_is_stored_as_the_tables_types_store_it(engine: AsyncEngine) -> None:
    await seed_world(engine)
    store = SqlPositionStore(engine)
    noon_central = ago(30).astimezone(CENTRAL).replace(microsecond=123456)
    await store.save([
        fix("unit-1", 32.712345678901234, -96.80000000000001, 41.5, 90.0, ago(20), "a"),
        fix("unit-1", 32.72, -96.81, 0.0, None, ago(10), "b"),             # newest of unit-1
        fix("unit-1", 32.70, -96.79, 12.0, 180.0, ago(40), "c"),           # late: a breadcrumb
        fix("unit-2", 32.60, -96.70, 55.25, 359.5, noon_central, "d"),    # not in UTC
        fix("unit-2", 32.61, -96.71, 20.0, None, ago(35), "p", "phone"),  # older than d
    ])
    stored = await history(engine)
    assert stored == {
        "a": ("unit-1", 32.712345678901234, -96.80000000000001, 41.5, 90.0, ago(20), "geotab"),
        "b": ("unit-1", 32.72, -96.81, 0.0, None, ago(10), "geotab"),
        "c": ("unit-1", 32.70, -96.79, 12.0, 180.0, ago(40), "geotab"),
        "d": ("unit-2", 32.60, -96.70, 55.25, 359.5, noon_central, "geotab"),
        "p": ("unit-2", 32.61, -96.71, 20.0, None, ago(35), "phone"),
    }
    assert stored["d"][5].tzinfo == dt.UTC  # type: ignore[union-attr]
    assert await latest(engine) == {"unit-1": (32.72, ago(10), "b", None),
                                    "unit-2": (32.60, noon_central, "d", 359.5)}

    if engine.dialect.name == "sqlite":  # the stored text is UTCDateTime's fixed-width form
        async with engine.connect() as conn:
            text = (await conn.exec_driver_sql(
                "SELECT device_time FROM position_history WHERE record_id = 'd'")).scalar()
        assert text == noon_central.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    # Read back in time order through the type, from an instant between two fixes.
    assert [p["at"] for p in await store.trail("unit-1", ago(25))] == [
        ago(20).isoformat(), ago(10).isoformat()]

    # A re-sent record is kept once; an older fix never moves the latest back; a newer one does.
    await store.save([
        fix("unit-1", 10.0, 10.0, 1.0, None, ago(20), "a"),
        fix("unit-1", 32.50, -96.50, 5.0, None, ago(15), "e"),
        fix("unit-2", 32.62, -96.72, 30.0, 45.0, ago(5), "f"),
    ])
    stored_again = await history(engine)
    assert stored_again["a"] == stored["a"] and set(stored_again) == {*stored, "e", "f"}
    assert await latest(engine) == {"unit-1": (32.72, ago(10), "b", None),
                                    "unit-2": (32.62, ago(5), "f", 45.0)}


async def test_a_naive_time_is_refused_and_nothing_of_its_batch_is_stored(
        engine: AsyncEngine) -> None:
    await seed_world(engine)
    store = SqlPositionStore(engine)
    with pytest.raises(ValueError, match="naive"):
        await store.save([fix("unit-1", 32.7, -96.8, 0.0, None, ago(5), "ok"),
                          fix("unit-2", 32.7, -96.8, 0.0, None, ago(5).replace(tzinfo=None),
                              "naive")])
    await store.save([])
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(t.position_history))
                 ).scalar()
    assert count == 0 and await latest(engine) == {}
