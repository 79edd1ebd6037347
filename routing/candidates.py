"""``candidates(job, state, k)``: who should take this job? Answered without a solve.

``CandidateState.build`` replays the current routes once (per change of the board); each query
then computes the job's travel to and from every stop in two vectorized calls and tests every
insertion position of every route at once (see ``routing.insertion``). The answer per technician
is the cheapest feasible position: ETA, added driving, how much slack is left (lateness risk) and
which constraints are close to binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from routing.insertion import InsertionTable, StopTimes
from routing.matrix import Coords, GreatCircleProvider, TravelTimeProvider
from routing.problem import DispatchProblem, Job, Location

Risk = Literal["low", "medium", "high", "late"]
TIGHT_S = 15 * 60
COMFORTABLE_S = 45 * 60
_BIG = np.iinfo(np.int64).max // 4


@dataclass(frozen=True, slots=True)
class Candidate:
    technician_id: str
    position: int
    """Index the new job would take in the technician's job list (a started job counts)."""
    arrival: int
    eta: int
    """Start of service (after any wait for the window to open)."""
    added_drive_s: int
    added_drive_m: int
    slack_s: int
    lateness_s: int
    lateness_risk: Risk
    binding: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CandidateState:
    problem: DispatchProblem
    provider: TravelTimeProvider
    table: InsertionTable
    nodes: Coords
    open_end: np.ndarray
    """True for nodes that are the end of an open route: travel to them is free."""
    routes: tuple[tuple[str, ...], ...]
    skill_bits: np.ndarray
    """Per technician, a bit per skill (``skill_index``), for a vectorized skills test."""
    skill_index: dict[str, int]
    first_is_started: tuple[bool, ...]

    @classmethod
    def build(cls, problem: DispatchProblem, provider: TravelTimeProvider | None = None) -> CandidateState:
        """Replay each technician's current route (jobs by their current sequence; a started job
        is where the route begins) into an insertion table."""
        provider = provider or GreatCircleProvider()
        jobs_by_tech: dict[str, list[tuple[int, Job]]] = {}
        started: dict[str, Job] = {}
        for job in problem.jobs:
            if job.started_by is not None:
                started.setdefault(job.started_by, job)
            elif job.current is not None:
                jobs_by_tech.setdefault(job.current.technician_id, []).append((job.current.sequence, job))
        table = InsertionTable(len(problem.vehicles), [v.capacity for v in problem.vehicles])
        points: list[Location] = []
        open_end: list[bool] = []
        routes: list[tuple[str, ...]] = []
        first_started: list[bool] = []
        settings = problem.settings
        for v, vehicle in enumerate(problem.vehicles):
            seq = [
                job
                for _, job in sorted(jobs_by_tech.get(vehicle.technician_id, []), key=lambda item: item[0])
            ]
            ready = max(problem.now, vehicle.shift_start)
            origin = vehicle.start
            begun = started.get(vehicle.technician_id)
            finish_by = vehicle.shift_end
            if begun is not None:
                leg = provider.travel(Coords.of([origin]), Coords.of([begun.location]))
                ready += int(leg.seconds[0, 0]) + begun.service_s
                origin = begun.location
                finish_by = max(finish_by, ready)
            route_points = [origin, *(job.location for job in seq), vehicle.end or origin]
            coords = Coords.of(route_points)
            legs = provider.travel(coords, coords)
            idx = np.arange(len(route_points) - 1)
            legs_s, legs_m = legs.seconds[idx, idx + 1], legs.metres[idx, idx + 1]
            if vehicle.end is None:
                legs_s[-1] = legs_m[-1] = 0
            base = len(points)
            points.extend(route_points)
            open_end.extend([False] * (len(route_points) - 1) + [vehicle.end is None])
            stops = [
                StopTimes(
                    job.window_start,
                    job.window_end + (settings.max_lateness_s if job.soft_window else 0),
                    job.service_s,
                )
                for job in seq
            ]
            table.set_row(
                v,
                nodes=list(range(base, base + len(route_points))),
                ready=ready,
                finish_by=finish_by,
                stops=stops,
                legs_s=legs_s.tolist(),
                legs_m=legs_m.tolist(),
            )
            routes.append(tuple(job.id for job in seq))
            first_started.append(begun is not None)
        index, bits = _skill_bits(problem)
        return cls(
            problem=problem,
            provider=provider,
            table=table,
            nodes=Coords.of(points),
            open_end=np.asarray(open_end, dtype=np.bool_),
            routes=tuple(routes),
            skill_bits=bits,
            skill_index=index,
            first_is_started=tuple(first_started),
        )


