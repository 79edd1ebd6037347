"""A known history for the report tests, placed on the days before the app clock's today, and
hand counts of the same rows (plain Python over the stored rows, per each report's definition).

The jobs are real work orders moved through their status machine (assignment, decline, travel,
arrival, completion, failure and its follow-up) and written through the unit of work, so the
columns the reports read are the ones the application writes. Invoices are rows: processed and
not, inside the range and just outside it on either side of a local midnight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from domain.geo import Location, TimeWindow
from domain.work_orders import Channel, Priority, WorkOrder
from storage import tables as t
from storage.engine import create_engine, write_transaction
from storage.uow import SqlUnitOfWork

ZONE = ZoneInfo("America/Chicago")  # the demo's stores
MINE = "store-0001"  # the store manager holds store-0001 and store-0002
OTHER = "store-rpt"  # a store of this history alone: its numbers are known exactly
T1, T2, T3 = "tech-0001", "tech-0002", "tech-0003"
ODD_NAME = 'Smith, "Jr." & Co'
PLACE = Location(32.78, -96.8)


@dataclass(frozen=True)
class Span:
    start: dt.date
    end: dt.date

    def at(self, days: int, hour: int, minute: int = 0) -> dt.datetime:
        """Local wall time ``days`` after the first day of the range, as a UTC instant."""
        day = self.start + dt.timedelta(days=days)
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE).astimezone(dt.UTC)

    def last(self, hour: int, minute: int = 0, *, after: int = 0) -> dt.datetime:
        return self.at((self.end - self.start).days + after, hour, minute)

    def holds(self, instant: dt.datetime | None) -> bool:
        return instant is not None and self.start <= instant.astimezone(ZONE).date() <= self.end

    @property
    def query(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def span_before(now: dt.datetime) -> Span:
    """Ten local days ending two days before the app's today (clear of the demo's own day)."""
    end = now.astimezone(ZONE).date() - dt.timedelta(days=2)
    return Span(end - dt.timedelta(days=9), end)


def _m(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def _job(id: str, store: str, channel: Channel, created: dt.datetime, *,
         priority: Priority = Priority.NORMAL,
         window: tuple[dt.datetime, dt.datetime] | None = None) -> WorkOrder:
    return WorkOrder(id=id, store_id=store, priority=priority, location=PLACE,
                     description=f"Report job {id}", created_at=created, created_by="test",
                     time_window=TimeWindow(*window) if window else None, channel=channel)


def _done(order: WorkOrder, tech: str, *, assign: int, travel: int, arrive: int,
          finish: int, fail: bool = False) -> WorkOrder:
    """Assign, accept, set off, arrive and finish, minutes after booking."""
    c = order.created_at
    order.assign(tech, c + _m(assign))
    order.accept(tech, c + _m(assign))
    order.start_travel(tech, c + _m(travel))
    order.arrive(tech, c + _m(arrive))
    if fail:
        order.fail(tech, c + _m(finish), reason="part missing")
    else:
        order.complete(tech, c + _m(finish), None)
    return order


def build_jobs(s: Span) -> list[WorkOrder]:
    j1 = _done(_job("rpt-j1", MINE, Channel.PHONE, s.at(1, 8),
                    window=(s.at(1, 10), s.at(1, 12))), T1, assign=10, travel=60, arrive=90,
               finish=150)
    j2 = _done(_job("rpt-j2", OTHER, Channel.PARTNER, s.at(1, 9), priority=Priority.HIGH,
                    window=(s.at(1, 10), s.at(1, 11))), T2, assign=20, travel=60, arrive=150,
               finish=180, fail=True)
    j2f = j2.follow_up(s.at(1, 12), "test")  # keeps the partner channel
    j2f.assign(T1, s.at(1, 12, 30))
    j2f.accept(T1, s.at(2, 8))
    j2f.start_travel(T1, s.at(2, 8, 15))
    j2f.arrive(T1, s.at(2, 8, 45))
    j2f.complete(T1, s.at(2, 10), None)
    j3 = _done(_job("rpt-j3", OTHER, Channel.EMERGENCY, s.at(2, 23, 40),
                    priority=Priority.EMERGENCY), T3, assign=5, travel=10, arrive=35, finish=95)
    j4 = _job("rpt-j4", OTHER, Channel.WEBHOOK, s.at(4, 13))
    j4.cancel(s.at(4, 14), reason="customer fixed it")
    j5 = _job("rpt-j5", MINE, Channel.PHONE, s.at(5, 7), priority=Priority.LOW)
    j6 = _job("rpt-j6", MINE, Channel.WEBHOOK, s.last(23))
    j6.assign(T2, s.last(23, 15))
    j6.decline(T2, s.last(23, 20), reason="van broke down")  # declined in the range
    j6.assign(T1, s.last(23, 25))
    j7 = _job("rpt-j7", MINE, Channel.PHONE, s.last(0, 10, after=1))  # the day after: out
    j8 = _job("rpt-j8", OTHER, Channel.PHONE, s.at(-1, 23))  # the evening before: out
    j8.assign(T3, s.at(-1, 23, 5))
    j8.decline(T3, s.at(-1, 23, 10), reason="too far")  # declined before the range
    j9 = _done(_job("rpt-j9", OTHER, Channel.PARTNER, s.at(6, 10), priority=Priority.HIGH,
                    window=(s.at(6, 11), s.at(6, 13))), T3, assign=5, travel=100, arrive=179,
               finish=240)  # arrives at 12:59, on time
    j10 = _done(_job("rpt-j10", MINE, Channel.EMERGENCY, s.at(7, 15),
                     priority=Priority.EMERGENCY), T1, assign=3, travel=4, arrive=40, finish=100)
    j11 = _done(_job("rpt-j11", OTHER, Channel.PHONE, s.at(-3, 9)), T2, assign=5, travel=30,
                arrive=60, finish=120)  # finished before the range
    return [j1, j2, j2f, j3, j4, j5, j6, j7, j8, j9, j10, j11]


def _invoice(id: str, store: str, so: str, cents: int, *, processed: dt.datetime | None,
             created: dt.datetime, line: str = "general") -> dict[str, Any]:
    return {"id": id, "number": id.upper(), "sales_order_id": so, "store_id": store,
            "amount_cents": cents, "created_at": created, "processed": processed is not None,
            "processed_at": processed, "processed_by": "user-billing" if processed else None,
            "service_line": line}


def invoices(s: Span) -> list[dict[str, Any]]:
    return [
        _invoice("rpt-i1", MINE, "rpt-so-2", 12_345, processed=s.at(0, 9), created=s.at(0, 8),
                 line="hvac"),
        _invoice("rpt-i2", OTHER, "rpt-so-1", 50_000, processed=s.at(3, 14), created=s.at(2, 9),
                 line="plumbing"),
        # 23:30 on the last day is that day (its UTC date is the next one)
        _invoice("rpt-i3", OTHER, "rpt-so-1", 7_500, processed=s.last(23, 30),
                 created=s.at(1, 9)),
        _invoice("rpt-i4", OTHER, "rpt-so-1", 99_900, processed=s.last(0, 30, after=1),
                 created=s.at(1, 9)),  # just after the range
        # 23:30 the evening before is out (its UTC date is the first day)
        _invoice("rpt-i5", OTHER, "rpt-so-1", 11_100, processed=s.at(-1, 23, 30),
                 created=s.at(-1, 9)),
        _invoice("rpt-i6", OTHER, "rpt-so-1", 22_200, processed=None, created=s.at(2, 10)),
        _invoice("rpt-i7", MINE, "rpt-so-2", 3_300, processed=s.at(5, 6), created=s.at(5, 6),
                 line="hvac"),
        _invoice("rpt-i8", OTHER, "rpt-so-1", 1, processed=s.at(0, 0), created=s.at(0, 0)),
    ]


async def _plant(url: str, s: Span) -> None:
    engine = create_engine(url)
    try:
        async with write_transaction(engine) as conn:
            await conn.execute(insert(t.stores).values(
                id=OTHER, code="RPT", name="Report Town #1", lat=32.8, lon=-96.9,
                region="Dallas", opens="07:00", closes="19:00", timezone=ZONE.key))
            await conn.execute(insert(t.customers), [
                {"id": "rpt-c1", "name": ODD_NAME, "home_store_id": OTHER},
                {"id": "rpt-c2", "name": "Ana Reyes", "home_store_id": MINE}])
            await conn.execute(insert(t.sales_orders), [
                {"id": f"rpt-so-{n}", "number": f"RPT-SO-{n}", "customer_id": f"rpt-c{n}",
                 "store_id": store, "created_at": s.at(-5, 9), "status": "open"}
                for n, store in ((1, OTHER), (2, MINE))])
            await conn.execute(insert(t.invoices), invoices(s))
        async with SqlUnitOfWork(engine) as uow:
            for job in build_jobs(s):
                uow.work_orders.add(job)
            await uow.commit()
    finally:
        await engine.dispose()


def plant(url: str, s: Span) -> None:
    asyncio.run(_plant(url, s))


async def _rows(url: str) -> dict[str, list[Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {name: list((await conn.execute(select(table))).mappings().all())
                    for name, table in (("invoices", t.invoices), ("jobs", t.work_orders),
                                        ("declines", t.assignment_declines))}
    finally:
        await engine.dispose()


def stored(url: str) -> dict[str, list[Any]]:
    return asyncio.run(_rows(url))


# -- hand counts ------------------------------------------------------------------------------


def _day(instant: dt.datetime) -> str:
    return instant.astimezone(ZONE).date().isoformat()


def _minutes(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds() / 60


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


Key = Callable[[Any], str]


def hand_revenue(rows: list[Any], s: Span, key: Key = lambda r: _day(r["processed_at"]),
                 stores: set[str] | None = None) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["processed"] and s.holds(r["processed_at"]) and (not stores or r["store_id"] in stores):
            out[key(r)][0] += 1
            out[key(r)][1] += r["amount_cents"]
    return {k: (v[0], v[1]) for k, v in out.items()}


def hand_sla(rows: list[Any], s: Span, key: Key = lambda r: _day(r["created_at"]),
             stores: set[str] | None = None) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        if (s.holds(r["created_at"]) and r["status"] != "cancelled"
                and (not stores or r["store_id"] in stores)):
            groups[key(r)].append(r)
    out = {}
    for k, jobs in groups.items():
        assigned = [j for j in jobs if j["assigned_at"] is not None]
        arrived = [j for j in jobs if j["on_site_at"] is not None]
        windowed = [j for j in arrived if j["window_end"] is not None]
        on_time = [j for j in windowed if j["on_site_at"] <= j["window_end"]]
        emergencies = [j for j in jobs if j["priority"] == "emergency"]
        out[k] = {
            "jobs": len(jobs), "assigned": len(assigned), "arrived": len(arrived),
            "avg_minutes_to_assign": _avg([_minutes(j["assigned_at"], j["created_at"])
                                           for j in assigned]),
            "avg_minutes_to_arrive": _avg([_minutes(j["on_site_at"], j["created_at"])
                                           for j in arrived]),
            "with_window": len(windowed), "on_time": len(on_time),
            "on_time_rate": _rate(len(on_time), len(windowed)), "emergencies": len(emergencies),
            "emergency_avg_minutes_to_site": _avg([
                _minutes(j["on_site_at"], j["created_at"]) for j in emergencies
                if j["on_site_at"] is not None]),
        }
    return out


def hand_technicians(data: dict[str, list[Any]], s: Span,
                     stores: set[str] | None = None) -> dict[str, dict[str, Any]]:
    followed = {r["follow_up_of"] for r in data["jobs"] if r["follow_up_of"]}
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in data["jobs"]:
        if (r["technician_id"] is None or not s.holds(r["finished_at"])
                or (stores and r["store_id"] not in stores)):
            continue
        c = out[r["technician_id"]]
        c["jobs_completed"] += r["status"] == "completed"
        c["jobs_failed"] += r["status"] == "failed"
        if r["on_site_at"] is not None and r["window_end"] is not None:
            c["with_window"] += 1
            c["on_time"] += r["on_site_at"] <= r["window_end"]
        c["first_time_completions"] += (r["status"] == "completed" and not r["follow_up_of"]
                                        and r["id"] not in followed)
        if r["en_route_at"] and r["on_site_at"]:
            c["drive_seconds"] += int((r["on_site_at"] - r["en_route_at"]).total_seconds())
        if r["on_site_at"]:
            c["on_site_seconds"] += int((r["finished_at"] - r["on_site_at"]).total_seconds())
    for r in data["declines"]:
        if s.holds(r["declined_at"]) and (not stores or r["store_id"] in stores):
            out[r["technician_id"]]["declined"] += 1
    return {tech: {
        "jobs_completed": c["jobs_completed"], "jobs_failed": c["jobs_failed"],
        "on_time": c["on_time"], "with_window": c["with_window"],
        "on_time_rate": _rate(c["on_time"], c["with_window"]),
        "first_time_completions": c["first_time_completions"],
        "first_time_rate": _rate(c["first_time_completions"],
                                 c["jobs_completed"] + c["jobs_failed"]),
        "drive_minutes": round(c["drive_seconds"] / 60, 1),
        "on_site_minutes": round(c["on_site_seconds"] / 60, 1), "declined": c["declined"],
    } for tech, c in out.items()}


def hand_volume(rows: list[Any], s: Span, key: Key,
                stores: set[str] | None = None) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if s.holds(r["created_at"]) and (not stores or r["store_id"] in stores):
            out[key(r)][r["channel"]] += 1
    return {k: {ch: c[ch] for ch in ("phone", "partner", "webhook", "emergency")}
            | {"total": sum(c.values())} for k, c in out.items()}
