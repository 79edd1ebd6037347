"""How the suite is shared out among pytest-xdist workers: the real scheduler (tests/parallel.py)
drives workers that run their tests in simulated time, each test taking the seconds it is given."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.parallel import BROWSER_WEIGHT, BrowserLastScheduling, split_files

#: the last ten share an id, as schemathesis's tests of each operation of a document do
ORDINARY = [f"tests/web/test_api.py::test_{n}" for n in range(290)] + [
    "tests/web/test_fuzz.py::test_fuzz"] * 10
PROCESSES = [f"tests/faults/test_outage.py::test_{n}" for n in range(4)] + [
    "tests/realtime/test_redis_fanout.py::test_fanout"]
#: four files of browser tests, of 16, 12, 8 and 4 tests
BROWSER_FILES = {f"tests/browser/test_{name}.py": count
                 for name, count in (("board", 16), ("tech", 12), ("pages", 8), ("login", 4))}
BROWSER = [f"{path}::test_{n}" for path, count in BROWSER_FILES.items() for n in range(count)]
#: the conftest's order: the processes tests where they fall, the browser tests last
COLLECTION = ORDINARY[:100] + PROCESSES[:4] + ORDINARY[100:] + PROCESSES[4:] + BROWSER


class Worker:
    """Runs what it is sent in order; ``clock`` is the simulated time it has spent."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.queue: list[int] = []
        self.ran: list[str] = []
        self.indices: list[int] = []
        self.clock = 0.0
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down, "work sent after shutdown"
        self.queue.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def simulate(count: int, seconds: dict[str, float], *, reorder: bool = True) -> list[Worker]:
    config = SimpleNamespace(getvalue={"tx": ["popen"] * count}.__getitem__,
                             option=SimpleNamespace(loadscopereorder=reorder))
    scheduler = BrowserLastScheduling(config)
    workers = [Worker(f"gw{n}") for n in range(count)]
    for worker in workers:
        scheduler.add_node(worker)  # type: ignore[arg-type]
    for worker in workers:
        scheduler.add_node_collection(worker, COLLECTION)  # type: ignore[arg-type]
    scheduler.schedule()
    while busy := [w for w in workers if w.queue]:
        worker = min(busy, key=lambda w: w.clock)
        index = worker.queue.pop(0)
        worker.ran.append(COLLECTION[index])
        worker.indices.append(index)
        worker.clock += seconds[COLLECTION[index]]
        scheduler.mark_test_complete(worker, index, seconds[COLLECTION[index]])  # type: ignore[arg-type]
    assert scheduler.tests_finished and all(w.shutting_down for w in workers)
    assert sorted(i for w in workers for i in w.indices) == list(range(len(COLLECTION)))
    return workers


def durations(ordinary: float, processes: float, browser: float) -> dict[str, Any]:
    return (dict.fromkeys(ORDINARY, ordinary) | dict.fromkeys(PROCESSES, processes)
            | dict.fromkeys(BROWSER, browser))


def holder(workers: list[Worker], tests: list[str]) -> Worker:
    """The one worker that ran all of ``tests``, one after another."""
    (worker,) = [w for w in workers if set(tests) & set(w.ran)]
    start = worker.ran.index(tests[0])
    assert worker.ran[start:start + len(tests)] == tests
    return worker


def browser_tail(worker: Worker) -> list[str]:
    """What ``worker`` ran from its first browser test on: nothing but browser tests."""
    first = next((i for i, test in enumerate(worker.ran) if test.startswith("tests/browser/")),
                 len(worker.ran))
    tail = worker.ran[first:]
    assert all(test.startswith("tests/browser/") for test in tail), "work after browser tests"
    return tail


def assert_browser_files_whole_and_last(workers: list[Worker]) -> None:
    for path in BROWSER_FILES:
        holder(workers, [test for test in BROWSER if test.startswith(f"{path}::")])
    assert sorted(t for w in workers for t in browser_tail(w)) == sorted(BROWSER)


@pytest.mark.parametrize("reorder", [True, False])
@pytest.mark.parametrize("browser_seconds", [0.5, 2.0, 6.0])
def test_the_browser_tests_are_the_last_work_of_their_workers(reorder: bool,
                                                             browser_seconds: float) -> None:
    workers = simulate(2, durations(0.5, 10.0, browser_seconds), reorder=reorder)
    assert sorted(t for w in workers for t in w.ran) == sorted(COLLECTION)  # each test once
    assert_browser_files_whole_and_last(workers)
    assert holder(workers, PROCESSES).ran[:len(PROCESSES)] == PROCESSES  # first, in a row


@pytest.mark.parametrize("ordinary_seconds", [0.2, 0.5, 3.0])
def test_when_browser_tests_take_what_was_estimated_the_workers_end_together(
        ordinary_seconds: float) -> None:
    browser_seconds = BROWSER_WEIGHT * ordinary_seconds
    workers = simulate(2, durations(ordinary_seconds, 20 * ordinary_seconds, browser_seconds))
    ends = sorted(w.clock for w in workers)
    assert ends[1] - ends[0] <= max(BROWSER_FILES.values()) * browser_seconds / 2 + 2 * ordinary_seconds


def test_browser_tests_as_long_as_all_the_rest_are_shared_by_both_workers() -> None:
    """40 browser tests of 10 s (400 s) beside 300 s of others: one worker alone would end 250 s
    after the other; shared, both end about when half of all the work is done."""
    workers = simulate(2, durations(1.0, 10.0, 10.0))
    assert_browser_files_whole_and_last(workers)
    assert all(browser_tail(w) for w in workers)
    total = sum(w.clock for w in workers)
    assert max(w.clock for w in workers) <= total / 2 + 4 * 10.0 / 2 + 10.0


def test_on_one_worker_everything_runs_and_the_browser_tests_come_last() -> None:
    (worker,) = simulate(1, durations(0.5, 10.0, 2.0))
    assert sorted(worker.ran) == sorted(COLLECTION)
    assert worker.ran[-len(BROWSER):] == BROWSER


def test_with_more_workers_each_browser_file_is_still_one_workers_last_work() -> None:
    workers = simulate(3, durations(0.5, 10.0, 2.0))
    assert sorted(t for w in workers for t in w.ran) == sorted(COLLECTION)
    assert_browser_files_whole_and_last(workers)


def test_files_are_split_into_parts_of_about_as_many_tests() -> None:
    assert split_files(BROWSER_FILES, 2) == {
        "tests/browser/test_board.py": 0, "tests/browser/test_tech.py": 1,
        "tests/browser/test_pages.py": 1, "tests/browser/test_login.py": 0}
    assert set(split_files(BROWSER_FILES, 1).values()) == {0}
