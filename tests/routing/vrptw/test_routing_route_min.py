from __future__ import annotations

import random
import re
import time
from pathlib import Path

from routing.vrptw.local_search import ruin_recreate
from routing.vrptw.route_min import RmData, Solution, minimize_routes
from routing.vrptw.solomon import VrptwInstance, read_solomon
from routing.vrptw.solver import _scaled
from routing.vrptw.validator import check_vrptw

FAR = 3600.0  # a deadline never reached: the step budget ends every run below


def _data(instance: VrptwInstance) -> RmData:
    d = _scaled(instance)
    return RmData(d.travel, d.cost, d.demand, d.ready, d.due, instance.capacity)


def _homberger(solomon_dir: Path) -> tuple[VrptwInstance, list[list[int]]]:
    folder = solomon_dir.parents[1] / "homberger"
    text = next((folder / "bks_solutions").glob("c1_2_1.*.txt")).read_text(encoding="utf-8")
    routes = [[int(c) for c in m.split()] for m in re.findall(r"Route\s+\d+\s*:\s*([\d ]+)", text)]
    return read_solomon(folder / "instances" / "c1_2_1.txt"), routes


def test_feasibility_arrays_agree_with_the_exact_validator(solomon_dir: Path) -> None:
    instance, routes = _homberger(solomon_dir)
    sol = Solution(_data(instance), routes[:6])
    assert sol.feasible()
    rng = random.Random(3)
    outside = [c for r in routes[6:] for c in r]
    fitting = 0
    for v in rng.sample(outside, 40):
        for r, path in enumerate(sol.paths):
            for i in range(len(path) - 1):
                if not sol.fits(v, r, i):
                    continue
                fitting += 1
                changed = [*path[1 : i + 1], v, *path[i + 1 : -1]]
                check = check_vrptw(instance, [changed])
                assert not [e for e in check.errors if "due" in e or "depot" in e], (v, r, i)
    assert fitting > 0


def test_singleton_routes_are_merged_into_a_valid_solution_near_the_best_fleet(
    solomon_dir: Path,
) -> None:
    instance = read_solomon(solomon_dir / "C101.txt")
    singletons = [[c] for c in range(1, instance.n_customers + 1)]
    routes = minimize_routes(
        _data(instance), singletons, time.monotonic() + FAR, seed=1, lower_bound=10, max_steps=3000
    )
    check = check_vrptw(instance, routes)
    assert check.ok, check.errors
    assert check.vehicles <= 11  # best known: 10


def test_an_obviously_redundant_route_is_removed(solomon_dir: Path) -> None:
    instance, bks = _homberger(solomon_dir)
    # Split the longest best-known route in two: 21 routes where 20 are enough.
    longest = max(range(len(bks)), key=lambda r: len(bks[r]))
    half = len(bks[longest]) // 2
    split = [r for k, r in enumerate(bks) if k != longest]
    split += [bks[longest][:half], bks[longest][half:]]
    assert check_vrptw(instance, split).ok
    routes = minimize_routes(
        _data(instance), split, time.monotonic() + FAR, seed=0, lower_bound=20, max_steps=2000
    )
    check = check_vrptw(instance, routes)
    assert check.ok, check.errors
    assert check.vehicles == 20


def test_the_same_seed_gives_the_same_routes(solomon_dir: Path) -> None:
    instance = read_solomon(solomon_dir / "C201.txt")
    data = _data(instance)
    singletons = [[c] for c in range(1, instance.n_customers + 1)]
    runs = [
        minimize_routes(data, singletons, time.monotonic() + FAR, seed=seed, max_steps=150)
        for seed in (5, 5, 6)
    ]
    assert runs[0] == runs[1]
    for routes in runs:
        assert check_vrptw(instance, routes).ok


def test_an_infeasible_start_is_returned_unchanged(solomon_dir: Path) -> None:
    instance = read_solomon(solomon_dir / "C101.txt")
    backwards = [list(range(instance.n_customers, 0, -1))]  # one van, windows broken
    routes = minimize_routes(_data(instance), backwards, time.monotonic() + FAR, max_steps=10)
    assert routes == backwards


def test_ruin_and_recreate_keeps_every_customer_once_within_the_route_count(solomon_dir: Path) -> None:
    instance, routes = _homberger(solomon_dir)
    data = _data(instance)
    near = data.near(25)
    rng = random.Random(2)
    kept = 0
    for _ in range(20):
        out = ruin_recreate(data, routes, rng, near, 25, len(routes))
        if out is None:
            continue
        kept += 1
        check = check_vrptw(instance, out)
        assert check.ok, check.errors
        assert check.vehicles <= len(routes)
    assert kept > 0
