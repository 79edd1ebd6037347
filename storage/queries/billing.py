"""The billing clerk's reads: the queue of work to process, invoices with what is paid and left,
one invoice's payments, and what each customer owes.

Every query applies the caller's store scope (an invoice, dispatch or job of another store is not
there). Money is integer cents; sums are cast to big integers (PostgreSQL sums them as numeric).

*Billed* means processed: a customer owes what their processed invoices amount to, less what they
paid (payments are taken only against processed invoices, ``domain/payments.py``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    asc,
    case,
    cast,
    desc,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.payments import PaymentStatus, payment_status
from domain.roles import Principal
from storage import tables as t
from storage.queries.common import fetch_page, scope_filter

Row = dict[str, Any]
#: The dispatch statuses that mean the work was done (``domain.dispatch.DispatchStatus``).
DONE = ("completed", "closed")


def _int(value: Any) -> Any:
    return cast(value, BigInteger)


def _name(users: Any) -> Any:
    return func.coalesce(func.nullif(users.c.display_name, ""), users.c.username)


def _done_without_processed(d: Any) -> ColumnElement[bool]:
    """A live dispatch whose work is done and none of whose invoices is processed yet."""
    i = t.invoices.alias("done_i")
    return and_(d.c.deleted_at.is_(None), d.c.status.in_(DONE),
                ~exists().where(i.c.dispatch_id == d.c.id, i.c.processed == true()))


def _where_store(principal: Principal, column: Any, store_id: str | None) -> ColumnElement[bool]:
    cond = scope_filter(principal, column)
    return and_(cond, column == store_id) if store_id else cond


# --- the queue to process ---------------------------------------------------------------------


def _queue(principal: Principal, store_id: str | None) -> Any:
    """Each thing to process once, at its most specific level, oldest first:

    - ``dispatch``: a completed (or closed) live dispatch with no processed invoice; it carries its
      invoices, all waiting to be processed;
    - ``invoice``: any other unprocessed invoice (with its dispatch and job when it has them);
    - ``work_order``: a completed job with no invoice at all yet (it needs one before anything can
      be processed).
    """
    d, tt, wo, i, so = t.dispatches, t.trip_tickets, t.work_orders, t.invoices, t.sales_orders
    di, dso = t.invoices.alias("d_i"), t.sales_orders.alias("d_so")
    first_customer = (select(dso.c.customer_id).select_from(
        di.join(dso, dso.c.id == di.c.sales_order_id)).where(di.c.dispatch_id == d.c.id)
        .limit(1).scalar_subquery())
    dispatches = (select(
        literal("dispatch", String).label("kind"), d.c.id.label("id"),
        d.c.datetime.label("since"), d.c.store_id.label("store_id"),
        func.coalesce(tt.c.customer_id, first_customer).label("customer_id"),
        tt.c.number.label("number"), d.c.status.label("status"),
        d.c.id.label("dispatch_id"), tt.c.work_order_id.label("work_order_id"),
        _int(select(func.coalesce(func.sum(di.c.amount_cents), 0))
             .where(di.c.dispatch_id == d.c.id).scalar_subquery()).label("amount_cents"),
        tt.c.description.label("description"))
        .select_from(d.join(tt, tt.c.id == d.c.trip_ticket_id))
        .where(_done_without_processed(d), _where_store(principal, d.c.store_id, store_id)))

    od, ott = t.dispatches.alias("o_d"), t.trip_tickets.alias("o_tt")
    on_done = exists().where(od.c.id == i.c.dispatch_id, _done_without_processed(od))
    def of_ticket(column: Any) -> Any:
        return (select(column).select_from(od.join(ott, ott.c.id == od.c.trip_ticket_id))
                .where(od.c.id == i.c.dispatch_id).limit(1).scalar_subquery())

    invoices = (select(
        literal("invoice", String), i.c.id, i.c.created_at, i.c.store_id, so.c.customer_id,
        i.c.number, literal("unprocessed", String), i.c.dispatch_id,
        of_ticket(ott.c.work_order_id), _int(i.c.amount_cents), of_ticket(ott.c.description))
        .select_from(i.join(so, so.c.id == i.c.sales_order_id))
        .where(i.c.processed == false(), ~on_done,
               _where_store(principal, i.c.store_id, store_id)))

    wd, wtt, wi = t.dispatches.alias("w_d"), t.trip_tickets.alias("w_tt"), t.invoices.alias("w_i")
    billed = exists(select(wi.c.id).select_from(
        wtt.join(wd, wd.c.trip_ticket_id == wtt.c.id).join(wi, wi.c.dispatch_id == wd.c.id))
        .where(wtt.c.work_order_id == wo.c.id, wd.c.deleted_at.is_(None)))
    live_dispatch = (select(wd.c.id).select_from(wtt.join(wd, wd.c.trip_ticket_id == wtt.c.id))
                     .where(wtt.c.work_order_id == wo.c.id, wd.c.deleted_at.is_(None))
                     .limit(1).scalar_subquery())
    jobs = (select(
        literal("work_order", String), wo.c.id,
        func.coalesce(wo.c.finished_at, wo.c.status_changed_at), wo.c.store_id,
        wo.c.customer_id, null(), wo.c.status, live_dispatch, wo.c.id, null(), wo.c.description)
        .where(wo.c.status == "completed", ~billed,
               _where_store(principal, wo.c.store_id, store_id)))
    return union_all(dispatches, invoices, jobs).subquery("queue")


async def to_process(conn: AsyncConnection, principal: Principal, *, store_id: str | None,
                     limit: int, offset: int) -> tuple[list[Row], int]:
    q = _queue(principal, store_id)
    c = t.customers
    query = (select(q, c.c.name.label("customer_name"))
             .select_from(q.outerjoin(c, c.c.id == q.c.customer_id))
             .order_by(asc(q.c.since), asc(q.c.kind), asc(q.c.id)))
    rows, total = await fetch_page(conn, query, limit=limit, offset=offset)
    waiting = await _unprocessed_of([r["id"] for r in rows if r["kind"] == "dispatch"], conn)
    for r in rows:
        r["amount_cents"] = None if r["amount_cents"] is None else int(r["amount_cents"])
        r["description"] = r["description"] or ""
        if r["kind"] == "dispatch":
            r["invoices"] = waiting.get(r["id"], [])
        elif r["kind"] == "invoice":
            r["invoices"] = [{"id": r["id"], "number": r["number"],
                              "amount_cents": r["amount_cents"]}]
        else:
            r["invoices"] = []
    return rows, total


async def _unprocessed_of(dispatch_ids: list[str], conn: AsyncConnection) -> dict[str, list[Row]]:
    if not dispatch_ids:
        return {}
    i = t.invoices
    rows = (await conn.execute(
        select(i.c.id, i.c.number, i.c.amount_cents, i.c.dispatch_id)
        .where(i.c.dispatch_id.in_(dispatch_ids), i.c.processed == false())
        .order_by(i.c.created_at, i.c.number))).mappings().all()
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(r["dispatch_id"], []).append(
            {"id": r["id"], "number": r["number"], "amount_cents": r["amount_cents"]})
    return out


# --- invoices with what is paid -----------------------------------------------------------------


def _paid() -> Any:
    p = t.payments
    return (select(p.c.invoice_id, _int(func.sum(p.c.amount_cents)).label("paid"))
            .group_by(p.c.invoice_id).subquery("paid"))


def _invoices(principal: Principal) -> tuple[Any, Any]:
    i, so, c, u = t.invoices, t.sales_orders, t.customers, t.users
    paid_sq = _paid()
    paid = func.coalesce(paid_sq.c.paid, 0)
    query = (select(i, so.c.customer_id, so.c.number.label("sales_order_number"),
                    c.c.name.label("customer_name"), paid.label("paid_cents"),
                    (i.c.amount_cents - paid).label("balance_cents"),
                    _name(u).label("processed_by_name"))
             .select_from(i.join(so, so.c.id == i.c.sales_order_id)
                          .outerjoin(c, c.c.id == so.c.customer_id)
                          .outerjoin(paid_sq, paid_sq.c.invoice_id == i.c.id)
                          .outerjoin(u, u.c.id == i.c.processed_by))
             .where(scope_filter(principal, i.c.store_id)))
    return query, paid


def _status_is(status: str, amount: Any, paid: Any) -> ColumnElement[bool]:
    if status == PaymentStatus.PAID:
        return paid >= amount  # type: ignore[no-any-return]
    if status == PaymentStatus.PARTLY_PAID:
        return and_(paid > 0, paid < amount)
    return and_(paid <= 0, amount > 0)


def _invoice_row(r: Row) -> Row:
    out = dict(r)
    out["paid_cents"] = int(r["paid_cents"])
    out["balance_cents"] = int(r["balance_cents"])
    out["payment_status"] = payment_status(r["amount_cents"], out["paid_cents"]).value
    return out


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_invoices(
    conn: AsyncConnection, principal: Principal, *, store_id: str | None = None,
    sales_order_id: str | None = None, dispatch_id: str | None = None,
    customer_id: str | None = None, processed: bool | None = None, status: str | None = None,
    q: str | None = None, sort: str = "number", limit: int = 50, offset: int = 0,
) -> tuple[list[Row], int]:
    """Invoices with ``paid_cents``, ``balance_cents`` and ``payment_status``; ``status`` filters
    by the payment status (unpaid, partly_paid, paid)."""
    i, so = t.invoices, t.sales_orders
    query, paid = _invoices(principal)
    for column, value in ((i.c.store_id, store_id), (i.c.sales_order_id, sales_order_id),
                          (i.c.dispatch_id, dispatch_id), (so.c.customer_id, customer_id)):
        if value is not None:
            query = query.where(column == value)
    if processed is not None:
        query = query.where(i.c.processed == (true() if processed else false()))
    if status:
        query = query.where(_status_is(status, i.c.amount_cents, paid))
    if q and q.strip():
        query = query.where(func.lower(i.c.number).like(_like(q), escape="\\"))
    order = {"number": [asc(i.c.number)],
             "-created_at": [desc(i.c.created_at)],
             "-processed_at": [desc(func.coalesce(i.c.processed_at, i.c.created_at))],
             "-balance_cents": [desc(i.c.amount_cents - paid)]}[sort]
    rows, total = await fetch_page(conn, query.order_by(*order, asc(i.c.id)), limit=limit,
                                   offset=offset)
    return [_invoice_row(r) for r in rows], total


async def invoice_detail(conn: AsyncConnection, principal: Principal,
                         invoice_id: str) -> Row | None:
    query, _ = _invoices(principal)
    row = (await conn.execute(query.where(t.invoices.c.id == invoice_id))).mappings().first()
    return None if row is None else _invoice_row(dict(row))


async def invoice_payments(conn: AsyncConnection, principal: Principal, invoice_id: str, *,
                           limit: int, offset: int) -> tuple[Row | None, list[Row], int]:
    """The invoice (with what is paid and left) and its payments, oldest first; (None, [], 0)
    when the invoice is not within the caller's stores."""
    invoice = await invoice_detail(conn, principal, invoice_id)
    if invoice is None:
        return None, [], 0
    p, u = t.payments, t.users
    query = (select(p, _name(u).label("recorded_by_name"))
             .select_from(p.outerjoin(u, u.c.id == p.c.recorded_by))
             .where(p.c.invoice_id == invoice_id)
             .order_by(asc(p.c.received_at), asc(p.c.created_at), asc(p.c.id)))
    rows, total = await fetch_page(conn, query, limit=limit, offset=offset)
    return invoice, rows, total


