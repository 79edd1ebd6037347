"""Ruin and recreate on the integer model of ``routing/vrptw/route_min.py``, as a perturbation between
guided local search runs (an iterated local search around OR-Tools).

A ruin takes out one customer picked at random and its nearest neighbours (by distance), the
recreate puts them back one by one at their cheapest feasible position, in random order; a
perturbation that cannot place every customer within the given number of routes is rejected.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from routing.vrptw.route_min import RmData, Solution


def ruin_recreate(
    data: RmData,
    routes: Sequence[Sequence[int]],
    rng: random.Random,
    near: list[list[int]],
    size: int,
    max_routes: int,
) -> list[list[int]] | None:
    """A feasible solution with at most ``max_routes`` routes near ``routes``, or None."""
    sol = Solution(data, routes)
    customers = [c for path in sol.paths for c in path[1:-1]]
    if not customers:
        return None
    centre = rng.choice(customers)
    removed = [centre, *near[centre][: size - 1]]
    sol.remove(removed)
    rng.shuffle(removed)
    for v in removed:
        spot = sol.best_insertion(v)
        if spot is None:
            if len(sol.paths) >= max_routes:
                return None
            sol.paths.append([0, v, 0])
            sol.early.append([])
            sol.late.append([])
            sol.load.append(0)
            sol.refresh(len(sol.paths) - 1)
        else:
            sol.insert(v, *spot)
    return sol.routes()
