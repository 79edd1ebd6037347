"""Route minimization with an ejection pool, in the spirit of Nagata & Bräysy (2009).

One route at a time is taken out and its customers go into the ejection pool (a stack). Each one is
put back by a feasible insertion if there is one (cheapest by distance); otherwise its penalty
counter grows and it is inserted by ejecting up to ``k_max`` customers of one route, the ejection
whose penalty counters sum least; the ejected customers go into the pool and random feasible
relocate/exchange moves perturb the solution. An empty pool means one route fewer; when the time is
up, the last complete solution is returned. The first attempt at one route fewer takes out the
shortest route; after ``ATTEMPT_STEPS`` pool steps without success a random route is tried instead,
with a step budget that doubles per failure. Ejections are searched only at insertion positions next
to one of the customer's ``NEIGHBOURS`` nearest customers (or the depot). Unlike the paper, there is
no "squeeze" step (infeasible insertion repaired by local search) and ``k_max`` is 2, not 5.

All checks are O(1) on integer times, the same as the OR-Tools model uses (travel
``ceil(d * 1000)`` plus the service time of the origin): per route, ``early[i]`` is the earliest
start of service at position ``i`` and ``late[i]`` the latest start that keeps the rest of the
route feasible; position 0 and the last one are the depot. Every route kept is feasible.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NEIGHBOURS = 40
ATTEMPT_STEPS = 200  # pool steps of the first attempt at one route fewer (doubled per failure)


@dataclass(frozen=True, slots=True)
class RmData:
    """Integer data of an instance: ``travel[i][j]`` includes the service time at ``i``."""

    travel: list[list[int]]
    cost: list[list[int]]
    demand: list[int]
    ready: list[int]
    due: list[int]
    capacity: int

    def near(self, count: int = NEIGHBOURS) -> list[list[int]]:
        """The ``count`` customers closest to each node (by cost), the node itself excluded."""
        cost = np.asarray(self.cost, dtype=np.int64)
        n = cost.shape[0]
        order = np.argsort(cost[:, 1:], axis=1, kind="stable") + 1
        return [[int(c) for c in order[i] if c != i][:count] for i in range(n)]


class Solution:
    """Routes as node lists ``[0, c1, ..., cm, 0]`` with their time arrays and loads."""

    def __init__(self, data: RmData, routes: Sequence[Sequence[int]]) -> None:
        self.d = data
        self.paths: list[list[int]] = []
        self.early: list[list[int]] = []
        self.late: list[list[int]] = []
        self.load: list[int] = []
        n = len(data.demand)
        self.route_of = [-1] * n
        self.pos = [0] * n
        for route in routes:
            if route:
                self.paths.append([0, *route, 0])
                self.early.append([])
                self.late.append([])
                self.load.append(0)
                self.refresh(len(self.paths) - 1)

    def refresh(self, r: int) -> None:
        d = self.d
        travel, ready, due = d.travel, d.ready, d.due
        path = self.paths[r]
        early = [ready[0]] * len(path)
        for i in range(1, len(path)):
            early[i] = max(ready[path[i]], early[i - 1] + travel[path[i - 1]][path[i]])
        late = [due[0]] * len(path)
        for i in range(len(path) - 2, -1, -1):
            late[i] = min(due[path[i]], late[i + 1] - travel[path[i]][path[i + 1]])
        self.early[r] = early
        self.late[r] = late
        self.load[r] = sum(d.demand[c] for c in path)
        for i in range(1, len(path) - 1):
            self.route_of[path[i]] = r
            self.pos[path[i]] = i

    def feasible(self) -> bool:
        return all(
            load <= self.d.capacity and all(e <= lt for e, lt in zip(early, late, strict=True))
            for load, early, late in zip(self.load, self.early, self.late, strict=True)
        )

    def routes(self) -> list[list[int]]:
        return [p[1:-1] for p in self.paths if len(p) > 2]

    def drop_route(self, r: int) -> list[int]:
        customers = self.paths[r][1:-1]
        for c in customers:
            self.route_of[c] = -1
        self._delete(r)
        return customers

    def _delete(self, r: int) -> None:
        for lst in (self.paths, self.early, self.late, self.load):
            del lst[r]
        for k in range(r, len(self.paths)):
            for c in self.paths[k][1:-1]:
                self.route_of[c] = k

    def fits(self, v: int, r: int, i: int) -> bool:
        """Can ``v`` go between positions ``i`` and ``i + 1`` of route ``r``? (capacity apart)"""
        d = self.d
        path = self.paths[r]
        p, q = path[i], path[i + 1]
        at = max(d.ready[v], self.early[r][i] + d.travel[p][v])
        return at <= d.due[v] and at + d.travel[v][q] <= self.late[r][i + 1]

    def best_insertion(self, v: int) -> tuple[int, int] | None:
        """The cheapest feasible (route, position) for ``v``, or None."""
        d = self.d
        cost = d.cost
        best: tuple[int, int] | None = None
        best_delta = 0
        for r, path in enumerate(self.paths):
            if self.load[r] + d.demand[v] > d.capacity:
                continue
            for i in range(len(path) - 1):
                if self.fits(v, r, i):
                    delta = cost[path[i]][v] + cost[v][path[i + 1]] - cost[path[i]][path[i + 1]]
                    if best is None or delta < best_delta:
                        best, best_delta = (r, i), delta
        return best

    def insert(self, v: int, r: int, i: int) -> None:
        self.paths[r].insert(i + 1, v)
        self.refresh(r)

    def remove(self, customers: Sequence[int]) -> None:
        """Take customers out of their routes; routes left empty disappear."""
        touched = {self.route_of[c] for c in customers}
        gone = set(customers)
        for r in touched:
            self.paths[r] = [c for c in self.paths[r] if c not in gone]
        for c in customers:
            self.route_of[c] = -1
        for r in sorted(touched, reverse=True):
            if len(self.paths[r]) <= 2:
                self._delete(r)
            else:
                self.refresh(r)


class _Ejection:
    """Insert ``v`` into one route, ejecting up to ``k_max`` of its customers so that it stays
    feasible, with the least sum of penalties (``best``: route, position, ejected).

    Per route and insertion position, a depth-first enumeration in route order decides for each
    customer to keep it (propagating the earliest start) or eject it; a branch ends as soon as the
    rest of the route is unchanged and reachable in time (``late``), or the bound is reached."""

    def __init__(self, sol: Solution, v: int, k_max: int, penalty: list[int]) -> None:
        self.sol, self.v, self.k_max, self.penalty = sol, v, k_max, penalty
        self.best_sum = 1 << 60
        self.best: tuple[int, int, list[int]] | None = None
        self.ejected: list[int] = []
        self.seq: list[int] = []
        self.r = self.i = self.vpos = self.over_all = 0

    def run(self, near: set[int], order: list[int]) -> tuple[int, int, list[int]] | None:
        sol, v, demand = self.sol, self.v, self.sol.d.demand
        for r in order:
            path = sol.paths[r]
            over = sol.load[r] + demand[v] - sol.d.capacity
            if over > 0 and sum(sorted((demand[c] for c in path), reverse=True)[: self.k_max]) < over:
                continue
            self.r, self.over_all = r, over
            for i in range(len(path) - 1):
                if path[i] not in near and path[i + 1] not in near:
                    continue
                self.i, self.vpos = i, i + 1
                self.seq = [*path[: i + 1], v, *path[i + 1 :]]
                self._dfs(1, 0, sol.early[r][0], 0, over)
                if self.best_sum <= 1:  # no ejection sums to less than one penalty
                    return self.best
        return self.best

    def _dfs(self, j: int, prev: int, t: int, psum: int, over: int) -> None:
        d = self.sol.d
        node = self.seq[j]
        at = t + d.travel[prev][node]
        if at < d.ready[node]:
            at = d.ready[node]
        ejected = self.ejected
        vpos = self.vpos
        if j < vpos and ejected and self.over_all <= 0 and at == self.sol.early[self.r][j]:
            return  # the ejections so far changed nothing: dominated by keeping them
        if node == 0:
            if at <= d.due[0] and over <= 0 and psum < self.best_sum:
                self.best_sum, self.best = psum, (self.r, self.i, list(ejected))
            return
        if at <= d.due[node]:
            if j > vpos:
                # The rest of the route is unchanged: feasible now, or an ejection is due.
                if over <= 0 and at <= self.sol.late[self.r][j - 1]:
                    if psum < self.best_sum:
                        self.best_sum, self.best = psum, (self.r, self.i, list(ejected))
                    return
                if len(ejected) < self.k_max and psum + 1 < self.best_sum:
                    self._dfs(j + 1, node, at, psum, over)
            else:
                self._dfs(j + 1, node, at, psum, over)
        cost = self.penalty[node]
        if node != self.v and len(ejected) < self.k_max and psum + cost < self.best_sum:
            ejected.append(node)
            self._dfs(j + 1, prev, t, psum + cost, over - d.demand[node])
            ejected.pop()


def _perturb(sol: Solution, rng: random.Random, near: list[list[int]], tries: int) -> None:
    """Random feasible relocate and exchange moves between two routes (distance ignored)."""
    d = sol.d
    travel, ready, due, demand, cap = d.travel, d.ready, d.due, d.demand, d.capacity
    placed = [c for path in sol.paths for c in path[1:-1]]
    if not placed:
        return
    for _ in range(tries):
        u = rng.choice(placed)
        w = rng.choice(near[u])
        a, b = sol.route_of[u], sol.route_of[w]
        if a < 0 or b < 0 or a == b:
            continue
        i, j = sol.pos[u], sol.pos[w]
        if rng.random() < 0.5:
            # relocate u next to w (after it, or before it)
            at = j if rng.random() < 0.5 else j - 1
            if sol.load[b] + demand[u] <= cap and sol.fits(u, b, at):
                sol.paths[a].pop(i)
                sol.insert(u, b, at)
                if len(sol.paths[a]) <= 2:
                    sol._delete(a)
                else:
                    sol.refresh(a)
            continue
        # exchange u and w
        if sol.load[a] - demand[u] + demand[w] > cap or sol.load[b] - demand[w] + demand[u] > cap:
            continue
        pa, pb = sol.paths[a], sol.paths[b]
        tw = max(ready[w], sol.early[a][i - 1] + travel[pa[i - 1]][w])
        if tw > due[w] or tw + travel[w][pa[i + 1]] > sol.late[a][i + 1]:
            continue
        tu = max(ready[u], sol.early[b][j - 1] + travel[pb[j - 1]][u])
        if tu > due[u] or tu + travel[u][pb[j + 1]] > sol.late[b][j + 1]:
            continue
        pa[i], pb[j] = w, u
        sol.refresh(a)
        sol.refresh(b)


def minimize_routes(
    data: RmData,
    routes: Sequence[Sequence[int]],
    deadline: float,
    *,
    seed: int = 0,
    lower_bound: int = 1,
    k_max: int = 2,
    perturb_tries: int = 100,
    max_steps: int | None = None,
    patience: float | None = None,
) -> list[list[int]]:
    """Remove routes one at a time until ``deadline`` (``time.monotonic()``), ``lower_bound``
    routes or ``max_steps`` pool steps (one customer taken from the pool each); returns the last
    complete solution (the input if no route could be removed, or if it is not feasible under
    these times). ``patience``: also stop after that many seconds without removing a route.
    With ``max_steps`` and a deadline that is not reached, the result depends only
    on the seed."""
    rng = random.Random(seed)
    final = deadline
    best = Solution(data, routes)
    if not best.feasible():
        return [list(r) for r in routes if r]
    near_lists = data.near()
    near_sets = [set(x) | {0} for x in near_lists]
    steps = 0 if max_steps is None else max_steps
    failures = 0  # attempts at the current number of routes
    if patience is not None:
        deadline = min(final, time.monotonic() + patience)
    while len(best.paths) > lower_bound and time.monotonic() < deadline:
        if max_steps is not None and steps <= 0:
            break
        sol = Solution(data, best.routes())
        # The shortest route first, then random ones with a step budget that doubles per failure.
        if failures == 0:
            sizes = [len(p) for p in sol.paths]
            target = rng.choice([r for r, size in enumerate(sizes) if size == min(sizes)])
        else:
            target = rng.randrange(len(sol.paths))
        budget = ATTEMPT_STEPS << min(failures, 30)
        pool = sol.drop_route(target)
        penalty = [1] * len(data.demand)
        while pool and budget > 0 and time.monotonic() < deadline:
            if max_steps is not None:
                if steps <= 0:
                    break
                steps -= 1
            budget -= 1
            v = pool.pop()
            spot = sol.best_insertion(v)
            if spot is not None:
                sol.insert(v, *spot)
                continue
            penalty[v] += 1
            order = list(range(len(sol.paths)))
            rng.shuffle(order)
            found = _Ejection(sol, v, k_max, penalty).run(near_sets[v], order)
            if found is None:
                pool.insert(0, v)
            else:
                r, i, out = found
                path = sol.paths[r]
                sol.paths[r] = [c for c in [*path[: i + 1], v, *path[i + 1 :]] if c not in out]
                for c in out:
                    sol.route_of[c] = -1
                sol.refresh(r)
                pool.extend(out)
            _perturb(sol, rng, near_lists, perturb_tries)
        if pool:
            failures += 1
        else:
            best, failures = sol, 0
            if patience is not None:
                deadline = min(final, time.monotonic() + patience)
    return best.routes()
