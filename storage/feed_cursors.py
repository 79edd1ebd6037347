"""Feed cursors in the ``feed_cursors`` table: a `FeedCursorStore` that survives restarts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t
from storage.engine import dialect_insert, read_connection, single_statement

C = t.feed_cursors


class SqlFeedCursorStore:
    """One opaque token per feed name (e.g. ``intake:acme``, ``geotab:db:LogRecord``)."""

    def __init__(self, engine: AsyncEngine,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.engine = engine
        self._clock = clock

    async def get(self, feed: str) -> str | None:
        async with read_connection(self.engine) as conn:
            value = (await conn.execute(select(C.c.token).where(C.c.name == feed))).scalar()
        return None if value is None else str(value)

    async def set(self, feed: str, version: str) -> None:
        values = {"name": feed, "token": version, "updated_at": self._clock()}
        stmt = dialect_insert(C, self.engine.dialect.name).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[C.c.name],
            set_={"token": stmt.excluded.token, "updated_at": stmt.excluded.updated_at},
        )
        async with single_statement(self.engine) as conn:
            await conn.execute(stmt)
