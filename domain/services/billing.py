"""Use cases of billing: invoices (created, processed) and the payments taken against them.

Each checks the permission (``billing:manage`` for every change here), opens the unit of work,
finds the invoice within the caller's stores (another store's invoice is "not found"), applies the
rules of ``domain/billing.py`` and ``domain/payments.py``, records an audit row and commits. Reads
(the queue to process, invoices with what is paid, customers' balances) are queries
(``storage/queries/billing.py``) behind ``billing:view``, with the caller's stores applied there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.aggregate import new_id
from domain.billing import GENERAL, Invoice, SalesOrder, SalesOrderStatus, main_skill
from domain.dispatch import Dispatch
from domain.errors import NotFound, RuleViolation
from domain.payments import Payment, PaymentMethod, payment_status
from domain.ports import UnitOfWork
from domain.roles import Permission
from domain.services.context import Context, add_audited, audited_change
from domain.services.resources import check_store, customer_in_scope

P = Permission


def record_number(prefix: str, record_id: str) -> str:
    """A readable number for a new billing record: ``TT-``, ``SO-`` or ``INV-`` and the first
    eight characters of its id."""
    return f"{prefix}-{record_id[:8].upper()}"


def invoice_number(invoice_id: str) -> str:
    return record_number("INV", invoice_id)


async def service_line_for_dispatch(uow: UnitOfWork, dispatch: Dispatch) -> str:
    """The service line of an invoice created for ``dispatch``: the main skill of the job its
    trip ticket is for, else ``general``."""
    ticket = await uow.trip_tickets.get(dispatch.trip_ticket_id)
    if ticket is None or ticket.work_order_id is None:
        return GENERAL
    order = await uow.work_orders.get(ticket.work_order_id)
    return main_skill(order.required_skills) if order is not None else GENERAL


async def _invoice(uow: UnitOfWork, ctx: Context, invoice_id: str) -> Invoice:
    invoice = await uow.invoices.get(invoice_id)
    if invoice is None or not ctx.principal.sees_store(invoice.store_id):
        raise NotFound("invoice", invoice_id)
    return invoice


def summary(invoice: Invoice, paid_cents: int) -> dict[str, Any]:
    """An invoice with what is paid and what is left."""
    return {**invoice.snapshot(), "paid_cents": paid_cents,
            "balance_cents": invoice.amount_cents - paid_cents,
            "payment_status": payment_status(invoice.amount_cents, paid_cents).value}


async def create_invoice(
    uow: UnitOfWork, ctx: Context, *, sales_order_id: str, amount_cents: int,
    number: str | None = None, service_line: str | None = None,
) -> dict[str, Any]:
    """An invoice belongs to a valid (open) sales order of the caller's stores; its service line
    is ``general`` unless given."""
    ctx.principal.require(P.BILLING_MANAGE)
    async with uow:
        order = await uow.sales_orders.get(sales_order_id)
        if order is None or not ctx.principal.sees_store(order.store_id):
            raise RuleViolation(f"sales order {sales_order_id} does not exist",
                                field="sales_order_id", code="invalid_sales_order")
        invoice = Invoice.for_sales_order(order, number=number or invoice_number(new_id()),
                                          amount_cents=amount_cents, at=ctx.now,
                                          service_line=service_line)
        return await add_audited(uow, uow.invoices, invoice, entity_type="invoice")


async def process_invoice(uow: UnitOfWork, ctx: Context, *, invoice_id: str) -> dict[str, Any]:
    """Processed now, by the caller; processing again changes nothing."""
    ctx.principal.require(P.BILLING_MANAGE)
    async with uow:
        invoice = await _invoice(uow, ctx, invoice_id)
        if invoice.processed:
            return invoice.snapshot()
        before = invoice.snapshot()
        invoice.mark_processed(ctx.now, ctx.principal.user_id)
        after = invoice.snapshot()
        uow.audit(action="invoice.process", entity_type="invoice", entity_id=invoice.id,
                  before=before, after=after)
        await uow.commit()
        return after


async def record_payment(
    uow: UnitOfWork, ctx: Context, *, invoice_id: str, amount_cents: int,
    method: PaymentMethod | str, reference: str = "", received_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """A payment against a processed invoice of the caller's stores, at most its balance.
    Answers the payment with ``invoice``: the invoice with what is paid and left after it."""
    ctx.principal.require(P.BILLING_MANAGE)
    async with uow:
        invoice = await _invoice(uow, ctx, invoice_id)
        paid = await uow.payments.paid_cents(invoice.id)
        payment = Payment.receive(invoice, paid_cents=paid, amount_cents=amount_cents,
                                  method=method, reference=reference, received_at=received_at,
                                  recorded_by=ctx.principal.user_id, now=ctx.now)
        uow.payments.add(payment)
        after = {**payment.snapshot(), "invoice": summary(invoice, paid + amount_cents)}
        uow.audit(action="payment.record", entity_type="payment", entity_id=payment.id,
                  before=None, after=after)
        await uow.commit()
        return {**payment.snapshot(), "invoice": summary(invoice, paid + amount_cents)}


# --- sales orders ----------------------------------------------------------------------------


async def create_sales_order(
    uow: UnitOfWork, ctx: Context, *, store_id: str, customer_id: str,
    number: str | None = None, total_cents: int = 0,
) -> dict[str, Any]:
    ctx.principal.require(P.BILLING_MANAGE)
    async with uow:
        await check_store(uow, ctx, store_id, "store_id")
        await customer_in_scope(uow, ctx, customer_id)
        order_id = new_id()
        order = SalesOrder.open(id=order_id, number=number or record_number("SO", order_id),
                                customer_id=customer_id, store_id=store_id, at=ctx.now,
                                total_cents=total_cents)
        return await add_audited(uow, uow.sales_orders, order, entity_type="sales_order")


async def cancel_sales_order(uow: UnitOfWork, ctx: Context, *, sales_order_id: str) -> None:
    """Cancelling is the sales order's soft delete: it can no longer be invoiced."""
    ctx.principal.require(P.BILLING_MANAGE)
    async with uow:
        order = await uow.sales_orders.get(sales_order_id)
        if order is None or not ctx.principal.sees_store(order.store_id):
            raise NotFound("sales order", sales_order_id)
        if order.status != SalesOrderStatus.CANCELLED:
            async with audited_change(uow, order, entity_type="sales_order",
                                      action="sales_order.cancel"):
                order.cancel()
