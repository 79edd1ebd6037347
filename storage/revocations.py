"""Rows that only matter for a while: signed-out tokens (until they expire) and Idempotency-Key
results (for `IDEMPOTENCY_KEEP_HOURS`). Pruned by the hourly retention pass."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t
from storage.engine import write_transaction


async def revoke_token(engine: AsyncEngine, *, jti: str, user_id: str,
                       expires_at: dt.datetime) -> None:
    """Record a signed-out token (once: signing out twice changes nothing)."""
    try:
        async with write_transaction(engine) as conn:
            await conn.execute(insert(t.revoked_tokens).values(jti=jti, user_id=user_id,
                                                               expires_at=expires_at))
    except IntegrityError:
        pass  # already signed out


async def prune_revoked_tokens(engine: AsyncEngine, now: dt.datetime) -> int:
    """Forget signed-out tokens that have expired (they are refused for that reason now)."""
    async with write_transaction(engine) as conn:
        result = await conn.execute(delete(t.revoked_tokens).where(
            t.revoked_tokens.c.expires_at <= now))
    return int(result.rowcount or 0)


async def prune_idempotency_keys(engine: AsyncEngine, before: dt.datetime) -> int:
    """Forget ``Idempotency-Key`` results recorded before ``before`` (a retry that late is a new
    request). Pending rows of a request still running are younger than any sensible horizon."""
    async with write_transaction(engine) as conn:
        result = await conn.execute(delete(t.idempotency_keys).where(
            t.idempotency_keys.c.created_at < before))
    return int(result.rowcount or 0)
