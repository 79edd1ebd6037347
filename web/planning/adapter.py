"""Domain state <-> routing problem: the one place where datetimes become solver seconds.

``build_problem`` turns the live state (``storage.queries.planning.LiveState``) within a scope
into a ``routing.problem.DispatchProblem`` whose clock counts seconds from ``now``;
``to_domain`` turns the routing ``DispatchSolution`` into what a domain proposal holds: its
``Reassignment``s become domain ``Move``s (with the work-order version each was computed on and
readable reasons), its ``DroppedJob``s domain ``Unassigned`` entries, and its KPIs dicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.planning import Move, Unassigned
from domain.resources import TechnicianStatus
from domain.work_orders import STARTED_STATUSES, WorkOrderStatus
from routing import problem as rp
from storage.queries.planning import LiveState, OrderRow, TechnicianRow

#: Technicians who may be given work (on a break: back within the day).
WORKING = frozenset({TechnicianStatus.AVAILABLE, TechnicianStatus.EN_ROUTE,
                     TechnicianStatus.ON_SITE, TechnicianStatus.ON_BREAK})
#: A job without a time window may be done any time within this horizon.
OPEN_HORIZON_S = 24 * 3600
STARTED = frozenset(s.value for s in STARTED_STATUSES)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a plan covers: ``kind`` is ``store``, ``region``, ``all`` or ``technicians``."""

    kind: str
    ids: tuple[str, ...] = ()

    def label(self) -> str:
        return self.kind if self.kind == "all" else f"{self.kind}:{','.join(self.ids)}"[:200]


@dataclass(frozen=True, slots=True)
class Built:
    problem: rp.DispatchProblem
    reference: dt.datetime
    versions: dict[str, int]
    store_of: dict[str, str]
    names: dict[str, str]
    technicians: dict[str, TechnicianRow] = field(default_factory=dict)

    def at(self, seconds: int) -> dt.datetime:
        return self.reference + dt.timedelta(seconds=seconds)


def _secs(value: dt.datetime, reference: dt.datetime) -> int:
    return int((value - reference).total_seconds())


def vehicle(tech: TechnicianRow, now: dt.datetime) -> rp.Vehicle | None:
    """The technician as the solver sees them, or None when they cannot work any more today."""
    if TechnicianStatus(tech.status) not in WORKING:
        return None
    if tech.shift_start is None or tech.shift_end is None or tech.shift_end <= now:
        return None
    store = rp.Location(tech.store_lat, tech.store_lon)
    start = rp.Location(*tech.position) if tech.position is not None else store
    return rp.Vehicle(
        technician_id=tech.id, start=start, shift_start=_secs(tech.shift_start, now),
        shift_end=_secs(tech.shift_end, now), end=store, skills=tech.skills,
    )


def job(order: OrderRow, now: dt.datetime, *, workable: set[str],
        soft_windows: bool = False) -> rp.Job | None:
    """The work order as the solver sees it, or None when it is not the planner's to place
    (started by, or pinned to, a technician outside the problem)."""
    service_s = order.estimated_minutes * 60
    started_by = order.technician_id if order.status in STARTED else None
    if started_by is not None:
        if started_by not in workable:
            return None
        if order.status == WorkOrderStatus.ON_SITE.value:
            elapsed = _secs(now, order.status_changed_at)
            service_s = max(60, service_s - max(0, elapsed))
    pinned = order.technician_id if order.pinned and order.technician_id else None
    if pinned is not None and pinned not in workable:
        return None
    if order.window_start is not None and order.window_end is not None:
        w_start, w_end = _secs(order.window_start, now), _secs(order.window_end, now)
    else:
        w_start, w_end = 0, OPEN_HORIZON_S
    current = None
    if order.technician_id is not None and started_by is None:
        current = rp.CurrentAssignment(order.technician_id, order.sequence or 0)
    return rp.Job(
        id=order.id, location=rp.Location(order.lat, order.lon), window_start=w_start,
        window_end=max(w_start, w_end), service_s=service_s,
        priority=order.priority,  # type: ignore[arg-type]  # same four values as the domain
        required_skills=order.required_skills, pinned_to=pinned, started_by=started_by,
        current=current, soft_window=soft_windows,
    )


def _in_scope_techs(state: LiveState, scope: Scope) -> list[TechnicianRow]:
    ids = set(scope.ids)
    if scope.kind == "all":
        return list(state.technicians)
    if scope.kind == "store":
        return [t for t in state.technicians if t.home_store_id in ids]
    if scope.kind == "region":
        return [t for t in state.technicians if t.region in ids]
    return [t for t in state.technicians if t.id in ids]


