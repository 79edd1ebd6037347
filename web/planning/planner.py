"""The planning service of a web worker: candidates in process, plans in a solver process.

* ``candidates`` answers from a ``routing.candidates.CandidateState`` cached per event-log mark
  (rebuilt when any change was committed, or after ``STATE_TTL_S`` for moving vans).
* ``plan`` loads the live state, builds the problem and runs ``routing.dispatch_model.plan`` in
  a solver process from ``web.planning.queue.SolverQueue``: a bounded set of warm processes
  handed out first come first served, one plan per user at a time, the time limit armed when
  the solve starts, and a timeout or a cancelled request killing that solve's process alone.
  While it runs, a 10 ms ticker measures the event loop's lag, reported in the answer's
  ``solve`` block and logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.aggregate import new_id
from domain.errors import NotFound, RuleViolation, Unavailable
from domain.planning import Proposal
from domain.ports import UnitOfWork
from domain.roles import Principal, Role
from domain.services import planning as uc
from domain.services.context import Context
from routing import problem as rp
from routing.candidates import CandidateState, candidates
from storage.queries.planning import LiveState, OrderRow, event_mark, load_live_state
from web.planning import worker
from web.planning.adapter import Built, Scope, build_problem, job, to_domain
from web.planning.queue import SolveFailed, SolverQueue, Turn
from web.planning.shared import SharedPlanning
from web.settings import Settings

log = logging.getLogger("dispatch.planning")
STATE_TTL_S = 30.0
#: How often the event log is asked whether anything changed (bounds how stale candidates are).
MARK_CHECK_S = 0.25
EXPIRES_AFTER = dt.timedelta(minutes=10)
SYSTEM = Principal(user_id="system", username="planner", roles=frozenset({Role.ADMIN}))


@dataclass
class _Cached:
    mark: int
    built_at: float
    reference: dt.datetime
    state: LiveState
    built: Built
    candidates: CandidateState
    orders: dict[str, OrderRow]
    checked_at: float = 0.0


class LagProbe:
    """Samples how late a 10 ms sleep wakes up: the event loop's lag while something runs."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, loop.time() - start - self.interval))

    def __enter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.samples) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return {"loop_lag_max_ms": round(ordered[-1] * 1000, 2),
                "loop_lag_p99_ms": round(p99 * 1000, 2), "loop_lag_samples": len(self.samples)}


def effective_limit(requested: float, jobs: int) -> float:
    """The requested limit, capped for small problems (guided local search has nothing left to
    find in a 20-job problem after a second): 50 ms per job, at least one second."""
    return min(requested, max(1.0, 0.05 * jobs))


def _build_cache(state: LiveState, now: dt.datetime) -> _Cached:
    """Off the event loop: the problem over everything and its candidate state."""
    built = build_problem(state, Scope("all"), now)
    cand = CandidateState.build(built.problem)
    clock = time.monotonic()
    return _Cached(state.mark, clock, now, state, built, cand, {o.id: o for o in state.orders},
                   clock)


def _nobody(problem: rp.DispatchProblem) -> rp.DispatchSolution:
    """The answer without a solve: no technician (or no job) in scope."""
    left = tuple(rp.DroppedJob(j.id, "no_capacity", "no technician in the plan's scope can work")
                 for j in problem.jobs)
    changes = tuple(rp.Reassignment(j.id, j.current.technician_id, None, None, None)
                    for j in problem.jobs if j.current is not None)
    after = rp.Kpis(0.0, 0.0, 0, len(changes))
    before = rp.Kpis(0.0, 0.0, len(changes), 0)
    return rp.DispatchSolution(plan=rp.Plan((), left, after), reassignments=changes,
                               kpis_before=before, kpis_after=after, solve_seconds=0.0,
                               status="empty")


