"""Work-order endpoints: intake, list and detail, edits, cancellation, the technician's steps,
comments, assignment by hand, and a technician's own status.

Every answer that is a work order has the shape of ``WorkOrderOut`` (the domain snapshot).
Versions: ``PATCH`` takes ``If-Match: "<version>"``; assign, unassign and cancel take the version
in the body (or ``If-Match``). A stale version answers 409 with the current work order in
``current``.
"""

from __future__ import annotations

from typing import Any

from domain.geo import Location, TimeWindow
from domain.roles import Permission
from domain.services import work_orders as uc
from domain.work_orders import Priority, ProofOfWork
from storage.attachments import attachment_lookup
from storage.engine import read_connection
from storage.queries.work_orders import list_work_orders, work_order_detail
from web.api.framework import AnyCall, Api, Call, Empty, NoInput, detail_or_404
from web.api.notifications import tracking_url
from web.api.schemas import LocationIn, PageQuery, page
from web.api.work_order_schemas import (
    AssignIn,
    CancelIn,
    CommentIn,
    CommentOut,
    CommentPage,
    StepIn,
    TechnicianStateOut,
    TechnicianStatusIn,
    UnassignIn,
    WindowIn,
    WorkOrderIn,
    WorkOrderOut,
    WorkOrderPage,
    WorkOrderPatch,
    WorkOrderQuery,
)

api = Api()
TAG = "work orders"
ASSIGN_ERRORS = (400, 403, 404, 409, 422)







def _location(loc: LocationIn) -> Location:
    return Location(loc.lat, loc.lon)


def _window(window: WindowIn | None) -> TimeWindow | None:
    return TimeWindow(window.start, window.end) if window is not None else None


async def with_tracking(call: AnyCall, work_order: dict[str, Any], *,
                        new: bool = False) -> dict[str, Any]:
    """Every work-order answer carries ``tracking_url`` (the customer's tracking page) for
    dispatchers and customer service (``customer:contact``), and for nobody else. ``new``: a
    job this request created (its link is made without looking for one first)."""
    if call.principal.can(Permission.CUSTOMER_CONTACT):
        work_order = {**work_order,
                      "tracking_url": await tracking_url(call, work_order["id"], new=new)}
    return work_order


async def _detail(call: AnyCall, work_order_id: str) -> dict[str, Any]:
    found = await detail_or_404(call, "work order", work_order_detail, work_order_id)
    return await with_tracking(call, found)


@api.route("POST", "/api/work-orders", summary="Create a work order", tag=TAG, body=WorkOrderIn,
           response=WorkOrderOut, status=201, errors=(400, 403, 409, 422), idempotent=True,
           permissions=(Permission.WORK_ORDER_CREATE, Permission.EMERGENCY_CREATE))
async def create_work_order(call: Call[WorkOrderIn, Empty]) -> dict[str, Any]:
    """``store_id``, ``priority``, ``location`` and ``description`` are required. Give
    ``customer_id`` for a known customer, or ``customer_name`` (with ``customer_phone``,
    ``customer_email``, ``sms_opt_in``) for a walk-in. Emergencies need the emergency permission.
    A customer that does not exist or is outside a store-scoped caller's stores is 422
    ``invalid_customer`` (on PATCH too)."""
    result = await uc.create_work_order(call.uow(), call.context(), new_work_order(call.body))
    return await with_tracking(call, result, new=True)


def new_work_order(b: WorkOrderIn, *, priority: Priority | None = None) -> uc.NewWorkOrder:
    """The work-order use case's command from a body (``priority`` in place of the body's)."""
    walk_in = None
    if b.customer_name is not None:
        walk_in = uc.WalkInCustomer(name=b.customer_name, phone=b.customer_phone or "",
                                    email=b.customer_email or "", sms_opt_in=bool(b.sms_opt_in))
    return uc.NewWorkOrder(
        store_id=b.store_id, priority=priority or b.priority, location=_location(b.location),
        description=b.description, customer_id=b.customer_id, walk_in=walk_in, address=b.address,
        time_window=_window(b.time_window), required_skills=frozenset(b.required_skills),
        estimated_minutes=b.estimated_minutes,
    )


