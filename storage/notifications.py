"""Customer notifications, tracking links and consent records (``customer_notifications``,
``tracking_links``, ``customer_consents``), and the facts of a job the customer may see."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, desc, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alert_delivery import normalize_phone
from domain.notifications import ConsentRecord, CustomerContact, JobFacts, Notification
from storage import tables as t
from storage.engine import dialect_insert, read_connection, single_statement, write_transaction

N, L, C = t.customer_notifications, t.tracking_links, t.customer_consents
W = t.work_orders


def new_token() -> str:
    """192 random bits, URL-safe: the only way to a job's tracking page."""
    return secrets.token_urlsafe(24)


class SqlCustomerNotifications:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- tracking links -------------------------------------------------------------------------

    async def link_for(self, work_order_id: str, now: dt.datetime, *, new: bool = False) -> str:
        """The job's token, made on first use: a read, and for a job without one a single
        ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (a race between two makers keeps the
        first; the loser reads the winner's). ``new``: the job was just created, so the insert
        comes first (one round trip; the read only if someone made the link meanwhile)."""
        if not new:
            async with read_connection(self.engine) as conn:
                found = (await conn.execute(
                    select(L.c.token).where(L.c.work_order_id == work_order_id))).scalar()
            if found is not None:
                return str(found)
        statement = (dialect_insert(L, self.engine.dialect.name)
                     .values(token=new_token(), work_order_id=work_order_id, created_at=now)
                     .on_conflict_do_nothing(index_elements=[L.c.work_order_id])
                     .returning(L.c.token))
        async with single_statement(self.engine) as conn:
            made = (await conn.execute(statement)).scalar()
            if made is None:  # made meanwhile by someone else
                made = (await conn.execute(
                    select(L.c.token).where(L.c.work_order_id == work_order_id))).scalar_one()
        return str(made)

    async def order_for_token(self, token: str) -> str | None:
        if not token or len(token) > 64:
            return None
        async with read_connection(self.engine) as conn:
            found = (await conn.execute(select(L.c.work_order_id).where(L.c.token == token))).scalar()
        return None if found is None else str(found)

    # -- what the customer may see --------------------------------------------------------------

    async def job_facts(self, work_order_id: str) -> JobFacts | None:
        s, tech, cust, pos = t.stores, t.technicians, t.customers, t.positions_latest
        query = (
            select(W.c.id, W.c.status, W.c.status_changed_at, W.c.created_at, W.c.lat, W.c.lon,
                   W.c.window_start, W.c.window_end, W.c.planned_arrival, s.c.timezone,
                   tech.c.name.label("technician_name"), pos.c.lat.label("van_lat"),
                   pos.c.lon.label("van_lon"), cust.c.id.label("customer_id"),
                   cust.c.name.label("customer_name"), cust.c.phone, cust.c.sms_opt_in)
            .select_from(W.join(s, s.c.id == W.c.store_id)
                         .outerjoin(tech, tech.c.id == W.c.technician_id)
                         .outerjoin(pos, pos.c.unit_id == tech.c.unit_id)
                         .outerjoin(cust, cust.c.id == W.c.customer_id))
            .where(W.c.id == work_order_id))
        async with read_connection(self.engine) as conn:
            r = (await conn.execute(query)).mappings().first()
        if r is None:
            return None
        customer = None
        if r["customer_id"] is not None:
            customer = CustomerContact(r["customer_id"], r["customer_name"], r["phone"] or "",
                                       bool(r["sms_opt_in"]))
        van = (r["van_lat"], r["van_lon"]) if r["van_lat"] is not None else None
        return JobFacts(
            work_order_id=r["id"], status=r["status"], status_changed_at=r["status_changed_at"],
            created_at=r["created_at"], destination=(r["lat"], r["lon"]), timezone=r["timezone"],
            window_start=r["window_start"], window_end=r["window_end"],
            planned_arrival=r["planned_arrival"], technician_name=r["technician_name"], van=van,
            customer=customer)

    async def follow_up_id(self, work_order_id: str) -> str | None:
        """The follow-up opened for a job that could not be finished (the first, if several)."""
        async with read_connection(self.engine) as conn:
            found = (await conn.execute(
                select(W.c.id).where(W.c.follow_up_of == work_order_id)
                .order_by(W.c.created_at, W.c.id).limit(1))).scalar()
        return None if found is None else str(found)

    # -- notifications --------------------------------------------------------------------------

    async def record(self, items: Sequence[Notification], now: dt.datetime) -> int:
        """Write an event's notifications at once, in one statement: a reader never sees the
        page's post without the text beside it. A repeat of an event and channel is ignored."""
        rows = [{"id": str(uuid.uuid4()), "work_order_id": item.work_order_id,
                 "customer_id": item.customer_id, "kind": item.kind.value,
                 "channel": item.channel.value, "recipient": item.recipient, "text": item.text,
                 "event_seq": item.event_seq, "status": item.status, "attempts": 0,
                 "error": "", "created_at": now,
                 "sent_at": now if item.status == "posted" else None,
                 "next_attempt_at": now if item.status == "pending" else None}
                for item in items]
        if not rows:
            return 0
        statement = (dialect_insert(N, self.engine.dialect.name).values(rows)
                     .on_conflict_do_nothing(index_elements=[N.c.event_seq, N.c.channel])
                     .returning(N.c.id))
        async with single_statement(self.engine) as conn:
            written = (await conn.execute(statement)).all()
        return len(written)

    async def for_order(self, work_order_id: str) -> list[dict[str, Any]]:
        async with read_connection(self.engine) as conn:
            rows = (await conn.execute(select(N).where(N.c.work_order_id == work_order_id)
                                       .order_by(N.c.event_seq, N.c.channel))).mappings().all()
        return [_notification_out(r) for r in rows]

    async def posted(self, work_order_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """What the tracking page shows: the web channel's messages, newest first."""
        async with read_connection(self.engine) as conn:
            rows = (await conn.execute(
                select(N.c.kind, N.c.text, N.c.created_at)
                .where(N.c.work_order_id == work_order_id, N.c.channel == "web")
                .order_by(desc(N.c.event_seq)).limit(limit))).mappings().all()
        return [{"kind": r["kind"], "text": r["text"], "at": r["created_at"].isoformat()}
                for r in rows]

    async def claim_due(self, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """Pending texts whose time has come, each taken (pending -> sending) by this caller only."""
        async with read_connection(self.engine) as conn:
            rows = (await conn.execute(
                select(N.c.id).where(N.c.status == "pending", N.c.next_attempt_at <= now)
                .order_by(N.c.next_attempt_at).limit(limit))).scalars().all()
        claimed = []
        for id in rows:
            async with write_transaction(self.engine) as conn:
                taken = await conn.execute(update(N).where(N.c.id == id, N.c.status == "pending")
                                           .values(status="sending", next_attempt_at=now))
                if taken.rowcount:
                    row = (await conn.execute(
                        select(N, t.customers.c.sms_opt_in, t.customers.c.phone)
                        .select_from(N.outerjoin(t.customers,
                                                 t.customers.c.id == N.c.customer_id))
                        .where(N.c.id == id))).mappings().one()
                    claimed.append(dict(row))
        return claimed

    async def finish(self, id: str, *, status: str, attempts: int, at: dt.datetime,
                     provider_id: str | None = None, error: str = "",
                     next_attempt_at: dt.datetime | None = None) -> None:
        values: dict[str, Any] = {"status": status, "attempts": attempts, "error": error[:2000],
                                  "next_attempt_at": next_attempt_at}
        if provider_id is not None:
            values["provider_id"] = provider_id
        if status in {"sent", "logged"}:
            values["sent_at"] = at
        async with single_statement(self.engine) as conn:
            await conn.execute(update(N).where(N.c.id == id).values(**values))

    async def release_stuck(self, older_than: dt.datetime) -> None:
        """Texts left ``sending`` by a process that stopped mid-send go back to the queue."""
        async with single_statement(self.engine) as conn:
            await conn.execute(update(N).where(
                and_(N.c.status == "sending", N.c.next_attempt_at < older_than))
                .values(status="pending"))

    # -- consent --------------------------------------------------------------------------------

    async def consents(self, customer_id: str) -> list[dict[str, Any]]:
        async with read_connection(self.engine) as conn:
            rows = (await conn.execute(select(C).where(C.c.customer_id == customer_id)
                                       .order_by(C.c.at, C.c.id))).mappings().all()
        return [{"channel": r["channel"], "granted": r["granted"], "source": r["source"],
                 "recorded_by": r["recorded_by"], "at": r["at"].isoformat(), "note": r["note"]}
                for r in rows]

    async def customer_state(self, customer_id: str) -> tuple[bool, str | None] | None:
        """(``sms_opt_in``, home store) of a customer, or None."""
        cust = t.customers
        async with read_connection(self.engine) as conn:
            row = (await conn.execute(select(cust.c.sms_opt_in, cust.c.home_store_id)
                                      .where(cust.c.id == customer_id))).first()
        return None if row is None else (bool(row.sms_opt_in), row.home_store_id)

    async def customers_by_phone(self, phone: str) -> list[str]:
        """Customers whose number is ``phone`` however it was typed (matched on the last digits,
        then compared in E.164)."""
        cust = t.customers
        async with read_connection(self.engine) as conn:
            rows = (await conn.execute(select(cust.c.id, cust.c.phone).where(
                cust.c.phone.like(f"%{phone[-4:]}")))).all()
        return [r.id for r in rows if normalize_phone(r.phone) == phone]


class SqlConsentHistory:
    """Consent records written in the caller's unit of work (``domain.ports.ConsentHistory``)."""

    def __init__(self, uow: Any) -> None:
        self.uow = uow

    async def add(self, record: ConsentRecord) -> None:
        await self.uow.connection.execute(C.insert().values(
            id=str(uuid.uuid4()), customer_id=record.customer_id, channel=record.channel.value,
            granted=record.granted, source=record.source.value, recorded_by=record.recorded_by,
            at=record.at, note=record.note))


def _notification_out(r: Any) -> dict[str, Any]:
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": r["id"], "kind": r["kind"], "channel": r["channel"],
            "recipient": r["recipient"], "text": r["text"], "status": r["status"],
            "attempts": r["attempts"], "error": r["error"], "provider_id": r["provider_id"],
            "created_at": iso(r["created_at"]), "sent_at": iso(r["sent_at"])}
