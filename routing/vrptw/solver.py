"""VRPTW (Solomon / Gehring-Homberger) solved with OR-Tools routing.

Objective: the standard hierarchical one, vehicles first then distance, reproduced by a fixed cost
per used vehicle far above any route length. Distances are Euclidean; the solver sees integers:
cost ``round(d * 1000)`` and travel time ``ceil(d * 1000)``, so every route it accepts is also
feasible with exact (double precision) times.

OR-Tools' local search rarely empties a route by itself, so with ``PHASED_MIN_S`` or more the solve
has two phases (below that, OR-Tools alone: PARALLEL_CHEAPEST_INSERTION + guided local search for the
whole budget, every visit optional with a large drop penalty so that a solution always exists):

1. route minimization with an ejection pool (``routing/vrptw/route_min.py``) from one route per
   customer, on the same integer times, until ``ROUTE_MIN_PATIENCE`` of the time passes without a
   route removed, then SISR's fleet minimisation (``routing/vrptw/sisr.py``) until ``FLEET_PATIENCE``
   passes without one; both together for at most ``ROUTE_MIN_SHARE`` of the time;
2. distance for the rest of the time, with at most the vehicles found: simulated annealing with
   SISR ruin and recreate (``routing/vrptw/sisr.py``) for ``SA_SHARE`` of it, then, with exactly those
   vehicles and no fixed cost, guided local search warm-started from the best solution and an
   iterated local search (ruin and recreate from ``routing/vrptw/local_search.py``, a short guided local
   search, keep if shorter); see ``_polish``.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.vrptw.local_search import ruin_recreate
from routing.vrptw.route_min import RmData, Solution, minimize_routes
from routing.vrptw.sisr import anneal, reduce_fleet
from routing.vrptw.solomon import VrptwInstance, read_solomon

SCALE = 1000
VEHICLE_FIXED_COST = 10_000 * SCALE
DROP_PENALTY = 100 * VEHICLE_FIXED_COST
PHASED_MIN_S = 5.0
ROUTE_MIN_SHARE = 0.5  # route minimization gets at most this share of the time,
ROUTE_MIN_PATIENCE = 0.1  # and stops after this share without a route removed,
ROUTE_MIN_PATIENCE_MIN_S = 1.0  # (at least this long: at 5 s, RC101 needs it for 14 routes)
FLEET_PATIENCE = 0.1  # then SISR's fleet minimisation, with the same limits
ILS_STEPS = 40  # guided local search runs after route minimization (~0.6 s each at 30 s; 0.3 s to 2 s)
RUIN_SIZE = 25  # customers taken out per ruin
SA_SHARE = 0.8  # share of the distance phase for simulated annealing (routing/vrptw/sisr.py)
SA_T_START = 3.0  # start and end temperatures, times the mean cost per customer of the start
SA_T_END = 0.03


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
    fixed_cost: int = VEHICLE_FIXED_COST,
) -> tuple[list[list[int]], list[int]] | None:
    """One OR-Tools run with ``vehicles`` vehicles; returns (routes, unserved) or None.

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


def solve(instance: VrptwInstance, time_limit: float, *, seed: int = 0) -> VrptwSolution:
    """Best solution found within ``time_limit`` seconds of wall time (model builds included)."""
    deadline = time.monotonic() + time_limit
    data = _scaled(instance)
    lower_bound = max(1, math.ceil(sum(instance.demand) / instance.capacity))

    phased = time_limit >= PHASED_MIN_S
    best: list[list[int]] | None = None
    if phased:
        # 1. Route minimization (ejection pool) from one route per customer: fewer vehicles than
        #    OR-Tools' construction and elimination found, in less time (see docs/routing.md);
        #    then SISR's fleet minimisation, which found R211's 2 routes where the pool stalls at 3.
        rm_data = RmData(data.travel, data.cost, data.demand, data.ready, data.due, instance.capacity)
        singletons = [[c] for c in range(1, instance.n_customers + 1)]
        rm_deadline = time.monotonic() + ROUTE_MIN_SHARE * time_limit
        fewer = minimize_routes(
            rm_data,
            singletons,
            rm_deadline,
            seed=seed,
            lower_bound=lower_bound,
            patience=max(ROUTE_MIN_PATIENCE * time_limit, ROUTE_MIN_PATIENCE_MIN_S),
        )
        if len(fewer) > lower_bound and time.monotonic() < rm_deadline:
            fewer = reduce_fleet(
                rm_data,
                fewer,
                rm_deadline,
                seed=seed,
                lower_bound=lower_bound,
                patience=FLEET_PATIENCE * time_limit,
            )
        if Solution(rm_data, fewer).feasible() and len(fewer) <= instance.fleet_size:
            best = fewer
    best_unserved: list[int] = []
    if best is None:
        # Below PHASED_MIN_S (or if a customer cannot even be served alone): parallel cheapest
        # insertion and guided local search for the whole budget.
        found = _solve_with(instance, data, instance.fleet_size, deadline - time.monotonic(), None)
        if found is None:
            raise RuntimeError(f"{instance.name}: no solution")  # cannot happen: visits are optional
        best = found[0]
        best_unserved = _unserved(instance, best)
        phased = False

    # 2. Distance for the time left: simulated annealing (SISR), then guided local search.
    if phased and deadline - time.monotonic() > 0.05:
        best = _polish(instance, data, rm_data, best, deadline, seed)
    return VrptwSolution(
        instance=instance.name,
        routes=tuple(tuple(r) for r in best),
        distance=_score(instance, best)[1],
        unserved=tuple(best_unserved),
    )


def _polish(
    instance: VrptwInstance, data: _Data, rm_data: RmData, routes: list[list[int]], deadline: float, seed: int
) -> list[list[int]]:
    """Simulated annealing with string removals (``routing/vrptw/sisr.py``) for ``SA_SHARE`` of the time,
    then guided local search on distance with exactly the vehicles of ``routes`` and no fixed cost
    (the fixed cost sits on the depot-start arcs, where guided local search, which penalizes the
    arc of highest cost, would spend its penalties), then an iterated local search: ruin and
    recreate (``routing/vrptw/local_search.py``) plus a short guided local search, kept if shorter.
    A single long guided local search stalls (RC2_2_1: the same distance after 15 s and 24 s)."""
    k = len(routes)
    if SA_SHARE > 0:
        per_customer = _score(instance, routes)[1] * SCALE / instance.n_customers
        sa_deadline = time.monotonic() + SA_SHARE * (deadline - time.monotonic())
        routes = anneal(
            rm_data,
            routes,
            sa_deadline,
            seed=seed,
            t_start=SA_T_START * per_customer,
            t_end=SA_T_END * per_customer,
        )
    step = min(2.0, max(0.3, (deadline - time.monotonic()) / ILS_STEPS))
    best, best_d = routes, _score(instance, routes)[1]
    rng = random.Random(seed)
    near = rm_data.near(RUIN_SIZE)
    start: list[list[int]] | None = routes
    first = True
    while deadline - time.monotonic() > 0.05:
        if start is None:
            start = ruin_recreate(rm_data, best, rng, near, RUIN_SIZE, k)
            continue
        seconds = min(2 * step if first else step, deadline - time.monotonic())
        first = False
        found = _solve_with(instance, data, k, seconds, start, fixed_cost=0)
        start = None
        if found is None or found[1] or len(found[0]) > k:
            continue
        distance = _score(instance, found[0])[1]
        if distance < best_d - 1e-9:
            best, best_d = found[0], distance
    return best


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
