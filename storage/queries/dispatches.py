"""Dispatch list and detail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, asc, desc, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Principal
from storage import tables as t
from storage.queries.common import fetch_page, scope_filter

SORTABLE = {"datetime": t.dispatches.c.datetime, "date_created": t.dispatches.c.date_created,
            "unit": t.dispatches.c.unit, "dispatch_id": t.dispatches.c.id}


def _invoice_count() -> Any:
    return (select(func.count()).where(t.invoices.c.dispatch_id == t.dispatches.c.id)
            .correlate(t.dispatches).scalar_subquery())


def _creator_name() -> Any:
    """The creator's display name, else their username (None for a creator who is no user)."""
    u = t.users
    return func.coalesce(func.nullif(u.c.display_name, ""), u.c.username).label("created_by_name")


def _row(r: dict[str, Any]) -> dict[str, Any]:
    status = r["status"]
    count = int(r["invoice_count"])
    return {
        "id": r["id"], "dispatch_id": r["id"], "trip_ticket_id": r["trip_ticket_id"],
        "trip_ticket_number": r.get("trip_ticket_number"),
        "datetime": r["datetime"], "unit": r["unit"], "unit_name": r.get("unit_name"),
        "store_id": r["store_id"], "date_created": r["date_created"],
        "created_by": r["created_by"], "created_by_name": r.get("created_by_name"),
        "status": status,
        "display_status": "pending" if count == 0 and status in {"draft", "scheduled",
                                                                 "dispatched"} else status,
        "invoice_count": count, "version": r["version"],
    }


async def list_dispatches(
    conn: AsyncConnection, principal: Principal, *, date_from: dt.datetime | None,
    date_to: dt.datetime | None, unit: str | None, customer_id: str | None,
    created_by: str | None, store_id: str | None, status: str | None, sort: str, limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    d = t.dispatches
    q = (select(d, _invoice_count().label("invoice_count"),
                t.trip_tickets.c.number.label("trip_ticket_number"),
                t.units.c.name.label("unit_name"), _creator_name())
         .join(t.trip_tickets, t.trip_tickets.c.id == d.c.trip_ticket_id)
         .join(t.units, t.units.c.id == d.c.unit)
         .outerjoin(t.users, t.users.c.id == d.c.created_by)
         .where(d.c.deleted_at.is_(None), scope_filter(principal, d.c.store_id)))
    if date_from is not None:
        q = q.where(d.c.datetime >= date_from)
    if date_to is not None:
        q = q.where(d.c.datetime <= date_to)
    if unit:
        q = q.where(d.c.unit == unit)
    if created_by:
        q = q.where(d.c.created_by == created_by)
    if store_id:
        q = q.where(d.c.store_id == store_id)
    if status:
        q = q.where(d.c.status == status)
    if customer_id:
        via = (select(t.invoices.c.dispatch_id)
               .join(t.sales_orders, t.sales_orders.c.id == t.invoices.c.sales_order_id)
               .where(and_(t.sales_orders.c.customer_id == customer_id,
                           t.invoices.c.dispatch_id.is_not(None))))
        q = q.where(d.c.id.in_(via))
    key = sort.lstrip("-")
    column = SORTABLE[key]
    q = q.order_by(desc(column) if sort.startswith("-") else asc(column), asc(d.c.id))
    rows, total = await fetch_page(conn, q, limit=limit, offset=offset)
    return [_row(r) for r in rows], total


async def dispatch_detail(conn: AsyncConnection, principal: Principal,
                          dispatch_id: str) -> dict[str, Any] | None:
    d = t.dispatches
    row = (await conn.execute(
        select(d, _invoice_count().label("invoice_count"), t.units.c.name.label("unit_name"),
               _creator_name())
        .join(t.units, t.units.c.id == d.c.unit)
        .outerjoin(t.users, t.users.c.id == d.c.created_by)
        .where(d.c.id == dispatch_id, d.c.deleted_at.is_(None),
               scope_filter(principal, d.c.store_id))
    )).mappings().first()
    if row is None:
        return None
    out = _row(dict(row))
    ticket = (await conn.execute(select(t.trip_tickets).where(
        t.trip_tickets.c.id == row["trip_ticket_id"]))).mappings().first()
    out["trip_ticket"] = dict(ticket) if ticket else None
    invoices = (await conn.execute(
        select(t.invoices, t.sales_orders.c.number.label("sales_order_number"),
               t.sales_orders.c.customer_id)
        .join(t.sales_orders, t.sales_orders.c.id == t.invoices.c.sales_order_id)
        .where(t.invoices.c.dispatch_id == dispatch_id)
        .order_by(t.invoices.c.created_at, t.invoices.c.id)
    )).mappings().all()
    out["invoices"] = [dict(i) for i in invoices]
    return out
