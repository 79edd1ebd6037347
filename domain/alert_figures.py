"""The weekly figure per alert kind (alert fatigue, seen from the numbers): how many were raised,
how many a person acknowledged, the median time to acknowledge, and how many escalated (climbed
past the rung they were raised at). Weeks are ISO weeks, Monday 00:00 UTC to the next Monday."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from domain.alerts import TOP_LEVEL, AlertKind, Severity


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    """What the figure needs of one alert."""

    kind: str
    severity: str
    store_id: str | None
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    escalation_level: int


def week_start(instant: dt.datetime) -> dt.datetime:
    """Monday 00:00 UTC of the ISO week holding ``instant``."""
    day = instant.astimezone(dt.UTC).date()
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime.combine(monday, dt.time(), dt.UTC)


def weeks_back(now: dt.datetime, weeks: int) -> list[dt.datetime]:
    """The starts of the last ``weeks`` weeks, the current one last."""
    this = week_start(now)
    return [this - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def escalated(alert: RaisedAlert) -> bool:
    """Climbed past its first rung: a critical alert of a store starts at 1, a system one at the
    top (it cannot climb), the others are never escalated."""
    if alert.severity != Severity.CRITICAL.value:
        return False
    first = TOP_LEVEL if alert.store_id is None else 1
    return alert.escalation_level > first


def weekly_figures(alerts: Iterable[RaisedAlert], starts: list[dt.datetime]
                   ) -> list[dict[str, object]]:
    """One row per week and kind that had alerts (weeks in ``starts`` order, kinds in the
    catalogue's order): ``raised``, ``acknowledged``, ``median_minutes_to_acknowledge`` (None
    when none was acknowledged) and ``escalated``."""
    known = set(starts)
    buckets: dict[tuple[dt.datetime, str], list[RaisedAlert]] = {}
    for alert in alerts:
        week = week_start(alert.raised_at)
        if week in known:
            buckets.setdefault((week, alert.kind), []).append(alert)
    order = {k.value: n for n, k in enumerate(AlertKind)}
    rows = []
    for (week, kind), items in sorted(buckets.items(),
                                      key=lambda e: (e[0][0], order.get(e[0][1], 99), e[0][1])):
        waits = [(a.acknowledged_at - a.raised_at).total_seconds() / 60 for a in items
                 if a.acknowledged_at is not None]
        rows.append({
            "week": week.date().isoformat(), "kind": kind, "raised": len(items),
            "acknowledged": len(waits),
            "median_minutes_to_acknowledge": (round(statistics.median(waits), 1)
                                              if waits else None),
            "escalated": sum(1 for a in items if escalated(a)),
        })
    return rows
