"""The realtime bench's verdict: with several rounds, each app round is set beside the baseline of
its own round, and the goal is judged on the median ratio; a round where an event went missing
fails it whatever the median; a round whose baseline was starved is left out."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bench.realtime_report import print_goals

ARGS = argparse.Namespace(event_rate=50.0, vehicles=2000)


def row(server: str, rnd: int, p99: float, *, bad: int = 0) -> dict[str, Any]:
    return {"load": "events", "n": 500, "server": server, "round": rnd, "p50": p99 / 3,
            "p99": p99, "rate": 25_000.0, "server_cpu": 80.0, "clients_ok": 500 - bad,
            "clients_bad": bad, "posts": {"posted": 1000, "statuses": {201: 1000}}}


def goals(rows: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> list[str]:
    print_goals(rows, ARGS)
    return capsys.readouterr().out.splitlines()


def test_the_median_of_the_rounds_ratios_decides(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [row("app", 0, 200), row("baseline", 0, 100),   # x2.0
            row("baseline", 1, 50), row("app", 1, 400),    # x8.0: a bad minute
            row("app", 2, 250), row("baseline", 2, 100)]   # x2.5
    out = goals(rows, capsys)
    assert [line.rsplit("-> ", 1)[1] for line in out if ", round " in line] == [
        "PASS", "FAIL", "PASS"]
    assert out[-1].endswith("ratios x2.0, x2.5, x8.0, median x2.5 (goal <= x3), every event to "
                            "every board in every round: yes -> PASS")


def test_a_round_that_lost_an_event_fails_the_goal(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [row("app", 0, 200), row("baseline", 0, 100),
            row("app", 1, 150, bad=1), row("baseline", 1, 100),
            row("app", 2, 200), row("baseline", 2, 100)]
    assert goals(rows, capsys)[-1].endswith("every board in every round: no -> FAIL")


def test_a_starved_baseline_round_is_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [row("app", 0, 200), row("baseline", 0, 100),
            row("app", 1, 2500), row("baseline", 1, 1500),  # the baseline fell behind
            row("app", 2, 500), row("baseline", 2, 100)]
    out = goals(rows, capsys)
    [second] = [line for line in out if ", round 2:" in line]
    assert "-> NOT MEASURED: the baseline itself fell behind" in second
    assert out[-1].endswith("over 2 measured rounds: ratios x2.0, x5.0, median x3.5 (goal <= x3), "
                            "every event to every board in every round: yes -> FAIL")
