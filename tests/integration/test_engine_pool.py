"""The PostgreSQL pool replaces a connection the server closed, and a closed one is never used."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from storage.engine import create_engine, create_event_engine
from storage.engine import normalize_url as _normalize

pytestmark = pytest.mark.postgres


def _asyncpg_url(url: str) -> str:
    return _normalize(url).replace("postgresql+asyncpg://", "postgresql://")


async def _backend_pid(engine: object) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.mark.parametrize("make", [create_engine, create_event_engine])
def test_a_pooled_connection_the_server_closed_is_replaced_on_checkout(
        postgres_url: str, make: object) -> None:
    async def run() -> None:
        engine = make(postgres_url)  # type: ignore[operator]
        admin = await asyncpg.connect(_asyncpg_url(postgres_url))
        try:
            first = await _backend_pid(engine)
            assert await _backend_pid(engine) == first  # pooled: the same connection again
            await admin.execute("SELECT pg_terminate_backend($1)", first)
            for _ in range(100):  # the driver sees the socket close while the connection idles
                await asyncio.sleep(0.02)
                if await admin.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first) == 0:
                    break
            await asyncio.sleep(0.05)
            second = await _backend_pid(engine)  # no error: a new connection took its place
            assert second != first
            assert await _backend_pid(engine) == second
        finally:
            await admin.close()
            await engine.dispose()

    asyncio.run(run())