def build_problem(
    state: LiveState, scope: Scope, now: dt.datetime, *,
    extra_jobs: Iterable[str] = (), settings: rp.DispatchSettings | None = None,
    soft_windows: bool = False, orphans: bool = True,
) -> Built:
    """The problem for ``scope``: its workable technicians, their current jobs, and the
    unassigned (or orphaned: their technician cannot work) jobs of the stores in scope, plus
    ``extra_jobs`` by id (an emergency's affected jobs)."""
    techs = _in_scope_techs(state, scope)
    vehicles = {t.id: v for t in techs if (v := vehicle(t, now)) is not None}
    all_working = {t.id for t in state.technicians if vehicle(t, now) is not None}
    stores = {t.home_store_id for t in techs}
    regions = {t.region for t in techs}
    if scope.kind == "store":
        stores |= set(scope.ids)
    extra = set(extra_jobs)
    jobs: list[rp.Job] = []
    for order in state.orders:
        mine = order.technician_id in vehicles
        orphan = order.technician_id is None or order.technician_id not in all_working
        in_area = (scope.kind == "all" or order.store_id in stores
                   or (scope.kind == "region" and order.region in regions))
        if not (mine or order.id in extra or (orphans and orphan and in_area)):
            continue
        built = job(order, now, workable=set(vehicles), soft_windows=soft_windows)
        if built is not None and (built.started_by is None or built.started_by in vehicles):
            jobs.append(built)
    problem = rp.DispatchProblem(
        now=0, vehicles=tuple(vehicles.values()), jobs=tuple(jobs),
        settings=settings or rp.DispatchSettings(),
    )
    return Built(
        problem=problem, reference=now,
        versions={o.id: o.version for o in state.orders},
        store_of={o.id: o.store_id for o in state.orders},
        names={t.id: t.name for t in state.technicians},
        technicians={t.id: t for t in state.technicians},
    )


def _clock(value: dt.datetime) -> str:
    return value.strftime("%H:%M UTC")


def _reasons(change: rp.Reassignment, built: Built, dropped: dict[str, rp.DroppedJob]) -> tuple[str, ...]:
    job_by_id = {j.id: j for j in built.problem.jobs}
    j = job_by_id[change.job_id]
    out: list[str] = []
    before, after = change.from_technician, change.to_technician
    if before is None:
        out.append("was not assigned")
    elif before not in {v.technician_id for v in built.problem.vehicles}:
        tech = built.technicians.get(before)
        status = tech.status.replace("_", " ") if tech else "not working"
        out.append(f"{built.names.get(before, before)} cannot take it ({status})")
    else:
        out.append(f"moved from {built.names.get(before, before)}: the plan is cheaper overall "
                   "(less driving or lateness) even after the cost of moving it")
    if after is None:
        gone = dropped.get(change.job_id)
        out.append(gone.message if gone else "left out of the plan")
    else:
        if change.eta is not None:
            out.append(f"{built.names.get(after, after)} can start at {_clock(built.at(change.eta))}"
                       f" (position {(change.position or 0) + 1} on the route)")
        if j.required_skills:
            out.append(f"holds the skill(s) {', '.join(sorted(j.required_skills))}")
    if j.priority in {"emergency", "high"}:
        out.append(f"{j.priority} priority")
    if j.window_end < OPEN_HORIZON_S and j.window_start != 0:
        out.append(f"window {_clock(built.at(j.window_start))}-{_clock(built.at(j.window_end))}")
    return tuple(out)


def kpis(k: rp.Kpis) -> dict[str, float]:
    return {"drive_km": round(k.drive_km, 2), "lateness_minutes": round(k.lateness_minutes, 1),
            "jobs_served": k.jobs_served, "jobs_moved": k.jobs_moved}


def to_domain(
    solution: rp.DispatchSolution, built: Built,
) -> tuple[tuple[Move, ...], tuple[Unassigned, ...], dict[str, float], dict[str, float]]:
    dropped = {d.job_id: d for d in solution.plan.dropped}
    moves = tuple(
        Move(
            work_order_id=m.job_id, from_technician_id=m.from_technician,
            to_technician_id=m.to_technician, position=m.position,
            eta=built.at(m.eta) if m.eta is not None else None,
            reasons=_reasons(m, built, dropped), work_order_version=built.versions[m.job_id],
        )
        for m in solution.reassignments
    )
    unassigned = tuple(Unassigned(d.job_id, d.reason, d.message) for d in solution.plan.dropped)
    return moves, unassigned, kpis(solution.kpis_before), kpis(solution.kpis_after)
