"""The planning adapter, service and use cases against a real database and a real solve.

A small known world: tech-1 is driving to a job (started), a job is pinned to tech-2, tech-3 is
unavailable with a job on their route, and two new jobs need a skill only some technicians hold.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import Conflict
from domain.geo import Location, TimeWindow
from domain.resources import OpeningHours, Shift, Store, Technician, TechnicianStatus
from domain.roles import Principal, Role
from domain.services import planning as uc
from domain.services import work_orders as wo_uc
from domain.services.context import Context
from domain.work_orders import Priority, WorkOrder, WorkOrderStatus
from routing.matrix import GreatCircleProvider
from routing.validator import check_plan
from storage import tables as t
from storage.queries.planning import load_live_state, proposal_records
from storage.uow import SqlUnitOfWork
from web.planning.adapter import Scope, build_problem
from web.planning.planner import Planner

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
COORD = Principal(user_id="user-c", username="coordinator",
                  roles=frozenset({Role.EMERGENCY_COORDINATOR}))


def ctx() -> Context:
    return Context(principal=COORD, now=NOW)


def _order(n: int, **kw: object) -> WorkOrder:
    base: dict[str, object] = {
        "id": f"wo-{n}", "store_id": "store-1", "priority": Priority.NORMAL,
        "location": Location(32.75 + n / 200, -96.80 + n / 300), "description": f"job {n}",
        "created_at": NOW - dt.timedelta(hours=1), "created_by": "system", "estimated_minutes": 45,
        "time_window": TimeWindow(NOW, NOW + dt.timedelta(hours=6)),
    }
    base.update(kw)
    order = WorkOrder(**base)  # type: ignore[arg-type]
    order.events.clear()
    return order


async def seed(engine: AsyncEngine) -> None:
    shift = Shift(NOW - dt.timedelta(hours=2), NOW + dt.timedelta(hours=8))
    async with SqlUnitOfWork(engine) as uow:
        uow.stores.add(Store(id="store-1", code="S1", name="Store 1", region="Dallas",
                             location=Location(32.75, -96.8),
                             hours=OpeningHours(dt.time(7), dt.time(19))))
        for n, skills, status in ((1, {"hvac"}, TechnicianStatus.EN_ROUTE),
                                  (2, {"hvac", "gas"}, TechnicianStatus.AVAILABLE),
                                  (3, {"gas"}, TechnicianStatus.UNAVAILABLE),
                                  (4, {"gas"}, TechnicianStatus.AVAILABLE)):
            uow.technicians.add(Technician(id=f"tech-{n}", name=f"Tech {n}",
                                           home_store_id="store-1", skills=frozenset(skills),
                                           shift=shift, status=status))
        started = _order(1, status=WorkOrderStatus.EN_ROUTE, technician_id="tech-1", sequence=0,
                         time_window=None)
        pinned = _order(2, status=WorkOrderStatus.ASSIGNED, technician_id="tech-2", sequence=0,
                        pinned=True)
        orphan = _order(3, status=WorkOrderStatus.ASSIGNED, technician_id="tech-3", sequence=0,
                        required_skills=frozenset({"gas"}))
        for o in (started, pinned, orphan, _order(4, required_skills=frozenset({"gas"})),
                  _order(5, priority=Priority.EMERGENCY, time_window=None)):
            uow.work_orders.add(o)
        await uow.commit()


async def test_the_adapter_keeps_started_and_pinned_jobs_and_frees_orphans(
        engine: AsyncEngine) -> None:
    await seed(engine)
    async with engine.connect() as conn:
        state = await load_live_state(conn, COORD)
    built = build_problem(state, Scope("all"), NOW)
    jobs = {j.id: j for j in built.problem.jobs}
    assert {v.technician_id for v in built.problem.vehicles} == {"tech-1", "tech-2", "tech-4"}
    assert jobs["wo-1"].started_by == "tech-1" and jobs["wo-1"].current is None
    assert jobs["wo-2"].pinned_to == "tech-2"
    assert jobs["wo-3"].current is not None and jobs["wo-3"].current.technician_id == "tech-3"
    assert jobs["wo-4"].required_skills == frozenset({"gas"})
    assert jobs["wo-5"].priority == "emergency" and jobs["wo-5"].window_start == 0
    assert jobs["wo-4"].window_end == 6 * 3600 and built.problem.now == 0
    assert built.versions["wo-3"] == 1
    scoped = build_problem(state, Scope("technicians", ("tech-4",)), NOW)
    assert {j.id for j in scoped.problem.jobs} == {"wo-3", "wo-4", "wo-5"}


async def test_plan_confirm_then_undo_is_refused_once_a_job_started(engine: AsyncEngine) -> None:
    await seed(engine)
    service = Planner(engine)
    try:
        proposal = await service.plan(ctx(), SqlUnitOfWork(engine), Scope("all"), 1.0)
    finally:
        await service.stop()
    problem, solution = service.solutions[proposal["id"]]
    assert check_plan(problem, solution.plan, GreatCircleProvider()) == []
    moves = {m["work_order_id"]: m for m in proposal["moves"]}
    assert "wo-1" not in moves and "wo-2" not in moves  # started and pinned jobs stay
    assert moves["wo-3"]["from_technician_id"] == "tech-3"
    assert moves["wo-3"]["to_technician_id"] in {"tech-2", "tech-4"}
    assert any("unavailable" in r for r in moves["wo-3"]["reasons"])
    assert moves["wo-4"]["to_technician_id"] in {"tech-2", "tech-4"}
    assert proposal["solve"]["loop_lag_samples"] > 0

    confirmed = await uc.confirm_proposal(SqlUnitOfWork(engine), ctx(),
                                          proposal_id=proposal["id"], work_order_ids=None)
    assert confirmed["status"] == "confirmed"
    async with engine.connect() as conn:
        records = await proposal_records(conn, proposal["id"])
    assert records["proposal.confirm"]["previous"]["wo-3"]["technician_id"] == "tech-3"

    mover = moves["wo-4"]["to_technician_id"]
    for step in ("accept", "en_route"):
        await wo_uc.technician_step(SqlUnitOfWork(engine), ctx(), work_order_id="wo-4",
                                    step=step, technician_id=mover)
    with pytest.raises(Conflict) as refused:
        await uc.undo_proposal(SqlUnitOfWork(engine), ctx(), proposal_id=proposal["id"],
                               records=records)
    assert refused.value.code == "undo_not_possible" and "wo-4" in refused.value.message
    async with engine.connect() as conn:
        status = (await conn.execute(select(t.proposals.c.status).where(
            t.proposals.c.id == proposal["id"]))).scalar()
    assert status == "confirmed"


async def test_a_proposal_past_its_expiry_is_expired_on_confirm(engine: AsyncEngine) -> None:
    await seed(engine)
    service = Planner(engine)
    try:
        proposal = await service.plan(ctx(), SqlUnitOfWork(engine),
                                      Scope("technicians", ("tech-4",)), 1.0)
    finally:
        await service.stop()
    late = Context(principal=COORD, now=NOW + dt.timedelta(minutes=11))
    with pytest.raises(Conflict) as refused:
        await uc.confirm_proposal(SqlUnitOfWork(engine), late, proposal_id=proposal["id"],
                                  work_order_ids=None)
    assert refused.value.code == "proposal_expired"
    async with engine.connect() as conn:
        status = (await conn.execute(select(t.proposals.c.status).where(
            t.proposals.c.id == proposal["id"]))).scalar()
    assert status == "expired"
