"""The ``alert_notifications`` table: queued and attempted deliveries of alert escalations (texts,
calls, e-mails, webhook posts), and the answers that came back.

Status: ``pending`` (``next_attempt_at`` says when), ``sending`` (claimed by a delivery worker at
``claimed_at``: no other worker takes it), ``sent`` (the provider took it; its id in
``provider_id``), ``logged`` (no provider configured: only logged), ``failed`` (given up;
``error`` says why), ``cancelled`` (the alert was acknowledged or resolved before it went out),
``grouped`` (went out inside its group's message: ``group_id``, the head's id; the head is the
row that carries the message, ``group_id`` its own id). Implements
``realtime.notify.NotificationStore``; the answers are ``storage/alert_answers.py``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.alert_delivery import SMS, VOICE, PendingNotification, Person, Recipient
from domain.alert_fatigue import GROUP_WINDOW
from domain.alert_responses import NO_KEY, new_ack_code
from storage import tables as t
from storage.alerts import alert_from_row
from storage.engine import dialect_insert, write_transaction

N = t.alert_notifications
ANSWERABLE = ("sent", "logged")


class SqlNotificationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def enqueue(self, alert_id: str, level: int, recipients: Sequence[Recipient],
                      now: dt.datetime, *, group_by: tuple[str, str | None] | None = None,
                      window: dt.timedelta = GROUP_WINDOW) -> int:
        """Queue one delivery per recipient and channel for this level (once: a repeat is
        ignored). Texts carry the alert's short code (made with its first text). ``group_by``
        (the alert's kind and store): a delivery that follows another of that kind and store to
        the same recipient within ``window`` waits for the window's end and joins the message
        of the others waiting (``domain/alert_fatigue.py``)."""
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
                row_id, start, group_id = str(uuid.uuid4()), r.not_before or now, None
                if group_by is not None:
                    batch = await _batch(conn, group_by, level, r, alert_id, now, window)
                    if batch is not None:
                        group_id, start = batch[0] or row_id, max(start, batch[1])
                # another process queueing the same level at once: the unique index keeps one
                done = await conn.execute(_insert_once(conn).values(
                    id=row_id, alert_id=alert_id, level=level, channel=r.channel,
                    recipient=r.address, user_id=r.user_id,
                    ack_code=code if r.channel == SMS else None, status="pending", attempts=0,
                    error="", created_at=now, next_attempt_at=start, group_id=group_id))
                queued += int(done.rowcount or 0)
        return queued

    async def unnotified_warnings(self, limit: int = 100) -> list[dict[str, Any]]:
        """Open warnings nothing was queued for (``ALERT_NOTIFY_WARNINGS``: texted once)."""
        a = t.alerts
        queued = select(N.c.id).where(N.c.alert_id == a.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(a).where(a.c.status == "open", a.c.severity == "warning", ~queued.exists())
                .order_by(a.c.raised_at).limit(limit))).mappings().all()
        return [alert_from_row(r).snapshot() for r in rows]

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
                select(u.c.username, u.c.roles, u.c.store_ids, u.c.phone, u.c.id, c.c.email,
                       c.c.quiet_starts, c.c.quiet_ends, c.c.timezone)
                .outerjoin(c, c.c.user_id == u.c.id)
                .where(u.c.active.is_(True), u.c.phone != ""))).all()
        return [Person(r[0], frozenset(r[1] or ()), frozenset(r[2] or ()), r[3], r[4], r[5] or "",
                       r[6], r[7], r[8] or "") for r in rows]

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
                       N.c.ack_code, N.c.user_id, N.c.group_id, a, s.c.name.label("store_name"))
                .join(a, a.c.id == N.c.alert_id).outerjoin(s, s.c.id == a.c.store_id)
                .where(N.c.status == "pending", N.c.next_attempt_at <= now,
                       or_(N.c.group_id.is_(None), N.c.group_id == N.c.id))  # members go with
                .order_by(N.c.next_attempt_at, N.c.created_at).limit(limit)   # their head
            )).mappings().all()
            groups = await _groups(conn, [r["n_id"] for r in rows if r["group_id"] == r["n_id"]])
        return [PendingNotification(
            id=r["n_id"], alert=alert_from_row(r).snapshot(), level=r["level"],
            recipient=r["recipient"], attempts=r["attempts"], store_name=r["store_name"],
            channel=r["channel"], ack_code=r["ack_code"], user_id=r["user_id"],
            group=groups.get(r["n_id"], ()),
        ) for r in rows]

    async def claim(self, id: str, now: dt.datetime, *, call_token: str | None = None) -> bool:
        """Take a due delivery for this worker (``pending`` -> ``sending``); False when another
        worker took it first. A call's token (its hash) is stored with the claim."""
        async with write_transaction(self.engine) as conn:
            done = await conn.execute(
                update(N).where(N.c.id == id, N.c.status == "pending", N.c.next_attempt_at <= now)
                .values(status="sending", claimed_at=now, call_token=call_token))
            if done.rowcount != 1:
                return False
            members = and_(N.c.group_id == id, N.c.id != id, N.c.status == "pending")
            a = t.alerts
            still_open = select(a.c.id).where(a.c.status == "open")
            await conn.execute(update(N).where(members, N.c.alert_id.in_(still_open))
                               .values(status="sending", claimed_at=now))
            await conn.execute(update(N).where(members).values(  # their alerts were closed
                status="cancelled", error="alert no longer open", next_attempt_at=None))
        return True

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
        await self._members(id, status="grouped", sent_at=at, next_attempt_at=None)

    async def mark_failed(self, id: str, *, error: str, attempts: int,
                          next_attempt_at: dt.datetime | None) -> None:
        status = "pending" if next_attempt_at is not None else "failed"
        await self._set(id, "sending", status=status, error=error, attempts=attempts,
                        next_attempt_at=next_attempt_at, call_token=None)
        await self._members(id, status=status, error=error, next_attempt_at=next_attempt_at)

    async def _members(self, head: str, **values: Any) -> None:
        """The rows that went (or failed to go) inside the head's message follow it."""
        async with write_transaction(self.engine) as conn:
            await conn.execute(update(N).where(N.c.group_id == head, N.c.id != head,
                                               N.c.status == "sending").values(**values))

    async def postpone(self, id: str, *, until: dt.datetime, reason: str) -> None:
        """Not tried now (the provider's circuit is open, or it asked us to wait): pending
        until then, no attempt counted."""
        await self._set(id, "pending", next_attempt_at=until, error=reason)

    async def mark_cancelled(self, id: str, *, reason: str) -> None:
        """Not sent (its alert was closed); the rows waiting to go inside its message get the
        first of them as their new head."""
        async with write_transaction(self.engine) as conn:
            await conn.execute(update(N).where(N.c.id == id, N.c.status == "pending")
                               .values(status="cancelled", error=reason, next_attempt_at=None))
            members = (await conn.execute(select(N.c.id).where(
                N.c.group_id == id, N.c.id != id, N.c.status == "pending")
                .order_by(N.c.created_at, N.c.id))).scalars().all()
            if members:
                await conn.execute(update(N).where(N.c.id.in_(list(members)))
                                   .values(group_id=members[0]))

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


def _insert_once(conn: AsyncConnection) -> Any:
    """An INSERT that does nothing when the delivery (alert, level, channel, recipient) exists."""
    return dialect_insert(N, conn.dialect.name).on_conflict_do_nothing(
        index_elements=["alert_id", "level", "channel", "recipient"])


async def _batch(conn: AsyncConnection, group_by: tuple[str, str | None], level: int,
                 r: Recipient, alert_id: str, now: dt.datetime,
                 window: dt.timedelta) -> tuple[str | None, dt.datetime] | None:
    """The message this delivery joins: (the waiting head's id, when it goes), (None: a new
    head, when it goes) after another of the kind and store within ``window``, or None (no other:
    it goes at once)."""
    kind, store_id = group_by
    a = t.alerts
    recent = (await conn.execute(
        select(N.c.id, N.c.group_id, N.c.status, N.c.next_attempt_at, N.c.created_at)
        .join(a, a.c.id == N.c.alert_id)
        .where(a.c.kind == kind,
               a.c.store_id == store_id if store_id is not None else a.c.store_id.is_(None),
               N.c.level == level, N.c.channel == r.channel, N.c.recipient == r.address,
               N.c.alert_id != alert_id, N.c.created_at > now - window,
               N.c.status != "cancelled")
        .order_by(N.c.created_at, N.c.id))).all()
    if not recent:
        return None
    waiting = [x for x in recent if x.status == "pending" and x.group_id == x.id
               and x.next_attempt_at is not None and x.next_attempt_at > now]
    if waiting:
        return waiting[-1].id, waiting[-1].next_attempt_at
    return None, recent[0].created_at + window


async def _groups(conn: AsyncConnection,
                  heads: list[str]) -> dict[str, tuple[dict[str, Any], ...]]:
    """The open alerts waiting to go inside each head's message, in the order they came."""
    if not heads:
        return {}
    a = t.alerts
    rows = (await conn.execute(
        select(N.c.group_id, a).join(a, a.c.id == N.c.alert_id)
        .where(N.c.group_id.in_(heads), N.c.id != N.c.group_id, N.c.status == "pending",
               a.c.status == "open")
        .order_by(N.c.created_at, N.c.id))).mappings().all()
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["group_id"], []).append(alert_from_row(r).snapshot())
    return {head: tuple(alerts) for head, alerts in out.items()}


