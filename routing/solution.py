"""Turning solver routes into a ``DispatchSolution``: ETAs, reasons for the jobs left out, the
reassignments against the current plan, KPIs."""

from __future__ import annotations

from routing.layout import Layout, current_sequences, kpis, replay
from routing.problem import DispatchSolution, DroppedJob, Job, Plan, Reassignment, Route


def _drop_reason(job: Job) -> DroppedJob:
    if job.pinned_to is not None:
        return DroppedJob(
            job.id,
            "pinned_technician_unavailable",
            f"pinned to {job.pinned_to}, whose shift has no room left for it",
        )
    if job.priority == "low":
        return DroppedJob(
            job.id,
            "low_priority_deferred",
            "low priority: deferred because the technicians' time is taken by more urgent work",
        )
    return DroppedJob(
        job.id,
        "no_capacity",
        "no skilled technician has room for it within its time window and shift",
    )


def _current_owner(job: Job) -> str | None:
    """Who has the job now; may be a technician absent from the problem (marked unavailable),
    whose jobs then all show up as reassignments."""
    if job.started_by is not None:
        return job.started_by
    return job.current.technician_id if job.current is not None else None


def current_routes(layout: Layout) -> list[Route]:
    """The plan the dispatcher has now, replayed with the same travel times (for KPIs before)."""
    return [replay(layout, v, seq) for v, seq in enumerate(current_sequences(layout))]


def build_solution(
    layout: Layout,
    sequences: list[list[int]],
    excluded: dict[int, DroppedJob],
    *,
    status: str,
    seconds: float,
) -> DispatchSolution:
    problem = layout.problem
    routes = [replay(layout, v, seq) for v, seq in enumerate(sequences)]
    served = {stop.job_id for r in routes for stop in r.stops}
    dropped = [
        excluded.get(j) or _drop_reason(job) for j, job in enumerate(problem.jobs) if job.id not in served
    ]
    plan_routes = tuple(r for r in routes if r.stops)

    where = {
        stop.job_id: (r.technician_id, pos, stop.start) for r in routes for pos, stop in enumerate(r.stops)
    }
    reassignments: list[Reassignment] = []
    for job in problem.jobs:
        before = _current_owner(job)
        after = where.get(job.id)
        if before == (after[0] if after else None):
            continue
        if after is None:
            reassignments.append(Reassignment(job.id, before, None, None, None))
        else:
            reassignments.append(Reassignment(job.id, before, after[0], after[1], after[2]))
    moved = sum(1 for m in reassignments if m.from_technician is not None)

    plan = Plan(
        routes=plan_routes,
        dropped=tuple(dropped),
        kpis=kpis(plan_routes, moved),
    )
    before_routes = current_routes(layout)
    return DispatchSolution(
        plan=plan,
        reassignments=tuple(reassignments),
        kpis_before=kpis(before_routes, 0),
        kpis_after=plan.kpis,
        solve_seconds=round(seconds, 3),
        status=status,
    )
