"""What runs in the solver process: kept free of web and database imports so it starts fast."""

from __future__ import annotations

from routing.dispatch_model import plan
from routing.problem import DispatchProblem, DispatchSolution


def solve(problem: DispatchProblem, time_limit: float) -> DispatchSolution:
    return plan(problem, time_limit=time_limit)


def warm_up() -> bool:
    """Import OR-Tools in the worker ahead of the first solve."""
    return True