def _skill_bits(problem: DispatchProblem) -> tuple[dict[str, int], np.ndarray]:
    names = sorted({s for v in problem.vehicles for s in v.skills})
    if len(names) > 62:
        raise ValueError("more than 62 distinct skills: widen the skill bit mask")
    index = {name: i for i, name in enumerate(names)}
    bits = np.asarray([sum(1 << index[s] for s in v.skills) for v in problem.vehicles], dtype=np.int64)
    return index, bits


def _allowed(job: Job, state: CandidateState) -> np.ndarray:
    if any(s not in state.skill_index for s in job.required_skills):
        return np.zeros(len(state.problem.vehicles), dtype=np.bool_)
    need = sum(1 << state.skill_index[s] for s in job.required_skills)
    allowed: np.ndarray = (state.skill_bits & need) == need
    if job.pinned_to is not None:
        pinned = np.asarray([v.technician_id == job.pinned_to for v in state.problem.vehicles])
        allowed &= pinned
    return allowed


def _risk(own_slack: int, route_slack: int) -> Risk:
    if own_slack < 0:
        return "late"
    slack = min(own_slack, route_slack)
    if slack < TIGHT_S:
        return "high"
    return "medium" if slack < COMFORTABLE_S else "low"


def candidates(job: Job, state: CandidateState, k: int = 5) -> list[Candidate]:
    """The ``k`` technicians who can take ``job`` at the least added driving (plus lateness),
    best first; an empty list when nobody can (skills, windows, shifts or capacity)."""
    problem, table = state.problem, state.table
    allowed = _allowed(job, state)
    here = Coords.of([job.location])
    to_job = state.provider.travel(state.nodes, here)
    from_job = state.provider.travel(here, state.nodes)
    from_s = np.where(state.open_end, 0, from_job.seconds[0])
    from_m = np.where(state.open_end, 0, from_job.metres[0])
    late = problem.settings.max_lateness_s if job.soft_window else 0
    result = table.evaluate(
        t_in=to_job.seconds[:, 0][table.frm],
        t_out=from_s[table.nxt],
        m_in=to_job.metres[:, 0][table.frm],
        m_out=from_m[table.nxt],
        window_start=job.window_start,
        latest_start=job.window_end + late,
        window_end=job.window_end,
        service_s=job.service_s,
        allowed=allowed,
    )
    lateness_coef = max(1, round(problem.settings.lateness_cost_per_minute / 60))
    cost = np.where(
        result.feasible,
        result.added_s + lateness_coef * np.maximum(0, -result.own_slack),
        _BIG,
    )
    best_pos = np.argmin(cost, axis=1)
    rows = np.arange(table.n)
    best_cost = cost[rows, best_pos]
    eligible = np.flatnonzero(best_cost < _BIG)
    if eligible.size == 0:
        return []
    take = min(k, eligible.size)
    top = eligible[np.argpartition(best_cost[eligible], take - 1)[:take]]
    top = top[np.lexsort((top, best_cost[top]))]
    out: list[Candidate] = []
    for v in top.tolist():
        p = int(best_pos[v])
        own, route = int(result.own_slack[v, p]), int(result.route_slack[v, p])
        binding: list[str] = []
        if own < TIGHT_S:
            binding.append("time_window")
        if route < TIGHT_S:
            binding.append("shift_end" if table.shift_bound[v, p] else "next_job_window")
        if table.count[v] + 1 >= table.capacity[v]:
            binding.append("capacity")
        if job.required_skills:
            binding.append("skills")
        out.append(
            Candidate(
                technician_id=problem.vehicles[v].technician_id,
                position=p + 1 if state.first_is_started[v] else p,
                arrival=int(result.arrival[v, p]),
                eta=int(result.start[v, p]),
                added_drive_s=int(result.added_s[v, p]),
                added_drive_m=int(result.added_m[v, p]),
                slack_s=min(own, route),
                lateness_s=max(0, -own),
                lateness_risk=_risk(own, route),
                binding=tuple(binding),
            )
        )
    return out
