from __future__ import annotations

import random
import time
from pathlib import Path

from routing.vrptw.route_min import RmData, Solution, minimize_routes
from routing.vrptw.sisr import anneal, recreate, reduce_fleet, ruin, total_cost
from routing.vrptw.solomon import VrptwInstance, read_solomon
from routing.vrptw.solver import _scaled
from routing.vrptw.validator import check_vrptw

FAR = 3600.0  # a deadline never reached: the step budget ends every run below


def _data(instance: VrptwInstance) -> RmData:
    d = _scaled(instance)
    return RmData(d.travel, d.cost, d.demand, d.ready, d.due, instance.capacity)


def _start(instance: VrptwInstance, data: RmData) -> list[list[int]]:
    singletons = [[c] for c in range(1, instance.n_customers + 1)]
    return minimize_routes(data, singletons, time.monotonic() + FAR, seed=0, max_steps=400)


def test_ruin_removes_strings_and_recreate_puts_every_customer_back(solomon_dir: Path) -> None:
    instance = read_solomon(solomon_dir / "C101.txt")
    data = _data(instance)
    routes = _start(instance, data)
    near = data.near(len(data.demand))
    rng = random.Random(4)
    sizes = []
    for _ in range(30):
        sol = Solution(data, routes)
        removed = ruin(sol, rng, near)
        sizes.append(len(removed))
        assert len(set(removed)) == len(removed)
        assert not {c for p in sol.paths for c in p[1:-1]} & set(removed)
        assert recreate(sol, removed, rng, len(routes) + 5)
        assert sol.feasible()
        check = check_vrptw(instance, sol.routes())
        assert check.ok, check.errors
    assert min(sizes) >= 1
    assert 3 <= sum(sizes) / len(sizes) <= 20  # the paper's average is 10


def test_recreate_without_a_spare_route_leaves_the_misfits_out(solomon_dir: Path) -> None:
    instance = read_solomon(solomon_dir / "C101.txt")
    data = _data(instance)
    sol = Solution(data, [[c] for c in range(1, 11)])
    left: list[int] = []
    recreate(sol, list(range(11, instance.n_customers + 1)), random.Random(0), len(sol.paths), left)
    served = {c for p in sol.paths for c in p[1:-1]}
    assert served | set(left) == set(range(1, instance.n_customers + 1))
    assert not served & set(left)
    assert len(sol.paths) == 10
    assert sol.feasible()


def test_annealing_shortens_the_routes_deterministically_within_the_fleet(solomon_dir: Path) -> None:
    instance = read_solomon(solomon_dir / "C101.txt")
    data = _data(instance)
    routes = _start(instance, data)
    before = total_cost(Solution(data, routes))
    runs = [
        anneal(data, routes, time.monotonic() + FAR, seed=seed, t_start=5000, t_end=50, max_steps=300)
        for seed in (1, 1, 2)
    ]
    assert runs[0] == runs[1]
    for out in runs:
        check = check_vrptw(instance, out)
        assert check.ok, check.errors
        assert check.vehicles <= len(routes)
        assert total_cost(Solution(data, out)) <= before
    assert total_cost(Solution(data, runs[0])) < before


def test_fleet_reduction_removes_a_redundant_route(solomon_dir: Path) -> None:
    instance = read_solomon(solomon_dir / "C201.txt")
    data = _data(instance)
    routes = _start(instance, data)
    # One more route than needed: split the longest one.
    longest = max(routes, key=len)
    half = len(longest) // 2
    split = [r for r in routes if r is not longest] + [longest[:half], longest[half:]]
    out = reduce_fleet(data, split, time.monotonic() + FAR, seed=3, lower_bound=len(routes), max_steps=300)
    check = check_vrptw(instance, out)
    assert check.ok, check.errors
    assert check.vehicles == len(routes)
    again = reduce_fleet(data, split, time.monotonic() + FAR, seed=3, lower_bound=len(routes), max_steps=300)
    assert again == out
