"""The outbox as the durable event log: sequence assignment, reads, and the relay's leader lock."""

from __future__ import annotations

import datetime as dt
import functools
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage import tables as t
from storage.engine import SQLITE_WRITE, read_connection

#: The PostgreSQL advisory lock key of the relay leader ("DSPR").
RELAY_LOCK_KEY = 0x44535052


@functools.cache
def _publish_statement() -> Any:
    """PostgreSQL: lock the oldest unpublished rows, number them after the highest ``seq`` and
    return them, in one statement. A second publisher (two leaders for a moment) waits on the
    row locks and then fails on the unique ``seq`` rather than publishing out of order."""
    o = t.outbox
    pending = (select(o.c.id).where(o.c.seq.is_(None)).order_by(o.c.id)
               .limit(bindparam("limit")).with_for_update().cte("pending"))
    numbered = select(pending.c.id, func.row_number().over(order_by=pending.c.id).label("n")
                      ).cte("numbered")
    top = select(func.coalesce(func.max(o.c.seq), 0)).scalar_subquery()
    return (update(o).where(o.c.id == numbered.c.id)
            .values(seq=top + numbered.c.n, published_at=bindparam("now"))
            .returning(*o.c))


class SqlEventLog:
    """Implements ``realtime.ports.EventLog``; ``event_factory`` builds its event objects (the
    composition root passes ``realtime.events.LogEvent``, so storage need not import realtime)."""

    def __init__(self, engine: AsyncEngine, event_factory: Any,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.engine = engine
        self.make = event_factory
        self.clock = clock

    def _event(self, row: Any) -> Any:
        payload = dict(row["payload"])
        return self.make(
            seq=row["seq"], name=row["name"], at=row["occurred_at"],
            aggregate_type=row["aggregate_type"], aggregate_id=row["aggregate_id"],
            store_id=row["store_id"], technician_id=row["technician_id"], data=payload,
            correlation_id=row.get("correlation_id"),
        )

    async def _write_conn(self) -> AsyncConnection:
        conn = await self.engine.connect()
        if self.engine.dialect.name == "sqlite":
            conn = await conn.execution_options(**{SQLITE_WRITE: True})
        return conn

    async def publish_pending(self, limit: int) -> list[Any]:
        """Give the oldest unpublished events (at most ``limit``) the next sequence numbers and
        return them in that order. On PostgreSQL one statement does it, outside a transaction
        block (a pass costs one round trip: the relay makes one a commit); on SQLite, whose
        writers queue on one lock, three, and only when a read has found something pending (the
        relay passes every few hundred milliseconds: it should not take the write lock from the
        app's writers for nothing)."""
        if self.engine.dialect.name != "postgresql" and not await self._any_pending():
            return []
        conn = await self._write_conn()
        try:
            if self.engine.dialect.name == "postgresql":
                # The one statement is atomic by itself: no BEGIN and COMMIT around it (two
                # round trips fewer, each a turn of a busy event loop)
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                rows = (await conn.execute(_publish_statement(),
                                           {"limit": limit, "now": self.clock()})).mappings().all()
                return sorted((self._event(r) for r in rows), key=lambda event: event.seq)
            return await self._publish_in_statements(conn, limit)
        finally:
            await conn.close()

    async def _any_pending(self) -> bool:
        async with self.engine.connect() as conn:
            found = (await conn.execute(
                select(t.outbox.c.id).where(t.outbox.c.seq.is_(None)).limit(1))).first()
        return found is not None

    async def _publish_in_statements(self, conn: AsyncConnection, limit: int) -> list[Any]:
        """The same in three statements (SQLite; PostgreSQL's relay did so before)."""
        o = t.outbox
        async with conn.begin():
            query = select(o).where(o.c.seq.is_(None)).order_by(o.c.id).limit(limit)
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update()
            rows = (await conn.execute(query)).mappings().all()
            if not rows:
                return []
            top = (await conn.execute(select(func.coalesce(func.max(o.c.seq), 0)))).scalar()
            now = self.clock()
            assigned = [{"row_id": r["id"], "new_seq": int(top or 0) + i + 1, "now": now}
                        for i, r in enumerate(rows)]
            await conn.execute(
                update(o).where(o.c.id == bindparam("row_id"))
                .values(seq=bindparam("new_seq"), published_at=bindparam("now")),
                assigned,
            )
        return [self._event({**r, "seq": a["new_seq"]}) for r, a in zip(rows, assigned,
                                                                         strict=True)]

    async def append(self, events: list[dict[str, Any]]) -> None:
        """Write system events (not tied to an aggregate's version), e.g. a van going stale.

        Each item has ``name``, ``aggregate_type``, ``aggregate_id``, ``store_id``,
        ``technician_id`` and ``data``; the relay publishes them like any other event.
        """
        if not events:
            return
        now = self.clock()
        rows = [{"event_id": str(uuid.uuid4()), "name": e["name"],
                 "aggregate_type": e["aggregate_type"], "aggregate_id": e["aggregate_id"],
                 "store_id": e.get("store_id"), "technician_id": e.get("technician_id"),
                 "payload": e.get("data", {}), "occurred_at": now} for e in events]
        conn = await self._write_conn()
        try:
            async with conn.begin():
                await conn.execute(insert(t.outbox), rows)
        finally:
            await conn.close()

    async def read_since(self, seq: int, limit: int) -> list[Any]:
        o = t.outbox
        async with read_connection(self.engine) as conn:
            rows = (await conn.execute(
                select(o).where(o.c.seq > seq).order_by(o.c.seq).limit(limit)
            )).mappings().all()
        return [self._event(r) for r in rows]

    async def latest_seq(self) -> int:
        async with read_connection(self.engine) as conn:
            value = (await conn.execute(select(func.max(t.outbox.c.seq)))).scalar()
        return int(value or 0)

    async def oldest_seq(self) -> int:
        async with read_connection(self.engine) as conn:
            value = (await conn.execute(select(func.min(t.outbox.c.seq)))).scalar()
        return int(value or 0)

    async def prune(self, older_than: dt.datetime) -> int:
        """Drop published events older than the retention window (clients then get snapshots)."""
        o = t.outbox
        async with self.engine.begin() as conn:
            result = await conn.execute(
                o.delete().where(o.c.seq.is_not(None), o.c.published_at < older_than))
        return int(result.rowcount or 0)


class PostgresLeaderLock:
    """Leadership is a session-level advisory lock held on one dedicated connection.

    While held, ``acquire`` checks that connection at most every ``recheck_s`` (the relay asks
    on every pass, up to one a commit): a connection lost in between is noticed at the next
    check, and meanwhile the unique ``seq`` stops a second leader's publishing."""

    def __init__(self, engine: AsyncEngine, key: int = RELAY_LOCK_KEY, *,
                 recheck_s: float = 1.0) -> None:
        self.engine = engine
        self.key = key
        self.recheck_s = recheck_s
        self._conn: AsyncConnection | None = None
        self._checked = 0.0

    async def acquire(self) -> bool:
        if self._conn is not None:
            if time.monotonic() - self._checked < self.recheck_s:
                return True
            try:
                await self._conn.execute(text("SELECT 1"))
                self._checked = time.monotonic()
                return True
            except Exception:  # the connection died, and the lock with it
                self._conn = None
        # Outside a transaction block: the lock belongs to the session, and each check is one
        # round trip rather than three (BEGIN, the statement, COMMIT).
        conn = await (await self.engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
               ).scalar()
        if got:
            self._conn = conn
            self._checked = time.monotonic()
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            finally:
                await self._conn.close()
                self._conn = None


class LocalLeaderLock:
    """Embedded mode (SQLite): one process, so it always leads."""

    async def acquire(self) -> bool:
        return True

    async def release(self) -> None:
        return None
