"""Use cases for work orders: intake, edits, assignment by hand, and the technician's steps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.attachments import ATTACHMENT_REF, attachment_hashes
from domain.errors import NotFound, PermissionDenied, RuleViolation
from domain.geo import Location, TimeWindow
from domain.ports import UnitOfWork
from domain.resources import TECHNICIAN_TRANSITIONS, Customer, Technician, TechnicianStatus
from domain.roles import Permission
from domain.services.context import Context, audited_change, in_scope_or_404
from domain.services.follow_ups import follow_up_failed
from domain.services.resources import customer_in_scope
from domain.work_orders import Channel, Priority, ProofOfWork, WorkOrder


@dataclass(frozen=True, slots=True)
class WalkInCustomer:
    name: str
    phone: str = ""
    email: str = ""
    sms_opt_in: bool = False


@dataclass(frozen=True, slots=True)
class NewWorkOrder:
    store_id: str
    priority: Priority
    location: Location
    description: str
    customer_id: str | None = None
    walk_in: WalkInCustomer | None = None
    address: str = ""
    time_window: TimeWindow | None = None
    required_skills: frozenset[str] = frozenset()
    estimated_minutes: int = 60
    #: How it reached us; None: booked by a person (``phone``), or ``emergency`` for one.
    channel: Channel | None = None


async def load_work_order(uow: UnitOfWork, ctx: Context, work_order_id: str) -> WorkOrder:
    order = await uow.work_orders.get(work_order_id)
    if order is None:
        raise NotFound("work order", work_order_id)
    in_scope_or_404(ctx, "work order", work_order_id, order.store_id)
    p = ctx.principal
    if p.is_technician_only and order.technician_id != p.technician_id:
        raise NotFound("work order", work_order_id)
    return order


async def _change_order(
    uow: UnitOfWork, ctx: Context, *, work_order_id: str, action: str,
    expected_version: int | None, change: Callable[[WorkOrder], Awaitable[None]],
) -> dict[str, Any]:
    """Load (in scope), check the version the client saw, change, audit and commit."""
    async with uow:
        order = await load_work_order(uow, ctx, work_order_id)
        async with audited_change(uow, order, entity_type="work_order",
                                  action=f"work_order.{action}",
                                  expected_version=expected_version):
            await change(order)
        return order.snapshot()


async def create_work_order(uow: UnitOfWork, ctx: Context, new: NewWorkOrder) -> dict[str, Any]:
    p = ctx.principal
    if new.priority == Priority.EMERGENCY:
        p.require(Permission.EMERGENCY_CREATE)
    else:
        p.require(Permission.WORK_ORDER_CREATE)
    async with uow:
        store = await uow.stores.get(new.store_id)
        if store is None or not p.sees_store(store.id) or not store.active:
            raise RuleViolation(f"store {new.store_id} does not exist", field="store_id",
                                code="invalid_store")
        customer_id = new.customer_id
        if customer_id is not None:
            await customer_in_scope(uow, ctx, customer_id)
        elif new.walk_in is not None:
            customer = Customer(
                name=new.walk_in.name, phone=new.walk_in.phone, email=new.walk_in.email,
                sms_opt_in=new.walk_in.sms_opt_in, address=new.address, location=new.location,
                home_store_id=store.id,
            )
            uow.customers.add(customer)
            customer_id = customer.id
        order = WorkOrder(
            store_id=store.id, priority=new.priority, location=new.location,
            description=new.description, created_at=ctx.now, created_by=p.user_id,
            customer_id=customer_id, address=new.address, time_window=new.time_window,
            required_skills=new.required_skills, estimated_minutes=new.estimated_minutes,
            channel=new.channel or (Channel.EMERGENCY if new.priority == Priority.EMERGENCY
                                    else Channel.PHONE),
        )
        order.record_created()
        uow.work_orders.add(order)
        after = order.snapshot()
        uow.audit(action="work_order.create", entity_type="work_order", entity_id=order.id,
                  before=None, after=after)
        await uow.commit()
        return after


async def update_work_order(
    uow: UnitOfWork, ctx: Context, *, work_order_id: str, changes: dict[str, Any],
    expected_version: int | None = None,
) -> dict[str, Any]:
    ctx.principal.require(Permission.WORK_ORDER_EDIT)

    async def change(order: WorkOrder) -> None:
        customer_id = changes.get("customer_id")
        if customer_id is not None and customer_id != order.customer_id:
            await customer_in_scope(uow, ctx, customer_id)
        order.update_details(**changes)

    return await _change_order(uow, ctx, work_order_id=work_order_id, action="update",
                               expected_version=expected_version, change=change)


async def _technician(uow: UnitOfWork, ctx: Context, technician_id: str) -> Technician:
    tech = await uow.technicians.get(technician_id)
    if tech is None or not tech.active or not ctx.principal.sees_store(tech.home_store_id):
        raise RuleViolation(f"technician {technician_id} does not exist",
                            field="technician_id", code="invalid_technician")
    return tech


async def assign_work_order(
    uow: UnitOfWork, ctx: Context, *, work_order_id: str, technician_id: str,
    expected_version: int | None = None, pinned: bool | None = None,
    allow_missing_skills: bool = False,
) -> dict[str, Any]:
    """Assign (or reassign) by hand: the dispatcher's decision, checked against the rules."""
    ctx.principal.require(Permission.WORK_ORDER_ASSIGN)

    async def change(order: WorkOrder) -> None:
        tech = await _technician(uow, ctx, technician_id)
        missing = order.required_skills - tech.skills
        if missing and not allow_missing_skills:
            raise RuleViolation(
                f"{tech.name} lacks the skill(s) {', '.join(sorted(missing))}",
                field="technician_id", code="missing_skills", missing=sorted(missing),
            )
        if tech.status in {TechnicianStatus.OFF_DUTY, TechnicianStatus.UNAVAILABLE}:
            raise RuleViolation(f"{tech.name} is {tech.status.value.replace('_', ' ')}",
                                field="technician_id", code="technician_unavailable")
        order.assign(tech.id, ctx.now, pinned=pinned)

    return await _change_order(uow, ctx, work_order_id=work_order_id, action="assign",
                               expected_version=expected_version, change=change)


