"""Proposals (plan, review, confirm all or part, reject, undo), candidates for a job, and the
emergency coordinator's tools. See docs/proposals.md."""

from __future__ import annotations

from typing import Any

from domain.aggregate import new_id
from domain.errors import NotFound
from domain.roles import Permission
from domain.services import planning as uc
from domain.services.work_orders import create_work_order
from domain.work_orders import Priority
from storage import mapping
from storage.engine import read_connection
from storage.queries.planning import list_proposals, proposal_records, proposal_row
from web.api.framework import AnyCall, Api, Call, Empty, NoInput
from web.api.proposal_schemas import (
    CandidateQuery,
    CandidatesOut,
    ConfirmIn,
    EmergencyJobIn,
    EmergencyJobOut,
    EmergencyOut,
    PlanIn,
    ProposalOut,
    ProposalPage,
    ProposalQuery,
    RejectIn,
    UnavailableIn,
)
from web.api.work_orders import new_work_order, with_tracking
from web.planning.adapter import Scope
from web.planning.planner import Planner

api = Api()
TAG = "proposals"
DECIDE_ERRORS = (400, 403, 404, 409, 422)


def _planning(call: AnyCall) -> Planner:
    service: Planner = call.runtime.planning
    return service


def _scope(body: PlanIn) -> Scope:
    s = body.scope
    if s.all:
        return Scope("all")
    if s.store_id:
        return Scope("store", (s.store_id,))
    if s.region:
        return Scope("region", (s.region,))
    return Scope("technicians", tuple(dict.fromkeys(s.technician_ids or ())))


@api.route("POST", "/api/proposals", summary="Ask the optimizer for a plan", tag=TAG,
           body=PlanIn, response=ProposalOut, status=201, errors=(400, 403, 409, 422, 503),
           permissions=(Permission.PROPOSAL_REQUEST,))
async def create_proposal(call: Call[PlanIn, Empty]) -> dict[str, Any]:
    """Scope: ``{"store_id"}``, ``{"region"}``, ``{"all": true}`` or ``{"technician_ids"}``.
    The solve runs in a separate process within ``time_limit_seconds``; the answer is the stored
    proposal (moves as a diff with reasons, unassigned jobs with reasons, KPIs before/after,
    ``expires_at``) plus a ``solve`` block (seconds, event-loop lag measured meanwhile).
    One plan per user at a time (409 ``plan_in_progress``); plans queue for a solver, and the
    time limit counts from the solve's start (503 ``planner_busy`` when the queue is full)."""
    ctx = call.context()
    return await _planning(call).plan(ctx, call.uow(), _scope(call.body),
                                      call.body.time_limit_seconds,
                                      allow_lateness=call.body.allow_lateness)


@api.route("GET", "/api/proposals", summary="Proposals (open ones by default)", tag=TAG,
           query=ProposalQuery, response=ProposalPage, errors=(403,),
           permissions=(Permission.PROPOSAL_VIEW,))
async def get_proposals(call: Call[Empty, ProposalQuery]) -> dict[str, Any]:
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        rows, total = await list_proposals(conn, call.principal, open_only=q.status == "open",
                                           now=call.runtime.now(), limit=q.limit,
                                           offset=q.offset)
    items = [mapping.proposal_from_row(r).snapshot() for r in rows]
    return {"items": items, "total": total, "limit": q.limit, "offset": q.offset}


@api.route("GET", "/api/proposals/{id}", summary="A proposal", tag=TAG, response=ProposalOut,
           errors=(403, 404), permissions=(Permission.PROPOSAL_VIEW,))
async def get_proposal(call: NoInput) -> dict[str, Any]:
    proposal_id = call.path_id("proposal")
    async with read_connection(call.runtime.engine) as conn:
        row = await proposal_row(conn, call.principal, proposal_id)
    if row is None:
        raise NotFound("proposal", proposal_id)
    return mapping.proposal_from_row(row).snapshot()


@api.route("POST", "/api/proposals/{id}/confirm", summary="Confirm all or part of a proposal",
           tag=TAG, body=ConfirmIn, response=ProposalOut, errors=DECIDE_ERRORS,
           permissions=(Permission.PROPOSAL_DECIDE,))
async def confirm(call: Call[ConfirmIn, Empty]) -> dict[str, Any]:
    """``work_order_ids: null`` confirms every move. All chosen moves commit in one
    transaction; if any work order changed since the proposal was computed, the proposal
    expires and the answer is 409 naming the changed orders."""
    return await uc.confirm_proposal(call.uow(), call.context(),
                                     proposal_id=call.path_id("proposal"),
                                     work_order_ids=call.body.work_order_ids)


