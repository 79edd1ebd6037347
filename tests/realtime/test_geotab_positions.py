"""Positions from the GeoTab feed: late and re-sent records, and invalid ones."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from domain.positions import LatestPositions
from realtime.geotab import LOG_RECORD, GeotabFeedClient, MyGeotabApi
from realtime.geotab.protocol import format_datetime


@pytest.fixture
async def board(geotab_sim, cursor_store):
    """A feed client whose hand-off keeps every fix received and the latest fix per van."""

    class Board:
        def __init__(self) -> None:
            self.latest = LatestPositions()
            self.received: list = []

        async def __call__(self, fixes) -> None:
            self.received.extend(fixes)
            for fix in fixes:
                self.latest.offer(fix)

    state = Board()
    api = MyGeotabApi(geotab_sim.login())
    state.client = GeotabFeedClient(
        api,
        cursor_store=cursor_store,
        on_fixes=state,
        clock=geotab_sim.clock.now,
        results_limit=25,
    )
    await state.client.poll_once()  # take the feed position
    yield state
    await api.aclose()


async def test_late_and_re_sent_records_never_move_a_marker_back(geotab_sim, board):
    fleet = geotab_sim.fleet
    geotab_sim.advance(60)
    fleet.advance()
    fleet.resend_recent(30)
    late = fleet.inject_late("b1", count=5, age=timedelta(minutes=10))
    geotab_sim.advance(1)

    await board.client.catch_up()

    ids = Counter(fix.record_id for fix in board.received)
    assert any(count > 1 for count in ids.values()), "re-sent records did arrive"
    assert {record["id"] for record in late} <= set(ids), "late records did arrive"
    for van_id in fleet.vans:
        newest = max(
            (fix for fix in board.received if fix.unit_id == van_id),
            key=lambda fix: fix.device_time,
        )
        assert board.latest.get(van_id).device_time == newest.device_time
    assert board.latest.get("b1").record_id not in {record["id"] for record in late}


async def test_a_marker_follows_the_van_as_new_records_arrive(geotab_sim, board):
    geotab_sim.advance(60)
    await board.client.catch_up()
    before = board.latest.get("b1")

    geotab_sim.advance(60)
    await board.client.catch_up()

    assert board.latest.get("b1").device_time > before.device_time


async def test_invalid_records_are_dropped_and_counted_and_the_rest_delivered(geotab_sim, board):
    fleet = geotab_sim.fleet
    now = geotab_sim.clock.now()
    good = {"dateTime": format_datetime(now), "device": {"id": "b2"}, "speed": 20}
    bad_records = [
        {**good, "latitude": 123.0, "longitude": -79.4},
        {**good, "latitude": 43.7, "longitude": -200.0},
        {**good, "latitude": float("nan"), "longitude": -79.4},
        {**good, "latitude": 0.0, "longitude": 0.0},
        {
            **good,
            "latitude": 43.7,
            "longitude": -79.4,
            "dateTime": format_datetime(now + timedelta(days=1)),
        },
        {**good, "latitude": 43.7, "longitude": -79.4, "dateTime": "yesterday"},
        {"dateTime": format_datetime(now), "latitude": 43.7, "longitude": -79.4, "speed": 5},
    ]
    for record in bad_records:
        fleet.inject_record(record)
    kept = fleet.inject_record({**good, "latitude": 43.71, "longitude": -79.41})

    [page] = await board.client.poll_once()

    assert page.invalid == len(bad_records)
    assert board.client.stats[LOG_RECORD].invalid == len(bad_records)
    assert [fix.record_id for fix in board.received] == [kept["id"]]
