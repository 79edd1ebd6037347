"""Alerts in the database: row mapping, the repository, and the facts the alert rules read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.alert_rules import IntegrationHealth, OrderFacts, TechnicianFacts, World
from domain.alerts import LIVE_STATUSES, Alert, AlertKind, AlertStatus, Severity
from domain.resources import TechnicianStatus
from domain.work_orders import OPEN_STATUSES, Priority, WorkOrderStatus
from storage import tables as t
from storage.repositories import SqlRepository

A = t.alerts


def alert_from_row(r: Any) -> Alert:
    return Alert(
        id=r["id"], kind=AlertKind(r["kind"]), severity=Severity(r["severity"]),
        status=AlertStatus(r["status"]), dedup_key=r["dedup_key"], title=r["title"],
        message=r["message"], store_id=r["store_id"], technician_id=r["technician_id"],
        work_order_id=r["work_order_id"], raised_at=r["raised_at"],
        acknowledged_at=r["acknowledged_at"], acknowledged_by=r["acknowledged_by"],
        resolved_at=r["resolved_at"], resolved_by=r["resolved_by"],
        escalation_level=r["escalation_level"], next_escalation_at=r["next_escalation_at"],
        version=r["version"],
    )


def alert_to_row(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id, "kind": a.kind.value, "severity": a.severity.value, "status": a.status.value,
        "dedup_key": a.dedup_key, "title": a.title, "message": a.message,
        "store_id": a.store_id, "technician_id": a.technician_id,
        "work_order_id": a.work_order_id, "raised_at": a.raised_at,
        "acknowledged_at": a.acknowledged_at, "acknowledged_by": a.acknowledged_by,
        "resolved_at": a.resolved_at, "resolved_by": a.resolved_by,
        "escalation_level": a.escalation_level, "next_escalation_at": a.next_escalation_at,
    }


class AlertRepository(SqlRepository[Alert]):
    """Implements ``domain.services.alerts.AlertRepository``."""

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, A, alert_from_row, alert_to_row)

    async def live(self) -> list[Alert]:
        rows = (await self.conn.execute(
            select(A).where(A.c.status.in_(sorted(s.value for s in LIVE_STATUSES)))
            .order_by(A.c.raised_at, A.c.id)
        )).all()
        return [await self._remember(row._mapping) for row in rows]


Integrations = Callable[[], Sequence[IntegrationHealth]]


class SqlAlertFacts:
    """Implements ``domain.services.alerts.AlertFacts`` from the tables; integration health comes
    from the process that runs the feeds (``integrations``)."""

    def __init__(self, engine: AsyncEngine, integrations: Integrations = lambda: ()) -> None:
        self.engine = engine
        self.integrations = integrations

    async def world(self, now: dt.datetime) -> World:
        async with self.engine.connect() as conn:
            orders = await _open_orders(conn)
            technicians, names = await _technicians(conn, orders)
        return World(orders=tuple(orders), technicians=tuple(technicians),
                     integrations=tuple(self.integrations()), technician_names=names)

    async def snoozed_keys(self, since: dt.datetime) -> frozenset[str]:
        async with self.engine.connect() as conn:
            keys = (await conn.execute(
                select(A.c.dedup_key).where(A.c.status == AlertStatus.RESOLVED.value,
                                            A.c.resolved_by.is_not(None),
                                            A.c.resolved_at >= since))).scalars().all()
        return frozenset(keys)


async def _open_orders(conn: AsyncConnection) -> list[OrderFacts]:
    w = t.work_orders
    rows = (await conn.execute(
        select(w.c.id, w.c.store_id, w.c.priority, w.c.status, w.c.created_at, w.c.description,
               w.c.address, w.c.technician_id, w.c.window_end, w.c.status_changed_at)
        .where(w.c.status.in_(sorted(s.value for s in OPEN_STATUSES)))
    )).mappings().all()
    waiting = [r for r in rows if r["status"] == WorkOrderStatus.NEW.value
               and r["technician_id"] is None]
    declines = await _current_declines(conn, {r["id"]: r["status_changed_at"] for r in waiting})
    out = []
    for r in rows:
        declined_by, reason = declines.get(r["id"], (None, ""))
        out.append(OrderFacts(
            id=r["id"], store_id=r["store_id"], priority=Priority(r["priority"]),
            status=WorkOrderStatus(r["status"]), created_at=r["created_at"],
            description=r["description"], address=r["address"],
            technician_id=r["technician_id"], window_end=r["window_end"],
            declined_by=declined_by, decline_reason=reason))
    return out


async def _current_declines(conn: AsyncConnection, changed_at: dict[str, dt.datetime]
                            ) -> dict[str, tuple[str | None, str]]:
    """For waiting orders whose latest status change was a decline: who declined, and why.

    The decline is the ``WorkOrderDeclined`` event in the outbox whose work-order snapshot has
    the order's current ``status_changed_at`` (nothing moved the order since)."""
    found: dict[str, tuple[str | None, str]] = {}
    ids = sorted(changed_at)
    o = t.outbox
    for start in range(0, len(ids), 500):
        rows = (await conn.execute(
            select(o.c.aggregate_id, o.c.payload)
            .where(and_(o.c.aggregate_id.in_(ids[start:start + 500]),
                        o.c.name == "WorkOrderDeclined"))
        )).all()
        for order_id, payload in rows:
            snapshot = (payload or {}).get("work_order") or {}
            at = snapshot.get("status_changed_at")
            try:
                same = at is not None and dt.datetime.fromisoformat(at) == changed_at[order_id]
            except (TypeError, ValueError):
                same = False
            if same:
                by = payload.get("previous_technician_id") or payload.get("technician_id")
                found[order_id] = (by, str(snapshot.get("status_reason") or ""))
    return found


async def _technicians(conn: AsyncConnection, orders: list[OrderFacts]
                       ) -> tuple[list[TechnicianFacts], dict[str, str]]:
    tech, p = t.technicians, t.positions_latest
    rows = (await conn.execute(
        select(tech.c.id, tech.c.name, tech.c.home_store_id, tech.c.status, tech.c.shift_start,
               tech.c.shift_end, tech.c.unit_id, tech.c.active, p.c.device_time)
        .outerjoin(p, p.c.unit_id == tech.c.unit_id)
    )).mappings().all()
    jobs: dict[str, int] = {}
    for order in orders:
        if order.technician_id is not None:
            jobs[order.technician_id] = jobs.get(order.technician_id, 0) + 1
    names = {r["id"]: r["name"] for r in rows}
    facts = [TechnicianFacts(
        id=r["id"], name=r["name"], home_store_id=r["home_store_id"],
        status=TechnicianStatus(r["status"]), shift_start=r["shift_start"],
        shift_end=r["shift_end"], unit_id=r["unit_id"], last_fix_at=r["device_time"],
        open_jobs=jobs.get(r["id"], 0)) for r in rows if r["active"]]
    return facts, names
