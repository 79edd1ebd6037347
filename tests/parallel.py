"""How the suite is shared out among pytest-xdist workers (``make test`` runs ``-n 2``).

Each test is sent on its own, to whichever worker is free, except two groups, each run whole on
one worker (known by their paths: the controller sees only test ids):

- ``browser``: Playwright's sync API holds an event loop in the main thread while a browser is
  open, which other tests' ``asyncio.run`` calls must not meet, so the browser tests are the last
  work their worker gets: nothing is sent to it after them. They are handed out when what is left
  for the other workers is about as long as they are, so that the workers end together.
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


class BrowserLastScheduling(LoadScopeScheduling):
    """What ``--dist loadgroup`` runs here: one test a unit, but each group a unit of its own,
    and the browser group sent last to its worker, at the right time.

    (xdist's own loadgroup reads ``xdist_group`` marks through a suffix it adds to test ids on
    the workers, which pytest 9 no longer lets it add: the groups would be silently lost.)"""

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        self._seconds: dict[str, float] = {}  # total duration of the finished tests of each kind
        self._count: dict[str, int] = {}

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
        return next((group for prefix, group in GROUPS.items() if nodeid.startswith(prefix)),
                    nodeid)

    @staticmethod
    def _kind(scope: str) -> str:
        return scope if scope in (BROWSER, PROCESSES) else "other"

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

    def _browser_due(self, node: Any) -> bool:
        """Whether ``node`` should take the browser group now: it then takes nothing else, so the
        other workers must have about as much left to do as it will have."""
        rest = {scope: tests for scope, tests in self.workqueue.items() if scope != BROWSER}
        if not rest:
            return True
        others = [other for other in self.nodes if other is not node and not other.shutting_down]
        if not others:
            return False
        left = self._estimate([rest, *(self.assigned_work[other] for other in others)])
        mine = self._estimate([{BROWSER: self.workqueue[BROWSER]}, self.assigned_work[node]])
        return left is not None and mine is not None and left <= mine * len(others)

    def _next_scope(self, node: Any) -> str | None:
        if BROWSER in self.assigned_work.get(node, {}):
            return None  # the browser tests were this worker's last work
        if BROWSER in self.workqueue and self._browser_due(node):
            return BROWSER
        if PROCESSES in self.workqueue:
            return PROCESSES
        return next((scope for scope in self.workqueue if scope != BROWSER), None)

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
        if not self.workqueue or BROWSER in self.assigned_work.get(node, {}):
            node.shutdown()  # the worker ends once it has run what it was sent
            return
        if self._pending_of(self.assigned_work[node]) > 2:
            return
        self._assign_work_unit(node)