class Planner:
    def __init__(self, engine: AsyncEngine, *, keep_solutions: int = 32,
                 queue: SolverQueue | None = None,
                 solve: Callable[[rp.DispatchProblem, float], rp.DispatchSolution] = worker.solve,
                 ) -> None:
        self.engine = engine
        #: The solver processes and their queue (one per web process).
        self.queue = queue or SolverQueue()
        #: What a solver process runs: a picklable module-level function (tests pass their own).
        self.solve_fn = solve
        self._cache: _Cached | None = None
        self._lock = asyncio.Lock()
        self.keep_solutions = keep_solutions
        #: proposal id -> (problem, the solver's solution), for re-checks (tests, diagnostics).
        self.solutions: OrderedDict[str, tuple[rp.DispatchProblem, rp.DispatchSolution]] = (
            OrderedDict())
        #: Told of every solve (its figures: seconds, status ...), for the metrics.
        self.on_solved: Callable[[dict[str, Any]], None] | None = None

    @classmethod
    def from_settings(cls, engine: AsyncEngine, settings: Settings) -> Planner:
        """With ``REDIS_URL`` the queue is the cluster's (every web process shares it)."""
        shared = (SharedPlanning(settings.redis_url, settings.redis_prefix,
                                 slots=settings.planning_workers,
                                 max_waiting=settings.planning_max_waiting)
                  if settings.redis_url else None)
        return cls(engine, queue=SolverQueue(
            workers=settings.planning_workers, max_waiting=settings.planning_max_waiting,
            queue_timeout=settings.planning_queue_timeout_seconds, shared=shared))

    # -- lifecycle -------------------------------------------------------------------------------

    async def stop(self) -> None:
        await self.queue.stop()

    # -- candidates ------------------------------------------------------------------------------

    async def _state(self, now: dt.datetime) -> _Cached:
        cached = self._cache
        clock = time.monotonic()
        if cached and clock - cached.built_at < STATE_TTL_S:
            if clock - cached.checked_at < MARK_CHECK_S:
                return cached
            async with self.engine.connect() as conn:
                mark = await event_mark(conn)
            if mark == cached.mark:
                cached.checked_at = clock
                return cached
        async with self._lock:
            if self._cache is not cached and self._cache is not None:
                return self._cache
            async with self.engine.connect() as conn:
                state = await load_live_state(conn, SYSTEM)
            self._cache = await asyncio.to_thread(_build_cache, state, now)
            return self._cache

    async def candidates(self, principal: Principal, work_order_id: str, k: int,
                         now: dt.datetime) -> dict[str, Any]:
        cached = await self._state(now)
        order = cached.orders.get(work_order_id)
        if order is None:  # created within the last mark check? ask the event log now
            cached.checked_at = 0.0
            cached = await self._state(now)
            order = cached.orders.get(work_order_id)
        if order is None or not principal.sees_store(order.store_id):
            raise NotFound("work order", work_order_id)
        workable = {v.technician_id for v in cached.built.problem.vehicles}
        target = job(order, cached.reference, workable=workable)
        if target is None or target.started_by is not None:
            raise RuleViolation("the job has started; it stays with its technician",
                                code="job_started")
        state = cached.candidates
        if target.current is not None:  # already on a route: rank it as if it were not
            problem = dataclasses.replace(
                cached.built.problem,
                jobs=tuple(j for j in cached.built.problem.jobs if j.id != work_order_id))
            state = await asyncio.to_thread(CandidateState.build, problem)
            target = dataclasses.replace(target, current=None)
        ranked = candidates(target, state, k=k + 20 if principal.store_ids is not None else k)
        techs = cached.built.technicians
        items = []
        for c in ranked:
            tech = techs[c.technician_id]
            if not principal.sees_store(tech.home_store_id):
                continue
            items.append({
                "technician_id": c.technician_id, "name": tech.name,
                "home_store_id": tech.home_store_id, "position": c.position,
                "arrival": cached.built.at(c.arrival), "eta": cached.built.at(c.eta),
                "added_drive_seconds": c.added_drive_s, "added_drive_km": round(
                    c.added_drive_m / 1000, 2),
                "slack_seconds": c.slack_s, "lateness_seconds": c.lateness_s,
                "lateness_risk": c.lateness_risk, "binding": list(c.binding),
                "currently_assigned": c.technician_id == order.technician_id,
            })
        return {"work_order_id": work_order_id, "items": items[:k],
                "computed_at": cached.reference, "state_mark": cached.mark}

    # -- plans -----------------------------------------------------------------------------------

    async def _solve(self, problem: rp.DispatchProblem, requested: float, turn: Turn
                     ) -> tuple[rp.DispatchSolution, dict[str, Any]]:
        time_limit = effective_limit(requested, len(problem.jobs))
        if not problem.vehicles or not problem.jobs:
            started = time.monotonic()
            with LagProbe() as probe:
                result = _nobody(problem)
        else:
            async with self.queue.slot(turn) as slot:
                started = time.monotonic()  # the limit counts from here, not from the queue
                with LagProbe() as probe:
                    try:
                        result = await self.queue.solve(slot, self.solve_fn, problem, time_limit,
                                                        time_limit=time_limit)
                    except SolveFailed as error:
                        log.warning("plan failed in solver %s: %s", slot.number, error)
                        raise Unavailable("the optimizer did not answer; try again",
                                          code="solver_unavailable") from error
        block = {"seconds": round(time.monotonic() - started, 3),
                 "queued_seconds": round(turn.queued_seconds, 3),
                 "solver_seconds": result.solve_seconds, "status": result.status,
                 "time_limit_seconds": requested, "effective_limit_seconds": time_limit,
                 "technicians": len(problem.vehicles),
                 "jobs": len(problem.jobs), **probe.summary()}
        log.info("plan solved: %s", block)
        if self.on_solved is not None:
            self.on_solved(block)
        return result, block

    async def plan(
        self, ctx: Context, uow: UnitOfWork, scope: Scope, time_limit: float, *,
        extra_jobs: tuple[str, ...] = (), orphans: bool = True, proposal_id: str | None = None,
        extra: dict[str, Any] | None = None, allow_lateness: bool = False,
    ) -> dict[str, Any]:
        """Solve and store a proposal: one at a time per user (409 ``plan_in_progress``), the
        solve queued for a solver process (503 ``planner_busy`` when the queue is full)."""
        async with self.queue.user_turn(ctx.principal.user_id):
            return await self._plan(ctx, uow, scope, time_limit, extra_jobs=extra_jobs,
                                    orphans=orphans, proposal_id=proposal_id, extra=extra,
                                    allow_lateness=allow_lateness)

    async def _plan(
        self, ctx: Context, uow: UnitOfWork, scope: Scope, time_limit: float, *,
        extra_jobs: tuple[str, ...], orphans: bool, proposal_id: str | None,
        extra: dict[str, Any] | None, allow_lateness: bool,
    ) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            state = await load_live_state(conn, ctx.principal)
        built = await asyncio.to_thread(
            build_problem, state, scope, ctx.now, extra_jobs=extra_jobs, orphans=orphans,
            soft_windows=allow_lateness)
        result, block = await self._solve(built.problem, time_limit, Turn(ctx.principal.user_id))
        moves, unassigned, before, after = await asyncio.to_thread(to_domain, result, built)
        touched = [m.work_order_id for m in moves] + [u.work_order_id for u in unassigned]
        proposal = Proposal(
            id=proposal_id or new_id(), scope=scope.label(), moves=moves, unassigned=unassigned,
            kpis_before=before, kpis_after=after, created_at=ctx.now,
            created_by=ctx.principal.user_id, expires_at=ctx.now + EXPIRES_AFTER,
            store_ids=frozenset(built.store_of[w] for w in touched),
        )
        stored = await uc.store_proposal(uow, ctx, proposal, extra={"solve": block, **(extra or {})})
        self.solutions[proposal.id] = (built.problem, result)
        while len(self.solutions) > self.keep_solutions:
            self.solutions.popitem(last=False)
        return {**stored, "solve": block}

    async def affected_jobs(self, ctx: Context, technician_ids: list[str]) -> tuple[str, ...]:
        """Open, not started work orders of these technicians."""
        async with self.engine.connect() as conn:
            state = await load_live_state(conn, ctx.principal)
        ids = set(technician_ids)
        return tuple(o.id for o in state.orders
                     if o.technician_id in ids and o.status not in {"en_route", "on_site"})

    async def technicians_in_area(self, ctx: Context, south: float, west: float, north: float,
                                  east: float) -> tuple[list[str], list[str]]:
        """Technicians whose van (or, without a position, home store) is inside the box, and
        the regions of their home stores."""
        async with self.engine.connect() as conn:
            state = await load_live_state(conn, ctx.principal)
        inside = []
        regions = set()
        for tech in state.technicians:
            lat, lon = tech.position or (tech.store_lat, tech.store_lon)
            if south <= lat <= north and west <= lon <= east:
                inside.append(tech.id)
                regions.add(tech.region)
        return inside, sorted(regions)

    async def regions_of(self, ctx: Context, technician_ids: list[str]) -> list[str]:
        async with self.engine.connect() as conn:
            state = await load_live_state(conn, ctx.principal)
        ids = set(technician_ids)
        found = {t.id: t.region for t in state.technicians if t.id in ids}
        missing = [t for t in technician_ids if t not in found]
        if missing:
            raise NotFound("technician", missing[0])
        return sorted(set(found.values()))
