"""Resource lists and details: stores, technicians, units, customers and the billing records.

Every query applies the caller's store scope, so a row of another store is simply not there (the
API answers 404 for it and leaves it out of lists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, String, Table, and_, asc, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Principal
from storage import tables as t
from storage.queries.common import fetch_page, scope_filter

Row = dict[str, Any]


def _location(lat: Any, lon: Any) -> dict[str, float] | None:
    return None if lat is None or lon is None else {"lat": lat, "lon": lon}


def _store(r: Row) -> Row:
    return {"id": r["id"], "code": r["code"], "name": r["name"],
            "location": _location(r["lat"], r["lon"]), "region": r["region"],
            "hours": {"opens": r["opens"], "closes": r["closes"]}, "address": r["address"],
            "timezone": r["timezone"], "active": r["active"], "version": r["version"]}


def _technician(r: Row) -> Row:
    shift = ({"start": r["shift_start"], "end": r["shift_end"]}
             if r["shift_start"] is not None and r["shift_end"] is not None else None)
    return {"id": r["id"], "name": r["name"], "home_store_id": r["home_store_id"],
            "skills": sorted(r["skills"] or []), "shift": shift, "status": r["status"],
            "unit_id": r["unit_id"], "phone": r["phone"], "active": r["active"],
            "version": r["version"]}


def _unit(r: Row) -> Row:
    return {k: r[k] for k in ("id", "name", "home_store_id", "geotab_device_id", "plate", "model",
                              "in_service", "version")}


def _customer(r: Row) -> Row:
    out = {k: r[k] for k in ("id", "name", "phone", "email", "address", "sms_opt_in",
                             "home_store_id", "active", "version")}
    out["location"] = _location(r["lat"], r["lon"])
    return out


def _plain(r: Row) -> Row:
    return dict(r)


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(columns: tuple[Any, ...], text: str) -> ColumnElement[bool]:
    pattern = _like(text)
    return or_(*(func.lower(c).like(pattern, escape="\\") for c in columns))


#: What people type between the digits of a phone number.
_PHONE_PUNCTUATION = " -().+/"


def _digits_only(column: Any) -> Any:
    out = column
    for mark in _PHONE_PUNCTUATION:
        out = func.replace(out, mark, "")
    return out


def _customer_search(text: str) -> ColumnElement[bool]:
    """A customer by name, email, address, phone (as typed, or its digits whatever the
    punctuation: "(214) 555-0100" finds +12145550100) or order number: a sales order's or
    invoice's number (part of it), or a work order's id."""
    c = t.customers.c
    so, inv, wo = t.sales_orders, t.invoices, t.work_orders
    pattern, exact = _like(text), text.strip().lower()
    found: list[ColumnElement[bool]] = [
        func.lower(col).like(pattern, escape="\\") for col in (c.name, c.email, c.address, c.phone)]
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 3 and all(ch.isdigit() or ch in _PHONE_PUNCTUATION for ch in text.strip()):
        found.append(_digits_only(c.phone).like(f"%{digits}%"))
    found.append(exists().where(so.c.customer_id == c.id,
                                func.lower(so.c.number).like(pattern, escape="\\")))
    found.append(exists().where(so.c.customer_id == c.id, inv.c.sales_order_id == so.c.id,
                                func.lower(inv.c.number).like(pattern, escape="\\")))
    found.append(exists().where(wo.c.customer_id == c.id, func.lower(wo.c.id) == exact))
    return or_(*found)


@dataclass(frozen=True)
class Kind:
    """How one resource is read: its table, the column that places it in a store, its shape."""

    table: Table
    scope_column: str
    shape: Callable[[Row], Row]
    order: tuple[str, ...]
    search: tuple[str, ...]
    extra: Callable[[], tuple[Any, ...]] = field(default=lambda: ())

    def base(self, principal: Principal) -> Any:
        q = select(self.table, *self.extra())
        return q.where(scope_filter(principal, self.table.c[self.scope_column]))


def _ticket_dispatch() -> tuple[Any, ...]:
    d = t.dispatches
    live = (select(d.c.id).where(d.c.trip_ticket_id == t.trip_tickets.c.id,
                                 d.c.deleted_at.is_(None))
            .correlate(t.trip_tickets).limit(1).scalar_subquery())
    return (live.label("dispatch_id"),)


def _order_invoices() -> tuple[Any, ...]:
    i = t.invoices
    count = (select(func.count()).where(i.c.sales_order_id == t.sales_orders.c.id)
             .correlate(t.sales_orders).scalar_subquery())
    return (count.label("invoice_count"),)


def _invoice_customer() -> tuple[Any, ...]:
    so = t.sales_orders
    customer = (select(so.c.customer_id).where(so.c.id == t.invoices.c.sales_order_id)
                .correlate(t.invoices).scalar_subquery())
    return (customer.label("customer_id"),)


KINDS: dict[str, Kind] = {
    "store": Kind(t.stores, "id", _store, ("code",), ("name", "code")),
    "technician": Kind(t.technicians, "home_store_id", _technician, ("name",), ("name",)),
    "unit": Kind(t.units, "home_store_id", _unit, ("name",), ("name", "plate")),
    "customer": Kind(t.customers, "home_store_id", _customer, ("name",),
                     ("name", "phone", "email")),
    "trip_ticket": Kind(t.trip_tickets, "store_id", _plain, ("number",), ("number",),
                        _ticket_dispatch),
    "sales_order": Kind(t.sales_orders, "store_id", _plain, ("number",), ("number",),
                        _order_invoices),
    "invoice": Kind(t.invoices, "store_id", _plain, ("number",), ("number",), _invoice_customer),
}


async def resource_detail(conn: AsyncConnection, principal: Principal, kind: str,
                          resource_id: str) -> Row | None:
    k = KINDS[kind]
    row = (await conn.execute(k.base(principal).where(k.table.c.id == resource_id))
           ).mappings().first()
    return None if row is None else k.shape(dict(row))


async def list_resources(
    conn: AsyncConnection, principal: Principal, kind: str, *, filters: dict[str, Any],
    q: str | None, limit: int, offset: int,
) -> tuple[list[Row], int]:
    """``filters`` maps a column (or one of the special names below) to the value it must have."""
    k = KINDS[kind]
    c = k.table.c
    query = k.base(principal)
    for name, value in filters.items():
        if value is None:
            continue
        query = query.where(_condition(kind, k.table, name, value))
    if q and q.strip():
        query = query.where(_customer_search(q) if kind == "customer"
                            else _search(tuple(c[n] for n in k.search), q))
    query = query.order_by(*(asc(c[n]) for n in k.order), asc(c.id))
    rows, total = await fetch_page(conn, query, limit=limit, offset=offset)
    return [k.shape(r) for r in rows], total


def _condition(kind: str, table: Table, name: str, value: Any) -> ColumnElement[bool]:
    c = table.c
    if name == "skill":  # skills are a JSON list; its text holds each skill in quotes
        return cast(c.skills, String).like(_like(f'"{value}"'), escape="\\")
    if name == "unused":  # trip tickets no live dispatch uses
        d = t.dispatches
        used = exists().where(and_(d.c.trip_ticket_id == c.id, d.c.deleted_at.is_(None)))
        return ~used if value else used
    if name == "customer_id" and kind == "invoice":
        so = t.sales_orders
        return c.sales_order_id.in_(select(so.c.id).where(so.c.customer_id == value))
    column: ColumnElement[Any] = c[name]
    equal: ColumnElement[bool] = column == value
    return equal
