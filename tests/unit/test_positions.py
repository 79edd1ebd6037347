"""Position fixes: which may reach the board, which replace the marker, how fresh a van is."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.positions import (
    InvalidPosition,
    LatestPositions,
    PositionFix,
    freshness,
    is_newer,
    validate_fix,
)

NOW = datetime(2026, 7, 14, 15, 0, tzinfo=UTC)


def fix(**changes: object) -> PositionFix:
    base = PositionFix(
        unit_id="b12",
        lat=43.4529681,
        lon=-79.7014236,
        speed_kmh=57.0,
        bearing=79.0,
        device_time=NOW - timedelta(seconds=10),
        record_id="b1A2B3C5",
        source="geotab",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_plausible_fix_passes_validation_unchanged() -> None:
    good = fix()
    assert validate_fix(good, now=NOW) is good


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"lat": 90.0001}, "latitude"),
        ({"lat": -91.0}, "latitude"),
        ({"lon": 180.5}, "longitude"),
        ({"lon": -200.0}, "longitude"),
        ({"lat": math.nan}, "finite"),
        ({"lon": math.inf}, "finite"),
        ({"lat": 0.0, "lon": 0.0}, "GPS lock"),
        ({"speed_kmh": math.nan}, "speed"),
        ({"speed_kmh": -1.0}, "speed"),
        ({"bearing": 360.0}, "bearing"),
        ({"device_time": NOW + timedelta(minutes=10)}, "future"),
        ({"device_time": datetime(2026, 7, 14, 14, 0)}, "time zone"),
        ({"unit_id": ""}, "unit id"),
    ],
)
def test_an_impossible_fix_is_rejected_with_a_reason(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidPosition, match=reason) as caught:
        validate_fix(fix(**changes), now=NOW)
    assert isinstance(caught.value, ValueError)


def test_a_device_clock_slightly_ahead_is_tolerated_within_the_allowance() -> None:
    ahead = fix(device_time=NOW + timedelta(seconds=30))

    assert validate_fix(ahead, now=NOW) is ahead
    with pytest.raises(InvalidPosition):
        validate_fix(ahead, now=NOW, future_tolerance=timedelta(seconds=5))


def test_a_fix_in_another_time_zone_is_compared_by_instant() -> None:
    toronto = timezone(timedelta(hours=-4))
    assert validate_fix(fix(device_time=NOW.astimezone(toronto)), now=NOW)


def test_the_rejection_names_the_unit_and_record() -> None:
    with pytest.raises(InvalidPosition) as caught:
        validate_fix(fix(lat=123.0), now=NOW)
    assert caught.value.unit_id == "b12"
    assert caught.value.record_id == "b1A2B3C5"
    assert "b12" in str(caught.value)


def test_the_first_fix_of_a_unit_is_always_newer() -> None:
    assert is_newer(None, fix())


def test_a_later_fix_moves_the_marker_and_an_older_one_never_does() -> None:
    current = fix()
    later = fix(record_id="b1A2B3C9", device_time=current.device_time + timedelta(seconds=1))
    older = fix(record_id="b1A2B3D0", device_time=current.device_time - timedelta(minutes=9))

    assert is_newer(current, later)
    assert not is_newer(current, older)


def test_the_same_record_sent_again_is_a_duplicate_even_if_changed() -> None:
    current = fix()
    assert not is_newer(current, fix())
    assert not is_newer(current, fix(device_time=current.device_time + timedelta(seconds=5)))


def test_a_tie_on_device_time_keeps_the_fix_already_shown() -> None:
    assert not is_newer(fix(), fix(record_id="other"))


def test_fixes_of_different_units_cannot_be_compared() -> None:
    with pytest.raises(ValueError, match="different units"):
        is_newer(fix(), fix(unit_id="b13"))


def test_latest_positions_keep_the_newest_fix_whatever_the_arrival_order() -> None:
    latest = LatestPositions()
    times = [5, 1, 9, 3, 9, 7]
    fixes = [fix(record_id=f"r{i}", device_time=NOW - timedelta(seconds=60 - t)) for i, t in enumerate(times)]

    kept = [f for f in fixes if latest.offer(f)]

    assert [f.record_id for f in kept] == ["r0", "r2"]
    assert latest.get("b12") == fixes[2]
    assert len(latest) == 1
    assert latest.get("b99") is None


@pytest.mark.parametrize(
    ("age", "speed", "expected"),
    [
        (timedelta(seconds=10), 57.0, "moving"),
        (timedelta(seconds=10), 2.0, "stopped"),
        (timedelta(seconds=10), 0.0, "stopped"),
        (timedelta(minutes=4, seconds=59), 57.0, "moving"),
        (timedelta(minutes=5), 57.0, "stale"),
        (timedelta(minutes=29), 0.0, "stale"),
        (timedelta(minutes=30), 0.0, "offline"),
        (timedelta(days=3), 57.0, "offline"),
    ],
)
def test_freshness_follows_the_age_and_speed_of_the_latest_fix(
    age: timedelta, speed: float, expected: str
) -> None:
    assert freshness(fix(device_time=NOW - age, speed_kmh=speed), NOW) == expected


def test_freshness_thresholds_are_settings() -> None:
    latest = fix(device_time=NOW - timedelta(minutes=2))

    assert freshness(latest, NOW, stale_after=timedelta(minutes=1)) == "stale"
    assert (
        freshness(latest, NOW, stale_after=timedelta(seconds=30), offline_after=timedelta(minutes=1))
        == "offline"
    )
    with pytest.raises(ValueError, match="offline_after"):
        freshness(latest, NOW, stale_after=timedelta(hours=1), offline_after=timedelta(minutes=1))
