"""Feed cursors in the ``feed_cursors`` table: a `FeedCursorStore` that survives restarts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t
from storage.engine import SQLITE_WRITE

C = t.feed_cursors


class SqlFeedCursorStore:
    """One opaque token per feed name (e.g. ``intake:acme``, ``geotab:db:LogRecord``)."""

    def __init__(self, engine: AsyncEngine,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.engine = engine
        self._clock = clock

    async def get(self, feed: str) -> str | None:
        async with self.engine.connect() as conn:
            value = (await conn.execute(select(C.c.token).where(C.c.name == feed))).scalar()
        return None if value is None else str(value)

    async def set(self, feed: str, version: str) -> None:
        values = {"name": feed, "token": version, "updated_at": self._clock()}
        sqlite = self.engine.dialect.name == "sqlite"
        insert = sqlite_insert if sqlite else pg_insert
        stmt = insert(C).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[C.c.name],
            set_={"token": stmt.excluded.token, "updated_at": stmt.excluded.updated_at},
        )
        async with self.engine.connect() as conn:
            if sqlite:
                conn = await conn.execution_options(**{SQLITE_WRITE: True})
            await conn.execute(stmt)
            await conn.commit()