@api.route("GET", "/api/work-orders", summary="List work orders", tag=TAG, query=WorkOrderQuery,
           response=WorkOrderPage, errors=(403,),
           permissions=(Permission.WORK_ORDER_VIEW,))
async def list_orders(call: Call[Empty, WorkOrderQuery]) -> dict[str, Any]:
    """Filters: ``status`` (repeat it, or a comma list), ``store_id``, ``priority``,
    ``date_from``/``date_to`` (creation time), ``changed_from`` (last status change, e.g. the
    jobs completed today), ``technician_id``, ``customer_id`` (one customer's jobs, open and
    past), ``unassigned``. Sort by
    ``priority`` (most urgent, then earliest window), ``created_at`` or ``-created_at``. A
    store-scoped user sees their stores only; a technician their own work orders only."""
    call.principal.require(Permission.WORK_ORDER_VIEW)
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total = await list_work_orders(
            conn, call.principal, statuses=[s.value for s in q.status], store_id=q.store_id,
            priority=q.priority.value if q.priority else None, date_from=q.date_from,
            date_to=q.date_to, technician_id=q.technician_id, unassigned=q.unassigned,
            sort=q.sort.value, limit=q.limit, offset=q.offset, changed_from=q.changed_from,
            customer_id=q.customer_id,
        )
    return page(items, total, q)


@api.route("GET", "/api/work-orders/{id}", summary="A work order", tag=TAG,
           response=WorkOrderOut, errors=(403, 404),
           permissions=(Permission.WORK_ORDER_VIEW,))
async def get_work_order(call: NoInput) -> dict[str, Any]:
    """``tracking_url`` (the customer's tracking page) is given to dispatchers and customer
    service only (``customer:contact``)."""
    call.principal.require(Permission.WORK_ORDER_VIEW)
    return await _detail(call, call.path_id("work order"))


@api.route("PATCH", "/api/work-orders/{id}", summary="Edit a work order's descriptive fields",
           tag=TAG, body=WorkOrderPatch, response=WorkOrderOut, errors=(400, 403, 404, 409, 422),
           permissions=(Permission.WORK_ORDER_EDIT,))
async def patch_work_order(call: Call[WorkOrderPatch, Empty]) -> dict[str, Any]:
    """Send ``If-Match: "<version>"`` to refuse the edit when someone changed it meanwhile
    (409 with the current work order)."""
    b = call.body
    changes: dict[str, Any] = {}
    for name in b.model_fields_set:
        value = getattr(b, name)
        if name == "location":
            value = _location(value)
        elif name == "time_window":
            value = _window(value)
        elif name == "required_skills":
            value = frozenset(value)
        changes[name] = value
    result = await uc.update_work_order(call.uow(), call.context(), work_order_id=call.path_id("work order"),
                                      changes=changes, expected_version=call.if_match())
    return await with_tracking(call, result)


@api.route("POST", "/api/work-orders/{id}/cancel", summary="Cancel a work order", tag=TAG,
           body=CancelIn, response=WorkOrderOut, errors=ASSIGN_ERRORS,
           permissions=(Permission.WORK_ORDER_CANCEL,))
async def cancel_work_order(call: Call[CancelIn, Empty]) -> dict[str, Any]:
    result = await uc.cancel_work_order(
        call.uow(), call.context(), work_order_id=call.path_id("work order"), reason=call.body.reason,
        expected_version=call.expected_version(call.body.version))
    return await with_tracking(call, result)


@api.route("POST", "/api/work-orders/{id}/status", summary="Report a technician's step", tag=TAG,
           body=StepIn, response=WorkOrderOut, errors=(403, 404, 409, 422),
           permissions=(Permission.WORK_ORDER_WORK, Permission.WORK_ORDER_ASSIGN))