async def unassign_work_order(
    uow: UnitOfWork, ctx: Context, *, work_order_id: str, expected_version: int | None = None,
    reason: str = "",
) -> dict[str, Any]:
    ctx.principal.require(Permission.WORK_ORDER_ASSIGN)

    async def change(order: WorkOrder) -> None:
        order.unassign(ctx.now, reason=reason)

    return await _change_order(uow, ctx, work_order_id=work_order_id, action="unassign",
                               expected_version=expected_version, change=change)


async def cancel_work_order(
    uow: UnitOfWork, ctx: Context, *, work_order_id: str, reason: str,
    expected_version: int | None = None,
) -> dict[str, Any]:
    ctx.principal.require(Permission.WORK_ORDER_CANCEL)

    async def change(order: WorkOrder) -> None:
        order.cancel(ctx.now, reason=reason)

    return await _change_order(uow, ctx, work_order_id=work_order_id, action="cancel",
                               expected_version=expected_version, change=change)


async def comment_work_order(
    uow: UnitOfWork, ctx: Context, *, work_order_id: str, text: str,
    visibility: str = "internal",
) -> dict[str, Any]:
    """``visibility``: ``internal`` (the default) or ``customer`` (shown on the tracking page)."""
    ctx.principal.require(Permission.WORK_ORDER_COMMENT)
    async with uow:
        order = await load_work_order(uow, ctx, work_order_id)
        comment = order.add_comment(ctx.principal.username, text, ctx.now, visibility)
        uow.audit(action="work_order.comment", entity_type="work_order", entity_id=order.id,
                  before=None, after=comment.as_dict())
        await uow.commit()
        return comment.as_dict()


#: Which of the given SHA-256 hashes (hex) are uploaded as attachments of a work order.
AttachmentLookup = Callable[[str, Sequence[str]], Awaitable[set[str]]]


async def _require_attachments(lookup: AttachmentLookup | None, order: WorkOrder,
                               hashes: list[str]) -> None:
    if lookup is None or not hashes:
        return
    present = await lookup(order.id, hashes)
    missing = [f"{ATTACHMENT_REF}{h}" for h in hashes if h not in present]
    if missing:
        raise RuleViolation(
            f"work order {order.id} has no uploaded attachment {', '.join(missing)}: upload the "
            "files before the completion that names them",
            field="proof", code="missing_attachment", missing=missing)


