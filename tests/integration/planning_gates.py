"""A solver for tests that a test can hold or hang, run in the real solver processes.

``solve(gate_dir, problem, time_limit)`` (bound with ``functools.partial``) names the solve by
its technicians (``"tech-2"``) and reads ``<name>.mode`` in ``gate_dir``: ``hang`` never
answers (until killed, at most two minutes); ``gate`` solves for real, then waits for
``<name>.release``; anything else just solves. It writes ``<name>.started`` first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from routing.dispatch_model import plan
from routing.problem import DispatchProblem, DispatchSolution


def name_of(problem: DispatchProblem) -> str:
    return "-".join(sorted(v.technician_id for v in problem.vehicles))


def solve(gate_dir: str, problem: DispatchProblem, time_limit: float) -> DispatchSolution:
    folder, name = Path(gate_dir), name_of(problem)
    (folder / f"{name}.started").write_text(str(os.getpid()))
    mode_file = folder / f"{name}.mode"
    mode = mode_file.read_text() if mode_file.exists() else "solve"
    if mode == "hang":
        time.sleep(120)
    result = plan(problem, time_limit=time_limit)
    if mode == "gate":
        deadline = time.monotonic() + 60
        while not (folder / f"{name}.release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return result