class SqlDeliveryLog:
    """Reading and replaying deliveries: an alert's, and the dead letters (``failed``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def page(self, *, statuses: Sequence[str], limit: int, offset: int
                   ) -> tuple[list[dict[str, Any]], int]:
        where = [N.c.status.in_(list(statuses))] if statuses else []
        async with self.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(N).where(*where))
                     ).scalar() or 0
            rows = (await conn.execute(select(N).where(*where)
                                       .order_by(N.c.created_at.desc(), N.c.id)
                                       .limit(limit).offset(offset))).mappings().all()
        return [dict(r) for r in rows], int(total)

    async def get(self, id: str) -> dict[str, Any] | None:
        a = t.alerts
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(N, a.c.status.label("alert_status"))
                                      .join(a, a.c.id == N.c.alert_id).where(N.c.id == id))
                   ).mappings().first()
        return dict(row) if row is not None else None

    async def retry(self, id: str, now: dt.datetime) -> bool:
        """A dead letter queued again from its first attempt; False when it is not dead."""
        async with write_transaction(self.engine) as conn:
            done = await conn.execute(update(N).where(N.c.id == id, N.c.status == "failed")
                                      .values(status="pending", attempts=0, error="",
                                              next_attempt_at=now, call_token=None))
        return bool(done.rowcount == 1)