#: The technician's steps, and the status the technician takes with each.
TECHNICIAN_STEPS = ("accept", "decline", "en_route", "on_site", "complete", "fail")
_TECH_STATUS_AFTER = {
    "en_route": TechnicianStatus.EN_ROUTE,
    "on_site": TechnicianStatus.ON_SITE,
    "complete": TechnicianStatus.AVAILABLE,
    "fail": TechnicianStatus.AVAILABLE,
}


async def technician_step(
    uow: UnitOfWork, ctx: Context, *, work_order_id: str, step: str,
    device_time: dt.datetime | None = None, reason: str = "", proof: ProofOfWork | None = None,
    technician_id: str | None = None, attachments: AttachmentLookup | None = None,
) -> dict[str, Any]:
    """A step reported from the technician view; ``device_time`` is when it happened on the phone.

    A dispatcher may report a step on a technician's behalf (``technician_id``). A completion's
    proof may name uploaded attachments (``attachment:sha256-<hex>``); ``attachments`` tells which
    the work order holds, and a missing one refuses the completion.
    """
    p = ctx.principal
    if p.can(Permission.WORK_ORDER_WORK) and p.technician_id is not None:
        tech_id = p.technician_id
    elif p.can(Permission.WORK_ORDER_ASSIGN) and technician_id is not None:
        tech_id = technician_id
    elif p.can(Permission.WORK_ORDER_ASSIGN):
        raise RuleViolation("name the technician (technician_id) to report a step on their behalf",
                            field="technician_id")
    else:
        raise PermissionDenied("only the assigned technician reports progress on a job")
    if step not in TECHNICIAN_STEPS:
        raise RuleViolation(f"unknown step {step!r}", field="step")
    at = device_time or ctx.now
    if at > ctx.now + dt.timedelta(minutes=5):
        raise RuleViolation("device time is in the future", field="device_time")
    wanted = attachment_hashes(proof) if step == "complete" else []
    follow_ups: list[str] = []
    async with uow:
        order = await load_work_order(uow, ctx, work_order_id)
        before = order.snapshot()
        if step == "accept":
            order.accept(tech_id, at)
        elif step == "decline":
            order.decline(tech_id, at, reason=reason)
        elif step == "en_route":
            order.start_travel(tech_id, at)
        elif step == "on_site":
            order.arrive(tech_id, at)
        elif step == "complete":
            await _require_attachments(attachments, order, wanted)
            order.complete(tech_id, at, proof)
        else:
            order.fail(tech_id, at, reason=reason)
            follow_ups = [(await follow_up_failed(uow, ctx, order)).id]
        target = _TECH_STATUS_AFTER.get(step)
        if target is not None:
            tech = await uow.technicians.get(tech_id)
            if tech is not None and target in TECHNICIAN_TRANSITIONS[tech.status]:
                tech.change_status(target, reason=f"work order {step.replace('_', ' ')}")
        after = order.snapshot()
        uow.audit(action=f"work_order.{step}", entity_type="work_order", entity_id=order.id,
                  before=before, after=after)
        await uow.commit()
        return {**after, "follow_ups": follow_ups} if follow_ups else after


async def change_technician_status(
    uow: UnitOfWork, ctx: Context, *, technician_id: str, status: TechnicianStatus,
    reason: str = "",
) -> dict[str, Any]:
    p = ctx.principal
    p.require(Permission.TECHNICIAN_STATUS)
    if p.is_technician_only and p.technician_id != technician_id:
        raise NotFound("technician", technician_id)
    async with uow:
        tech = await uow.technicians.get(technician_id)
        if tech is None:
            raise NotFound("technician", technician_id)
        in_scope_or_404(ctx, "technician", technician_id, tech.home_store_id)
        before = tech.snapshot()
        tech.change_status(status, reason=reason)
        after = tech.snapshot()
        uow.audit(action="technician.status", entity_type="technician", entity_id=tech.id,
                  before=before, after=after)
        await uow.commit()
        return after
