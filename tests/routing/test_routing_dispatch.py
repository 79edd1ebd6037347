"""The dispatch model, one business rule per test; every solution is re-checked by the validator."""

from __future__ import annotations

from dataclasses import replace

from routing.dispatch_model import plan
from routing.matrix import GreatCircleProvider
from routing.problem import CurrentAssignment, DispatchProblem, DispatchSettings, DispatchSolution
from routing.validator import check_plan
from tests.routing.world import HOUR, NOW, at, job, problem, technician

GAS = frozenset({"gas"})


def solve(p: DispatchProblem, time_limit: float = 1.0) -> DispatchSolution:
    solution = plan(p, time_limit=time_limit)
    assert solution.status in {"cold", "warm"}  # the greedy start was accepted by OR-Tools
    assert check_plan(p, solution.plan, GreatCircleProvider()) == []
    return solution


def owner(solution: DispatchSolution, job_id: str) -> str | None:
    return solution.plan.assignment().get(job_id, (None, 0))[0]


def test_a_job_goes_only_to_a_technician_holding_all_its_skills() -> None:
    p = problem(
        [technician("near", where=at(0, 1)), technician("gasfitter", where=at(10, 0), skills=GAS)],
        [job("leak", at(0, 1.2), skills=GAS)],
    )
    assert owner(solve(p), "leak") == "gasfitter"


def test_a_job_nobody_is_qualified_for_is_left_out_with_that_reason() -> None:
    p = problem([technician("a")], [job("boiler", at(1, 1), skills=GAS)])
    solution = solve(p)
    (left,) = solution.plan.dropped
    assert (left.job_id, left.reason) == ("boiler", "no_skilled_technician")
    assert "gas" in left.message


def test_a_pinned_job_stays_with_its_technician_even_when_another_is_closer() -> None:
    p = problem(
        [technician("near", where=at(0, 1)), technician("far", where=at(15, 0))],
        [job("vip", at(0, 1), pinned_to="far"), job("other", at(0, 2))],
    )
    solution = solve(p)
    assert owner(solution, "vip") == "far"
    assert owner(solution, "other") == "near"


def test_a_started_job_stays_first_with_its_technician() -> None:
    p = problem(
        [technician("busy", where=at(0, 5)), technician("idle", where=at(0, 0))],
        [
            job("underway", at(0, 0.2), started_by="busy", current=("busy", 0)),
            job("next", at(0, 0.3), current=("busy", 1)),
        ],
    )
    solution = solve(p)
    route = {r.technician_id: r for r in solution.plan.routes}["busy"]
    assert route.job_ids[0] == "underway"
    leg = GreatCircleProvider().matrix([at(0, 5), at(0, 0.2)]).seconds[0, 1]
    assert route.stops[0].arrival == NOW + leg


def test_a_started_job_is_kept_even_if_its_window_has_already_closed() -> None:
    p = problem(
        [technician("t")],
        [job("overrun", at(1, 0), window=(NOW - 2 * HOUR, NOW - HOUR), started_by="t")],
    )
    solution = solve(p)
    assert owner(solution, "overrun") == "t"
    assert solution.plan.dropped == ()


def test_a_technician_is_not_given_work_that_ends_after_the_shift() -> None:
    p = problem(
        [
            technician("leaving", where=at(0, 0), shift_end=NOW + HOUR),
            technician("staying", where=at(12, 0)),
        ],
        [job("long", at(0, 0.5), service_min=90)],
    )
    solution = solve(p)
    assert owner(solution, "long") == "staying"
    assert all(r.finish <= NOW + HOUR for r in solution.plan.routes if r.technician_id == "leaving")


def test_a_job_out_of_reach_of_every_shift_is_reported_unreachable() -> None:
    p = problem(
        [technician("t", shift_end=NOW + HOUR)],
        [job("late", at(1, 0), window=(NOW + 3 * HOUR, NOW + 4 * HOUR))],
    )
    (left,) = solve(p).plan.dropped
    assert left.reason == "window_unreachable"


def test_the_emergency_is_served_and_the_low_priority_job_is_dropped_with_a_reason() -> None:
    # One technician, two jobs wanting the same hour: only one can be done.
    hour = (NOW + HOUR, NOW + HOUR + 10 * 60)
    p = problem(
        [technician("only", shift_end=NOW + 3 * HOUR)],
        [
            job("tidy-up", at(1, 0), window=hour, service_min=60, priority="low"),
            job("gas-leak", at(-1, 0), window=hour, service_min=60, priority="emergency"),
        ],
    )
    solution = solve(p)
    assert owner(solution, "gas-leak") == "only"
    (left,) = solution.plan.dropped
    assert (left.job_id, left.reason) == ("tidy-up", "low_priority_deferred")
    assert left.message