async def report_step(call: Call[StepIn, Empty]) -> dict[str, Any]:
    """``accept``, ``decline`` (with a reason), ``en_route``, ``on_site``, ``complete`` (with
    optional proof) or ``fail`` (with a reason). ``device_time`` is when it happened on the phone.
    A dispatcher reports a step on a technician's behalf by naming ``technician_id``. Proof files
    are uploaded first (``PUT .../attachments/sha256-<hex>``) and named
    ``attachment:sha256-<hex>`` in ``signature_ref`` / ``photo_refs``; a missing one is 422."""
    b = call.body
    ctx = call.context()
    proof = None
    if b.proof is not None:
        proof = ProofOfWork(
            device_time=b.device_time or ctx.now,
            location=_location(b.proof.location) if b.proof.location else None,
            signature_ref=b.proof.signature_ref, photo_refs=tuple(b.proof.photo_refs),
            notes=b.proof.notes,
        )
    uow = call.uow()
    result = await uc.technician_step(
        uow, ctx, work_order_id=call.path_id("work order"), step=b.step.value,
        device_time=b.device_time, reason=b.reason, proof=proof, technician_id=b.technician_id,
        attachments=attachment_lookup(uow))
    return await with_tracking(call, result)


@api.route("POST", "/api/work-orders/{id}/comments", summary="Comment on a work order", tag=TAG,
           body=CommentIn, response=CommentOut, status=201, errors=(403, 404, 409, 422),
           idempotent=True,
           permissions=(Permission.WORK_ORDER_COMMENT,))
async def add_comment(call: Call[CommentIn, Empty]) -> dict[str, Any]:
    """``visibility``: ``internal`` (the default: the company's people only) or ``customer``
    (customer-visible: the customer's tracking page shows it too)."""
    return await uc.comment_work_order(call.uow(), call.context(), work_order_id=call.path_id("work order"),
                                       text=call.body.text,
                                       visibility=call.body.visibility.value)


@api.route("GET", "/api/work-orders/{id}/comments", summary="A work order's comments, oldest first",
           tag=TAG, query=PageQuery, response=CommentPage, errors=(403, 404),
           permissions=(Permission.WORK_ORDER_VIEW,))
async def list_comments(call: Call[Empty, PageQuery]) -> dict[str, Any]:
    call.principal.require(Permission.WORK_ORDER_VIEW)
    comments = (await _detail(call, call.path_id("work order")))["comments"]
    q = call.query
    return page(comments[q.offset:q.offset + q.limit], len(comments), q)


@api.route("POST", "/api/work-orders/{id}/assign",
           summary="Assign or reassign a work order by hand", tag=TAG, body=AssignIn,
           response=WorkOrderOut, errors=ASSIGN_ERRORS,
           permissions=(Permission.WORK_ORDER_ASSIGN,))
async def assign(call: Call[AssignIn, Empty]) -> dict[str, Any]:
    """``version`` is the version the client saw; if the work order changed since, the answer is
    409 with the current work order. ``pinned`` keeps the optimizer from moving it."""
    b = call.body
    result = await uc.assign_work_order(
        call.uow(), call.context(), work_order_id=call.path_id("work order"), technician_id=b.technician_id,
        expected_version=call.expected_version(b.version), pinned=b.pinned,
        allow_missing_skills=b.allow_missing_skills)
    return await with_tracking(call, result)


@api.route("POST", "/api/work-orders/{id}/unassign", summary="Take a work order back", tag=TAG,
           body=UnassignIn, response=WorkOrderOut, errors=ASSIGN_ERRORS,
           permissions=(Permission.WORK_ORDER_ASSIGN,))
async def unassign(call: Call[UnassignIn, Empty]) -> dict[str, Any]:
    b = call.body
    result = await uc.unassign_work_order(
        call.uow(), call.context(), work_order_id=call.path_id("work order"),
        expected_version=call.expected_version(b.version), reason=b.reason)
    return await with_tracking(call, result)


@api.route("POST", "/api/technicians/{id}/status", summary="Change a technician's status",
           tag="technicians", body=TechnicianStatusIn, response=TechnicianStateOut,
           errors=(403, 404, 409, 422),
           permissions=(Permission.TECHNICIAN_STATUS,))
async def technician_status(call: Call[TechnicianStatusIn, Empty]) -> dict[str, Any]:
    """A technician changes their own status; a dispatcher that of any technician in scope."""
    return await uc.change_technician_status(
        call.uow(), call.context(), technician_id=call.path_id("technician"),
        status=call.body.status, reason=call.body.reason)

