"""Trip tickets, sales orders and invoices: list and detail for those who see dispatches or
billing, scoped by store; creation as the permission table allows; an invoice is processed (who
and when are kept), and a sales order cancelled (its soft delete), through endpoints of their own.
Invoices answer with what is paid and left (``paid_cents``, ``balance_cents``, ``payment_status``);
their payments are in ``billing.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Permission, Principal
from domain.services import billing as billing_uc
from domain.services import dispatches as dispatch_uc
from storage.engine import read_connection
from storage.queries.billing import invoice_detail
from storage.queries.billing import list_invoices as query_invoices
from storage.queries.resources import list_resources, resource_detail
from web.api.billing_record_schemas import (
    BillingInvoiceOut,
    InvoiceIn,
    InvoicePage,
    InvoiceQuery,
    SalesOrderIn,
    SalesOrderOut,
    SalesOrderPage,
    SalesOrderQuery,
    TripTicketIn,
    TripTicketOut,
    TripTicketPage,
    TripTicketQuery,
)
from web.api.framework import AnyCall, Api, Call, Empty, NoInput, detail_or_404
from web.api.schemas import PageQuery, page

api = Api()
TAG = "billing"
VIEW = (Permission.BILLING_VIEW, Permission.DISPATCH_VIEW)
MANAGE = (Permission.BILLING_MANAGE,)


async def _detail(call: AnyCall, kind: str, resource_id: str) -> dict[str, Any]:
    async def read(conn: AsyncConnection, principal: Principal, rid: str) -> dict[str, Any] | None:
        return await resource_detail(conn, principal, kind, rid)

    return await detail_or_404(call, kind.replace("_", " "), read, resource_id)


async def _list(call: Call[Empty, PageQuery], kind: str, search: str | None,
                filters: dict[str, Any]) -> dict[str, Any]:
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total = await list_resources(conn, call.principal, kind, filters=filters,
                                            q=search, limit=q.limit, offset=q.offset)
    return page(items, total, q)


@api.route("GET", "/api/trip-tickets", summary="List trip tickets", tag=TAG,
           query=TripTicketQuery, response=TripTicketPage, errors=(403,),
           permissions=VIEW)
async def list_trip_tickets(call: Call[Empty, TripTicketQuery]) -> dict[str, Any]:
    q = call.query
    return await _list(call, "trip_ticket", q.q, {
        "store_id": q.store_id, "customer_id": q.customer_id, "work_order_id": q.work_order_id,
        "unused": q.unused})


@api.route("GET", "/api/trip-tickets/{id}", summary="A trip ticket", tag=TAG,
           response=TripTicketOut, errors=(403, 404),
           permissions=VIEW)
async def get_trip_ticket(call: NoInput) -> dict[str, Any]:
    return await _detail(call, "trip_ticket", call.path_id("trip ticket"))


@api.route("POST", "/api/trip-tickets", summary="Create a trip ticket", tag=TAG,
           body=TripTicketIn, response=TripTicketOut, status=201, errors=(403, 409, 422),
           idempotent=True,
           permissions=(Permission.DISPATCH_CREATE,))
async def create_trip_ticket(call: Call[TripTicketIn, Empty]) -> dict[str, Any]:
    """For those who create dispatches; the number is generated when not given. Audited."""
    b = call.body
    created = await dispatch_uc.create_trip_ticket(
        call.uow(), call.context(), store_id=b.store_id, number=b.number,
        description=b.description, work_order_id=b.work_order_id, customer_id=b.customer_id)
    return await _detail(call, "trip_ticket", created["id"])


@api.route("GET", "/api/sales-orders", summary="List sales orders", tag=TAG,
           query=SalesOrderQuery, response=SalesOrderPage, errors=(403,),
           permissions=VIEW)
async def list_sales_orders(call: Call[Empty, SalesOrderQuery]) -> dict[str, Any]:
    q = call.query
    return await _list(call, "sales_order", q.q, {
        "store_id": q.store_id, "customer_id": q.customer_id,
        "status": q.status.value if q.status else None})


@api.route("GET", "/api/sales-orders/{id}", summary="A sales order", tag=TAG,
           response=SalesOrderOut, errors=(403, 404),
           permissions=VIEW)
async def get_sales_order(call: NoInput) -> dict[str, Any]:
    return await _detail(call, "sales_order", call.path_id("sales order"))


@api.route("POST", "/api/sales-orders", summary="Create a sales order", tag=TAG,
           body=SalesOrderIn, response=SalesOrderOut, status=201, errors=(403, 409, 422),
           idempotent=True,
           permissions=MANAGE)
async def create_sales_order(call: Call[SalesOrderIn, Empty]) -> dict[str, Any]:
    """For billing; the customer must exist (within the caller's stores). Audited."""
    b = call.body
    created = await billing_uc.create_sales_order(
        call.uow(), call.context(), store_id=b.store_id, customer_id=b.customer_id,
        number=b.number, total_cents=b.total_cents)
    return await _detail(call, "sales_order", created["id"])


@api.route("DELETE", "/api/sales-orders/{id}", summary="Cancel a sales order (soft)", tag=TAG,
           status=204, errors=(403, 404),
           permissions=MANAGE)
async def cancel_sales_order(call: NoInput) -> None:
    """A cancelled sales order stays on record and can no longer be invoiced. Audited."""
    await billing_uc.cancel_sales_order(call.uow(), call.context(),
                                        sales_order_id=call.path_id("sales order"))


@api.route("GET", "/api/invoices", summary="List invoices", tag=TAG, query=InvoiceQuery,
           response=InvoicePage, errors=(403,),
           permissions=VIEW)
async def list_invoices(call: Call[Empty, InvoiceQuery]) -> dict[str, Any]:
    """With what is paid and left; ``status`` filters by payment status, ``sort`` by number
    (default), newest created or processed first, or the largest balance first."""
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total = await query_invoices(
            conn, call.principal, store_id=q.store_id, sales_order_id=q.sales_order_id,
            dispatch_id=q.dispatch_id, customer_id=q.customer_id, processed=q.processed,
            status=q.status.value if q.status else None, q=q.q, sort=q.sort.value,
            limit=q.limit, offset=q.offset)
    return page(items, total, q)


async def _invoice(call: AnyCall, invoice_id: str) -> dict[str, Any]:
    return await detail_or_404(call, "invoice", invoice_detail, invoice_id)


@api.route("GET", "/api/invoices/{id}", summary="An invoice", tag=TAG,
           response=BillingInvoiceOut, errors=(403, 404),
           permissions=VIEW)
async def get_invoice(call: NoInput) -> dict[str, Any]:
    return await _invoice(call, call.path_id("invoice"))


@api.route("POST", "/api/invoices", summary="Create an invoice for a sales order", tag=TAG,
           body=InvoiceIn, response=BillingInvoiceOut, status=201, errors=(403, 409, 422),
           idempotent=True,
           permissions=MANAGE)
async def create_invoice(call: Call[InvoiceIn, Empty]) -> dict[str, Any]:
    """The sales order must exist and be open (not cancelled). ``service_line`` (what the revenue
    report groups by) is ``general`` unless given. Audited."""
    b = call.body
    created = await billing_uc.create_invoice(
        call.uow(), call.context(), sales_order_id=b.sales_order_id, amount_cents=b.amount_cents,
        number=b.number, service_line=b.service_line)
    return await _invoice(call, created["id"])


@api.route("POST", "/api/invoices/{id}/process", summary="Mark an invoice processed", tag=TAG,
           response=BillingInvoiceOut, errors=(403, 404),
           permissions=MANAGE)
async def process_invoice(call: NoInput) -> dict[str, Any]:
    """Records who processed it and when (``processed_by``, ``processed_at``); from then on it
    takes payments and keeps its dispatch from deletion. Processing again changes nothing."""
    await billing_uc.process_invoice(call.uow(), call.context(), invoice_id=call.path_id("invoice"))
    return await _invoice(call, call.path_id("invoice"))
