"""Dispatch list and detail."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from typing import Any

from sqlalchemy import ColumnElement, and_, asc, bindparam, desc, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Principal
from storage import tables as t
from storage.queries.common import PageStatements, page_statements, run_page, scope_filter

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


#: The list's filters: the dispatch column each is compared with, and how (as a bound value).
_COMPARED = {"date_from": (t.dispatches.c.datetime, operator.ge),
             "date_to": (t.dispatches.c.datetime, operator.le),
             "unit": (t.dispatches.c.unit, operator.eq),
             "created_by": (t.dispatches.c.created_by, operator.eq),
             "store_id": (t.dispatches.c.store_id, operator.eq),
             "status": (t.dispatches.c.status, operator.eq)}


def _where(given: frozenset[str], scoped: bool) -> list[ColumnElement[bool]]:
    """The scope and the ``given`` filters as bound parameters of the same names (``stores``:
    the caller's stores)."""
    d = t.dispatches
    where: list[ColumnElement[bool]] = [d.c.deleted_at.is_(None)]
    if scoped:
        where.append(d.c.store_id.in_(bindparam("stores", expanding=True)))
    for name, (column, compare) in _COMPARED.items():
        if name in given:
            where.append(compare(column, bindparam(name, type_=column.type)))
    if "customer_id" in given:
        via = (select(t.invoices.c.dispatch_id)
               .join(t.sales_orders, t.sales_orders.c.id == t.invoices.c.sales_order_id)
               .where(and_(t.sales_orders.c.customer_id == bindparam("customer_id"),
                           t.invoices.c.dispatch_id.is_not(None))))
        where.append(d.c.id.in_(via))
    return where


@functools.lru_cache(maxsize=256)
def list_statements(given: frozenset[str], scoped: bool, sort: str) -> PageStatements:
    """The list's page and count for one shape of request (which filters, whether scoped, the
    order), built once: a request binds its values, and the statements' cache keys (which
    SQLAlchemy would otherwise work out anew for every request) are kept with them.

    The count reads the dispatches alone: a dispatch's trip ticket and unit are required
    references and its creator an outer join, so the joins never change how many there are."""
    d = t.dispatches
    key = sort.lstrip("-")
    column = SORTABLE[key]
    where = _where(given, scoped)
    rows = (select(d, _invoice_count().label("invoice_count"),
                   t.trip_tickets.c.number.label("trip_ticket_number"),
                   t.units.c.name.label("unit_name"), _creator_name())
            .join(t.trip_tickets, t.trip_tickets.c.id == d.c.trip_ticket_id)
            .join(t.units, t.units.c.id == d.c.unit)
            .outerjoin(t.users, t.users.c.id == d.c.created_by)
            .where(*where)
            .order_by(desc(column) if sort.startswith("-") else asc(column), asc(d.c.id)))
    return page_statements(rows, count=select(d.c.id).where(*where))


def _bound(principal: Principal, filters: dict[str, Any]) -> tuple[frozenset[str], dict[str, Any]]:
    values = {name: value for name, value in filters.items() if value is not None and value != ""}
    if principal.store_ids is not None:
        values["stores"] = sorted(principal.store_ids)
    return frozenset(values) - {"stores"}, values


async def list_dispatches(
    conn: AsyncConnection, principal: Principal, *, date_from: dt.datetime | None,
    date_to: dt.datetime | None, unit: str | None, customer_id: str | None,
    created_by: str | None, store_id: str | None, status: str | None, sort: str, limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    given, values = _bound(principal, {
        "date_from": date_from, "date_to": date_to, "unit": unit, "customer_id": customer_id,
        "created_by": created_by, "store_id": store_id, "status": status})
    statements = list_statements(given, principal.store_ids is not None, sort)
    rows, total = await run_page(conn, statements, values, limit=limit, offset=offset)
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
