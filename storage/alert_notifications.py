"""The ``alert_notifications`` table: queued and attempted deliveries of alert escalations.

Status: ``pending`` (``next_attempt_at`` says when), ``sent`` (the provider took it; its id in
``provider_id``), ``logged`` (no provider configured: only logged), ``failed`` (given up; ``error``
says why), ``cancelled`` (the alert was acknowledged or resolved before it went out).
Implements ``realtime.notify.NotificationStore``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alert_delivery import PendingNotification, Person, Recipient
from storage import tables as t
from storage.alerts import alert_from_row
from storage.engine import write_transaction

N = t.alert_notifications


class SqlNotificationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def enqueue(self, alert_id: str, level: int, recipients: Sequence[Recipient],
                      channel: str, now: dt.datetime) -> int:
        """Queue one notification per recipient for this level (once: a repeat is ignored)."""
        if not recipients:
            return 0
        async with write_transaction(self.engine) as conn:
            have = set((await conn.execute(select(N.c.recipient).where(
                N.c.alert_id == alert_id, N.c.level == level))).scalars().all())
            rows = [{"id": str(uuid.uuid4()), "alert_id": alert_id, "level": level,
                     "channel": channel, "recipient": r.address, "status": "pending",
                     "attempts": 0, "error": "", "created_at": now, "next_attempt_at": now}
                    for r in recipients if r.address not in have]
            if rows:
                await conn.execute(N.insert(), rows)
        return len(rows)

    async def unnotified(self, limit: int = 100) -> list[dict[str, Any]]:
        """Open critical alerts at level 1 or more whose current level has no text queued: what a
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
        """Active users with a phone number: who escalation texts may reach."""
        u = t.users
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(u.c.username, u.c.roles, u.c.store_ids, u.c.phone)
                .where(u.c.active.is_(True), u.c.phone != ""))).all()
        return [Person(r[0], frozenset(r[1] or ()), frozenset(r[2] or ()), r[3]) for r in rows]

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
                select(N.c.id.label("n_id"), N.c.level, N.c.recipient, N.c.attempts, a,
                       s.c.name.label("store_name"))
                .join(a, a.c.id == N.c.alert_id).outerjoin(s, s.c.id == a.c.store_id)
                .where(N.c.status == "pending", N.c.next_attempt_at <= now)
                .order_by(N.c.next_attempt_at, N.c.created_at).limit(limit)
            )).mappings().all()
        return [PendingNotification(
            id=r["n_id"], alert=alert_from_row(r).snapshot(), level=r["level"],
            recipient=r["recipient"], attempts=r["attempts"], store_name=r["store_name"],
        ) for r in rows]

    async def _set(self, id: str, **values: Any) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(update(N).where(and_(N.c.id == id, N.c.status == "pending"))
                               .values(**values))

    async def mark_sent(self, id: str, *, provider_id: str, channel: str, attempts: int,
                        at: dt.datetime) -> None:
        await self._set(id, status="logged" if channel == "log" else "sent",
                        provider_id=provider_id[:128] or None, channel=channel, attempts=attempts,
                        sent_at=at, next_attempt_at=None, error="")

    async def mark_failed(self, id: str, *, error: str, attempts: int,
                          next_attempt_at: dt.datetime | None) -> None:
        await self._set(id, status="pending" if next_attempt_at is not None else "failed",
                        error=error, attempts=attempts, next_attempt_at=next_attempt_at)

    async def mark_cancelled(self, id: str, *, reason: str) -> None:
        await self._set(id, status="cancelled", error=reason, next_attempt_at=None)

    async def for_alert(self, alert_id: str) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(N).where(N.c.alert_id == alert_id)
                                       .order_by(N.c.level, N.c.created_at))).mappings().all()
        return [dict(r) for r in rows]
