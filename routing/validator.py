"""An independent check of a dispatch plan, written without the solver's code paths.

``check_plan`` replays every route from scratch with the travel-time provider's integer seconds
and returns a list of human-readable violations; an empty list means the plan is valid. Tests and
the benchmark use it to re-check every plan. (The VRPTW benchmark solver has its own check,
``routing.vrptw.validator.check_vrptw``.)
"""

from __future__ import annotations

from collections import Counter

from routing.matrix import Coords, TravelTimeProvider
from routing.problem import DispatchProblem, Job, Location, Plan, Route, Vehicle


def _leg_seconds(provider: TravelTimeProvider, points: list[Location]) -> list[int]:
    if len(points) < 2:
        return []
    coords = Coords.of(points)
    seconds = provider.travel(coords, coords).seconds
    return [int(seconds[i, i + 1]) for i in range(len(points) - 1)]


def _check_route(
    problem: DispatchProblem,
    route: Route,
    vehicle: Vehicle,
    jobs: dict[str, Job],
    provider: TravelTimeProvider,
) -> list[str]:
    errors: list[str] = []
    tech = vehicle.technician_id
    stops = [s for s in route.stops if s.job_id in jobs]
    if vehicle.capacity is not None and len(stops) > vehicle.capacity:
        errors.append(f"{tech}: {len(stops)} jobs exceed capacity {vehicle.capacity}")
    points = [vehicle.start, *(jobs[s.job_id].location for s in stops)]
    if vehicle.end is not None:
        points.append(vehicle.end)
    legs = _leg_seconds(provider, points)
    clock = max(problem.now, vehicle.shift_start)
    latest_finish = vehicle.shift_end
    for position, stop in enumerate(stops):
        job = jobs[stop.job_id]
        if job.started_by is None and not job.required_skills <= vehicle.skills:
            missing = sorted(job.required_skills - vehicle.skills)
            errors.append(f"{tech}: job {job.id} needs skills {missing}")
        if job.pinned_to is not None and job.pinned_to != tech:
            errors.append(f"{tech}: job {job.id} is pinned to {job.pinned_to}")
        if job.started_by is not None and (job.started_by != tech or position != 0):
            errors.append(f"{tech}: started job {job.id} must stay first with {job.started_by}")
        arrival = clock + legs[position]
        if job.started_by is not None:
            start = arrival
        else:
            start = max(arrival, job.window_start)
            allowed = problem.settings.max_lateness_s if job.soft_window else 0
            if start > job.window_end + allowed:
                errors.append(f"{tech}: job {job.id} starts at {start}, window ends {job.window_end}")
        if stop.start != start:
            errors.append(f"{tech}: job {job.id} ETA reported {stop.start}, recomputed {start}")
        clock = start + job.service_s
        if job.started_by is not None:
            # A started job is finished whatever the shift says; only what follows must fit.
            back = legs[-1] if vehicle.end is not None and position == len(stops) - 1 else 0
            latest_finish = max(latest_finish, clock + back)
    if vehicle.end is not None:
        clock += legs[-1]
    if clock > latest_finish:
        errors.append(f"{tech}: route finishes at {clock}, shift ends {vehicle.shift_end}")
    return errors


def check_plan(problem: DispatchProblem, plan: Plan, provider: TravelTimeProvider) -> list[str]:
    """Windows (hard, or soft within the allowed lateness), skills, shift ends, pins, started jobs
    stay first with their technician, capacity, and every job served once or reported unassigned
    with a reason."""
    errors: list[str] = []
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.technician_id: v for v in problem.vehicles}
    placed = Counter(s.job_id for r in plan.routes for s in r.stops)
    placed.update(u.job_id for u in plan.dropped)
    for job_id in jobs:
        if placed[job_id] != 1:
            errors.append(f"job {job_id} appears {placed[job_id]} times in routes and unassigned")
    for job_id in placed:
        if job_id not in jobs:
            errors.append(f"unknown job {job_id}")
    for left in plan.dropped:
        if not left.reason or not left.message:
            errors.append(f"job {left.job_id} is unassigned without a reason")
        job = jobs.get(left.job_id)
        if job is not None and job.started_by is not None:
            errors.append(f"started job {job.id} was left unassigned")
    route_techs = Counter(r.technician_id for r in plan.routes)
    for tech, count in route_techs.items():
        if tech not in vehicles:
            errors.append(f"route for unknown technician {tech}")
        elif count > 1:
            errors.append(f"technician {tech} has {count} routes")
    for route in plan.routes:
        if route.technician_id in vehicles:
            errors.extend(_check_route(problem, route, vehicles[route.technician_id], jobs, provider))
    return errors
