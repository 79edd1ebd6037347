"""The dispatch model: OR-Tools routing built from the live state, and ``plan()``.

What the model says, in business terms:

* each technician leaves from where they are now (or their store) no earlier than the start of
  their shift, and must be done (back at ``end`` if they have one) by the end of it;
* a job goes only to a technician holding all its skills; pinned jobs only to their technician;
  jobs already started stay first with their technician (see ``routing.layout``);
* time windows bound the start of service; they are hard, unless the job allows lateness, which
  then costs ``lateness_cost_per_minute`` up to ``max_lateness_s``;
* the objective is driving time, plus a drop penalty per job left out (ordered by priority, so
  low-priority work is given up first and emergencies practically never), plus
  ``stability_cost`` per job moved away from the technician it is currently assigned to, plus a
  cost per minute an emergency waits;
* the search starts from the current plan when there is one (warm start), so a small change in
  the state gives a small change in the plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.construction import complete_routes
from routing.layout import Layout, build_layout, current_sequences
from routing.matrix import GreatCircleProvider, TravelTimeProvider
from routing.problem import DispatchProblem, DispatchSolution, DroppedJob, Job, ReasonCode
from routing.solution import build_solution


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Which technicians may take each job, and why a job can be taken by nobody."""

    allowed: tuple[tuple[int, ...], ...]
    excluded: dict[int, DroppedJob]


def _allowed_lateness(problem: DispatchProblem, job: Job) -> int:
    return problem.settings.max_lateness_s if job.soft_window else 0


def eligibility(layout: Layout) -> Eligibility:
    """Skills, pins and a reachability test (arrive in the window, finish within the shift)."""
    problem = layout.problem
    n_v = layout.n_vehicles
    ready = np.asarray(layout.depart) + np.asarray(layout.start_service)
    job_nodes = slice(2 * n_v, 2 * n_v + len(problem.jobs))
    arrival = ready[:, None] + layout.seconds[:n_v, job_nodes]
    back = layout.seconds[job_nodes, n_v : 2 * n_v].T  # job -> end of each vehicle
    finish_by = np.asarray(layout.finish_by)[:, None]

    allowed: list[tuple[int, ...]] = []
    excluded: dict[int, DroppedJob] = {}
    for j, job in enumerate(problem.jobs):
        if job.started_by is not None:
            allowed.append((layout.vehicle_index[job.started_by],))
            continue
        skilled = [v for v, veh in enumerate(problem.vehicles) if job.required_skills <= veh.skills]
        owner = job.pinned_to
        pool = [v for v in skilled if problem.vehicles[v].technician_id == owner] if owner else skilled
        start = np.maximum(arrival[pool, j], job.window_start)
        fits = (start <= job.window_end + _allowed_lateness(problem, job)) & (
            start + job.service_s + back[pool, j] <= finish_by[pool, 0]
        )
        reachable = tuple(int(v) for v, ok in zip(pool, fits, strict=True) if ok)
        allowed.append(reachable)
        if reachable:
            continue
        reason: ReasonCode
        if owner is not None:
            reason = "pinned_technician_unavailable"
            message = (
                f"pinned to {owner}, who lacks a required skill"
                if not pool
                else f"pinned to {owner}, who cannot reach it within its window and shift"
            )
        elif not skilled:
            reason = "no_skilled_technician"
            message = f"no available technician holds all of {sorted(job.required_skills)}"
        else:
            reason = "window_unreachable"
            message = "no skilled technician can get there within its time window and shift"
        excluded[j] = DroppedJob(job.id, reason, message)
    return Eligibility(tuple(allowed), excluded)


def _warm_routes(layout: Layout, elig: Eligibility) -> list[list[int]]:
    """The current plan, cleaned so that it is feasible for the model (else it would be refused):
    jobs that became ineligible or no longer fit are left out for the solver to re-place."""
    problem = layout.problem
    routes: list[list[int]] = []
    for v, seq in enumerate(current_sequences(layout)):
        capacity = problem.vehicles[v].capacity
        kept: list[int] = []
        clock, here = layout.depart[v] + layout.start_service[v], v
        for j in seq:
            job = problem.jobs[j]
            if j in elig.excluded or v not in elig.allowed[j]:
                continue
            if capacity is not None and len(kept) >= capacity:
                break
            node = layout.job_node(j)
            start = max(clock + int(layout.seconds[here, node]), job.window_start)
            if start > job.window_end + _allowed_lateness(problem, job):
                continue
            kept.append(j)
            clock, here = start + job.service_s, node
        # Drop from the end until the route is back in time.
        while kept:
            finish = _finish(layout, v, kept)
            if finish <= layout.finish_by[v]:
                break
            kept.pop()
        routes.append(kept)
    return routes


