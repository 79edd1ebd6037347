"""The node layout of a dispatch problem and the replay of routes on it.

Node numbering, shared by the OR-Tools model, the plan builder and the KPIs:
``0..V-1`` are the vehicles' start nodes, ``V..2V-1`` their end nodes, ``2V + j`` is job ``j``.

A job that a technician has already started is folded into that technician's start: the route
begins at the job's location, at the time the technician gets (or got) there, and the start node
carries the remaining service time. The job's own node is then never visited. This keeps the job
first on the right route without any side constraint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.matrix import Coords, IntArray, TravelTimeProvider, square_matrix
from routing.problem import DispatchProblem, Job, Kpis, Route, Stop, Vehicle


@dataclass(frozen=True, slots=True)
class Layout:
    problem: DispatchProblem
    seconds: IntArray
    metres: IntArray
    depart: tuple[int, ...]
    """When each route leaves its start node (arrival at the started job, if there is one)."""
    start_service: tuple[int, ...]
    started_job: tuple[int | None, ...]
    first_leg: tuple[tuple[int, int], ...]
    """Seconds and metres from the technician's position to the start node (0 if no started job)."""
    finish_by: tuple[int, ...]
    vehicle_index: dict[str, int]
    job_index: dict[str, int]

    @property
    def n_vehicles(self) -> int:
        return len(self.problem.vehicles)

    def job_node(self, j: int) -> int:
        return 2 * self.n_vehicles + j

    def end_node(self, v: int) -> int:
        return self.n_vehicles + v


def build_layout(problem: DispatchProblem, provider: TravelTimeProvider) -> Layout:
    vehicles, jobs = problem.vehicles, problem.jobs
    vehicle_index = {v.technician_id: i for i, v in enumerate(vehicles)}
    job_index = {j.id: i for i, j in enumerate(jobs)}
    started: list[int | None] = [None] * len(vehicles)
    for j, job in enumerate(jobs):
        if job.started_by is not None and started[vehicle_index[job.started_by]] is None:
            started[vehicle_index[job.started_by]] = j

    starts = [jobs[s].location if s is not None else v.start for v, s in zip(vehicles, started, strict=True)]
    ends = [v.end or v.start for v in vehicles]
    matrix = square_matrix(provider, [*starts, *ends, *(j.location for j in jobs)])
    seconds, metres = matrix.seconds.copy(), matrix.metres.copy()
    n_v = len(vehicles)
    for v, vehicle in enumerate(vehicles):
        if vehicle.end is None:  # open route: ending anywhere costs nothing
            seconds[:, n_v + v] = 0
            metres[:, n_v + v] = 0

    # The technician's way from where they are to the started job.
    first_leg = [(0, 0)] * n_v
    with_started = [v for v in range(n_v) if started[v] is not None]
    if with_started:
        here = Coords.of([vehicles[v].start for v in with_started])
        there = Coords.of([starts[v] for v in with_started])
        legs = provider.travel(here, there)
        for k, v in enumerate(with_started):
            first_leg[v] = (int(legs.seconds[k, k]), int(legs.metres[k, k]))

    depart, service, finish_by = [], [], []
    for v, vehicle in enumerate(vehicles):
        leave = max(problem.now, vehicle.shift_start)
        s = started[v]
        arrive = leave + first_leg[v][0]
        serve = jobs[s].service_s if s is not None else 0
        depart.append(arrive)
        service.append(serve)
        back = int(seconds[v, n_v + v]) if s is not None else 0
        finish_by.append(max(vehicle.shift_end, arrive if s is None else arrive + serve + back))
    return Layout(
        problem=problem,
        seconds=seconds,
        metres=metres,
        depart=tuple(depart),
        start_service=tuple(service),
        started_job=tuple(started),
        first_leg=tuple(first_leg),
        finish_by=tuple(finish_by),
        vehicle_index=vehicle_index,
        job_index=job_index,
    )


def replay(layout: Layout, v: int, job_seq: Sequence[int]) -> Route:
    """Earliest-start schedule of ``job_seq`` (job indices, started job excluded) on vehicle v.

    Waiting is allowed before a window opens; with no other constraint on waiting, the earliest
    start at every stop is the best schedule, so this gives the ETAs a plan reports.
    """
    problem = layout.problem
    vehicle: Vehicle = problem.vehicles[v]
    stops: list[Stop] = []
    drive_s, drive_m = layout.first_leg[v]
    clock = layout.depart[v]
    s = layout.started_job[v]
    if s is not None:
        stops.append(Stop(problem.jobs[s].id, clock, clock, clock + layout.start_service[v]))
    clock += layout.start_service[v]
    here = v
    for j in job_seq:
        job: Job = problem.jobs[j]
        node = layout.job_node(j)
        leg = int(layout.seconds[here, node])
        drive_s += leg
        drive_m += int(layout.metres[here, node])
        arrival = clock + leg
        start = max(arrival, job.window_start)
        end = start + job.service_s
        stops.append(Stop(job.id, arrival, start, end, max(0, start - job.window_end)))
        clock, here = end, node
    if vehicle.end is not None:
        end_node = layout.end_node(v)
        drive_s += int(layout.seconds[here, end_node])
        drive_m += int(layout.metres[here, end_node])
        clock += int(layout.seconds[here, end_node])
    return Route(vehicle.technician_id, tuple(stops), drive_s, drive_m, clock)


def kpis(routes: Sequence[Route], moved: int) -> Kpis:
    lateness = sum(stop.lateness_s for r in routes for stop in r.stops)
    return Kpis(
        drive_km=round(sum(r.drive_m for r in routes) / 1000.0, 3),
        lateness_minutes=round(lateness / 60.0, 1),
        jobs_served=sum(len(r.stops) for r in routes),
        jobs_moved=moved,
    )


def current_sequences(layout: Layout) -> list[list[int]]:
    """Per vehicle, the jobs of the current plan in their current order (started jobs excluded)."""
    problem = layout.problem
    keyed: list[list[tuple[int, int]]] = [[] for _ in problem.vehicles]
    for j, job in enumerate(problem.jobs):
        if job.current is None or job.started_by is not None:
            continue
        v = layout.vehicle_index.get(job.current.technician_id)
        if v is not None:
            keyed[v].append((job.current.sequence, j))
    return [[j for _, j in sorted(seq)] for seq in keyed]
