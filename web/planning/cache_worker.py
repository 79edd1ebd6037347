"""What runs in the candidates process: the problem over everything and its candidate state.

Building it is a few hundred milliseconds of Python and numpy for 500 technicians with 10 jobs
each. In a thread of the web process that time competes with the event loop for the GIL, and under
load the loop stalled for up to ~0.4 s per rebuild; in its own process it only costs the pickling.
"""

from __future__ import annotations

import datetime as dt

from routing.candidates import CandidateState
from storage.queries.planning import LiveState
from web.planning.adapter import Built, Scope, build_problem


def build(state: LiveState, now: dt.datetime) -> tuple[Built, CandidateState]:
    built = build_problem(state, Scope("all"), now)
    return built, CandidateState.build(built.problem)

