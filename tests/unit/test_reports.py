"""The reports' pure rules: periods of the local calendar, folding UTC hours across a
daylight-saving change, the range asked for, rates and rounding, the order of the items."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from domain.errors import ValidationFailed
from domain.reports import (
    FIELDS,
    GROUPS,
    SUMS,
    TOP_CUSTOMERS,
    Counted,
    Group,
    ReportKind,
    ReportRange,
    avg_minutes,
    build_report,
    check_group,
    fold_hours,
    period_key,
    period_label,
    periods,
    rate,
    report_range,
    report_zone,
)
from domain.work_orders import Channel
from tests.unit.factories import NOW, work_order

CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("local", "group", "key", "label"), [
    (dt.datetime(2026, 11, 3, 9), Group.DAY, "2026-11-03", "Tue 3 Nov 2026"),
    (dt.datetime(2026, 11, 3, 9), Group.WEEK, "2026-W45", "Week 45, 2026 (from Mon 2 Nov)"),
    (dt.datetime(2026, 11, 3, 9), Group.MONTH, "2026-11", "November 2026"),
    (dt.datetime(2026, 11, 3, 9), Group.HOUR, "09", "09:00"),
    (dt.datetime(2026, 11, 3, 9), Group.WEEKDAY, "2", "Tue"),
    (dt.datetime(2026, 11, 8, 23), Group.WEEKDAY, "7", "Sun"),
    # ISO weeks belong to the year of their Thursday
    (dt.datetime(2027, 1, 1, 12), Group.WEEK, "2026-W53", "Week 53, 2026 (from Mon 28 Dec)"),
    (dt.datetime(2025, 12, 29, 12), Group.WEEK, "2026-W01", "Week 1, 2026 (from Mon 29 Dec)"),
])
def test_each_period_has_a_stable_key_and_a_label_for_people(
        local: dt.datetime, group: Group, key: str, label: str) -> None:
    assert period_key(local, group) == key
    assert period_label(key, group) == label


def test_the_local_day_spans_23_hours_in_spring_and_25_in_autumn() -> None:
    spring = ReportRange(dt.date(2026, 3, 8), dt.date(2026, 3, 8), CHICAGO)
    assert (spring.utc_start, spring.utc_end) == (utc(2026, 3, 8, 6), utc(2026, 3, 9, 5))
    autumn = ReportRange(dt.date(2026, 11, 1), dt.date(2026, 11, 1), CHICAGO)
    assert (autumn.utc_start, autumn.utc_end) == (utc(2026, 11, 1, 5), utc(2026, 11, 2, 6))


def test_utc_hours_fold_into_local_days_and_hours_across_the_autumn_change() -> None:
    # one job in each UTC hour from local midnight Saturday to local midnight Monday
    hours = [utc(2026, 10, 31, 5) + dt.timedelta(hours=h) for h in range(24 + 25)]
    rows = [(hour, [1]) for hour in hours]
    by_day = fold_hours(rows, CHICAGO, Group.DAY, 1)
    assert by_day == {"2026-10-31": [24], "2026-11-01": [25]}
    by_hour = fold_hours(rows, CHICAGO, Group.HOUR, 1)
    assert by_hour["01"] == [3]  # 01:00 twice on Sunday (CDT, then CST), once on Saturday
    assert all(by_hour[f"{h:02d}"] == [2] for h in range(24) if h != 1)
    assert fold_hours(rows, CHICAGO, Group.WEEKDAY, 1) == {"6": [24], "7": [25]}


def test_a_day_boundary_is_local_midnight_not_utc_midnight() -> None:
    rows = [(utc(2026, 11, 4, 5), [1]), (utc(2026, 11, 4, 6), [1])]  # 23:00 and 00:00 CST
    assert fold_hours(rows, CHICAGO, Group.DAY, 1) == {"2026-11-03": [1], "2026-11-04": [1]}
    assert fold_hours(rows, ZoneInfo("UTC"), Group.DAY, 1) == {"2026-11-04": [2]}


def test_the_range_defaults_to_the_last_30_days_ending_today() -> None:
    today = dt.date(2026, 11, 22)
    rng = report_range(None, None, today=today, zone=CHICAGO)
    assert (rng.start, rng.end) == (dt.date(2026, 10, 24), today)
    rng = report_range(None, dt.date(2026, 1, 30), today=today, zone=CHICAGO)
    assert (rng.start, rng.end) == (dt.date(2026, 1, 1), dt.date(2026, 1, 30))
    rng = report_range(dt.date(2026, 11, 1), None, today=today, zone=CHICAGO)
    assert (rng.start, rng.end) == (dt.date(2026, 11, 1), today)


def test_the_range_is_refused_backwards_too_long_or_out_of_the_calendar() -> None:
    today = dt.date(2026, 11, 22)
    with pytest.raises(ValidationFailed) as backwards:
        report_range(dt.date(2026, 5, 2), dt.date(2026, 5, 1), today=today, zone=CHICAGO)
    assert backwards.value.details["field"] == "to"
    assert report_range(dt.date(2024, 2, 29), dt.date(2026, 2, 28), today=today,
                        zone=CHICAGO).end == dt.date(2026, 2, 28)
    with pytest.raises(ValidationFailed):
        report_range(dt.date(2024, 2, 29), dt.date(2026, 3, 1), today=today, zone=CHICAGO)
    with pytest.raises(ValidationFailed) as old:
        report_range(dt.date(1999, 1, 1), dt.date(1999, 1, 2), today=today, zone=CHICAGO)
    assert old.value.details["field"] == "from"


def test_periods_are_every_period_of_the_range_in_order() -> None:
    rng = ReportRange(dt.date(2026, 12, 28), dt.date(2027, 1, 12), CHICAGO)
    assert periods(rng, Group.WEEK) == ["2026-W53", "2027-W01", "2027-W02"]
    assert periods(rng, Group.MONTH) == ["2026-12", "2027-01"]
    assert len(periods(rng, Group.DAY)) == 16
    assert periods(rng, Group.HOUR)[0] == "00" and len(periods(rng, Group.HOUR)) == 24
    assert periods(rng, Group.WEEKDAY) == ["1", "2", "3", "4", "5", "6", "7"]


def test_rates_and_minutes_are_rounded_and_null_when_there_is_nothing() -> None:
    assert rate(1, 3) == 0.3333
    assert rate(2, 3) == 0.6667
    assert rate(0, 0) is None
    assert rate(5, 5) == 1.0
    assert avg_minutes(3 * 60 + 30, 1) == 3.5
    assert avg_minutes(100, 3) == 0.6  # 33.3 s
    assert avg_minutes(0, 0) is None


def test_each_report_has_its_groups_with_the_first_as_default() -> None:
    assert check_group(ReportKind.VOLUME, None) == Group.HOUR
    assert check_group(ReportKind.REVENUE, None) == Group.DAY
    assert check_group(ReportKind.TECHNICIANS, None) == Group.TECHNICIAN
    with pytest.raises(ValidationFailed):
        check_group(ReportKind.SLA, Group.CUSTOMER)
    assert set(GROUPS) == set(ReportKind) == set(SUMS) == set(FIELDS)


def test_a_report_zone_must_exist_and_be_whole_hours_from_utc() -> None:
    assert report_zone("America/Chicago").key == "America/Chicago"
    for bad in ("Asia/Kolkata", "Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(ValidationFailed):
            report_zone(bad)


def test_a_time_grouped_report_shows_every_period_and_its_total_is_the_sum() -> None:
    rng = ReportRange(dt.date(2026, 11, 2), dt.date(2026, 11, 4), CHICAGO)
    counted = [Counted(utc(2026, 11, 3, 15), [2, 5000]), Counted(utc(2026, 11, 4, 5), [1, 700]),
               Counted(utc(2026, 11, 4, 16), [1, 300])]
    items, total = build_report(ReportKind.REVENUE, Group.DAY, rng, counted)
    assert [(i["key"], i["invoices"], i["revenue_cents"]) for i in items] == [
        ("2026-11-02", 0, 0), ("2026-11-03", 3, 5700), ("2026-11-04", 1, 300)]
    assert total == {"invoices": 4, "revenue_cents": 6000}
    assert list(items[0]) == list(FIELDS[ReportKind.REVENUE])


def test_other_groups_come_by_their_main_measure_largest_first() -> None:
    rng = ReportRange(dt.date(2026, 11, 2), dt.date(2026, 11, 4), CHICAGO)
    counted = [Counted("b", [1, 0, 0, 0], "Store B"), Counted("a", [0, 1, 0, 0], "Store A"),
               Counted("c", [3, 0, 1, 0], "Store C")]
    items, total = build_report(ReportKind.VOLUME, Group.STORE, rng, counted)
    assert [(i["key"], i["label"], i["total"]) for i in items] == [
        ("c", "Store C", 4), ("a", "Store A", 1), ("b", "Store B", 1)]
    assert total == {"phone": 4, "partner": 1, "webhook": 1, "emergency": 0, "total": 6}
    lines, _ = build_report(ReportKind.REVENUE, Group.SERVICE_LINE, rng,
                            [Counted("garage_door", [1, 100])])
    assert lines[0]["label"] == "Garage door"


def test_revenue_by_customer_lists_the_top_customers_then_all_the_others_in_one_item() -> None:
    rng = ReportRange(dt.date(2026, 11, 2), dt.date(2026, 11, 4), CHICAGO)
    extra = 7
    counted = [Counted(f"c{n:04}", [1, 1000 + n], f"Customer {n}")
               for n in range(TOP_CUSTOMERS + extra)]
    items, total = build_report(ReportKind.REVENUE, Group.CUSTOMER, rng, counted)
    assert len(items) == TOP_CUSTOMERS + 1
    assert items[0]["key"] == f"c{TOP_CUSTOMERS + extra - 1:04}"  # the most revenue first
    others = items[-1]
    assert (others["key"], others["label"]) == ("others", f"{extra} other customers")
    assert others == {"key": "others", "label": f"{extra} other customers", "invoices": extra,
                      "revenue_cents": sum(1000 + n for n in range(extra))}
    # nothing is lost: the items add up to the total
    assert sum(i["revenue_cents"] for i in items) == total["revenue_cents"]
    assert sum(i["invoices"] for i in items) == total["invoices"] == TOP_CUSTOMERS + extra
    few, _ = build_report(ReportKind.REVENUE, Group.CUSTOMER, rng, counted[:3])
    assert "others" not in [i["key"] for i in few]
    stores, _ = build_report(ReportKind.REVENUE, Group.STORE, rng, counted)
    assert len(stores) == TOP_CUSTOMERS + extra  # only customers are cut


def test_sla_and_technician_measures_follow_their_definitions() -> None:
    rng = ReportRange(dt.date(2026, 11, 2), dt.date(2026, 11, 2), CHICAGO)
    # jobs, assigned, assign s, arrived, arrive s, with_window, on_time, emergencies,
    # emergency arrived, emergency arrive s
    sla, total = build_report(ReportKind.SLA, Group.STORE, rng, [
        Counted("s1", [4, 3, 3 * 600, 3, 3600 + 1800 + 1200, 3, 2, 1, 0, 0], "S1")])
    assert {k: sla[0][k] for k in total} == total  # one store: its item is the total
    assert total["avg_minutes_to_assign"] == 10.0 and total["avg_minutes_to_arrive"] == 36.7
    assert total["on_time_rate"] == 0.6667 and total["emergency_avg_minutes_to_site"] is None
    techs, total = build_report(ReportKind.TECHNICIANS, Group.TECHNICIAN, rng, [
        Counted("t1", [3, 1, 2, 1, 2, 1500, 7230, 2], "Ana", "s1"),
        Counted("t2", [0, 0, 0, 0, 0, 0, 0, 1], "Bo", "s2")])
    assert [(t["key"], t["store_id"], t["first_time_rate"]) for t in techs] == [
        ("t1", "s1", 0.5), ("t2", "s2", None)]
    assert techs[0]["drive_minutes"] == 25.0 and techs[0]["on_site_minutes"] == 120.5
    assert total["declined"] == 3 and total["on_time_rate"] == 0.5
    assert list(techs[0]) == list(FIELDS[ReportKind.TECHNICIANS])


def test_the_first_assignment_is_kept_through_reassignments_and_declines() -> None:
    order = work_order()
    assert order.assigned_at is None and order.channel == Channel.PHONE
    order.assign("tech-1", NOW + dt.timedelta(minutes=3))
    order.assign("tech-2", NOW + dt.timedelta(minutes=9))
    order.decline("tech-2", NOW + dt.timedelta(minutes=12), reason="flat tyre")
    order.assign("tech-3", NOW + dt.timedelta(minutes=20))
    assert order.assigned_at == NOW + dt.timedelta(minutes=3)
    assert order.snapshot()["assigned_at"] == (NOW + dt.timedelta(minutes=3)).isoformat()


def test_a_follow_up_keeps_the_channel_of_its_original() -> None:
    order = work_order(channel=Channel.WEBHOOK)
    order.assign("tech-1", NOW)
    order.accept("tech-1", NOW)
    order.start_travel("tech-1", NOW)
    order.fail("tech-1", NOW, reason="part missing")
    follow = order.follow_up(NOW, "user-1")
    assert follow.channel == Channel.WEBHOOK and follow.assigned_at is None
    assert follow.snapshot()["channel"] == "webhook"
