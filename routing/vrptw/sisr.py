"""Distance phase in pure Python: ruin and recreate with string removals and "blink" insertion
under simulated annealing, after Christiaens & Vanden Berghe (2020), "Slack induction by string
removals" (SISR), on the integer model of ``routing/vrptw/route_min.py``.

Ruin: a random seed customer; walking through its nearest customers, the route of each one not yet
ruined loses a string of consecutive customers containing it (or, half the time, a "split string":
a window of the route of which a middle part is kept), until ``k_s`` routes are ruined. String
lengths and ``k_s`` follow the paper with ``AVG_REMOVED`` customers removed on average and at most
``MAX_STRING`` per string.

Recreate: the removed customers sorted at random, by demand, by distance from the depot (far first)
or by distance (close first), each at its cheapest feasible position, every position skipped with
probability ``BLINK``. A customer without a feasible position opens a route while fewer than
``max_routes`` are in use, else the attempt is dropped.

Acceptance: a new solution replaces the current one if it is shorter than the current one plus
``-T ln U`` (U uniform), the temperature decaying geometrically from ``t_start`` to ``t_end`` over
the time (or step) budget; the best solution seen is returned.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence

from routing.vrptw.route_min import RmData, Solution

AVG_REMOVED = 10  # the paper's c-bar: customers removed per ruin on average
MAX_STRING = 10  # the paper's L_max: the longest string
BLINK = 0.01  # probability of skipping an insertion position
SPLIT = 0.5  # probability of a split string instead of a string


def _copy(sol: Solution) -> Solution:
    """A copy that shares nothing mutable with ``sol`` (time arrays are replaced, never mutated)."""
    out = Solution.__new__(Solution)
    out.d = sol.d
    out.paths = [p[:] for p in sol.paths]
    out.early = sol.early[:]
    out.late = sol.late[:]
    out.load = sol.load[:]
    out.route_of = sol.route_of[:]
    out.pos = sol.pos[:]
    return out


def total_cost(sol: Solution) -> int:
    cost = sol.d.cost
    return sum(cost[p[i]][p[i + 1]] for p in sol.paths for i in range(len(p) - 1))


def ruin(sol: Solution, rng: random.Random, near: list[list[int]]) -> list[int]:
    """Remove strings of consecutive customers near a random seed; returns the removed customers."""
    paths = sol.paths
    served = sum(len(p) - 2 for p in paths)
    if not served:
        return []
    ls_max = min(float(MAX_STRING), served / len(paths))
    ks_max = 4.0 * AVG_REMOVED / (1.0 + ls_max) - 1.0
    ks = int(rng.uniform(1.0, ks_max + 1.0))
    seed = rng.choice([c for p in paths for c in p[1:-1]])
    removed: list[int] = []
    ruined: set[int] = set()
    for c in (seed, *near[seed]):
        if len(ruined) >= ks:
            break
        r = sol.route_of[c]
        if r < 0 or r in ruined:
            continue
        ruined.add(r)
        path = paths[r]
        size = len(path) - 2
        length = int(rng.uniform(1.0, min(float(size), ls_max) + 1.0))
        at = sol.pos[c]
        if length < size and rng.random() < SPLIT:
            # A window of length + kept customers around c; the kept ones are a middle part.
            kept = 1
            while length + kept < size and rng.random() < 0.5:
                kept += 1
            window = length + kept
            start = rng.randint(max(1, at - window + 1), min(at, size - window + 1))
            cut = rng.randint(1, length - 1) if length > 1 else rng.randint(0, 1)
            removed += path[start : start + cut] + path[start + cut + kept : start + window]
        else:
            start = rng.randint(max(1, at - length + 1), min(at, size - length + 1))
            removed += path[start : start + length]
    sol.remove(removed)
    return removed


def _order(data: RmData, removed: list[int], rng: random.Random) -> None:
    pick = rng.randrange(11)
    if pick < 4:
        rng.shuffle(removed)
    elif pick < 8:
        removed.sort(key=lambda c: -data.demand[c])
    elif pick < 10:
        removed.sort(key=lambda c: -data.cost[0][c])
    else:
        removed.sort(key=lambda c: data.cost[0][c])


def _cheapest(sol: Solution, v: int, routes: Iterable[int], rand: Callable[[], float]) -> tuple[int, int]:
    """The cheapest feasible (route, position) for ``v`` among ``routes``, each position skipped
    with probability ``BLINK``; (-1, -1) if none."""
    d = sol.d
    cost, travel = d.cost, d.travel
    cv, tv, rv, dv = cost[v], travel[v], d.ready[v], d.due[v]
    room = d.capacity - d.demand[v]
    best_r = best_i = -1
    best_delta = 1 << 62
    for r in routes:
        if sol.load[r] > room:
            continue
        path, early, late = sol.paths[r], sol.early[r], sol.late[r]
        prev = path[0]
        for i in range(len(path) - 1):
            nxt = path[i + 1]
            delta = cv[prev] + cv[nxt] - cost[prev][nxt]
            if delta < best_delta and rand() >= BLINK:
                at = early[i] + travel[prev][v]
                if at < rv:
                    at = rv
                if at <= dv and at + tv[nxt] <= late[i + 1]:
                    best_r, best_i, best_delta = r, i, delta
            prev = nxt
    return best_r, best_i


def recreate(
    sol: Solution,
    removed: list[int],
    rng: random.Random,
    max_routes: int,
    left: list[int] | None = None,
) -> bool:
    """Blink insertion of ``removed``. A customer that fits nowhere when no route is left goes
    into ``left`` if given; without ``left`` the attempt ends there, returning False."""
    _order(sol.d, removed, rng)
    rand = rng.random
    for v in removed:
        r, i = _cheapest(sol, v, range(len(sol.paths)), rand)
        if r >= 0:
            sol.insert(v, r, i)
        elif len(sol.paths) < max_routes:
            sol.paths.append([0, v, 0])
            sol.early.append([])
            sol.late.append([])
            sol.load.append(0)
            sol.refresh(len(sol.paths) - 1)
        elif left is not None:
            left.append(v)
        else:
            return False
    return True


def anneal(
    data: RmData,
    routes: Sequence[Sequence[int]],
    deadline: float,
    *,
    seed: int = 0,
    t_start: float,
    t_end: float,
    max_steps: int | None = None,
) -> list[list[int]]:
    """Simulated annealing with SISR ruin and blink recreate, never using more routes than
    ``routes``; returns the shortest solution seen (``routes`` itself if nothing is shorter).
    The temperature schedule runs over the time to ``deadline``, or over ``max_steps`` if given
    (then the result depends only on the seed while the deadline is not reached)."""
    rng = random.Random(seed)
    current = Solution(data, routes)
    if not current.feasible() or not current.paths:
        return [list(r) for r in routes if r]
    max_routes = len(current.paths)
    near = data.near(len(data.demand))
    cur_cost = best_cost = total_cost(current)
    best = current
    start = time.monotonic()
    span = max(deadline - start, 1e-9)
    ratio = t_end / t_start if t_start > 0 else 1.0
    step = 0
    while True:
        now = time.monotonic()
        if now >= deadline or (max_steps is not None and step >= max_steps):
            break
        frac = step / max_steps if max_steps is not None else (now - start) / span
        temp = t_start * ratio**frac
        step += 1
        sol = _copy(current)
        removed = ruin(sol, rng, near)
        if not recreate(sol, removed, rng, max_routes):
            continue
        new_cost = total_cost(sol)
        if new_cost < cur_cost - temp * math.log(1.0 - rng.random()):
            current, cur_cost = sol, new_cost
            if new_cost < best_cost:
                best, best_cost = sol, new_cost
    return best.routes()


def reduce_fleet(
    data: RmData,
    routes: Sequence[Sequence[int]],
    deadline: float,
    *,
    seed: int = 0,
    lower_bound: int = 1,
    max_steps: int | None = None,
    patience: float | None = None,
) -> list[list[int]]:
    """SISR's fleet minimisation: a route is taken out and its customers are left unserved; ruin
    and recreate (no new route) is accepted when fewer customers are unserved or the sum of their
    "absences" (iterations spent unserved, counted per customer) decreases. No one unserved: one
    route fewer, and the next one is taken out. Returns the last complete solution. ``patience``:
    also stop after that many seconds without a route removed."""
    rng = random.Random(seed)
    best = Solution(data, routes)
    if not best.feasible() or len(best.paths) <= lower_bound:
        return best.routes()
    near = data.near(len(data.demand))
    absence = [0] * len(data.demand)
    current = _copy(best)
    out = current.drop_route(rng.randrange(len(current.paths)))
    final = deadline
    if patience is not None:
        deadline = min(final, time.monotonic() + patience)
    step = 0
    while time.monotonic() < deadline and (max_steps is None or step < max_steps):
        step += 1
        sol = _copy(current)
        removed = ruin(sol, rng, near) + out
        left: list[int] = []
        recreate(sol, removed, rng, len(sol.paths), left)
        if len(left) < len(out) or sum(absence[c] for c in left) < sum(absence[c] for c in out):
            current, out = sol, left
        for c in out:
            absence[c] += 1
        if not out:
            best = _copy(current)
            if len(best.paths) <= lower_bound:
                break
            if patience is not None:
                deadline = min(final, time.monotonic() + patience)
            out = current.drop_route(rng.randrange(len(current.paths)))
    return best.routes()
