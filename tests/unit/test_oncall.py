"""Who is on call: weekly shifts in the store's time zone (past midnight too), overrides for the
whole level or in place of one person, stores, and nobody (the fallback applies)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from domain.errors import ValidationFailed
from domain.oncall import Override, Rota, Shift, Zones, parse_time, parse_weekdays

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = parse_weekdays(["mon", "tue", "wed", "thu", "fri"])


def local(day: int, hour: int, minute: int = 0, zone: dt.tzinfo = CHICAGO) -> dt.datetime:
    """An instant on a day of the week of 2026-03 (2 March 2026 is a Monday; DST starts the 8th)."""
    return dt.datetime(2026, 3, 2 + day, hour, minute, tzinfo=zone)


DAY = Shift("day", 1, "alice", WEEKDAYS, parse_time("08:00", "starts"), parse_time("18:00", "ends"))
NIGHT = Shift("night", 1, "bob", WEEKDAYS, parse_time("18:00", "starts"),
              parse_time("08:00", "ends"))
OPS = Shift("ops", 2, "olga", frozenset(range(7)), dt.time(0), dt.time(0),
            store_ids=frozenset({"store-1"}))


def test_a_day_shift_covers_its_hours_on_its_days_only() -> None:
    rota = Rota((DAY,))
    assert rota.on_call(1, "store-1", local(0, 8), CHICAGO).user_ids == ("alice",)
    assert rota.on_call(1, "store-1", local(0, 17, 59), CHICAGO).user_ids == ("alice",)
    assert rota.on_call(1, "store-1", local(0, 18), CHICAGO).source == "none"
    assert rota.on_call(1, "store-1", local(5, 10), CHICAGO).user_ids == ()  # Saturday
    assert rota.on_call(2, "store-1", local(0, 10), CHICAGO).user_ids == ()  # another level


def test_a_night_shift_runs_into_the_morning_after_its_day() -> None:
    rota = Rota((DAY, NIGHT))
    assert rota.on_call(1, None, local(4, 23), CHICAGO).user_ids == ("bob",)   # Friday night
    assert rota.on_call(1, None, local(5, 7, 59), CHICAGO).user_ids == ("bob",)  # Saturday early
    assert rota.on_call(1, None, local(5, 8), CHICAGO).user_ids == ()  # nobody on Saturday
    assert rota.on_call(1, None, local(0, 7), CHICAGO).user_ids == ()  # Sunday night was free


def test_shifts_are_read_in_the_stores_own_zone() -> None:
    rota = Rota((DAY,))
    # 8:30 in New York is 7:30 in Chicago: on for a New York store, not yet for a Chicago one
    at = local(1, 8, 30, NEW_YORK)
    zones = Zones({"ny": NEW_YORK, "dallas": CHICAGO}, default=CHICAGO)
    assert rota.on_call(1, "ny", at, zones.of("ny")).user_ids == ("alice",)
    assert rota.on_call(1, "dallas", at, zones.of("dallas")).user_ids == ()
    assert zones.of(None) is CHICAGO and zones.of("unknown") is CHICAGO


def test_the_zone_follows_daylight_saving() -> None:
    rota = Rota((DAY,))
    before = dt.datetime(2026, 3, 6, 14, 0, tzinfo=dt.UTC)  # Friday 8:00 CST
    after = dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC)   # Monday 8:00 CDT
    assert rota.on_call(1, "s", before, CHICAGO).user_ids == ("alice",)
    assert rota.on_call(1, "s", after, CHICAGO).user_ids == ("alice",)
    assert rota.on_call(1, "s", after - dt.timedelta(minutes=1), CHICAGO).user_ids == ()


def test_stores_named_limit_a_shift_and_system_alerts_need_an_unscoped_one() -> None:
    rota = Rota((OPS,))
    assert rota.on_call(2, "store-1", local(6, 3), CHICAGO).user_ids == ("olga",)  # whole day
    assert rota.on_call(2, "store-2", local(6, 3), CHICAGO).user_ids == ()
    assert rota.on_call(2, None, local(6, 3), CHICAGO).user_ids == ()


def test_an_override_for_the_level_replaces_everyone_while_it_runs() -> None:
    start = local(1, 12).astimezone(dt.UTC)
    cover = Override("o1", 1, "carol", start, start + dt.timedelta(hours=2))
    rota = Rota((DAY,), (cover,))
    answer = rota.on_call(1, "store-1", start + dt.timedelta(hours=1), CHICAGO)
    assert answer.user_ids == ("carol",) and answer.source == "override"
    assert answer.override_ids == ("o1",) and answer.shift_ids == ()
    assert rota.on_call(1, "store-1", start + dt.timedelta(hours=2), CHICAGO).user_ids == ("alice",)
    assert rota.on_call(1, "store-1", start - dt.timedelta(seconds=1),
                        CHICAGO).user_ids == ("alice",)


def test_an_override_in_place_of_one_person_keeps_the_others() -> None:
    second = Shift("day2", 1, "dave", WEEKDAYS, dt.time(8), dt.time(18))
    start = local(2, 9).astimezone(dt.UTC)
    swap = Override("o2", 1, "carol", start, start + dt.timedelta(hours=4),
                    replaces_user_id="alice")
    rota = Rota((DAY, second), (swap,))
    assert rota.on_call(1, "s", start, CHICAGO).user_ids == ("carol", "dave")


def test_an_override_outside_the_rota_covers_hours_nobody_had() -> None:
    start = local(5, 10).astimezone(dt.UTC)  # Saturday
    weekend = Override("o3", 1, "erin", start, start + dt.timedelta(days=1),
                       store_ids=frozenset({"store-1"}))
    rota = Rota((DAY,), (weekend,))
    assert rota.on_call(1, "store-1", start, CHICAGO).user_ids == ("erin",)
    assert rota.on_call(1, "store-2", start, CHICAGO).user_ids == ()


@pytest.mark.parametrize("build", [
    lambda: Shift("x", 4, "u", WEEKDAYS, dt.time(8), dt.time(9)),
    lambda: Shift("x", 1, "u", frozenset(), dt.time(8), dt.time(9)),
    lambda: parse_time("25:00", "starts"),
    lambda: parse_time("8:00", "starts"),
    lambda: parse_weekdays(["funday"]),
    lambda: parse_weekdays([]),
    lambda: Override("x", 1, "u", local(0, 9), local(0, 8)),
    lambda: Override("x", 1, "u", local(0, 9), local(0, 9) + dt.timedelta(days=90)),
    lambda: Override("x", 1, "u", dt.datetime(2026, 3, 2, 9), dt.datetime(2026, 3, 2, 10)),
])
def test_nonsense_is_refused(build: object) -> None:
    with pytest.raises(ValidationFailed):
        build()  # type: ignore[operator]
