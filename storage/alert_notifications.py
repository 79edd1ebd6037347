"""The ``alert_notifications`` table: queued and attempted deliveries of alert escalations (texts,
calls, e-mails, webhook posts), and the answers that came back.

Status: ``pending`` (``next_attempt_at`` says when), ``sending`` (claimed by a delivery worker at
``claimed_at``: no other worker takes it), ``sent`` (the provider took it; its id in
``provider_id``), ``logged`` (no provider configured: only logged), ``failed`` (given up;
``error`` says why), ``cancelled`` (the alert was acknowledged or resolved before it went out),
``grouped`` (went out inside another delivery's message: ``group_id``).
Implements ``realtime.notify.NotificationStore`` and ``domain.services.alert_responses
.ResponseStore``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.alert_delivery import SMS, VOICE, PendingNotification, Person, Recipient
from domain.alert_responses import NO_KEY, new_ack_code
from domain.services.alert_responses import Delivered
from storage import tables as t
from storage.alerts import alert_from_row
from storage.engine import write_transaction

N = t.alert_notifications
ANSWERABLE = ("sent", "logged")


class SqlNotificationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def enqueue(self, alert_id: str, level: int, recipients: Sequence[Recipient],
                      now: dt.datetime, *, start_at: dt.datetime | None = None,
                      group_id: str | None = None) -> int:
        """Queue one delivery per recipient and channel for this level (once: a repeat is
        ignored). Texts carry the alert's short code (made with its first text)."""
        if not recipients:
            return 0
        async with write_transaction(self.engine) as conn:
            rows = await conn.execute(select(N.c.channel, N.c.recipient).where(
                N.c.alert_id == alert_id, N.c.level == level))
            have = {(channel, address) for channel, address in rows.all()}
            code = (await conn.execute(select(N.c.ack_code).where(
                N.c.alert_id == alert_id, N.c.ack_code.is_not(None)).limit(1))).scalar()
            code = code or new_ack_code()
            queued = 0
            for r in recipients:
                if (r.channel, r.address) in have:
                    continue
                # another process queueing the same level at once: the unique index keeps one
                done = await conn.execute(_insert_once(conn).values(
                    id=str(uuid.uuid4()), alert_id=alert_id, level=level, channel=r.channel,
                    recipient=r.address, user_id=r.user_id,
                    ack_code=code if r.channel == SMS else None, status="pending", attempts=0,
                    error="", created_at=now, next_attempt_at=start_at or now,
                    group_id=group_id))
                queued += int(done.rowcount or 0)
        return queued

    async def unnotified(self, limit: int = 100) -> list[dict[str, Any]]:
        """Open critical alerts at level 1 or more whose current level has nothing queued: what a
        crash between an alert pass and its queueing left behind (picked up at the next pass)."""
        a = t.alerts
        queued = select(N.c.id).where(N.c.alert_id == a.c.id, N.c.level == a.c.escalation_level)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(a).where(a.c.status == "open", a.c.severity == "critical",
                                a.c.escalation_level >= 1, ~queued.exists())
                .order_by(a.c.raised_at).limit(limit))).mappings().all()
        return [alert_from_row(r).snapshot() for r in rows]

    async def people(self) -> list[Person]:
        """Active users with a phone number: who escalations may reach (and their e-mail)."""
        u, c = t.users, t.alert_contacts
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(u.c.username, u.c.roles, u.c.store_ids, u.c.phone, u.c.id, c.c.email)
                .outerjoin(c, c.c.user_id == u.c.id)
                .where(u.c.active.is_(True), u.c.phone != ""))).all()
        return [Person(r[0], frozenset(r[1] or ()), frozenset(r[2] or ()), r[3], r[4], r[5] or "")
                for r in rows]

    async def technician_phone(self, technician_id: str | None) -> str | None:
        if technician_id is None:
            return None
        async with self.engine.connect() as conn:
            phone = (await conn.execute(select(t.technicians.c.phone).where(
                t.technicians.c.id == technician_id))).scalar()
        return str(phone) if phone else None

    async def due(self, now: dt.datetime, limit: int) -> list[PendingNotification]:
        a, s = t.alerts, t.stores
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(N.c.id.label("n_id"), N.c.level, N.c.recipient, N.c.attempts, N.c.channel,
                       N.c.ack_code, N.c.user_id, a, s.c.name.label("store_name"))
                .join(a, a.c.id == N.c.alert_id).outerjoin(s, s.c.id == a.c.store_id)
                .where(N.c.status == "pending", N.c.next_attempt_at <= now)
                .order_by(N.c.next_attempt_at, N.c.created_at).limit(limit)
            )).mappings().all()
        return [PendingNotification(
            id=r["n_id"], alert=alert_from_row(r).snapshot(), level=r["level"],
            recipient=r["recipient"], attempts=r["attempts"], store_name=r["store_name"],
            channel=r["channel"], ack_code=r["ack_code"], user_id=r["user_id"],
        ) for r in rows]

    async def claim(self, id: str, now: dt.datetime, *, call_token: str | None = None) -> bool:
        """Take a due delivery for this worker (``pending`` -> ``sending``); False when another
        worker took it first. A call's token (its hash) is stored with the claim."""
        async with write_transaction(self.engine) as conn:
            done = await conn.execute(
                update(N).where(N.c.id == id, N.c.status == "pending", N.c.next_attempt_at <= now)
                .values(status="sending", claimed_at=now, call_token=call_token))
        return bool(done.rowcount == 1)

    async def _set(self, id: str, when: str, **values: Any) -> None:
        """Change a delivery that is still ``when`` (its claim, or pending)."""
        async with write_transaction(self.engine) as conn:
            await conn.execute(update(N).where(and_(N.c.id == id, N.c.status == when))
                               .values(**values))

    async def mark_sent(self, id: str, *, provider_id: str, channel: str, attempts: int,
                        at: dt.datetime) -> None:
        await self._set(id, "sending", status="logged" if channel == "log" else "sent",
                        provider_id=provider_id[:128] or None, attempts=attempts, sent_at=at,
                        next_attempt_at=None, error="")

    async def mark_failed(self, id: str, *, error: str, attempts: int,
                          next_attempt_at: dt.datetime | None) -> None:
        await self._set(id, "sending",
                        status="pending" if next_attempt_at is not None else "failed",
                        error=error, attempts=attempts, next_attempt_at=next_attempt_at,
                        call_token=None)

    async def postpone(self, id: str, *, until: dt.datetime, reason: str) -> None:
        """Not tried now (the provider's circuit is open, or it asked us to wait): pending
        until then, no attempt counted."""
        await self._set(id, "pending", next_attempt_at=until, error=reason)

    async def mark_cancelled(self, id: str, *, reason: str) -> None:
        await self._set(id, "pending", status="cancelled", error=reason, next_attempt_at=None)

    async def mark_grouped(self, ids: Sequence[str], *, into: str, at: dt.datetime) -> None:
        """Deliveries that went out inside another one's message."""
        async with write_transaction(self.engine) as conn:
            await conn.execute(update(N).where(N.c.id.in_(list(ids)), N.c.status == "sending")
                               .values(status="grouped", group_id=into, sent_at=at,
                                       next_attempt_at=None))

    async def release_stuck(self, before: dt.datetime, now: dt.datetime) -> int:
        """Deliveries a worker claimed before ``before`` and never finished (it stopped): texts,
        mails and posts are queued again; a call is not placed again (the provider may have
        taken it: at most one call), it is failed and the alert climbs on the clock."""
        stuck = and_(N.c.status == "sending", N.c.claimed_at < before)
        async with write_transaction(self.engine) as conn:
            calls = await conn.execute(update(N).where(stuck, N.c.channel == VOICE).values(
                status="failed", next_attempt_at=None,
                error="the worker stopped while placing the call: not placed again"))
            others = await conn.execute(update(N).where(stuck, N.c.channel != VOICE).values(
                status="pending", next_attempt_at=now, attempts=N.c.attempts + 1))
        return int(calls.rowcount or 0) + int(others.rowcount or 0)

    async def expire_calls(self, placed_before: dt.datetime, now: dt.datetime) -> int:
        """Calls placed before ``placed_before`` that got no key: answered ``none`` (not
        acknowledged; the alert goes on climbing on the clock)."""
        async with write_transaction(self.engine) as conn:
            done = await conn.execute(update(N).where(
                N.c.channel == VOICE, N.c.status.in_(ANSWERABLE), N.c.response.is_(None),
                N.c.sent_at < placed_before).values(response=NO_KEY, responded_at=now))
        return int(done.rowcount or 0)

    async def for_alert(self, alert_id: str) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(N).where(N.c.alert_id == alert_id)
                                       .order_by(N.c.level, N.c.created_at))).mappings().all()
        return [dict(r) for r in rows]

    # -- answers (``domain.services.alert_responses.ResponseStore``) ---------------------------

    async def call(self, token_hash: str) -> Delivered | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(N).where(
                N.c.call_token == token_hash, N.c.channel == VOICE,
                N.c.status.in_(ANSWERABLE)))).mappings().first()
        return _delivered(row) if row is not None else None

    async def texts_to(self, number: str, since: dt.datetime) -> list[Delivered]:
        a = t.alerts
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(N).join(a, a.c.id == N.c.alert_id)
                .where(N.c.recipient == number, N.c.channel == SMS,
                       N.c.status.in_(ANSWERABLE), N.c.sent_at >= since, a.c.status == "open")
                .order_by(N.c.sent_at.desc(), N.c.created_at.desc()))).mappings().all()
        return [_delivered(r) for r in rows]

    async def respond(self, delivery_id: str, response: str, at: dt.datetime) -> bool:
        async with write_transaction(self.engine) as conn:
            done = await conn.execute(update(N).where(
                N.c.id == delivery_id, N.c.response.is_(None)).values(
                response=response[:16], responded_at=at))
        return bool(done.rowcount == 1)


def _insert_once(conn: AsyncConnection) -> Any:
    """An INSERT that does nothing when the delivery (alert, level, channel, recipient) exists."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert(N).on_conflict_do_nothing(
        index_elements=["alert_id", "level", "channel", "recipient"])


def _delivered(row: Any) -> Delivered:
    return Delivered(id=row["id"], alert_id=row["alert_id"], level=row["level"],
                     user_id=row["user_id"], sent_at=row["sent_at"], response=row["response"],
                     ack_code=row["ack_code"])
