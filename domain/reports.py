"""Reports: the rules that turn counts into the numbers an operations manager reads.

The database counts per UTC hour (and per store, customer, technician ...); this module folds
those hours into the company's local calendar and finishes each item: period keys and labels
(days, ISO weeks, months, hours of the day, weekdays), averages in minutes, rates and their
rounding, the order of the items and the total. Pure: no I/O, no clock (``today`` is given).

Every zone the company uses is a whole number of hours from UTC, so one UTC hour falls wholly in
one local hour, day, week and month, also across a daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationFailed


class ReportKind(enum.StrEnum):
    REVENUE = "revenue"
    SLA = "sla"
    TECHNICIANS = "technicians"
    VOLUME = "volume"


class Group(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    HOUR = "hour"
    WEEKDAY = "weekday"
    STORE = "store"
    CUSTOMER = "customer"
    SERVICE_LINE = "service_line"
    TECHNICIAN = "technician"


_G = Group
#: The groups each report takes; the first is its default.
GROUPS: dict[ReportKind, tuple[Group, ...]] = {
    ReportKind.REVENUE: (_G.DAY, _G.WEEK, _G.MONTH, _G.STORE, _G.CUSTOMER, _G.SERVICE_LINE),
    ReportKind.SLA: (_G.DAY, _G.WEEK, _G.MONTH, _G.STORE),
    ReportKind.TECHNICIANS: (_G.TECHNICIAN,),
    ReportKind.VOLUME: (_G.HOUR, _G.WEEKDAY, _G.DAY, _G.WEEK, _G.MONTH, _G.STORE),
}
#: Groups of the local calendar: counted per UTC hour, folded here.
TIME_GROUPS = frozenset({_G.DAY, _G.WEEK, _G.MONTH, _G.HOUR, _G.WEEKDAY})
CHANNELS = ("phone", "partner", "webhook", "emergency")
#: What the database sums per bucket, in this order, for each report.
SUMS: dict[ReportKind, tuple[str, ...]] = {
    ReportKind.REVENUE: ("invoices", "revenue_cents"),
    ReportKind.SLA: ("jobs", "assigned", "assign_seconds", "arrived", "arrive_seconds",
                     "with_window", "on_time", "emergencies", "emergency_arrived",
                     "emergency_arrive_seconds"),
    ReportKind.TECHNICIANS: ("jobs_completed", "jobs_failed", "with_window", "on_time",
                             "first_time_completions", "drive_seconds", "on_site_seconds",
                             "declined"),
    ReportKind.VOLUME: CHANNELS,
}
#: The item fields of each report, in the order of the answer and of the CSV header.
FIELDS: dict[ReportKind, tuple[str, ...]] = {
    ReportKind.REVENUE: ("key", "label", "invoices", "revenue_cents"),
    ReportKind.SLA: ("key", "label", "jobs", "assigned", "arrived", "avg_minutes_to_assign",
                     "avg_minutes_to_arrive", "with_window", "on_time", "on_time_rate",
                     "emergencies", "emergency_avg_minutes_to_site"),
    ReportKind.TECHNICIANS: ("key", "label", "store_id", "jobs_completed", "jobs_failed",
                             "on_time", "with_window", "on_time_rate", "first_time_completions",
                             "first_time_rate", "drive_minutes", "on_site_minutes", "declined"),
    ReportKind.VOLUME: ("key", "label", *CHANNELS, "total"),
}
#: Items not in a time group come by this measure, largest first.
#: Revenue by customer lists the customers who brought the most, then one item for all the others
#: (``key`` ``others``): a year has tens of thousands of customers, more than a page or a
#: spreadsheet shows, and the total still counts every one.
TOP_CUSTOMERS = 100
OTHERS = "others"

MAIN_MEASURE = {ReportKind.REVENUE: "revenue_cents", ReportKind.SLA: "jobs",
                ReportKind.TECHNICIANS: "jobs_completed", ReportKind.VOLUME: "total"}
DEFAULT_DAYS = 30
MAX_YEARS = 2
#: Dates outside these years are refused (no company history, and no calendar overflow).
FIRST_YEAR, LAST_YEAR = 2000, 2200
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def check_group(kind: ReportKind, group: Group | None) -> Group:
    """The group asked for (the report's default when None); one the report lacks is refused."""
    if group is None:
        return GROUPS[kind][0]
    if group not in GROUPS[kind]:
        raise ValidationFailed(
            f"the {kind.value} report groups by {', '.join(g.value for g in GROUPS[kind])}, "
            f"not {group.value}", field="group")
    return group


# -- the company's calendar ---------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def report_zone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA zone the reports can fold hours into: it must exist and be whole hours from UTC
    (checked over the offsets it had and will have, summer and winter, 2000-2040)."""
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValidationFailed(f"{name!r} is not a known IANA time zone",
                               field="timezone") from error
    for year in range(FIRST_YEAR, 2041):
        for month in (1, 7):
            offset = dt.datetime(year, month, 1, 12, tzinfo=zone).utcoffset()
            if offset is None or offset.total_seconds() % 3600:
                raise ValidationFailed(f"{name} is not a whole number of hours from UTC; the "
                                       "reports count in whole hours", field="timezone")
    return zone


@dataclass(frozen=True, slots=True)
class ReportRange:
    """Local dates ``start``..``end`` (inclusive) in ``zone``, and the UTC instants they span."""

    start: dt.date
    end: dt.date
    zone: zoneinfo.ZoneInfo

    @property
    def utc_start(self) -> dt.datetime:
        return local_midnight(self.start, self.zone)

    @property
    def utc_end(self) -> dt.datetime:
        """The first instant after the range (the local midnight that ends ``end``)."""
        return local_midnight(self.end + dt.timedelta(days=1), self.zone)


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant a local day begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def report_range(start: dt.date | None, end: dt.date | None, *, today: dt.date,
                 zone: zoneinfo.ZoneInfo) -> ReportRange:
    """The range asked for: ``end`` defaults to today, ``start`` to 30 days ending at ``end``;
    ``end`` may not come before ``start``, nor more than two years after it."""
    for value, name in ((start, "from"), (end, "to")):
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValidationFailed(f"{name} must be between {FIRST_YEAR} and {LAST_YEAR}",
                                   field=name)
    end = end if end is not None else max(today, start) if start is not None else today
    start = start if start is not None else end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ValidationFailed("to must not be before from", field="to")
    if end > _add_years(start, MAX_YEARS):
        raise ValidationFailed(f"from and to may be at most {MAX_YEARS} years apart", field="to")
    return ReportRange(start, end, zone)


# -- periods ------------------------------------------------------------------------------------


def period_key(local: dt.datetime, group: Group) -> str:
    """The stable key of the period a local time falls in."""
    if group == _G.DAY:
        return local.date().isoformat()
    if group == _G.WEEK:
        year, week, _ = local.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if group == _G.MONTH:
        return f"{local.year:04d}-{local.month:02d}"
    if group == _G.HOUR:
        return f"{local.hour:02d}"
    if group == _G.WEEKDAY:
        return str(local.isoweekday())
    raise ValueError(f"{group.value} is not a period of the calendar")


def period_label(key: str, group: Group) -> str:
    """The period for people: ``Tue 3 Nov 2026``, ``Week 45, 2026 (from Mon 2 Nov)``,
    ``November 2026``, ``14:00``, ``Mon``."""
    if group == _G.DAY:
        return _day_label(dt.date.fromisoformat(key))
    if group == _G.WEEK:
        monday = dt.date.fromisocalendar(int(key[:4]), int(key[6:]), 1)
        return f"Week {int(key[6:])}, {key[:4]} (from {_day_label(monday, year=False)})"
    if group == _G.MONTH:
        return f"{MONTHS[int(key[5:]) - 1]} {key[:4]}"
    if group == _G.HOUR:
        return f"{key}:00"
    if group == _G.WEEKDAY:
        return WEEKDAYS[int(key) - 1]
    raise ValueError(f"{group.value} is not a period of the calendar")


def _day_label(day: dt.date, *, year: bool = True) -> str:
    text = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1][:3]}"
    return f"{text} {day.year}" if year else text


def periods(rng: ReportRange, group: Group) -> list[str]:
    """Every period key of the range, in order (a report shows the empty ones too)."""
    if group == _G.HOUR:
        return [f"{h:02d}" for h in range(24)]
    if group == _G.WEEKDAY:
        return [str(d) for d in range(1, 8)]
    keys: list[str] = []
    day = rng.start
    while day <= rng.end:
        key = period_key(dt.datetime.combine(day, dt.time()), group)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += dt.timedelta(days=1)
    return keys


def fold_hours(rows: Iterable[tuple[dt.datetime, Sequence[float]]], zone: zoneinfo.ZoneInfo,
               group: Group, width: int) -> dict[str, list[float]]:
    """Sum the per-UTC-hour counts into the local periods of ``group``."""
    out: dict[str, list[float]] = {}
    for hour, sums in rows:
        key = period_key(hour.astimezone(zone), group)
        acc = out.setdefault(key, [0] * width)
        for i, value in enumerate(sums):
            acc[i] += value
    return out


# -- measures -----------------------------------------------------------------------------------


def rate(part: float, whole: float) -> float | None:
    """A share between 0 and 1, rounded to 4 places; None when there is nothing to share."""
    return None if not whole else round(part / whole, 4)


def minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def avg_minutes(seconds: float, count: float) -> float | None:
    return None if not count else round(seconds / count / 60, 1)


def measures(kind: ReportKind, sums: Mapping[str, float]) -> dict[str, Any]:
    """The item fields (beside key and label) from the summed counts of one group."""
    n = {name: sums.get(name, 0) for name in SUMS[kind]}
    if kind == ReportKind.REVENUE:
        return {"invoices": int(n["invoices"]), "revenue_cents": int(n["revenue_cents"])}
    if kind == ReportKind.SLA:
        return {
            "jobs": int(n["jobs"]), "assigned": int(n["assigned"]), "arrived": int(n["arrived"]),
            "avg_minutes_to_assign": avg_minutes(n["assign_seconds"], n["assigned"]),
            "avg_minutes_to_arrive": avg_minutes(n["arrive_seconds"], n["arrived"]),
            "with_window": int(n["with_window"]), "on_time": int(n["on_time"]),
            "on_time_rate": rate(n["on_time"], n["with_window"]),
            "emergencies": int(n["emergencies"]),
            "emergency_avg_minutes_to_site": avg_minutes(n["emergency_arrive_seconds"],
                                                         n["emergency_arrived"]),
        }
    if kind == ReportKind.TECHNICIANS:
        finished = n["jobs_completed"] + n["jobs_failed"]
        return {
            "jobs_completed": int(n["jobs_completed"]), "jobs_failed": int(n["jobs_failed"]),
            "on_time": int(n["on_time"]), "with_window": int(n["with_window"]),
            "on_time_rate": rate(n["on_time"], n["with_window"]),
            "first_time_completions": int(n["first_time_completions"]),
            "first_time_rate": rate(n["first_time_completions"], finished),
            "drive_minutes": minutes(n["drive_seconds"]),
            "on_site_minutes": minutes(n["on_site_seconds"]), "declined": int(n["declined"]),
        }
    counts = {channel: int(n[channel]) for channel in CHANNELS}
    return {**counts, "total": sum(counts.values())}


@dataclass(frozen=True, slots=True)
class Counted:
    """One group's sums as the database gave them: ``key`` (a UTC hour for a time group, else the
    store, customer, technician id or service line), its ``label`` and the technician's store."""

    key: Any
    sums: Sequence[float]
    label: str | None = None
    store_id: str | None = None