def test_low_priority_work_is_deferred_first_when_the_day_is_full() -> None:
    jobs = [job(f"n{i}", at(i * 0.5, 0), service_min=60) for i in range(5)]
    jobs += [job(f"low{i}", at(-i * 0.5, 1), service_min=60, priority="low") for i in range(5)]
    p = problem([technician("solo", shift_end=NOW + 6 * HOUR)], jobs)
    solution = solve(p)
    served = set(solution.plan.assignment())
    assert {f"n{i}" for i in range(5)} <= served
    assert {u.reason for u in solution.plan.dropped} == {"low_priority_deferred"}
    assert solution.kpis_after.jobs_served == len(served)


def test_a_technician_capacity_limits_the_number_of_jobs() -> None:
    p = problem(
        [technician("a", capacity=2), technician("b", where=at(20, 0))],
        [job(f"j{i}", at(0, 0.3 * i)) for i in range(4)],
    )
    solution = solve(p)
    assert sum(1 for t, _ in solution.plan.assignment().values() if t == "a") <= 2
    assert solution.kpis_after.jobs_served == 4


def _city(n_techs: int, jobs_per_tech: int) -> DispatchProblem:
    techs = [technician(f"t{i}", where=at(4 * (i % 3), 4 * (i // 3))) for i in range(n_techs)]
    jobs = []
    for k in range(n_techs * jobs_per_tech):
        start = NOW + (k % 8) * HOUR
        where = at((k * 7 % 13) - 2, (k * 5 % 11) - 1)
        jobs.append(job(f"w{k}", where, window=(start, start + 2 * HOUR), service_min=45))
    return problem(techs, jobs)


def _as_current(p: DispatchProblem, solution: DispatchSolution) -> DispatchProblem:
    where = solution.plan.assignment()
    jobs = tuple(
        replace(j, current=CurrentAssignment(*where[j.id]) if j.id in where else None) for j in p.jobs
    )
    return replace(p, jobs=jobs)


def test_a_moved_job_costs_more_than_the_drive_it_saves_so_small_gains_keep_it_put() -> None:
    p = problem(
        [technician("a", where=at(0, 0)), technician("b", where=at(5, 0))],
        [job("x", at(5, 0.5), current=("a", 0))],
    )
    solution = solve(p)
    assert owner(solution, "x") == "a"
    assert solution.reassignments == ()


def test_a_one_job_change_moves_few_assignments() -> None:
    p = _city(6, 5)
    first = solve(p, time_limit=2.0)
    assert first.plan.dropped == ()
    current = _as_current(p, first)
    extra = job("new", at(3, 3), window=(NOW + 2 * HOUR, NOW + 5 * HOUR), service_min=30)
    second = solve(replace(current, jobs=(*current.jobs, extra)), time_limit=2.0)
    assert second.status == "warm"
    assert owner(second, "new") is not None
    assert second.kpis_after.jobs_moved <= 2
    assert [m.job_id for m in second.reassignments if m.from_technician is None] == ["new"]


def test_without_stability_cost_a_replan_may_reshuffle_but_stays_valid() -> None:
    p = _city(6, 5)
    current = _as_current(p, solve(p, time_limit=1.0))
    loose = replace(current, settings=DispatchSettings(stability_cost=0, warm_start=False))
    solution = solve(loose, time_limit=1.0)
    assert solution.kpis_after.jobs_served == 30


def test_the_solution_reports_kpis_before_and_after_and_the_reassignments() -> None:
    p = problem(
        [technician("a", where=at(0, 0)), technician("b", where=at(40, 0))],
        [job("x", at(40, 0.5), current=("a", 0))],
    )
    solution = solve(p)
    (change,) = solution.reassignments
    assert (change.job_id, change.from_technician, change.to_technician) == ("x", "a", "b")
    assert change.eta is not None and change.position == 0
    assert solution.kpis_after.jobs_moved == 1
    assert solution.kpis_before.jobs_served == solution.kpis_after.jobs_served == 1
    assert solution.kpis_after.drive_km < solution.kpis_before.drive_km


def test_soft_windows_allow_lateness_at_a_cost_and_report_it() -> None:
    settings = DispatchSettings(time_limit_s=1.0, max_lateness_s=HOUR)
    tight = (NOW, NOW + 5 * 60)
    far = replace(job("far", at(30, 0), window=tight), soft_window=True)
    solution = solve(problem([technician("t")], [far], settings))
    assert owner(solution, "far") == "t"
    assert solution.kpis_after.lateness_minutes > 0


def test_the_jobs_of_a_technician_marked_unavailable_move_to_others_and_show_in_the_diff() -> None:
    # "sick" is no longer in the problem; their jobs still say they are assigned to them.
    p = problem(
        [technician("a"), technician("b", where=at(5, 0))],
        [job("j1", at(1, 0), current=("sick", 0)), job("j2", at(5, 1), current=("sick", 1))],
    )
    solution = solve(p)
    assert {(m.job_id, m.from_technician) for m in solution.reassignments} == {
        ("j1", "sick"),
        ("j2", "sick"),
    }
    assert all(m.to_technician in {"a", "b"} for m in solution.reassignments)
    assert solution.kpis_after.jobs_moved == 2
