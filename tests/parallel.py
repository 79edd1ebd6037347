"""How the suite is shared out among pytest-xdist workers (``make test`` runs ``-n 2``).

Each test is sent on its own, to whichever worker is free, except two groups, each run whole on
one worker (known by their paths: the controller sees only test ids):

- ``browser``: Playwright's sync API holds an event loop in the main thread while a browser is
  open, which other tests' ``asyncio.run`` calls must not meet, so the browser tests are the last
  work their worker gets: nothing is sent to it after them. They are split by file into one part
  a worker (``browser:0``, ``browser:1``, ..., balanced by their number of tests), since together
  they take about as long as all the other tests; a worker takes its part when what is left of
  the rest is about as long as its part, so that the workers end together.
- ``processes``: the tests that start servers of their own in other processes (web processes,
  redis-server) and kill them; they run one at a time and first, so the end of the run is short
  tests that share out evenly.

The lengths are estimated from the durations of the tests run so far: a browser test counts as
``BROWSER_WEIGHT`` times an ordinary one (about what it measures on the development machines). A
wrong estimate only makes one worker wait for the other at the end; the order is kept whatever it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from xdist.scheduler import LoadScopeScheduling

BROWSER = "browser"
PROCESSES = "processes"
GROUPS = {"tests/browser/": BROWSER, "tests/faults/": PROCESSES,
          "tests/realtime/test_redis_fanout.py": PROCESSES,
          "tests/web/test_several_workers.py": PROCESSES,
          "tests/integration/test_shared_planning.py": PROCESSES}
BROWSER_WEIGHT = 9.0


def split_files(counts: dict[str, int], parts: int) -> dict[str, int]:
    """Each file's part: the files with most tests first, each to the part with fewest so far."""
    load = [0] * max(1, parts)
    part_of = {}
    for path, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        part = load.index(min(load))
        part_of[path] = part
        load[part] += count
    return part_of


class BrowserLastScheduling(LoadScopeScheduling):
    """What ``--dist loadgroup`` runs here: one test a unit, but each group a unit of its own,
    and the browser group sent last to its worker, at the right time.

    (xdist's own loadgroup reads ``xdist_group`` marks through a suffix it adds to test ids on
    the workers, which pytest 9 no longer lets it add: the groups would be silently lost.)"""

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        self._seconds: dict[str, float] = {}  # total duration of the finished tests of each kind
        self._count: dict[str, int] = {}
        self._browser_part: dict[str, int] | None = None  # browser test file -> its part

    def add_node_collection(self, node: Any, collection: Any) -> None:
        """Tests of the same id (schemathesis gives every operation of a document the id of the
        test function) get a count after theirs, as the scheduler knows a test by its id."""
        seen: Counter[str] = Counter()
        unique = []
        for nodeid in collection:
            seen[nodeid] += 1
            unique.append(nodeid if seen[nodeid] == 1 else f"{nodeid}#{seen[nodeid]}")
        super().add_node_collection(node, unique)

    def _split_scope(self, nodeid: str) -> str:
        group = next((group for prefix, group in GROUPS.items() if nodeid.startswith(prefix)),
                     nodeid)
        if group != BROWSER:
            return group
        if self._browser_part is None:
            counts = Counter(test.split("::")[0] for test in self.collection or [nodeid]
                             if test.startswith("tests/browser/"))
            self._browser_part = split_files(dict(counts), self.numnodes)
        return f"{BROWSER}:{self._browser_part.get(nodeid.split('::')[0], 0)}"

    @staticmethod
    def _kind(scope: str) -> str:
        if scope.startswith(f"{BROWSER}:"):
            return BROWSER
        return scope if scope == PROCESSES else "other"

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        kind = self._kind(self._split_scope(self.registered_collections[node][item_index]))
        self._seconds[kind] = self._seconds.get(kind, 0.0) + duration
        self._count[kind] = self._count.get(kind, 0) + 1
        super().mark_test_complete(node, item_index, duration)

    def _mean(self, kind: str) -> float | None:
        """Mean duration of a test of ``kind`` so far (None: nothing to go on yet)."""
        if self._count.get(kind):
            return self._seconds[kind] / self._count[kind]
        other = self._mean("other") if kind != "other" else None
        return None if other is None else other * (BROWSER_WEIGHT if kind == BROWSER else 1.0)

    def _estimate(self, workloads: list[dict[str, dict[str, bool]]]) -> float | None:
        """Seconds the unfinished tests of ``workloads`` should take (None: nothing to go on)."""
        total = 0.0
        for workload in workloads:
            for scope, tests in workload.items():
                left = list(tests.values()).count(False)
                if left:
                    mean = self._mean(self._kind(scope))
                    if mean is None:
                        return None
                    total += left * mean
        return total

    def _browser_due(self, node: Any, part: str) -> bool:
        """Whether ``node`` should take browser ``part`` now: it then takes nothing else, so the
        other workers must have about as much left to do, their browser parts included."""
        rest = {scope: tests for scope, tests in self.workqueue.items()
                if self._kind(scope) != BROWSER}
        if not rest:
            return True
        others = [other for other in self.nodes if other is not node and not other.shutting_down]
        if not others:
            return False
        other_parts = {scope: tests for scope, tests in self.workqueue.items()
                       if self._kind(scope) == BROWSER and scope != part}
        left = self._estimate([rest, other_parts, *(self.assigned_work[other] for other in others)])
        mine = self._estimate([{part: self.workqueue[part]}, self.assigned_work[node]])
        return left is not None and mine is not None and left <= mine * len(others)

    def _has_browser_part(self, node: Any) -> bool:
        return any(self._kind(scope) == BROWSER for scope in self.assigned_work.get(node, {}))

    def _next_scope(self, node: Any) -> str | None:
        if self._has_browser_part(node):
            return None  # the browser tests were this worker's last work
        part = next((scope for scope in self.workqueue if self._kind(scope) == BROWSER), None)
        if part is not None and self._browser_due(node, part):
            return part
        if PROCESSES in self.workqueue:
            return PROCESSES
        return next((scope for scope in self.workqueue if self._kind(scope) != BROWSER), None)

    def _assign_work_unit(self, node: Any) -> None:
        scope = self._next_scope(node)
        if scope is None:
            return
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(nodeid) for nodeid, done in work_unit.items()
                                if not done])

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down:
            return
        if not self.workqueue or self._has_browser_part(node):
            node.shutdown()  # the worker ends once it has run what it was sent
            return
        if self._pending_of(self.assigned_work[node]) > 2:
            return
        self._assign_work_unit(node)