# --- what each customer owes ----------------------------------------------------------------------


async def customer_balances(
    conn: AsyncConnection, principal: Principal, *, store_id: str | None = None,
    owing: bool | None = None, q: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[Row], int, Row]:
    """Per customer, over their processed invoices (within the caller's stores): how many are
    open (something left), billed, paid and the balance; the largest balance first. Also the
    totals over every customer that matches (not only the page)."""
    i, so, c = t.invoices, t.sales_orders, t.customers
    paid_sq = _paid()
    paid = func.coalesce(paid_sq.c.paid, 0)
    per = (select(so.c.customer_id.label("customer_id"),
                  func.count().label("invoice_count"),
                  _int(func.sum(case((i.c.amount_cents - paid > 0, 1), else_=0)))
                  .label("open_invoices"),
                  _int(func.sum(i.c.amount_cents)).label("billed_cents"),
                  _int(func.sum(paid)).label("paid_cents"))
           .select_from(i.join(so, so.c.id == i.c.sales_order_id)
                        .outerjoin(paid_sq, paid_sq.c.invoice_id == i.c.id))
           .where(i.c.processed == true(), _where_store(principal, i.c.store_id, store_id))
           .group_by(so.c.customer_id).subquery("per"))
    balance = per.c.billed_cents - per.c.paid_cents
    conditions: list[ColumnElement[bool]] = []
    if owing is not None:
        conditions.append(balance > 0 if owing else balance <= 0)
    if q and q.strip():
        conditions.append(or_(func.lower(c.c.name).like(_like(q), escape="\\"),
                              func.lower(per.c.customer_id) == q.strip().lower()))
    source = per.outerjoin(c, c.c.id == per.c.customer_id)
    query = (select(per, c.c.name.label("customer_name"), balance.label("balance_cents"))
             .select_from(source).where(*conditions)
             .order_by(desc(balance), asc(c.c.name), asc(per.c.customer_id)))
    rows, total = await fetch_page(conn, query, limit=limit, offset=offset)
    sums = (await conn.execute(
        select(_int(func.coalesce(func.sum(per.c.billed_cents), 0)).label("billed_cents"),
               _int(func.coalesce(func.sum(per.c.paid_cents), 0)).label("paid_cents"))
        .select_from(source).where(*conditions))).mappings().one()
    totals = {"billed_cents": int(sums["billed_cents"]), "paid_cents": int(sums["paid_cents"])}
    totals["balance_cents"] = totals["billed_cents"] - totals["paid_cents"]
    items = [{"customer_id": r["customer_id"], "customer_name": r["customer_name"],
              "invoice_count": int(r["invoice_count"]), "open_invoices": int(r["open_invoices"]),
              "billed_cents": int(r["billed_cents"]), "paid_cents": int(r["paid_cents"]),
              "balance_cents": int(r["balance_cents"])} for r in rows]
    return items, total, totals
