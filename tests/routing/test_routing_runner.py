from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from routing.dispatch_model import plan
from routing.runner import SolveTimeout, solve_cancellable, solve_in_pool
from tests.routing.world import at, job, problem, technician


async def test_a_plan_computed_in_a_worker_process_comes_back_whole() -> None:
    p = problem([technician("a"), technician("b", where=at(8, 0))], [job("j", at(8, 1))])
    with ProcessPoolExecutor(max_workers=1) as pool:
        solution = await solve_in_pool(pool, plan, p, limit_s=60)
    assert solution.plan.assignment()["j"][0] == "b"


async def test_a_solve_over_its_time_budget_is_killed_and_reported() -> None:
    started = time.monotonic()
    with pytest.raises(SolveTimeout):
        await solve_cancellable(time.sleep, 30, limit_s=1.0)
    assert time.monotonic() - started < 10