@api.route("POST", "/api/proposals/{id}/reject", summary="Reject a proposal", tag=TAG,
           body=RejectIn, response=ProposalOut, errors=DECIDE_ERRORS,
           permissions=(Permission.PROPOSAL_DECIDE,))
async def reject(call: Call[RejectIn, Empty]) -> dict[str, Any]:
    return await uc.reject_proposal(call.uow(), call.context(),
                                    proposal_id=call.path_id("proposal"),
                                    reason=call.body.reason)


@api.route("POST", "/api/proposals/{id}/undo", summary="Undo a confirmed proposal", tag=TAG,
           response=ProposalOut, errors=DECIDE_ERRORS,
           permissions=(Permission.PROPOSAL_DECIDE,))
async def undo(call: NoInput) -> dict[str, Any]:
    """Puts every confirmed move back (technician, sequence, planned arrival) while none of
    its jobs has started or changed; technicians its emergency marked unavailable become
    available again."""
    proposal_id = call.path_id("proposal")
    async with read_connection(call.runtime.engine) as conn:
        records = await proposal_records(conn, proposal_id)
    return await uc.undo_proposal(call.uow(), call.context(), proposal_id=proposal_id,
                                  records=records)


@api.route("GET", "/api/work-orders/{id}/candidates", summary="Who should take this job?",
           tag=TAG, query=CandidateQuery, response=CandidatesOut, errors=(403, 404, 422),
           permissions=(Permission.PROPOSAL_VIEW, Permission.WORK_ORDER_ASSIGN))
async def work_order_candidates(call: Call[Empty, CandidateQuery]) -> dict[str, Any]:
    """The ``k`` technicians who can take the job at the least added driving, by cheapest
    insertion into their current routes: ETA, added drive, slack, lateness risk and the
    constraints close to binding. No solve; answered from a cached state."""
    return await _planning(call).candidates(call.principal, call.path_id("work order"), call.query.k,
                                            call.runtime.now())


@api.route("POST", "/api/emergency/unavailable",
           summary="Mark technicians (or an area) unavailable and re-plan their jobs", tag=TAG,
           body=UnavailableIn, response=EmergencyOut, status=201,
           errors=(400, 403, 404, 409, 422, 503),
           permissions=(Permission.EMERGENCY_BULK,))
async def emergency_unavailable(call: Call[UnavailableIn, Empty]) -> dict[str, Any]:
    """Marks them unavailable (committed at once), then answers one proposal for their jobs
    that have not started, among the other technicians of their regions. Confirming it is the
    one-step commit; ``POST /api/proposals/{id}/undo`` reverts both."""
    ctx, planning = call.context(), _planning(call)
    ctx.principal.require(Permission.EMERGENCY_BULK)
    async with planning.queue.user_turn(ctx.principal.user_id):  # before marking: 409 changes nothing
        return await _mark_and_plan(call, planning)


async def _mark_and_plan(call: Call[UnavailableIn, Empty], planning: Planner
                         ) -> dict[str, Any]:
    b, ctx = call.body, call.context()
    if b.area is not None:
        a = b.area
        tech_ids, regions = await planning.technicians_in_area(ctx, a.south, a.west, a.north,
                                                               a.east)
    else:
        tech_ids = list(dict.fromkeys(b.technician_ids or ()))
        regions = await planning.regions_of(ctx, tech_ids)
    affected = await planning.affected_jobs(ctx, tech_ids)
    proposal_id = new_id()
    marked = await uc.mark_unavailable(call.uow(), ctx, technician_ids=tech_ids,
                                       proposal_id=proposal_id, reason=b.reason)
    result = await planning.plan(
        call.context(), call.uow(), Scope("region", tuple(regions)), b.time_limit_seconds,
        extra_jobs=affected, orphans=False, proposal_id=proposal_id,
        extra={"marked_unavailable": marked})
    return {**result, "marked_unavailable": marked}


@api.route("POST", "/api/emergency/jobs", summary="Create an emergency job with its candidates",
           tag=TAG, body=EmergencyJobIn, response=EmergencyJobOut, status=201,
           errors=(400, 403, 404, 409, 422), permissions=(Permission.EMERGENCY_CREATE,))
async def emergency_job(call: Call[EmergencyJobIn, Empty]) -> dict[str, Any]:
    """Creates the work order with priority emergency (announced to the board by its event) and
    answers it together with its top ``k`` candidates."""
    new = new_work_order(call.body, priority=Priority.EMERGENCY)  # an EmergencyJobIn is a WorkOrderIn
    order = await with_tracking(call, await create_work_order(call.uow(), call.context(), new),
                                new=True)
    ranked = await _planning(call).candidates(call.principal, order["id"], call.body.k,
                                              call.runtime.now())
    return {"work_order": order, "candidates": ranked["items"]}

