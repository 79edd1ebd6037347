"""What came back to escalations, on ``alert_notifications``: the call a keypress names (by its
token), the texts a reply may answer, and recording the first answer of each.

A message that went out for a group of alerts (``group_id``: its head's id) answers for all of
them: ``alert_ids`` lists the head's alert and those of the rows grouped into it. Implements
``domain.ports.ResponseStore``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.alert_delivery import SMS, VOICE
from domain.alert_responses import Delivered
from storage import tables as t
from storage.engine import write_transaction

N = t.alert_notifications
ANSWERABLE = ("sent", "logged")


class SqlAlertAnswers:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def call(self, token_hash: str) -> Delivered | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(N).where(
                N.c.call_token == token_hash, N.c.channel == VOICE,
                N.c.status.in_(ANSWERABLE)))).mappings().first()
            return await _delivered(conn, row) if row is not None else None

    async def texts_to(self, number: str, since: dt.datetime) -> list[Delivered]:
        """Texts sent to ``number`` since then about alerts still open, newest first: each
        message once (its head), then the rows grouped into messages (their own codes)."""
        a = t.alerts
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(N).join(a, a.c.id == N.c.alert_id)
                .where(N.c.recipient == number, N.c.channel == SMS,
                       N.c.status.in_((*ANSWERABLE, "grouped")), N.c.sent_at >= since,
                       a.c.status == "open")
                .order_by(N.c.sent_at.desc(), N.c.created_at.desc()))).mappings().all()
            heads = [r for r in rows if r["status"] != "grouped"]
            members = [r for r in rows if r["status"] == "grouped"]
            return [await _delivered(conn, r) for r in heads] \
                + [await _delivered(conn, r, alone=True) for r in members]

    async def respond(self, delivery_id: str, response: str, at: dt.datetime) -> bool:
        async with write_transaction(self.engine) as conn:
            done = await conn.execute(update(N).where(
                N.c.id == delivery_id, N.c.response.is_(None)).values(
                response=response[:16], responded_at=at))
        return bool(done.rowcount == 1)


async def _delivered(conn: AsyncConnection, row: Any, *, alone: bool = False) -> Delivered:
    alert_ids: tuple[str, ...] = (row["alert_id"],)
    if not alone and row["group_id"] == row["id"]:
        grouped = (await conn.execute(select(N.c.alert_id).where(
            N.c.group_id == row["id"], N.c.id != row["id"],
            or_(N.c.status == "grouped", N.c.status == "sending")))).scalars().all()
        alert_ids += tuple(grouped)
    return Delivered(id=row["id"], alert_id=row["alert_id"], level=row["level"],
                     user_id=row["user_id"], sent_at=row["sent_at"], response=row["response"],
                     ack_code=row["ack_code"], alert_ids=alert_ids)
