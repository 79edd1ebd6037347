"""A websocket session's first exchange: the ``auth`` message, the checks, the ``ready`` reply."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from realtime.transport import (
    CLOSE_AUTH_FAILED,
    CLOSE_AUTH_TIMEOUT,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY,
    Disconnected,
)

if TYPE_CHECKING:
    from realtime.session import Session


async def handshake(session: Session) -> dt.datetime | None:
    """The first message must be ``auth`` with a valid token, within ``auth_timeout``; then the
    per-user session limit; then ``ready``. Returns the token's expiry, or None when the session
    was closed (the close code says why: ``docs/realtime-protocol.md``)."""
    try:
        raw = await asyncio.wait_for(session.transport.receive_text(), session.config.auth_timeout)
    except TimeoutError:
        await session.transport.close(
            CLOSE_AUTH_TIMEOUT, f"authenticate within {session.config.auth_timeout:g} s")
        return None
    except Disconnected:
        return None
    if len(raw) > session.config.max_frame:
        await session.transport.close(CLOSE_TOO_BIG, "frame too big")
        return None
    msg = parse(raw)
    if not isinstance(msg, dict) or msg.get("type") != "auth" or not isinstance(
            msg.get("token"), str):
        await session.transport.close(CLOSE_AUTH_FAILED, "the first message must be auth")
        return None
    try:
        session.principal, expires = session.authenticate(msg["token"])
    except Exception:
        await session.transport.close(CLOSE_AUTH_FAILED, "invalid token")
        return None
    session.token = msg["token"]
    session.audience = session.hub.audience(session.principal, session.topics)
    mine = sum(1 for s in session.hub.sessions
               if s.principal is not None and s.principal.user_id == session.principal.user_id)
    if mine >= session.config.max_sessions_per_user:
        await session.transport.close(
            CLOSE_TOO_MANY, f"at most {session.config.max_sessions_per_user} connections per user")
        return None
    p = session.principal
    await session.transport.send_text(json.dumps({
        "type": "ready", "seq": session.hub.last_seq,
        "server_time": session.clock().isoformat(),
        "user": {"id": p.user_id, "username": p.username,
                 "roles": sorted(r.value for r in p.roles),
                 "store_ids": sorted(p.store_ids) if p.store_ids is not None else None,
                 "technician_id": p.technician_id},
    }))
    return expires


def parse(raw: str) -> Any:
    """A client's frame as JSON, or None when it is not JSON."""
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return None
