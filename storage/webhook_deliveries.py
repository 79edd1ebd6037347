"""The outbox of webhooks to the partner (``webhook_deliveries``): its jobs' status changes.

`queue_partner_webhooks` runs inside every unit of work's commit (``storage/uow.py``), on the
outbox rows it writes: a status event of a work order that came from a partner (the intake
ledger says which) queues one delivery in the same transaction, so a committed change is always
told and a rolled-back one never is. `SqlWebhookDeliveries` is what the sender
(``realtime/outbound_webhooks.py``) and the admin endpoints read and write.

Status: ``pending`` (``next_attempt_at`` says when), ``delivered``, ``dead`` (given up after the
attempts; an admin may replay it: pending again, attempts from zero).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.partner_orders import STATUS_EVENTS, status_message
from storage import tables as t
from storage.engine import write_transaction

D = t.webhook_deliveries


async def queue_partner_webhooks(conn: AsyncConnection, outbox_rows: Sequence[dict[str, Any]],
                                 now: dt.datetime) -> int:
    """Queue the partner webhooks the unit of work's events call for; returns how many."""
    wanted = [r for r in outbox_rows
              if r["aggregate_type"] == "work_order" and r["name"] in STATUS_EVENTS]
    if not wanted:
        return 0
    ledger = t.intake_orders
    found = (await conn.execute(
        select(ledger.c.work_order_id, ledger.c.source, ledger.c.external_id)
        .where(ledger.c.work_order_id.in_(sorted({r["aggregate_id"] for r in wanted}))))).all()
    partners = {wo: (source, external) for wo, source, external in found}
    rows = []
    for r in wanted:
        if r["aggregate_id"] not in partners:
            continue
        source, external_id = partners[r["aggregate_id"]]
        body = status_message(event_name=r["name"], payload=r["payload"],
                              external_id=external_id, at=now)
        if body is None:
            continue
        rows.append({"message_id": f"msg_{uuid.uuid4().hex}", "partner": source,
                     "event_type": body["type"], "external_id": external_id,
                     "work_order_id": r["aggregate_id"], "payload": body, "status": "pending",
                     "attempts": 0, "next_attempt_at": now, "last_error": "", "created_at": now})
    if rows:
        await conn.execute(insert(D), rows)
    return len(rows)


def delivery_row(r: Any) -> dict[str, Any]:
    """A delivery as the API shows it."""
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": r["id"], "message_id": r["message_id"], "partner": r["partner"],
            "event_type": r["event_type"], "external_id": r["external_id"],
            "work_order_id": r["work_order_id"], "payload": r["payload"], "status": r["status"],
            "attempts": r["attempts"], "next_attempt_at": iso(r["next_attempt_at"]),
            "last_status": r["last_status"], "last_error": r["last_error"],
            "created_at": iso(r["created_at"]), "delivered_at": iso(r["delivered_at"]),
            "replays": r["replays"], "replayed_at": iso(r["replayed_at"]),
            "replayed_by": r["replayed_by"]}


class SqlWebhookDeliveries:
    """Implements ``realtime.outbound_webhooks.DeliveryStore`` and the admin's reads/replay."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def due(self, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """Pending deliveries whose attempt is due, oldest first; one order's messages go in
        order (a later one waits while an earlier one of the same order is pending)."""
        earlier = D.alias("earlier")
        blocked = select(earlier.c.id).where(
            earlier.c.partner == D.c.partner, earlier.c.external_id == D.c.external_id,
            earlier.c.status == "pending", earlier.c.id < D.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(D).where(D.c.status == "pending", D.c.next_attempt_at <= now,
                                ~blocked.exists())
                .order_by(D.c.id).limit(limit))).mappings().all()
        return [delivery_row(r) for r in rows]

    async def delivered(self, id: int, *, attempts: int, status_code: int,
                        at: dt.datetime) -> None:
        await self._set(id, status="delivered", attempts=attempts, last_status=status_code,
                        delivered_at=at, next_attempt_at=None, last_error="")

    async def failed(self, id: int, *, attempts: int, status_code: int | None, error: str,
                     next_attempt_at: dt.datetime | None) -> None:
        """``next_attempt_at`` None: given up (dead); else pending until then."""
        await self._set(id, status="pending" if next_attempt_at is not None else "dead",
                        attempts=attempts, last_status=status_code, last_error=error[:2000],
                        next_attempt_at=next_attempt_at)

    async def _set(self, id: int, **values: Any) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(update(D).where(and_(D.c.id == id, D.c.status == "pending"))
                               .values(**values))

    async def get(self, id: int) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(D).where(D.c.id == id))).mappings().first()
        return None if row is None else delivery_row(row)

    async def page(self, *, statuses: Sequence[str], limit: int, offset: int
                   ) -> tuple[list[dict[str, Any]], int]:
        q = select(D)
        if statuses:
            q = q.where(D.c.status.in_(sorted(set(statuses))))
        async with self.engine.connect() as conn:
            total = (await conn.execute(
                select(func.count()).select_from(q.subquery()))).scalar() or 0
            rows = (await conn.execute(q.order_by(D.c.id.desc()).limit(limit).offset(offset))
                    ).mappings().all()
        return [delivery_row(r) for r in rows], int(total)

    async def replay(self, id: int, *, by: str, now: dt.datetime,
                     audit: dict[str, Any]) -> dict[str, Any] | None:
        """A dead delivery goes out again (pending now, attempts from zero; the same message id
        and body); None when it is not dead any more (someone replayed it first)."""
        async with write_transaction(self.engine) as conn:
            moved = await conn.execute(
                update(D).where(D.c.id == id, D.c.status == "dead").values(
                    status="pending", attempts=0, next_attempt_at=now, replays=D.c.replays + 1,
                    replayed_at=now, replayed_by=by))
            if moved.rowcount != 1:
                return None
            row = (await conn.execute(select(D).where(D.c.id == id))).mappings().one()
            after = delivery_row(row)
            await conn.execute(insert(t.audit_log).values(
                **audit, at=now, action="webhook_delivery.replay", entity_type="webhook_delivery",
                entity_id=str(id), before=None, after={k: after[k] for k in (
                    "status", "attempts", "replays", "message_id", "external_id")}))
        return after

    async def prune(self, before: dt.datetime) -> int:
        """Delivered messages older than ``before`` (retention)."""
        async with write_transaction(self.engine) as conn:
            gone = await conn.execute(delete(D).where(D.c.status == "delivered",
                                                      D.c.delivered_at < before))
        return int(gone.rowcount or 0)
