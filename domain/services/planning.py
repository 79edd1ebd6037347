"""Use cases of the proposal lifecycle: store, confirm (all or part), reject, expire, undo, and the
emergency coordinator's "mark unavailable".

A confirmation commits every chosen move in one unit of work, and only when every work order is
still at the version the proposal was computed on; otherwise the proposal expires (that change
is committed) and the caller gets a 409 naming the orders that changed. What a confirmation
replaced is written to the audit trail so that ``undo_proposal`` can put it back in one step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.errors import Conflict, NotFound
from domain.planning import Move, Proposal, ProposalStatus
from domain.ports import UnitOfWork
from domain.resources import TECHNICIAN_TRANSITIONS, TechnicianStatus
from domain.roles import Permission
from domain.services.context import Context
from domain.work_orders import WorkOrder, WorkOrderStatus

UNAVAILABLE = frozenset({TechnicianStatus.OFF_DUTY, TechnicianStatus.UNAVAILABLE})


async def store_proposal(uow: UnitOfWork, ctx: Context, proposal: Proposal,
                         extra: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx.principal.require(Permission.PROPOSAL_REQUEST)
    async with uow:
        proposal.record_created()
        uow.proposals.add(proposal)
        after = proposal.snapshot()
        uow.audit(action="proposal.create", entity_type="proposal", entity_id=proposal.id,
                  before=None, after={**after, **(extra or {})})
        await uow.commit()
        return after


async def _load(uow: UnitOfWork, ctx: Context, proposal_id: str) -> Proposal:
    proposal = await uow.proposals.get(proposal_id)
    if proposal is None or not (
        ctx.principal.store_ids is None or proposal.store_ids <= ctx.principal.store_ids
    ):
        raise NotFound("proposal", proposal_id)
    return proposal


async def _expire_and_refuse(uow: UnitOfWork, proposal: Proposal, reason: str, code: str,
                             **details: object) -> None:
    proposal.expire(reason)
    uow.audit(action="proposal.expire", entity_type="proposal", entity_id=proposal.id,
              before=None, after=proposal.snapshot())
    await uow.commit()
    raise Conflict(reason, code=code, proposal_status="expired", **details)


def _previous(order: WorkOrder) -> dict[str, Any]:
    return {"technician_id": order.technician_id, "sequence": order.sequence,
            "planned_arrival": order.planned_arrival.isoformat() if order.planned_arrival else None,
            "pinned": order.pinned, "status": order.status.value}


async def _stale(uow: UnitOfWork, moves: list[Move]) -> tuple[dict[str, WorkOrder], list[str]]:
    orders: dict[str, WorkOrder] = {}
    changed: list[str] = []
    for move in moves:
        order = await uow.work_orders.get(move.work_order_id)
        if order is None or order.version != move.work_order_version or order.is_started \
                or not order.is_open:
            changed.append(move.work_order_id)
        else:
            orders[order.id] = order
    return orders, changed


async def confirm_proposal(uow: UnitOfWork, ctx: Context, *, proposal_id: str,
                           work_order_ids: list[str] | None) -> dict[str, Any]:
    ctx.principal.require(Permission.PROPOSAL_DECIDE)
    async with uow:
        proposal = await _load(uow, ctx, proposal_id)
        moves = proposal.select(work_order_ids)
        if proposal.status == ProposalStatus.PROPOSED and ctx.now >= proposal.expires_at:
            await _expire_and_refuse(uow, proposal, "the proposal is older than its expiry time",
                                     "proposal_expired")
        if proposal.status != ProposalStatus.PROPOSED:
            raise Conflict(f"the proposal is {proposal.status.value}", code="proposal_closed",
                           proposal_status=proposal.status.value)
        orders, changed = await _stale(uow, moves)
        if changed:
            await _expire_and_refuse(
                uow, proposal,
                f"work order(s) {', '.join(changed)} changed since the proposal was computed",
                "proposal_stale", work_order_ids=changed)
        targets = {m.to_technician_id for m in moves if m.to_technician_id is not None}
        gone = []
        for tech_id in sorted(targets):
            tech = await uow.technicians.get(tech_id)
            if tech is None or not tech.active or tech.status in UNAVAILABLE:
                gone.append(tech_id)
        if gone:
            await _expire_and_refuse(
                uow, proposal, f"technician(s) {', '.join(gone)} can no longer take work",
                "proposal_stale", technician_ids=gone)
        previous: dict[str, Any] = {}
        versions: dict[str, int] = {}
        for move in moves:
            order = orders[move.work_order_id]
            before = order.snapshot()
            previous[order.id] = _previous(order)
            if move.to_technician_id is None:
                order.unassign(ctx.now, reason=f"left out by proposal {proposal.id}")
            else:
                order.assign(move.to_technician_id, ctx.now, sequence=move.position,
                             planned_arrival=move.eta)
            versions[order.id] = order.version
            uow.audit(action="work_order.assign", entity_type="work_order", entity_id=order.id,
                      before=before, after=order.snapshot())
        proposal.confirm(moves, ctx.now)
        after = proposal.snapshot()
        uow.audit(action="proposal.confirm", entity_type="proposal", entity_id=proposal.id,
                  before=None, after={**after, "previous": previous, "versions_after": versions})
        await uow.commit()
        return after


async def reject_proposal(uow: UnitOfWork, ctx: Context, *, proposal_id: str,
                          reason: str) -> dict[str, Any]:
    ctx.principal.require(Permission.PROPOSAL_DECIDE)
    async with uow:
        proposal = await _load(uow, ctx, proposal_id)
        proposal.reject(reason, ctx.now)
        after = proposal.snapshot()
        uow.audit(action="proposal.reject", entity_type="proposal", entity_id=proposal.id,
                  before=None, after=after)
        await uow.commit()
        return after


async def mark_unavailable(uow: UnitOfWork, ctx: Context, *, technician_ids: list[str],
                           proposal_id: str, reason: str) -> list[str]:
    """Mark technicians unavailable (those who can be); the audit row keeps which ones this
    emergency marked, so undoing its proposal makes them available again."""
    ctx.principal.require(Permission.EMERGENCY_BULK)
    marked: list[str] = []
    async with uow:
        for tech_id in dict.fromkeys(technician_ids):
            tech = await uow.technicians.get(tech_id)
            if tech is None or not ctx.principal.sees_store(tech.home_store_id):
                raise NotFound("technician", tech_id)
            if tech.status == TechnicianStatus.UNAVAILABLE or \
                    TechnicianStatus.UNAVAILABLE not in TECHNICIAN_TRANSITIONS[tech.status]:
                continue
            before = tech.snapshot()
            tech.change_status(TechnicianStatus.UNAVAILABLE, reason=reason)
            uow.audit(action="technician.status", entity_type="technician", entity_id=tech.id,
                      before=before, after=tech.snapshot())
            marked.append(tech.id)
        uow.audit(action="emergency.unavailable", entity_type="proposal", entity_id=proposal_id,
                  before=None, after={"technician_ids": marked, "requested": technician_ids,
                                      "reason": reason})
        await uow.commit()
    return marked


async def undo_proposal(uow: UnitOfWork, ctx: Context, *, proposal_id: str,
                        records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Put back what a confirmation changed, while none of its jobs has started or changed since;
    technicians its emergency marked unavailable become available again."""
    ctx.principal.require(Permission.PROPOSAL_DECIDE)
    confirm = records.get("proposal.confirm", {})
    previous: dict[str, Any] = confirm.get("previous", {})
    versions: dict[str, int] = confirm.get("versions_after", {})
    marked: list[str] = records.get("emergency.unavailable", {}).get("technician_ids", [])
    async with uow:
        proposal = await _load(uow, ctx, proposal_id)
        if proposal.status not in {ProposalStatus.CONFIRMED, ProposalStatus.PARTIALLY_CONFIRMED}:
            raise Conflict(f"only a confirmed proposal can be undone; this one is "
                           f"{proposal.status.value}", code="proposal_not_confirmed")
        orders: list[WorkOrder] = []
        changed: list[str] = []
        for move in proposal.confirmed():
            order = await uow.work_orders.get(move.work_order_id)
            if order is None or order.version != versions.get(move.work_order_id) \
                    or order.is_started or not order.is_open:
                changed.append(move.work_order_id)
            else:
                orders.append(order)
        if changed:
            raise Conflict(f"work order(s) {', '.join(changed)} started or changed since the "
                           "confirmation; undo is no longer possible", code="undo_not_possible",
                           work_order_ids=changed)
        for tech_id in marked:
            tech = await uow.technicians.get(tech_id)
            if tech is not None and tech.status == TechnicianStatus.UNAVAILABLE:
                before_t = tech.snapshot()
                tech.change_status(TechnicianStatus.AVAILABLE, reason=f"undo of {proposal.id}")
                uow.audit(action="technician.status", entity_type="technician",
                          entity_id=tech.id, before=before_t, after=tech.snapshot())
        for order in orders:
            before = order.snapshot()
            prev = previous.get(order.id, {})
            prev_tech = prev.get("technician_id")
            if prev_tech is None:
                if order.status != WorkOrderStatus.NEW:
                    order.unassign(ctx.now, reason=f"undo of proposal {proposal.id}")
            else:
                arrival = prev.get("planned_arrival")
                order.assign(prev_tech, ctx.now, sequence=prev.get("sequence"),
                             planned_arrival=_parse(arrival), pinned=bool(prev.get("pinned")))
            uow.audit(action="work_order.assign", entity_type="work_order", entity_id=order.id,
                      before=before, after=order.snapshot())
        proposal.undo(f"undone by {ctx.principal.username}")
        after = proposal.snapshot()
        uow.audit(action="proposal.undo", entity_type="proposal", entity_id=proposal.id,
                  before=None, after=after)
        await uow.commit()
        return after


def _parse(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None