def build_report(kind: ReportKind, group: Group, rng: ReportRange,
                 counted: Iterable[Counted]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The items (ordered) and the total of a report from the database's counts."""
    names = SUMS[kind]
    width = len(names)
    rows = list(counted)
    total_sums = [0.0] * width
    for row in rows:
        for i, value in enumerate(row.sums):
            total_sums[i] += value
    items: list[dict[str, Any]] = []
    if group in TIME_GROUPS:
        folded = fold_hours(((r.key, r.sums) for r in rows), rng.zone, group, width)
        for key in periods(rng, group):
            sums = folded.get(key, [0] * width)
            items.append({"key": key, "label": period_label(key, group),
                          **measures(kind, dict(zip(names, sums, strict=True)))})
    else:
        ranked: list[tuple[dict[str, Any], Sequence[float]]] = []
        for row in rows:
            key = str(row.key)
            label = (service_line_label(key) if group == _G.SERVICE_LINE
                     else row.label or key)
            item: dict[str, Any] = {"key": key, "label": label}
            if kind == ReportKind.TECHNICIANS:
                item["store_id"] = row.store_id
            item.update(measures(kind, dict(zip(names, row.sums, strict=True))))
            ranked.append((item, row.sums))
        main = MAIN_MEASURE[kind]
        ranked.sort(key=lambda pair: (-pair[0][main], pair[0]["key"]))
        items = [item for item, _ in ranked[:TOP_CUSTOMERS if group == _G.CUSTOMER else None]]
        if rest := ranked[len(items):]:
            summed = [sum(sums[i] for _, sums in rest) for i in range(width)]
            items.append({"key": OTHERS, "label": f"{len(rest):,} other customers",
                          **measures(kind, dict(zip(names, summed, strict=True)))})
    total = measures(kind, dict(zip(names, total_sums, strict=True)))
    return items, total


def service_line_label(line: str) -> str:
    """``plumbing`` -> ``Plumbing``, ``garage_door`` -> ``Garage door``."""
    text = line.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else line
