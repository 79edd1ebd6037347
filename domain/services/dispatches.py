"""Use cases of the dispatch module: dispatches (with the invoices they carry) and trip tickets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from domain.aggregate import new_id
from domain.dispatch import Dispatch, DispatchStatus, Invoice, SalesOrder, TripTicket
from domain.errors import NotFound, PermissionDenied, RuleViolation
from domain.ports import UnitOfWork
from domain.roles import Permission, can_delete_dispatch
from domain.services.billing import record_number, service_line_for_dispatch
from domain.services.context import Context, add_audited, audited_change, in_scope_or_404
from domain.services.resources import check_store, customer_in_scope


@dataclass(frozen=True, slots=True)
class NewInvoice:
    sales_order_id: str
    amount_cents: int
    number: str | None = None


async def _sales_order(uow: UnitOfWork, ctx: Context, sales_order_id: str) -> SalesOrder:
    order = await uow.sales_orders.get(sales_order_id)
    if order is None or not ctx.principal.sees_store(order.store_id):
        raise RuleViolation(
            f"sales order {sales_order_id} does not exist", field="sales_order_id",
            code="invalid_sales_order",
        )
    return order


async def _load(uow: UnitOfWork, ctx: Context, dispatch_id: str) -> Dispatch:
    dispatch = await uow.dispatches.get(dispatch_id)
    if dispatch is None or dispatch.is_deleted:
        raise NotFound("dispatch", dispatch_id)
    in_scope_or_404(ctx, "dispatch", dispatch_id, dispatch.store_id)
    return dispatch


async def _check_unit(uow: UnitOfWork, ctx: Context, unit_id: str) -> None:
    unit = await uow.units.get(unit_id)
    if unit is None or not ctx.principal.sees_store(unit.home_store_id):
        # Another store's unit does not exist for a store-scoped caller (its name must not leak).
        raise RuleViolation(f"unit {unit_id} does not exist", field="unit", code="invalid_unit")
    if not unit.in_service:
        raise RuleViolation(f"unit {unit.name} is out of service", field="unit")


async def _attach_new(
    uow: UnitOfWork, ctx: Context, dispatch: Dispatch, new: NewInvoice
) -> Invoice:
    order = await _sales_order(uow, ctx, new.sales_order_id)
    number = new.number or f"INV-{dispatch.id[:8].upper()}-{len(dispatch.invoice_ids) + 1}"
    invoice = Invoice.for_sales_order(order, number=number, amount_cents=new.amount_cents,
                                      at=ctx.now,
                                      service_line=await service_line_for_dispatch(uow, dispatch))
    uow.invoices.add(invoice)
    dispatch.attach_invoice(invoice)
    return invoice


async def _attach_existing(
    uow: UnitOfWork, ctx: Context, dispatch: Dispatch, invoice_id: str
) -> Invoice:
    invoice = await uow.invoices.get(invoice_id)
    if invoice is None or not ctx.principal.sees_store(invoice.store_id):
        raise RuleViolation(f"invoice {invoice_id} does not exist", field="invoice_id",
                            code="invalid_invoice")
    await _sales_order(uow, ctx, invoice.sales_order_id)
    dispatch.attach_invoice(invoice)
    return invoice


async def create_dispatch(
    uow: UnitOfWork,
    ctx: Context,
    *,
    trip_ticket_id: str,
    datetime: dt.datetime,
    unit: str,
    invoice_ids: tuple[str, ...] = (),
    new_invoices: tuple[NewInvoice, ...] = (),
) -> dict[str, Any]:
    ctx.principal.require(Permission.DISPATCH_CREATE)
    async with uow:
        ticket = await uow.trip_tickets.get(trip_ticket_id)
        if ticket is None or not ctx.principal.sees_store(ticket.store_id):
            raise RuleViolation(f"trip ticket {trip_ticket_id} does not exist",
                                field="trip_ticket_id", code="invalid_trip_ticket")
        await _check_unit(uow, ctx, unit)
        when = ctx.dispatch_policy.check_datetime(datetime, ctx.now)
        dispatch = Dispatch.create(
            trip_ticket=ticket,
            datetime=when,
            unit=unit,
            created_by=ctx.principal.user_id,
            now=ctx.now,
            policy=ctx.dispatch_policy,
            unit_busy=await uow.dispatches.unit_busy(unit, when, exclude_id=None),
            trip_ticket_in_use=await uow.dispatches.trip_ticket_in_use(ticket.id, exclude_id=None),
        )
        uow.dispatches.add(dispatch)
        for invoice_id in dict.fromkeys(invoice_ids):
            await _attach_existing(uow, ctx, dispatch, invoice_id)
        for new in new_invoices:
            await _attach_new(uow, ctx, dispatch, new)
        after = dispatch.snapshot()
        uow.audit(action="dispatch.create", entity_type="dispatch", entity_id=dispatch.id,
                  before=None, after=after)
        await uow.commit()
        return after


async def edit_dispatch(
    uow: UnitOfWork,
    ctx: Context,
    *,
    dispatch_id: str,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> dict[str, Any]:
    ctx.principal.require(Permission.DISPATCH_EDIT)
    async with uow:
        dispatch = await _load(uow, ctx, dispatch_id)
        async with audited_change(uow, dispatch, entity_type="dispatch", action="dispatch.edit",
                                  expected_version=expected_version):
            if "unit" in changes:
                await _check_unit(uow, ctx, changes["unit"])
            unit = changes.get("unit", dispatch.unit)
            when = changes.get("datetime", dispatch.datetime)
            busy = await uow.dispatches.unit_busy(unit, when, exclude_id=dispatch.id)
            dispatch.edit(changes=changes, now=ctx.now, policy=ctx.dispatch_policy,
                          unit_busy=busy)
        return dispatch.snapshot()


async def change_dispatch_status(
    uow: UnitOfWork, ctx: Context, *, dispatch_id: str, status: DispatchStatus,
    expected_version: int | None = None,
) -> dict[str, Any]:
    ctx.principal.require(Permission.DISPATCH_CHANGE_STATUS)
    async with uow:
        dispatch = await _load(uow, ctx, dispatch_id)
        async with audited_change(uow, dispatch, entity_type="dispatch", action="dispatch.status",
                                  expected_version=expected_version):
            dispatch.change_status(status)
        return dispatch.snapshot()


async def delete_dispatch(uow: UnitOfWork, ctx: Context, *, dispatch_id: str) -> None:
    if not (ctx.principal.can(Permission.DISPATCH_DELETE)
            or ctx.principal.can(Permission.DISPATCH_DELETE_OWN_DRAFT)):
        raise PermissionDenied("you may not delete dispatches")
    async with uow:
        dispatch = await _load(uow, ctx, dispatch_id)
        if not can_delete_dispatch(ctx.principal, created_by=dispatch.created_by,
                                   display_status=dispatch.display_status,
                                   status=dispatch.status.value):
            raise PermissionDenied(
                "a dispatcher may delete only a draft or pending dispatch they created"
            )
        before = dispatch.snapshot()
        invoices = await uow.invoices.for_dispatch(dispatch.id)
        dispatch.delete(invoices=invoices, now=ctx.now)
        uow.audit(action="dispatch.delete", entity_type="dispatch", entity_id=dispatch.id,
                  before=before, after=dispatch.snapshot())
        await uow.commit()


async def add_invoice(
    uow: UnitOfWork,
    ctx: Context,
    *,
    dispatch_id: str,
    invoice_id: str | None = None,
    new_invoice: NewInvoice | None = None,
) -> dict[str, Any]:
    """Attach an existing invoice by id, or a new one for a sales order."""
    ctx.principal.require(Permission.DISPATCH_ADD_INVOICE)
    if (invoice_id is None) == (new_invoice is None):
        raise RuleViolation("give either invoice_id or sales_order_id", field="invoice_id")
    async with uow:
        dispatch = await _load(uow, ctx, dispatch_id)
        before = dispatch.snapshot()
        if invoice_id is not None:
            invoice = await _attach_existing(uow, ctx, dispatch, invoice_id)
        else:
            assert new_invoice is not None  # narrowed by the check above
            invoice = await _attach_new(uow, ctx, dispatch, new_invoice)
        uow.audit(action="dispatch.add_invoice", entity_type="dispatch", entity_id=dispatch.id,
                  before=before, after=dispatch.snapshot())
        await uow.commit()
        return invoice.snapshot()


async def remove_invoice(
    uow: UnitOfWork, ctx: Context, *, dispatch_id: str, invoice_id: str
) -> dict[str, Any]:
    ctx.principal.require(Permission.DISPATCH_REMOVE_INVOICE)
    async with uow:
        dispatch = await _load(uow, ctx, dispatch_id)
        invoice = await uow.invoices.get(invoice_id)
        if invoice is None or invoice.dispatch_id != dispatch.id:
            raise NotFound("invoice", invoice_id)
        before = dispatch.snapshot()
        dispatch.detach_invoice(invoice)
        after = dispatch.snapshot()
        uow.audit(action="dispatch.remove_invoice", entity_type="dispatch",
                  entity_id=dispatch.id, before=before, after=after)
        await uow.commit()
        return after


# --- trip tickets ----------------------------------------------------------------------------


async def create_trip_ticket(
    uow: UnitOfWork, ctx: Context, *, store_id: str, number: str | None = None,
    description: str = "", work_order_id: str | None = None, customer_id: str | None = None,
) -> dict[str, Any]:
    ctx.principal.require(Permission.DISPATCH_CREATE)
    async with uow:
        await check_store(uow, ctx, store_id, "store_id")
        if work_order_id is not None:
            order = await uow.work_orders.get(work_order_id)
            if order is None or order.store_id != store_id:
                raise RuleViolation(f"work order {work_order_id} does not exist in that store",
                                    field="work_order_id", code="invalid_work_order")
        if customer_id is not None:
            await customer_in_scope(uow, ctx, customer_id)
        ticket_id = new_id()
        ticket = TripTicket.open(id=ticket_id, number=number or record_number("TT", ticket_id),
                                 store_id=store_id, at=ctx.now, description=description,
                                 work_order_id=work_order_id, customer_id=customer_id)
        return await add_audited(uow, uow.trip_tickets, ticket, entity_type="trip_ticket")
