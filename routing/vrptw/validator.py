"""An independent check of a VRPTW solution, written without the solver's code paths.

``check_vrptw`` replays every route with exact (double precision) times and distances and returns
the vehicles used, the distance and the violations found (``ok`` when there are none). The tests
and the benchmark re-check every solution with it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from routing.vrptw.solomon import VrptwInstance

TIME_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class VrptwCheck:
    vehicles: int
    distance: float
    errors: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors


def check_vrptw(instance: VrptwInstance, routes: Sequence[Sequence[int]]) -> VrptwCheck:
    """Capacity, every time window with exact times, depot closing time, every customer served
    exactly once, fleet size; the distance is recomputed in double precision."""
    errors: list[str] = []
    n = len(instance.x) - 1
    seen = Counter(c for route in routes for c in route)
    for customer in range(1, n + 1):
        if seen[customer] != 1:
            errors.append(f"customer {customer} visited {seen[customer]} times")
    for customer in seen:
        if not 1 <= customer <= n:
            errors.append(f"unknown customer {customer}")
    used = [r for r in routes if len(r) > 0]
    if len(used) > instance.fleet_size:
        errors.append(f"{len(used)} vehicles used, fleet has {instance.fleet_size}")

    def leg(a: int, b: int) -> float:
        dx = instance.x[a] - instance.x[b]
        dy = instance.y[a] - instance.y[b]
        return math.sqrt(dx * dx + dy * dy)

    total = 0.0
    for number, route in enumerate(used):
        load = sum(instance.demand[c] for c in route if 1 <= c <= n)
        if load > instance.capacity:
            errors.append(f"route {number}: load {load} exceeds capacity {instance.capacity}")
        clock = float(instance.ready[0])
        here = 0
        for c in route:
            if not 1 <= c <= n:
                continue
            d = leg(here, c)
            total += d
            clock = max(clock + d, float(instance.ready[c]))
            if clock > instance.due[c] + TIME_EPS:
                errors.append(f"route {number}: customer {c} starts at {clock:.4f}, due {instance.due[c]}")
            clock += instance.service[c]
            here = c
        d = leg(here, 0)
        total += d
        if clock + d > instance.due[0] + TIME_EPS:
            errors.append(f"route {number}: back at the depot at {clock + d:.4f}, closes {instance.due[0]}")
    return VrptwCheck(vehicles=len(used), distance=total, errors=tuple(errors))
