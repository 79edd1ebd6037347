"""The dispatch module's endpoints, exactly as its specification names them."""

from __future__ import annotations

from typing import Any

from domain.roles import Permission
from domain.services import dispatches as uc
from storage.engine import read_connection
from storage.queries.dispatches import dispatch_detail, list_dispatches
from web.api.dispatch_schemas import (
    DispatchDetailOut,
    DispatchIn,
    DispatchPage,
    DispatchPatch,
    DispatchQuery,
    InvoiceAttachIn,
    InvoiceOut,
    StatusIn,
)
from web.api.framework import AnyCall, Api, Call, Empty, NoInput, detail_or_404
from web.api.schemas import page

api = Api()
TAG = "dispatch"


async def _detail(call: AnyCall, dispatch_id: str) -> dict[str, Any]:
    return await detail_or_404(call, "dispatch", dispatch_detail, dispatch_id)


@api.route("POST", "/api/dispatch", summary="Create a dispatch", tag=TAG, body=DispatchIn,
           response=DispatchDetailOut, status=201, errors=(403, 409, 422), idempotent=True,
           permissions=(Permission.DISPATCH_CREATE,))
async def create_dispatch(call: Call[DispatchIn, Empty]) -> dict[str, Any]:
    """Trip ticket, datetime and unit are required; invoices may be attached or created. 409
    ``unit_double_booked`` / ``trip_ticket_in_use`` / ``invoice_already_linked`` when another
    dispatch holds them (the same whether this request or a concurrent one is first); 422
    ``invalid_unit`` for a unit that does not exist or is outside the caller's stores."""
    b = call.body
    created = await uc.create_dispatch(
        call.uow(), call.context(), trip_ticket_id=b.trip_ticket_id, datetime=b.datetime,
        unit=b.unit, invoice_ids=tuple(b.invoice_ids),
        new_invoices=tuple(uc.NewInvoice(i.sales_order_id, i.amount_cents, i.number)
                           for i in b.invoices),
    )
    return await _detail(call, created["id"])


@api.route("GET", "/api/dispatch", summary="List dispatches", tag=TAG, query=DispatchQuery,
           response=DispatchPage, errors=(403,), permissions=(Permission.DISPATCH_VIEW,))
async def list_dispatch(call: Call[Empty, DispatchQuery]) -> dict[str, Any]:
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total = await list_dispatches(
            conn, call.principal, date_from=q.date_from, date_to=q.date_to, unit=q.unit,
            customer_id=q.customer_id, created_by=q.created_by, store_id=q.store_id,
            status=q.status.value if q.status else None, sort=q.sort.value, limit=q.limit,
            offset=q.offset,
        )
    return page(items, total, q)


@api.route("GET", "/api/dispatch/{id}", summary="A dispatch with its trip ticket and invoices",
           tag=TAG, response=DispatchDetailOut, errors=(403, 404),
           permissions=(Permission.DISPATCH_VIEW,))
async def get_dispatch(call: NoInput) -> dict[str, Any]:
    return await _detail(call, call.path_id("dispatch"))


@api.route("PATCH", "/api/dispatch/{id}", summary="Change the datetime and/or the unit", tag=TAG,
           body=DispatchPatch, response=DispatchDetailOut, errors=(400, 403, 404, 409, 422),
           permissions=(Permission.DISPATCH_EDIT,))
async def patch_dispatch(call: Call[DispatchPatch, Empty]) -> dict[str, Any]:
    """Send ``If-Match: "<version>"`` to refuse the edit when someone changed it meanwhile. 409
    ``unit_double_booked`` when the unit has another dispatch then; 422 ``invalid_unit`` for a
    unit that does not exist or is outside the caller's stores."""
    changes = {k: getattr(call.body, k) for k in call.body.model_fields_set}
    await uc.edit_dispatch(call.uow(), call.context(), dispatch_id=call.path_id("dispatch"),
                           changes=changes, expected_version=call.if_match())
    return await _detail(call, call.path_id("dispatch"))


@api.route("DELETE", "/api/dispatch/{id}", summary="Delete a dispatch (soft)", tag=TAG,
           status=204, errors=(403, 404, 409, 422),
           permissions=(Permission.DISPATCH_DELETE, Permission.DISPATCH_DELETE_OWN_DRAFT))
async def delete_dispatch(call: NoInput) -> None:
    await uc.delete_dispatch(call.uow(), call.context(), dispatch_id=call.path_id("dispatch"))


@api.route("POST", "/api/dispatch/{id}/status", summary="Move a dispatch through its lifecycle",
           tag=TAG, body=StatusIn, response=DispatchDetailOut, errors=(400, 403, 404, 409, 422),
           permissions=(Permission.DISPATCH_CHANGE_STATUS,))
async def change_status(call: Call[StatusIn, Empty]) -> dict[str, Any]:
    await uc.change_dispatch_status(call.uow(), call.context(), dispatch_id=call.path_id("dispatch"),
                                    status=call.body.status, expected_version=call.if_match())
    return await _detail(call, call.path_id("dispatch"))


@api.route("POST", "/api/dispatch/{id}/invoices", summary="Attach an invoice to a dispatch",
           tag=TAG, body=InvoiceAttachIn, response=InvoiceOut, status=201,
           errors=(403, 404, 409, 422), idempotent=True,
           permissions=(Permission.DISPATCH_ADD_INVOICE,))
async def add_invoice(call: Call[InvoiceAttachIn, Empty]) -> dict[str, Any]:
    """409 ``invoice_already_linked`` when another dispatch holds the invoice,
    ``invoice_already_attached`` when this one does."""
    b = call.body
    new = (uc.NewInvoice(b.sales_order_id, b.amount_cents or 0, b.number)
           if b.sales_order_id is not None else None)
    return await uc.add_invoice(call.uow(), call.context(), dispatch_id=call.path_id("dispatch"),
                                invoice_id=b.invoice_id, new_invoice=new)


@api.route("DELETE", "/api/dispatch/{id}/invoices/{invoice_id}",
           summary="Remove an invoice from a dispatch", tag=TAG, status=204,
           errors=(403, 404, 409, 422), permissions=(Permission.DISPATCH_REMOVE_INVOICE,))
async def remove_invoice(call: NoInput) -> None:
    await uc.remove_invoice(call.uow(), call.context(), dispatch_id=call.path_id("dispatch"),
                            invoice_id=call.path_id("invoice", "invoice_id"))
