"""Rows that only matter for a while go: signed-out tokens once they expire, Idempotency-Key
results after their keep time; the hourly retention pass runs both."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t
from storage.revocations import prune_idempotency_keys, prune_revoked_tokens, revoke_token
from web.live import build_live
from web.settings import Settings

NOW = dt.datetime(2026, 6, 10, 16, 0, tzinfo=dt.UTC)


async def _column(engine: AsyncEngine, column: object) -> list[str]:
    async with engine.connect() as conn:
        return sorted((await conn.execute(select(column))).scalars().all())  # type: ignore[call-overload]


async def test_signed_out_tokens_are_kept_until_they_expire(engine: AsyncEngine) -> None:
    await revoke_token(engine, jti="old", user_id="u1", expires_at=NOW - dt.timedelta(minutes=1))
    await revoke_token(engine, jti="live", user_id="u1", expires_at=NOW + dt.timedelta(hours=7))
    await revoke_token(engine, jti="live", user_id="u1", expires_at=NOW + dt.timedelta(hours=7))
    assert await prune_revoked_tokens(engine, NOW) == 1
    assert await _column(engine, t.revoked_tokens.c.jti) == ["live"]


async def test_idempotency_results_go_after_their_keep_time(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(t.idempotency_keys), [
            {"user_id": "u1", "key": key, "request_hash": "h" * 64, "state": "done",
             "status_code": 201, "response": {}, "created_at": NOW - age}
            for key, age in (("day-old", dt.timedelta(hours=25)), ("fresh", dt.timedelta(0)))])
    assert await prune_idempotency_keys(engine, NOW - dt.timedelta(hours=24)) == 1
    assert await _column(engine, t.idempotency_keys.c.key) == ["fresh"]


async def test_the_hourly_retention_pass_prunes_both(engine: AsyncEngine) -> None:
    live = build_live(Settings(database_url=str(engine.url), idempotency_keep_hours=2), engine,
                      clock=lambda: NOW)
    await revoke_token(engine, jti="old", user_id="u1", expires_at=NOW - dt.timedelta(minutes=1))
    async with engine.begin() as conn:
        await conn.execute(insert(t.idempotency_keys), [{
            "user_id": "u1", "key": "k", "request_hash": "h" * 64, "state": "done",
            "status_code": 201, "response": {}, "created_at": NOW - dt.timedelta(hours=3)}])
    gone = {name: await prune(NOW) for name, prune in live.janitors.items()}
    assert sorted(gone.values()) == [1, 1]
