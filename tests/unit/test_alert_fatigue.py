"""Quiet hours (in a person's zone, past midnight, over a daylight-saving change) and the texts
of a group of alerts of one kind and store."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from domain.alert_delivery import SMS_LIMIT, VOICE, PendingNotification, Person, Recipient
from domain.alert_fatigue import QuietHours, held, quiet_hours

CHICAGO = ZoneInfo("America/Chicago")


def at(hour: int, minute: int = 0, day: int = 2, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


def test_quiet_hours_end_where_they_should() -> None:
    night = QuietHours(dt.time(22), dt.time(7), CHICAGO)
    assert night.until(at(23)) == at(7, day=3).astimezone(dt.UTC)
    assert night.until(at(3)) == at(7).astimezone(dt.UTC)
    assert night.until(at(7)) is None and night.until(at(12)) is None
    lunch = QuietHours(dt.time(12), dt.time(13), CHICAGO)
    assert lunch.until(at(12, 30)) == at(13).astimezone(dt.UTC) and lunch.until(at(13)) is None
    assert QuietHours(dt.time(9), dt.time(9), CHICAGO).until(at(9)) is None  # no window
    # the night daylight saving starts (8 March 2026): 7:00 CDT, an hour sooner in UTC terms
    assert night.until(at(23, day=7)) == dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC)


def test_people_in_their_quiet_hours_are_held_others_are_not() -> None:
    now = at(23)
    quiet = Person("alice", frozenset(), frozenset(), "+13175550201", "u-a",
                   quiet_starts="22:00", quiet_ends="07:00", timezone="America/Chicago")
    elsewhere = Person("bob", frozenset(), frozenset(), "+13175550202", "u-b",
                       quiet_starts="22:00", quiet_ends="07:00", timezone="Asia/Tokyo")
    broken = Person("carl", frozenset(), frozenset(), "+13175550203", "u-c",
                    quiet_starts="22:00", quiet_ends="25:00")
    to = [Recipient("+13175550201", "a", user_id="u-a"), Recipient("+13175550202", "b",
                                                                    user_id="u-b"),
          Recipient("+13175550203", "c", user_id="u-c"), Recipient("+13175550299", "on-call")]
    out = held(to, [quiet, elsewhere, broken], dt.UTC, now)
    assert out[0].not_before == at(7, day=3).astimezone(dt.UTC)
    assert [r.not_before for r in out[1:]] == [None, None, None]  # 14:00 in Tokyo; bad hours
    assert quiet_hours(broken, CHICAGO) is None


def test_a_group_says_how_many_alerts_it_carries() -> None:
    alerts = [{"id": f"a{i}", "severity": "critical", "title": f"Van {i} offline",
               "message": "No fix for 30 minutes."} for i in range(3)]
    item = PendingNotification("n1", alerts[0], 1, "+13175550201", 0, "Store 1",
                               ack_code="123456", group=tuple(alerts[1:]))
    assert item.text() == ("[CRITICAL L1 store] 3 alerts: Van 0 offline (Store 1) and 2 more of "
                           "the same kind. Reply 1 to acknowledge them all.")
    call = PendingNotification("n2", alerts[0], 1, "+13175550201", 0, "Store 1", channel=VOICE,
                               group=tuple(alerts[1:]))
    assert call.text().startswith("This is the dispatch board with three critical alerts of the "
                                  "same kind at Store 1")
    long = PendingNotification("n3", {**alerts[0], "title": "x" * 2000}, 1, "+1", 0,
                               group=tuple(alerts[1:]))
    assert len(long.text()) == SMS_LIMIT and long.text().endswith("acknowledge them all.")
