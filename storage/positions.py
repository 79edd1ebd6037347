"""Positions: upsert of the latest fix per unit (never backwards) and the breadcrumb history.

At 2,000 vans the pipeline hands over about 2,000 fixes a second, each a breadcrumb row and a
latest row, so the writes skip SQLAlchemy's parameter processing per row (a dictionary and a
type conversion for each value of each row), which was the largest CPU cost of the positions
path. The statements are built once with Core; per batch, PostgreSQL gets one ``INSERT ...
SELECT FROM unnest(<one array per column>)`` per table (the driver encodes the arrays; the
server plans and runs one statement, not 2,000), and SQLite an ``executemany`` of plain tuples
with the times already in ``UTCDateTime``'s stored form. What is stored is what ``UTCDateTime``
and the rest of the tables' types would store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, String, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeEngine

from storage import tables as t
from storage.types import UTCDateTime

#: The columns a fix fills, in the order of each row's values.
COLUMNS = ("unit_id", "lat", "lon", "speed_kmh", "bearing", "device_time", "record_id", "source")
_AT = COLUMNS.index("device_time")
_UNIT = COLUMNS.index("unit_id")
#: What a newer fix replaces in ``positions_latest``.
_LATEST = COLUMNS[1:]

Row = tuple[Any, ...]


class SqlPositionStore:
    """Implements ``realtime.ports.PositionStore``. Takes objects with the fix's attributes
    (``unit_id``, ``lat``, ``lon``, ``speed_kmh``, ``bearing``, ``at``, ``record_id``, ``source``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._writer: _PostgresWriter | _SqliteWriter = (
            _PostgresWriter() if engine.dialect.name == "postgresql"
            else _SqliteWriter(engine.dialect))

    async def save(self, updates: list[Any]) -> None:
        if not updates:
            return
        rows: list[Row] = [(
            u.unit_id, u.lat, u.lon, u.speed_kmh, u.bearing, u.at,
            getattr(u, "record_id", None) or f"{u.unit_id}@{u.at.isoformat()}",
            getattr(u, "source", "geotab"),
        ) for u in updates]
        if any(row[_AT].tzinfo is None for row in rows):
            raise ValueError("naive datetimes are not stored; attach a time zone")
        newest: dict[str, Row] = {}
        for row in rows:
            kept = newest.get(row[_UNIT])
            if kept is None or row[_AT] > kept[_AT]:
                newest[row[_UNIT]] = row
        async with self.engine.begin() as conn:
            await self._writer.write(conn, rows, list(newest.values()))

    async def trail(self, unit_id: str, since: dt.datetime, limit: int = 2000) -> list[dict[str, Any]]:
        h = t.position_history
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(h.c.lat, h.c.lon, h.c.device_time, h.c.speed_kmh)
                .where(h.c.unit_id == unit_id, h.c.device_time >= since)
                .order_by(h.c.device_time).limit(limit)
            )).mappings().all()
        return [{"lat": r["lat"], "lon": r["lon"], "at": r["device_time"].isoformat(),
                 "speed_kmh": r["speed_kmh"]} for r in rows]

    async def prune(self, older_than: dt.datetime) -> int:
        h = t.position_history
        async with self.engine.begin() as conn:
            result = await conn.execute(h.delete().where(h.c.device_time < older_than))
        return int(result.rowcount or 0)


def _history(insert: Any, source: Any) -> Insert:
    """Breadcrumbs: a record already stored (same source and id) is kept once."""
    stmt: Insert = insert(t.position_history)
    stmt = stmt.from_select(COLUMNS, source) if source is not None else stmt
    return stmt.on_conflict_do_nothing(  # type: ignore[attr-defined, no-any-return]
        index_elements=["source", "record_id"])


def _latest(insert: Any, source: Any) -> Insert:
    """The latest fix per unit: replaced only by a newer device time, so it never moves back."""
    stmt = insert(t.positions_latest)
    stmt = stmt.from_select(COLUMNS, source) if source is not None else stmt
    return stmt.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[t.positions_latest.c.unit_id],
        set_={c: stmt.excluded[c] for c in _LATEST},
        where=t.positions_latest.c.device_time < stmt.excluded.device_time,
    )


class _PostgresWriter:
    """One statement per table and batch: the batch's columns as arrays, ``unnest`` into rows."""

    def __init__(self) -> None:
        # Plain element types: the driver encodes aware datetimes as timestamptz itself.
        types: dict[str, TypeEngine[Any]] = {
            "lat": Float(), "lon": Float(), "speed_kmh": Float(), "bearing": Float(),
            "device_time": postgresql.TIMESTAMP(timezone=True)}
        arrays = [bindparam(c, type_=postgresql.ARRAY(types.get(c, String()))) for c in COLUMNS]
        rows = func.unnest(*arrays).table_valued(*COLUMNS).render_derived()
        source = select(*(rows.c[c] for c in COLUMNS))
        self.history = _history(postgresql.insert, source)
        self.latest = _latest(postgresql.insert, source)

    async def write(self, conn: AsyncConnection, rows: list[Row], newest: list[Row]) -> None:
        await conn.execute(self.history, self._arrays(rows))
        await conn.execute(self.latest, self._arrays(newest))

    @staticmethod
    def _arrays(rows: list[Row]) -> dict[str, list[Any]]:
        return dict(zip(COLUMNS, map(list, zip(*rows, strict=True)), strict=True))


class _SqliteWriter:
    """``executemany`` of plain tuples on statements compiled once; times as ``UTCDateTime``
    stores them (fixed-width UTC text, so ordering and the unique index hold)."""

    def __init__(self, dialect: Dialect) -> None:
        self.history = self._sql(_history(sqlite.insert, None), dialect)
        self.latest = self._sql(_latest(sqlite.insert, None), dialect)
        self._store_time = UTCDateTime().process_bind_param

    @staticmethod
    def _sql(stmt: Insert, dialect: Dialect) -> str:
        compiled = stmt.compile(dialect=dialect, column_keys=list(COLUMNS))
        if tuple(compiled.positiontup or ()) != COLUMNS:  # the tuples' order is the statement's
            raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
        return compiled.string

    async def write(self, conn: AsyncConnection, rows: list[Row], newest: list[Row]) -> None:
        # A batch's fixes share few device times: each is converted once.
        texts = {at: self._store_time(at, conn.dialect) for at in {row[_AT] for row in rows}}
        for sql, batch in ((self.history, rows), (self.latest, newest)):
            await conn.exec_driver_sql(sql, [  # unpacked by name: four times a slice's speed
                (unit, lat, lon, speed, bearing, texts[at], record, source)
                for unit, lat, lon, speed, bearing, at, record, source in batch])
