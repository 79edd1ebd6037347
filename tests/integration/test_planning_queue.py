"""The solver queue with real solver processes and a real database: plans queue in order, each
time limit starts with its own solve, a timeout kills only its own solve, and a user runs one
plan at a time. The test solver (``planning_gates``) lets a test hold or hang a solve."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import Conflict, Unavailable
from domain.roles import Principal, Role
from domain.services.context import Context
from storage.uow import SqlUnitOfWork
from tests.integration import planning_gates
from tests.integration.test_planning_service import NOW, seed
from web.api.problems import from_domain
from web.planning.adapter import Scope
from web.planning.planner import Planner
from web.planning.queue import SolverQueue, Turn

TECH_2, TECH_4 = Scope("technicians", ("tech-2",)), Scope("technicians", ("tech-4",))


def user(name: str) -> Context:
    return Context(principal=Principal(user_id=f"user-{name}", username=name,
                                       roles=frozenset({Role.DISPATCHER})), now=NOW)


def service(engine: AsyncEngine, gates: Path, **queue: Any) -> Planner:
    return Planner(engine, queue=SolverQueue(**queue),
                           solve=functools.partial(planning_gates.solve, str(gates)))


async def wait_until(check: Callable[[], bool], what: str, limit: int = 1500) -> None:
    for _ in range(limit):  # bounded: 30 s at most
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def plan(svc: Planner, who: str, scope: Scope, limit: float) -> asyncio.Task[Any]:
    return asyncio.create_task(svc.plan(user(who), SqlUnitOfWork(svc.engine), scope, limit))


async def test_plans_queued_behind_a_busy_solver_each_get_their_own_time_limit(
        engine: AsyncEngine, tmp_path: Path) -> None:
    await seed(engine)
    svc = service(engine, tmp_path, workers=1, grace=0.5)
    try:
        async with svc.queue.slot(Turn("someone-else")):  # the only solver is busy
            first = plan(svc, "anna", TECH_2, 0.5)
            second = plan(svc, "ben", TECH_4, 1.0)
            await wait_until(lambda: svc.queue.waiting == 2, "both plans queued")
            # longer than either plan's limit plus grace: a limit counted from the request
            # (and not from the solve) would have run out while waiting
            await asyncio.sleep(2.0)
            assert not first.done() and not second.done()
        a, b = await first, await second
    finally:
        await svc.stop()
    assert a["solve"]["time_limit_seconds"] == 0.5 and b["solve"]["time_limit_seconds"] == 1.0
    assert a["solve"]["queued_seconds"] >= 2.0 and b["solve"]["queued_seconds"] >= 2.0
    assert a["created_by"] == "user-anna" and b["created_by"] == "user-ben"
    assert {m["to_technician_id"] for m in b["moves"]} <= {"tech-4", None}


async def test_a_plan_that_times_out_does_not_fail_another_users_running_plan(
        engine: AsyncEngine, tmp_path: Path) -> None:
    await seed(engine)
    (tmp_path / "tech-2.mode").write_text("hang")
    (tmp_path / "tech-4.mode").write_text("gate")
    svc = service(engine, tmp_path, workers=2, grace=1.0)
    try:
        hung = plan(svc, "anna", TECH_2, 0.5)
        await wait_until(lambda: (tmp_path / "tech-2.started").exists(), "anna's solve started")
        running = plan(svc, "ben", TECH_4, 1.0)
        await wait_until(lambda: (tmp_path / "tech-4.started").exists(), "ben's solve started")
        with pytest.raises(Unavailable) as failed:
            await hung
        assert from_domain(failed.value).status_code == 503
        assert failed.value.code == "solver_unavailable"
        assert not running.done()  # ben's solve is still in its own process
        (tmp_path / "tech-4.release").write_text("go")
        result = await running
        # the timed-out slot got a fresh process: anna plans again
        (tmp_path / "tech-2.mode").write_text("solve")
        again = await svc.plan(user("anna"), SqlUnitOfWork(engine), TECH_2, 0.5)
    finally:
        await svc.stop()
    assert result["status"] == "proposed" and result["solve"]["status"] != "empty"
    assert again["status"] == "proposed"


async def test_a_user_cannot_run_two_plans_at_once(engine: AsyncEngine, tmp_path: Path) -> None:
    await seed(engine)
    (tmp_path / "tech-2.mode").write_text("gate")
    svc = service(engine, tmp_path, workers=2, grace=30.0)
    try:
        first = plan(svc, "anna", TECH_2, 0.5)
        await wait_until(lambda: (tmp_path / "tech-2.started").exists(), "anna's solve started")
        with pytest.raises(Conflict) as refused:
            await svc.plan(user("anna"), SqlUnitOfWork(engine), TECH_4, 0.5)
        assert from_domain(refused.value).status_code == 409
        assert refused.value.code == "plan_in_progress"
        # another user is not held up by anna's plan
        other = await svc.plan(user("ben"), SqlUnitOfWork(engine), TECH_4, 0.5)
        (tmp_path / "tech-2.release").write_text("go")
        done = await first
        after = await svc.plan(user("anna"), SqlUnitOfWork(engine), TECH_4, 0.5)
    finally:
        await svc.stop()
    assert other["status"] == done["status"] == after["status"] == "proposed"


async def test_a_full_queue_answers_503_planner_busy(engine: AsyncEngine, tmp_path: Path) -> None:
    await seed(engine)
    svc = service(engine, tmp_path, workers=1, max_waiting=1)
    try:
        async with svc.queue.slot(Turn("someone-else")):
            waiting = plan(svc, "anna", TECH_2, 0.5)
            await wait_until(lambda: svc.queue.waiting == 1, "anna's plan queued")
            with pytest.raises(Unavailable) as busy:
                await svc.plan(user("ben"), SqlUnitOfWork(engine), TECH_4, 0.5)
        answer = from_domain(busy.value)
        assert answer.status_code == 503 and busy.value.code == "planner_busy"
        assert int(answer.headers["Retry-After"]) > 0
        assert (await waiting)["status"] == "proposed"
    finally:
        await svc.stop()
