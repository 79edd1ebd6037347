"""VRPTW (Solomon / Gehring-Homberger) solved with OR-Tools routing.

Objective: the standard hierarchical one, vehicles first then distance, reproduced by a fixed cost
per used vehicle far above any route length. Distances are Euclidean; the solver sees integers:
cost ``round(d * 1000)`` and travel time ``ceil(d * 1000)``, so every route it accepts is also
feasible with exact (double precision) times.

OR-Tools' local search rarely empties a route by itself, so with ``ELIMINATION_MIN_S`` or more the
solve has three phases (below that, phase 1 alone gets the whole budget):

1. construction with PARALLEL_CHEAPEST_INSERTION + guided local search, every visit optional with a
   large drop penalty (a solution always exists, even on tight windows);
2. route elimination: with one vehicle fewer, warm-start from the best routes minus the shortest one
   (its customers left unserved) and let guided local search re-insert them; keep going while it
   succeeds, down to the capacity lower bound;
3. guided local search on distance for the rest of the time, from the best solution, with exactly
   the vehicles it uses and no fixed cost (see ``fixed_cost`` in ``_solve_with``).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from routing.solomon import VrptwInstance, read_solomon

SCALE = 1000
VEHICLE_FIXED_COST = 10_000 * SCALE
DROP_PENALTY = 100 * VEHICLE_FIXED_COST
ELIMINATION_MIN_S = 10.0


@dataclass(frozen=True, slots=True)
class VrptwSolution:
    instance: str
    routes: tuple[tuple[int, ...], ...]
    distance: float
    unserved: tuple[int, ...] = ()

    @property
    def vehicles(self) -> int:
        return len(self.routes)


@dataclass(frozen=True, slots=True)
class _Data:
    cost: list[list[int]]
    travel: list[list[int]]
    demand: list[int]
    ready: list[int]
    due: list[int]


def _scaled(instance: VrptwInstance) -> _Data:
    x = np.asarray(instance.x, dtype=np.float64)
    y = np.asarray(instance.y, dtype=np.float64)
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) * SCALE
    service = np.asarray(instance.service, dtype=np.int64) * SCALE
    # Service happens at the origin of an arc: time(i -> j) = service(i) + travel(i, j).
    travel = np.ceil(dist).astype(np.int64) + service[:, None]
    return _Data(
        cost=np.rint(dist).astype(np.int64).tolist(),
        travel=travel.tolist(),
        demand=list(instance.demand),
        ready=[r * SCALE for r in instance.ready],
        due=[d * SCALE for d in instance.due],
    )


def route_distance(instance: VrptwInstance, route: tuple[int, ...] | list[int]) -> float:
    nodes = [0, *route, 0]
    return sum(instance.distance(a, b) for a, b in itertools.pairwise(nodes))


def _solve_with(
    instance: VrptwInstance,
    data: _Data,
    vehicles: int,
    seconds: float,
    initial: list[list[int]] | None,
    *,
    start: int = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    lns: bool = False,
    fixed_cost: int = VEHICLE_FIXED_COST,
) -> tuple[list[list[int]], list[int]] | None:
    """One OR-Tools run with ``vehicles`` vehicles; returns (routes, unserved) or None.

    ``lns`` adds the large-neighbourhood operators that are off by default (path LNS, cheapest
    re-insertion of close nodes and expensive chains): they help place left-out customers when
    eliminating a route, but slow the distance descent, so they are used only for that.
    ``fixed_cost`` per used vehicle: OR-Tools adds it to the depot-start arc, where guided local
    search sees it as the most expensive arc, so the distance-only phase passes 0.
    """
    n = instance.n_customers + 1
    manager = pywrapcp.RoutingIndexManager(n, vehicles, 0)
    model = pywrapcp.RoutingModel(manager)
    cost_cb = model.RegisterTransitMatrix(data.cost)
    model.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    model.SetFixedCostOfAllVehicles(fixed_cost)

    horizon = data.due[0]
    time_cb = model.RegisterTransitMatrix(data.travel)
    model.AddDimension(time_cb, horizon, horizon, False, "Time")
    time_dim = model.GetDimensionOrDie("Time")
    for node in range(1, n):
        index = manager.NodeToIndex(node)
        time_dim.CumulVar(index).SetRange(data.ready[node], data.due[node])
        model.AddDisjunction([index], DROP_PENALTY)
    for v in range(vehicles):
        time_dim.CumulVar(model.Start(v)).SetRange(data.ready[0], data.due[0])
        time_dim.CumulVar(model.End(v)).SetRange(data.ready[0], data.due[0])
        model.AddVariableMinimizedByFinalizer(time_dim.CumulVar(model.End(v)))

    demand_cb = model.RegisterUnaryTransitVector(data.demand)
    model.AddDimensionWithVehicleCapacity(demand_cb, 0, [instance.capacity] * vehicles, True, "Capacity")

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = start
    if lns:
        ops = params.local_search_operators
        ops.use_path_lns = optional_boolean_pb2.BOOL_TRUE
        ops.use_global_cheapest_insertion_close_nodes_lns = optional_boolean_pb2.BOOL_TRUE
        ops.use_local_cheapest_insertion_close_nodes_lns = optional_boolean_pb2.BOOL_TRUE
        ops.use_global_cheapest_insertion_expensive_chain_lns = optional_boolean_pb2.BOOL_TRUE
        ops.use_local_cheapest_insertion_expensive_chain_lns = optional_boolean_pb2.BOOL_TRUE
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))

    if initial is not None:
        # Without closing the model first, ReadAssignmentFromRoutes closes it with default
        # parameters and the metaheuristic above is silently ignored.
        model.CloseModelWithParameters(params)
        padded = [[manager.NodeToIndex(c) for c in r] for r in initial]
        padded += [[] for _ in range(vehicles - len(initial))]
        start = model.ReadAssignmentFromRoutes(padded, True)
        if start is None:
            return None
        solution = model.SolveFromAssignmentWithParameters(start, params)
    else:
        solution = model.SolveWithParameters(params)
    if solution is None:
        return None

    routes: list[list[int]] = []
    served: set[int] = set()
    for v in range(vehicles):
        index = solution.Value(model.NextVar(model.Start(v)))
        route: list[int] = []
        while not model.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(model.NextVar(index))
        if route:
            routes.append(route)
            served.update(route)
    unserved = [c for c in range(1, n) if c not in served]
    return routes, unserved


def _score(instance: VrptwInstance, routes: list[list[int]]) -> tuple[int, float]:
    return len(routes), sum(route_distance(instance, r) for r in routes)


def solve(instance: VrptwInstance, time_limit: float) -> VrptwSolution:
    """Best solution found within ``time_limit`` seconds of wall time (model builds included)."""
    deadline = time.monotonic() + time_limit
    data = _scaled(instance)
    lower_bound = max(1, math.ceil(sum(instance.demand) / instance.capacity))

    # 1. Construction (parallel cheapest insertion) and guided local search. The measured
    #    alternative, running a second construction (PATH_CHEAPEST_ARC) and keeping the better,
    #    lost more to the shorter search than it gained.
    # Below ELIMINATION_MIN_S the phases would each be too short to pay off: one GLS run.
    phased = time_limit >= ELIMINATION_MIN_S
    first_s = 0.4 * time_limit if phased else time_limit
    found = _solve_with(instance, data, instance.fleet_size, first_s, None)
    if found is None:
        raise RuntimeError(f"{instance.name}: no solution")  # cannot happen: visits are optional
    best = found[0]
    best_unserved = _unserved(instance, best)

    # 2. Route elimination: one vehicle fewer, the shortest route's customers left out for the
    #    large-neighbourhood operators to re-insert. Keeps at least 30 % of the time for step 3.
    final_reserve = 0.3 * time_limit
    slice_s = max(0.25, 0.1 * time_limit)
    tried_without: set[int] = set()
    while phased and not best_unserved and len(best) > lower_bound:
        remaining = deadline - time.monotonic() - final_reserve
        if remaining < 0.5 * slice_s:
            break
        by_size = sorted(range(len(best)), key=lambda r: (len(best[r]), r))
        untried = [r for r in by_size if r not in tried_without]
        if not untried:
            break
        tried_without.add(untried[0])
        attempt = [r for i, r in enumerate(best) if i != untried[0]]
        result = _solve_with(instance, data, len(best) - 1, min(slice_s, remaining), attempt, lns=True)
        # A near miss (one or two customers left) gets one more slice.
        if result is not None and 0 < len(result[1]) <= 2:
            remaining = deadline - time.monotonic() - final_reserve
            if remaining > 0.5 * slice_s:
                retry = _solve_with(
                    instance, data, len(best) - 1, min(slice_s, remaining), result[0], lns=True
                )
                result = retry if retry is not None else result
        if result is not None and not result[1]:
            best = result[0]
            tried_without.clear()
        elif len(tried_without) >= 2:
            break

    # 3. Guided local search on distance from the best solution for the time left.
    remaining = deadline - time.monotonic()
    if phased and remaining > 0.05:
        # Exactly the vehicles in use and no fixed cost: the fixed cost sits on the depot-start
        # arcs, and guided local search (which penalizes the arc of highest cost) likely keeps
        # penalizing those instead of the long arcs. With k vehicles the count cannot grow.
        polished = _solve_with(instance, data, len(best), remaining, best, fixed_cost=0)
        if (
            polished is not None
            and len(polished[1]) <= len(best_unserved)
            and _score(instance, polished[0]) <= _score(instance, best)
        ):
            best, best_unserved = polished
    return VrptwSolution(
        instance=instance.name,
        routes=tuple(tuple(r) for r in best),
        distance=_score(instance, best)[1],
        unserved=tuple(best_unserved),
    )


def _unserved(instance: VrptwInstance, routes: list[list[int]]) -> list[int]:
    served = {c for r in routes for c in r}
    return [c for c in range(1, instance.n_customers + 1) if c not in served]


def solve_instance_json(path: str, time_limit: float) -> dict[str, object]:
    """What ``dispatch bench vrptw FILE --time-limit S --json`` prints."""
    solution = solve(read_solomon(path), time_limit)
    return {
        "instance": solution.instance,
        "vehicles": solution.vehicles,
        "distance": solution.distance,
        "routes": [list(r) for r in solution.routes],
    }