def _finish(layout: Layout, v: int, seq: list[int]) -> int:
    problem = layout.problem
    clock, here = layout.depart[v] + layout.start_service[v], v
    for j in seq:
        node = layout.job_node(j)
        clock = max(clock + int(layout.seconds[here, node]), problem.jobs[j].window_start)
        clock += problem.jobs[j].service_s
        here = node
    return clock + int(layout.seconds[here, layout.end_node(v)])


def _model(layout: Layout, elig: Eligibility) -> tuple[pywrapcp.RoutingIndexManager, pywrapcp.RoutingModel]:
    problem, settings = layout.problem, layout.problem.settings
    n_v, n_j = layout.n_vehicles, len(problem.jobs)
    n_nodes = 2 * n_v + n_j
    manager = pywrapcp.RoutingIndexManager(
        n_nodes, n_v, list(range(n_v)), [layout.end_node(v) for v in range(n_v)]
    )
    model = pywrapcp.RoutingModel(manager)

    # Node attributes: service time at a node is spent before leaving it.
    service = np.zeros(n_nodes, dtype=np.int64)
    service[:n_v] = layout.start_service
    service[2 * n_v :] = [job.service_s for job in problem.jobs]
    drive_cb = model.RegisterTransitMatrix(layout.seconds.tolist())
    model.SetArcCostEvaluatorOfAllVehicles(drive_cb)
    time_cb = model.RegisterTransitMatrix((layout.seconds + service[:, None]).tolist())
    horizon = int(
        max(
            max(layout.finish_by),
            max((j.window_end + settings.max_lateness_s for j in problem.jobs), default=0),
        )
        + 1
    )
    model.AddDimension(time_cb, horizon, horizon, False, "Time")
    time_dim = model.GetDimensionOrDie("Time")
    for v in range(n_v):
        time_dim.CumulVar(model.Start(v)).SetValue(layout.depart[v])
        time_dim.CumulVar(model.End(v)).SetMax(layout.finish_by[v])

    lateness_coef = max(1, round(settings.lateness_cost_per_minute / 60))
    emergency_coef = max(1, round(settings.emergency_delay_cost_per_minute / 60))
    for j, job in enumerate(problem.jobs):
        index = manager.NodeToIndex(layout.job_node(j))
        if j in elig.excluded or job.started_by is not None:
            model.AddDisjunction([index], 0)
            model.ActiveVar(index).SetValue(0)
            continue
        penalty = settings.penalty(job.priority)
        if job.pinned_to is not None:
            penalty = max(penalty, settings.penalty("emergency"))
        model.AddDisjunction([index], penalty)
        if len(elig.allowed[j]) < n_v:
            # SetAllowedVehiclesForIndex does not accept a Python list in ortools 9.15.
            model.VehicleVar(index).SetValues([-1, *elig.allowed[j]])
        late = _allowed_lateness(problem, job)
        time_dim.CumulVar(index).SetRange(job.window_start, job.window_end + late)
        if job.priority == "emergency":
            coef = max(emergency_coef, lateness_coef if late else 0)
            time_dim.SetCumulVarSoftUpperBound(index, max(job.window_start, problem.now), coef)
        elif late:
            time_dim.SetCumulVarSoftUpperBound(index, job.window_end, lateness_coef)

    capacities = [v.capacity for v in problem.vehicles]
    if any(c is not None for c in capacities):
        demand = [0] * (2 * n_v) + [1] * n_j
        demand_cb = model.RegisterUnaryTransitVector(demand)
        model.AddDimensionWithVehicleCapacity(
            demand_cb, 0, [n_j if c is None else c for c in capacities], True, "Jobs"
        )
    _add_stability(layout, manager, model)
    return manager, model


