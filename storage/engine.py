"""Engines for SQLite (embedded) and PostgreSQL (production), with the same behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, event, exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

#: Execution option a connection sets to begin its SQLite transaction with a write lock.
SQLITE_WRITE = "dispatch_sqlite_write"


def normalize_url(url: str) -> str:
    """Accept the usual ``postgresql://`` and ``sqlite:///`` forms and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


#: The main pool of an embedded (SQLite) engine: SQLAlchemy's default for a file database.
SQLITE_POOL_SIZE = 5
#: The event path's own pool: the relay and its leader lock (held for as long as it leads), the
#: hub's repair reads, the positions store's flush and the freshness events.
EVENT_POOL_SIZE = 4


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo, pool_size=SQLITE_POOL_SIZE,
                              max_overflow=SQLITE_POOL_SIZE * 2)
    return _checked_on_checkout(create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2))


def create_event_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """A small engine of its own for the event path, so that publishing never queues behind
    snapshots or API reads for a connection of the main pool (same database, same behaviour)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo, pool_size=EVENT_POOL_SIZE,
                              max_overflow=EVENT_POOL_SIZE)
    return _checked_on_checkout(create_async_engine(
        url, echo=echo, pool_size=EVENT_POOL_SIZE, max_overflow=EVENT_POOL_SIZE, pool_timeout=10))


def _checked_on_checkout(engine: AsyncEngine) -> AsyncEngine:
    """A pooled PostgreSQL connection the server has closed (a restart, a failover, an idle
    timeout) is replaced when it is checked out, without a round trip: the driver sees the
    socket close while the connection waits in the pool. (SQLAlchemy's ``pool_pre_ping`` asks the
    server instead, and on asyncpg that is three round trips, BEGIN, a ping and ROLLBACK, on every
    checkout: about a tenth of a list request's CPU.) A connection that dies unseen, in the
    instant before its use, fails that one statement: a 503 the client may retry, and the pool is
    renewed at once (every connection older than the failure is replaced)."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = record.driver_connection
        if driver is not None and driver.is_closed():
            raise exc.DisconnectionError("the server closed this pooled connection")

    return engine


def dialect_insert(table: Table, dialect_name: str) -> Any:
    """``INSERT`` into ``table`` as the database's own dialect builds it, which has
    ``on_conflict_do_nothing``/``on_conflict_do_update`` (PostgreSQL's, or SQLite's)."""
    build = pg_insert if dialect_name == "postgresql" else sqlite_insert
    return build(table)


def pool_size(engine: AsyncEngine) -> int:
    """How many connections the engine's pool keeps (its overflow not counted)."""
    size = getattr(engine.pool, "size", None)
    return int(size()) if callable(size) else 1


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads. On PostgreSQL it reads outside a transaction block: under READ
    COMMITTED every statement takes its own snapshot inside one too, so the BEGIN and ROLLBACK
    around a read were two round trips that bought nothing."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@asynccontextmanager
async def single_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a write that one statement makes whole (an insert, an upsert, an update;
    an ``INSERT ... ON CONFLICT DO NOTHING`` and the read of what it found in the way). On
    PostgreSQL it runs outside a transaction block, since a statement is atomic by itself: a
    BEGIN and a COMMIT would be two more round trips, each a turn of a busy event loop and work
    for the database. Elsewhere (SQLite) it is a ``write_transaction``. Never for two writes
    that must land together: those take ``write_transaction``."""
    if engine.dialect.name == "postgresql":
        async with read_connection(engine) as conn:
            yield conn
    else:
        async with write_transaction(engine) as conn:
            yield conn


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction that writes (on SQLite it takes the write lock up front, so writers queue
    instead of failing on a lock upgrade); committed when the block ends without an error."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = await conn.execution_options(**{SQLITE_WRITE: True})
        async with conn.begin():
            yield conn


def _sqlite_engine(url: str, *, echo: bool, pool_size: int, max_overflow: int) -> AsyncEngine:
    options: dict[str, Any] = {}
    if make_url(url).database not in {None, "", ":memory:"}:  # a file: a pool of connections
        options = {"pool_size": pool_size, "max_overflow": max_overflow}
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A unit of work reads and then writes; a deferred transaction that later needs the write
        # lock fails at once under contention, so writers take it up front and queue instead.
        if conn.get_execution_options().get(SQLITE_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


#: asyncpg's errors for a server that is away, starting or full (not tied to a statement).
_DRIVER_UNAVAILABLE = frozenset({
    "CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError",
    "TooManyConnectionsError", "AdminShutdownError", "CrashShutdownError",
})


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached right now (down, restarting, the
    connection dropped, the pool exhausted), as opposed to a fault in the statement: the first
    is a 503 worth retrying, the second a bug."""
    if isinstance(error, exc.DBAPIError) and (
            error.connection_invalidated or isinstance(error.orig, OSError)
            or type(error.orig).__name__ in _DRIVER_UNAVAILABLE):
        return True
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError):
        return True
    return isinstance(error, OSError | ConnectionError | TimeoutError)
