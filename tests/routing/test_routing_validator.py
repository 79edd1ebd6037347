"""The dispatch validator catches what a wrong plan would do to a customer or a technician."""

from __future__ import annotations

from dataclasses import replace

from routing.dispatch_model import plan
from routing.matrix import GreatCircleProvider
from routing.problem import Plan, Route, Stop
from routing.validator import check_plan
from tests.routing.world import HOUR, NOW, at, job, problem, technician

PROVIDER = GreatCircleProvider()


def _route(tech: str, *stops: Stop) -> Route:
    return Route(tech, stops, 0, 0, 0)


def _plan(*routes: Route) -> Plan:
    return replace(plan(problem([technician("x")], []), time_limit=0.1).plan, routes=routes)


def _eta(frm: tuple[float, float], to: tuple[float, float]) -> int:
    return NOW + int(PROVIDER.matrix([at(*frm), at(*to)]).seconds[0, 1])


def test_a_job_given_to_an_unqualified_technician_is_reported() -> None:
    p = problem([technician("a")], [job("j", at(1, 0), skills=frozenset({"gas"}))])
    t = _eta((0, 0), (1, 0))
    errors = check_plan(p, _plan(_route("a", Stop("j", t, t, t + 1800))), PROVIDER)
    assert any("needs skills" in e for e in errors)


def test_a_pinned_job_on_another_technician_is_reported() -> None:
    p = problem([technician("a"), technician("b")], [job("j", at(1, 0), pinned_to="b")])
    t = _eta((0, 0), (1, 0))
    errors = check_plan(p, _plan(_route("a", Stop("j", t, t, t + 1800))), PROVIDER)
    assert any("pinned to b" in e for e in errors)


def test_a_forgotten_job_and_a_missed_window_are_reported() -> None:
    p = problem(
        [technician("a")],
        [job("early", at(5, 0), window=(NOW, NOW + 60)), job("forgotten", at(1, 0))],
    )
    t = _eta((0, 0), (5, 0))
    errors = check_plan(p, _plan(_route("a", Stop("early", t, t, t + 1800))), PROVIDER)
    assert any("forgotten appears 0 times" in e for e in errors)
    assert any("window ends" in e for e in errors)


def test_working_past_the_shift_end_is_reported() -> None:
    p = problem([technician("a", shift_end=NOW + HOUR)], [job("j", at(1, 0), service_min=90)])
    t = _eta((0, 0), (1, 0))
    errors = check_plan(p, _plan(_route("a", Stop("j", t, t, t + 5400))), PROVIDER)
    assert any("shift ends" in e for e in errors)


def test_a_wrong_eta_is_reported() -> None:
    p = problem([technician("a")], [job("j", at(1, 0))])
    errors = check_plan(p, _plan(_route("a", Stop("j", NOW, NOW, NOW + 1800))), PROVIDER)
    assert any("ETA reported" in e for e in errors)