def _add_stability(
    layout: Layout, manager: pywrapcp.RoutingIndexManager, model: pywrapcp.RoutingModel
) -> None:
    """A dimension counting, per route, the jobs taken away from their current technician; its
    span costs ``stability_cost`` per job (a per-vehicle unary transit: no Python callback)."""
    problem = layout.problem
    owner = np.full(2 * layout.n_vehicles + len(problem.jobs), -1, dtype=np.int64)
    for j, job in enumerate(problem.jobs):
        if job.current is not None and job.current.technician_id in layout.vehicle_index:
            owner[layout.job_node(j)] = layout.vehicle_index[job.current.technician_id]
    if problem.settings.stability_cost <= 0 or not (owner >= 0).any():
        return
    assigned = owner >= 0
    holders = set(owner[assigned].tolist())
    shared: int | None = None
    evaluators: list[int] = []
    for v in range(layout.n_vehicles):
        if v in holders:
            moved = (assigned & (owner != v)).astype(np.int64)
            evaluators.append(model.RegisterUnaryTransitVector(moved.tolist()))
            continue
        if shared is None:
            shared = model.RegisterUnaryTransitVector(assigned.astype(np.int64).tolist())
        evaluators.append(shared)
    model.AddDimensionWithVehicleTransits(evaluators, 0, len(problem.jobs) + 1, True, "Moves")
    model.GetDimensionOrDie("Moves").SetSpanCostCoefficientForAllVehicles(problem.settings.stability_cost)


def _search_parameters(time_limit: float) -> pywrapcp.RoutingSearchParameters:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    return params


def _read_routes(
    layout: Layout,
    manager: pywrapcp.RoutingIndexManager,
    model: pywrapcp.RoutingModel,
    solution: pywrapcp.Assignment,
) -> list[list[int]]:
    offset = 2 * layout.n_vehicles
    routes: list[list[int]] = []
    for v in range(layout.n_vehicles):
        index = solution.Value(model.NextVar(model.Start(v)))
        seq: list[int] = []
        while not model.IsEnd(index):
            seq.append(manager.IndexToNode(index) - offset)
            index = solution.Value(model.NextVar(index))
        routes.append(seq)
    return routes


def plan(
    problem: DispatchProblem,
    *,
    provider: TravelTimeProvider | None = None,
    time_limit: float | None = None,
) -> DispatchSolution:
    """Re-plan every job of ``problem`` within ``time_limit`` seconds (default from settings).

    Pure function of its arguments (all picklable), so it can run in a worker process.
    """
    started_at = time.monotonic()
    limit = problem.settings.time_limit_s if time_limit is None else time_limit
    layout = build_layout(problem, provider or GreatCircleProvider())
    elig = eligibility(layout)
    manager, model = _model(layout, elig)

    warm = _warm_routes(layout, elig) if problem.settings.warm_start else []
    status = "warm" if any(warm) else "cold"
    todo = [
        j
        for j, job in enumerate(problem.jobs)
        if j not in elig.excluded and job.started_by is None  # started: folded into the start
    ]
    first = complete_routes(layout, elig.allowed, warm or [[] for _ in problem.vehicles], todo)
    # Close with *our* parameters first: ReadAssignmentFromRoutes would otherwise close the model
    # with defaults and silently drop the metaheuristic.
    params = _search_parameters(limit)
    model.CloseModelWithParameters(params)
    start = model.ReadAssignmentFromRoutes(
        [[manager.NodeToIndex(layout.job_node(j)) for j in seq] for seq in first], True
    )
    budget = max(0.05, limit - (time.monotonic() - started_at))
    params.time_limit.FromMilliseconds(int(budget * 1000))
    if start is not None:
        solution = model.SolveFromAssignmentWithParameters(start, params)
    else:  # should not happen: the first routes are checked feasible; fall back to OR-Tools
        status = "fallback"
        solution = model.SolveWithParameters(params)
    if solution is None:
        raise RuntimeError("the routing solver returned no solution")  # every visit is optional
    routes = _read_routes(layout, manager, model, solution)
    return build_solution(layout, routes, elig.excluded, status=status, seconds=time.monotonic() - started_at)
