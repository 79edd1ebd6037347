"""Candidate ranking against a brute force that re-simulates every insertion from scratch."""

from __future__ import annotations

import itertools

import pytest

from routing.candidates import CandidateState, candidates
from routing.matrix import GreatCircleProvider
from routing.problem import DispatchProblem, Job, Location, Vehicle
from tests.routing.world import HOUR, NOW, at, job, problem, technician

PROVIDER = GreatCircleProvider()


def _legs(points: list[Location]) -> list[int]:
    m = PROVIDER.matrix(points).seconds
    return [int(m[i, i + 1]) for i in range(len(points) - 1)]


def _simulate(vehicle: Vehicle, route: list[Job]) -> tuple[bool, list[int], int]:
    """Feasible?, start of each job, total drive seconds: the plain definition, no slack tricks."""
    points = [vehicle.start, *(j.location for j in route)]
    legs = _legs(points)
    clock, starts = NOW, list[int]()
    for leg, j in zip(legs, route, strict=True):
        start = max(clock + leg, j.window_start)
        if start > j.window_end:
            return False, starts, 0
        starts.append(start)
        clock = start + j.service_s
    return clock <= vehicle.shift_end, starts, sum(legs)


def _brute_force(p: DispatchProblem, new: Job) -> list[tuple[int, str, int, int]]:
    """(added drive, technician, eta, position) of each technician's best insertion."""
    best = []
    for vehicle in p.vehicles:
        if not new.required_skills <= vehicle.skills:
            continue
        route = sorted(
            (j for j in p.jobs if j.current and j.current.technician_id == vehicle.technician_id),
            key=lambda j: j.current.sequence if j.current else 0,
        )
        _, _, before = _simulate(vehicle, route)
        options = []
        for pos in range(len(route) + 1):
            ok, starts, drive = _simulate(vehicle, [*route[:pos], new, *route[pos:]])
            if ok:
                options.append((drive - before, vehicle.technician_id, starts[pos], pos))
        if options:
            best.append(min(options))
    return sorted(best)


def _world() -> DispatchProblem:
    techs = [
        technician("t0", where=at(0, 0), skills=frozenset({"gas"})),
        technician("t1", where=at(6, 2), shift_end=NOW + 4 * HOUR),
        technician("t2", where=at(-5, 4), skills=frozenset({"gas"})),
        technician("t3", where=at(2, -6)),
    ]
    jobs = []
    for t, k in itertools.product(range(4), range(3)):
        start = NOW + (k + 1) * HOUR
        jobs.append(
            job(
                f"t{t}j{k}",
                at(3 * (t % 2) + k, 2 * t - k),
                window=(start, start + HOUR),
                service_min=30,
                current=(f"t{t}", k),
            )
        )
    return problem(techs, jobs)


@pytest.mark.parametrize(
    ("where", "window", "skills"),
    [
        (at(1, 1), (NOW + HOUR, NOW + 5 * HOUR), frozenset()),
        (at(4, 3), (NOW, NOW + 9 * HOUR), frozenset()),
        (at(-3, 2), (NOW + 2 * HOUR, NOW + 3 * HOUR), frozenset({"gas"})),
        (at(0, -4), (NOW + 30 * 60, NOW + 90 * 60), frozenset()),
    ],
)
def test_candidates_rank_technicians_exactly_like_a_brute_force_insertion(
    where: Location, window: tuple[int, int], skills: frozenset[str]
) -> None:
    p = _world()
    new = job("new", where, window=window, service_min=20, skills=skills)
    expected = _brute_force(p, new)
    found = candidates(new, CandidateState.build(p, PROVIDER), k=10)
    assert [(c.added_drive_s, c.technician_id, c.eta, c.position) for c in found] == expected


def test_only_the_k_best_are_returned_best_first() -> None:
    p = _world()
    new = job("new", at(1, 1))
    top2 = candidates(new, CandidateState.build(p), k=2)
    everyone = candidates(new, CandidateState.build(p), k=10)
    assert top2 == everyone[:2]
    assert [c.added_drive_s for c in everyone] == sorted(c.added_drive_s for c in everyone)


def test_nobody_qualified_means_no_candidates() -> None:
    new = job("new", at(1, 1), skills=frozenset({"crane"}))
    assert candidates(new, CandidateState.build(_world())) == []


def test_a_tight_window_is_flagged_as_a_binding_constraint_with_high_risk() -> None:
    p = problem([technician("t", where=at(0, 0))], [])
    leg = int(PROVIDER.matrix([at(0, 0), at(3, 0)]).seconds[0, 1])
    new = job("new", at(3, 0), window=(NOW, NOW + leg + 60))
    (only,) = candidates(new, CandidateState.build(p))
    assert only.eta == NOW + leg
    assert "time_window" in only.binding
    assert only.lateness_risk == "high"


def test_a_started_job_counts_as_the_first_position() -> None:
    p = problem(
        [technician("t", where=at(0, 0))],
        [job("underway", at(1, 0), started_by="t")],
    )
    (only,) = candidates(job("new", at(2, 0)), CandidateState.build(p))
    assert only.position == 1
