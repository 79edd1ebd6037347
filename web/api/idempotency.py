"""``Idempotency-Key`` on creating POSTs: a retry returns the first result, never a duplicate.

The first request with a key inserts a *pending* row (the primary key makes that atomic across
workers); a concurrent retry waits for it to finish and answers the stored result. A request that
failed leaves no row behind, so it may be retried. A key reused with another body is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ColumnElement
from starlette.responses import JSONResponse, Response

from storage.engine import read_connection
from storage.tables import idempotency_keys as keys
from web.api.bodies import MAX_BODY, read_capped
from web.api.problems import ApiError

if TYPE_CHECKING:
    from web.api.framework import AnyCall, Endpoint

WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05


async def run_idempotent(
    ep: Endpoint, call: AnyCall, invoke: Callable[[], Awaitable[Response]]
) -> Response:
    key = call.request.headers["idempotency-key"].strip()
    if not 1 <= len(key) <= 200:
        raise ApiError(400, "Idempotency-Key must be 1 to 200 characters", code="bad_idempotency_key")
    raw = await read_capped(call.request, MAX_BODY)  # the same bytes the endpoint parsed
    digest = hashlib.sha256(f"{ep.method} {call.request.url.path}\n".encode() + raw).hexdigest()
    engine = call.runtime.engine
    user = call.principal.user_id
    where = and_(keys.c.user_id == user, keys.c.key == key)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(keys).values(
                user_id=user, key=key, request_hash=digest, state="pending",
                created_at=call.runtime.now(),
            ))
    except IntegrityError:
        return await _replay(engine, where, digest)
    try:
        response = await invoke()
    except BaseException:
        async with engine.begin() as conn:
            await conn.execute(delete(keys).where(where))
        raise
    if response.status_code >= 400:
        async with engine.begin() as conn:
            await conn.execute(delete(keys).where(where))
        return response
    body = json.loads(bytes(response.body)) if response.body else None
    async with engine.begin() as conn:
        await conn.execute(update(keys).where(where).values(
            state="done", status_code=response.status_code, response=body))
    return response


async def _replay(engine: AsyncEngine, where: ColumnElement[bool], digest: str) -> Response:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        async with read_connection(engine) as conn:
            row = (await conn.execute(select(keys).where(where))).mappings().first()
        if row is None:
            raise ApiError(409, "the first request with this Idempotency-Key failed; retry it",
                           code="idempotency_retry")
        if row["request_hash"] != digest:
            raise ApiError(422, "this Idempotency-Key was used with a different request",
                           code="idempotency_key_reused")
        if row["state"] == "done":
            response = JSONResponse(row["response"], status_code=row["status_code"])
            response.headers["Idempotent-Replayed"] = "true"
            return response
        if loop.time() > deadline:
            raise ApiError(409, "a request with this Idempotency-Key is still in progress",
                           code="idempotency_in_progress")
        await asyncio.sleep(POLL_SECONDS)
