"""The billing clerk's endpoints: the queue to process, customers' balances, and the payments of an
invoice (listed, and recorded: partial payments add up, never above the invoice's amount).

Money is integer cents. Reads need ``billing:view`` and show the caller's stores only (another
store's invoice is 404); recording a payment needs ``billing:manage``. Invoices themselves (list
with paid and balance, detail, create, process) are in ``billing_records.py``.
"""

from __future__ import annotations

from typing import Any

from domain.errors import NotFound
from domain.roles import Permission
from domain.services import billing as uc
from storage.engine import read_connection
from storage.queries.billing import customer_balances, invoice_payments, to_process
from web.api.billing_schemas import (
    BalancePage,
    BalanceQuery,
    PaymentIn,
    PaymentPage,
    QueuePage,
    QueueQuery,
    RecordedPaymentOut,
)
from web.api.framework import Api, Call, Empty
from web.api.schemas import PageQuery, page

api = Api()
TAG = "billing"
VIEW = (Permission.BILLING_VIEW,)
MANAGE = (Permission.BILLING_MANAGE,)


@api.route("GET", "/api/billing/to-process", summary="The queue of work to process", tag=TAG,
           query=QueueQuery, response=QueuePage, errors=(403, 422), permissions=VIEW)
async def list_to_process(call: Call[Empty, QueueQuery]) -> dict[str, Any]:
    """Oldest first: completed dispatches with no processed invoice (with their invoices),
    the other unprocessed invoices, and completed jobs that have no invoice yet."""
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total = await to_process(conn, call.principal, store_id=q.store_id,
                                        limit=q.limit, offset=q.offset)
    return page(items, total, q)


@api.route("GET", "/api/billing/balances", summary="What each customer owes", tag=TAG,
           query=BalanceQuery, response=BalancePage, errors=(403, 422), permissions=VIEW)
async def list_balances(call: Call[Empty, BalanceQuery]) -> dict[str, Any]:
    """Per customer over their processed invoices: billed, paid and the balance (billed less
    paid), the largest balance first; ``totals`` add up every customer that matches."""
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total, totals = await customer_balances(
            conn, call.principal, store_id=q.store_id, owing=q.owing, q=q.q, limit=q.limit,
            offset=q.offset)
    return {**page(items, total, q), "totals": totals}


@api.route("GET", "/api/invoices/{id}/payments", summary="The payments of an invoice", tag=TAG,
           query=PageQuery, response=PaymentPage, errors=(403, 404, 422), permissions=VIEW)
async def list_payments(call: Call[Empty, PageQuery]) -> dict[str, Any]:
    """Oldest first, with the invoice's amount, what is paid and the balance."""
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        invoice, items, total = await invoice_payments(conn, call.principal, call.path_id("invoice"),
                                                       limit=q.limit, offset=q.offset)
    if invoice is None:
        raise NotFound("invoice", call.path_id("invoice"))
    return {**page(items, total, q), "invoice": invoice}


@api.route("POST", "/api/invoices/{id}/payments", summary="Record a payment against an invoice",
           tag=TAG, body=PaymentIn, response=RecordedPaymentOut, status=201,
           errors=(403, 404, 409, 422), idempotent=True, permissions=MANAGE)
async def record_payment(call: Call[PaymentIn, Empty]) -> dict[str, Any]:
    """Only against a processed invoice (422 ``invoice_not_processed``), at most its balance
    (422 ``overpayment`` on ``amount_cents``; partial payments add up), never received in the
    future (422 ``received_in_future``). Two payments at the same moment that together would
    pay too much: one is recorded, the other refused (422 ``overpayment`` or 409
    ``concurrent_modification``; retry to see the new balance). Audited."""
    b = call.body
    return await uc.record_payment(
        call.uow(), call.context(), invoice_id=call.path_id("invoice"), amount_cents=b.amount_cents,
        method=b.method, reference=b.reference, received_at=b.received_at)
