"""Connections for one statement: reads and self-contained writes run outside a transaction block
on PostgreSQL (one round trip each, not three), and what they write is committed at once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.engine import create_engine, read_connection, single_statement, write_transaction
from storage.eventlog import PostgresLeaderLock
from storage.feed_cursors import SqlFeedCursorStore

NOW = dt.datetime(2026, 7, 14, 15, 0, tzinfo=dt.UTC)


async def _two_transaction_ids(conn: AsyncConnection) -> tuple[int, int]:
    """``txid_current()`` twice: the same inside a transaction block, two outside one."""
    first = (await conn.execute(text("SELECT txid_current()"))).scalar_one()
    second = (await conn.execute(text("SELECT txid_current()"))).scalar_one()
    return int(first), int(second)


@pytest.mark.postgres
async def test_reads_and_single_statements_run_outside_a_transaction_block(
        postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with write_transaction(engine) as conn:  # the control: a block holds one
            first, second = await _two_transaction_ids(conn)
            assert first == second
        for connection in (read_connection, single_statement):
            async with connection(engine) as conn:
                first, second = await _two_transaction_ids(conn)
                assert second > first, connection.__name__
        # The pool's next user gets an ordinary connection back: a block again.
        async with engine.connect() as conn:
            first, second = await _two_transaction_ids(conn)
            assert first == second
    finally:
        await engine.dispose()


async def test_a_single_statement_write_is_committed_when_the_block_ends(
        engine: AsyncEngine) -> None:
    cursors = SqlFeedCursorStore(engine, clock=lambda: NOW)
    await cursors.set("test:feed", "41")
    await cursors.set("test:feed", "42")  # the upsert's update
    other = create_engine(str(engine.url.render_as_string(hide_password=False)))
    try:  # read through another pool: on SQLite a connection of its own, on PostgreSQL too
        assert await SqlFeedCursorStore(other).get("test:feed") == "42"
    finally:
        await other.dispose()


async def test_a_failed_single_statement_writes_nothing(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):  # one row of the two breaks the key: neither lands
        async with single_statement(engine) as conn:
            await conn.execute(text(
                "INSERT INTO feed_cursors (name, token, updated_at) VALUES ('a', 't', :at), "
                "('a', 't', :at)"), {"at": NOW})
    assert await SqlFeedCursorStore(engine).get("a") is None


@pytest.mark.postgres
async def test_the_leader_lock_is_held_across_its_checks_until_released(
        postgres_url: str) -> None:
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    leader, other = (PostgresLeaderLock(e, key=715_002, recheck_s=0.0) for e in engines)
    try:
        assert await leader.acquire()
        assert not await other.acquire()
        assert await leader.acquire()  # a check on its connection (every time: recheck_s=0)
        assert not await other.acquire()
        await leader.release()
        assert await other.acquire()
        assert not await leader.acquire()
    finally:
        await other.release()
        await leader.release()
        for e in engines:
            await e.dispose()

