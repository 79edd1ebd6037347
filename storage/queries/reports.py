"""The reports' counting: one SQL aggregate per report, on SQLite and PostgreSQL alike.

A time-grouped report counts per UTC hour (``date_trunc('hour', ...)`` on PostgreSQL; on SQLite,
where times are fixed-width ISO text, the first 13 characters ``YYYY-MM-DDTHH``), and
``domain/reports.py`` folds the hours into local days, weeks, months, hours and weekdays. A
report grouped by store, customer, service line or technician counts per that column over the
range's UTC instants and takes the names in the same statement. The caller's stores (and the
store asked for) are a condition of the SQL, never a filter afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import text

from domain.reports import TIME_GROUPS, Counted, Group, ReportKind, ReportRange
from storage import tables as t

Stores = frozenset[str] | None
#: Memory for one report's hash of buckets on PostgreSQL (this transaction only).
WORK_MEM = "32MB"
_ZERO: ColumnElement[int] = literal_column("0")
#: The technician report's sums besides the declines, in the order of ``domain.reports.SUMS``.
_TECH_ZEROS: Sequence[str] = ("jobs_completed", "jobs_failed", "with_window", "on_time",
                              "first_time_completions", "drive_seconds", "on_site_seconds")


def _hour(column: Any, dialect: str) -> ColumnElement[Any]:
    """The UTC hour an instant falls in (literal SQL, so GROUP BY repeats the same text)."""
    if dialect == "postgresql":
        return func.date_trunc(literal_column("'hour'"),
                               column.op("AT TIME ZONE")(literal_column("'UTC'")))
    return func.substr(column, literal_column("1"), literal_column("13"))


def utc_hour(value: Any) -> dt.datetime:
    """A bucket as the database answers it, as an aware UTC datetime."""
    if isinstance(value, str):  # SQLite: 'YYYY-MM-DDTHH'
        return dt.datetime.fromisoformat(f"{value}:00").replace(tzinfo=dt.UTC)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    raise TypeError(f"unexpected hour bucket {value!r}")


def _seconds(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """Seconds from ``earlier`` to ``later`` (NULL when either is NULL)."""
    if dialect == "postgresql":  # a double, not extract()'s numeric: sums stay quick
        return func.date_part(literal_column("'epoch'"), later - earlier)
    # julianday is a double: round to milliseconds so sums of whole seconds stay whole
    return func.round((func.julianday(later) - func.julianday(earlier)) * literal_column("86400.0"),
                      literal_column("3"))


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, literal_column("1")), else_=_ZERO))


def _in_stores(column: Any, stores: Stores) -> list[ColumnElement[bool]]:
    return [] if stores is None else [column.in_(sorted(stores))]


def _number(value: Any) -> float:
    return 0.0 if value is None else float(value)


class SqlReportSource:
    """What ``domain/services/reports.py`` reads (its ``ReportSource``), from the tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    async def default_timezone(self) -> str | None:
        """The zone most (active) stores are in; the first by name on a tie; None: no stores."""
        s = t.stores
        n = func.count().label("n")
        query = (select(s.c.timezone, n).where(s.c.active.is_(True)).group_by(s.c.timezone)
                 .order_by(n.desc(), s.c.timezone).limit(1))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else str(row[0])

    async def store_exists(self, store_id: str) -> bool:
        async with self.engine.connect() as conn:
            return bool((await conn.execute(
                select(exists().where(t.stores.c.id == store_id)))).scalar())

    async def count(self, kind: ReportKind, group: Group, rng: ReportRange,
                    stores: Stores) -> list[Counted]:
        """The sums of ``kind`` per hour bucket (a time group) or per ``group``'s column."""
        build = {ReportKind.REVENUE: self._revenue, ReportKind.SLA: self._sla,
                 ReportKind.TECHNICIANS: self._technicians, ReportKind.VOLUME: self._volume}[kind]
        query, width = build(group, rng, stores)
        async with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                # One aggregate over up to two years of rows, for this transaction only: planned
                # for the range it is given (a prepared statement's generic plan, which the
                # driver's statement cache brings after five runs, guesses the range and reads
                # a year as slowly as the whole table); not compiled (JIT costs more than it
                # saves here); and with room for the hash of hour buckets, whose number the
                # planner overestimates (it cannot know there are at most 24 a day).
                await conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
                await conn.execute(text("SET LOCAL jit = off"))
                await conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
            rows = (await conn.execute(query)).all()
        timed = group in TIME_GROUPS
        return [Counted(key=utc_hour(r[0]) if timed else r[0],
                        sums=[_number(v) for v in r[1:width + 1]],
                        label=r[width + 1] if len(r) > width + 1 else None,
                        store_id=r[width + 2] if len(r) > width + 2 else None)
                for r in rows if r[0] is not None]

    # -- one aggregate per report -----------------------------------------------------------------

    def _key(self, group: Group, instant: Any, column: Any) -> ColumnElement[Any]:
        return (_hour(instant, self.dialect) if group in TIME_GROUPS else column).label("key")

    def _named(self, inner: Select[Any], width: int, group: Group) -> tuple[Select[Any], int]:
        """Add the name of each store or customer to an aggregate keyed by its id."""
        names = {Group.STORE: t.stores, Group.CUSTOMER: t.customers}.get(group)
        if names is None:
            return inner, width
        agg = inner.subquery("agg")
        return select(*agg.c, names.c.name.label("label")).select_from(
            agg.outerjoin(names, names.c.id == agg.c.key)), width

    def _revenue(self, group: Group, rng: ReportRange, stores: Stores) -> tuple[Select[Any], int]:
        i, so = t.invoices, t.sales_orders
        column = {Group.STORE: i.c.store_id, Group.CUSTOMER: so.c.customer_id,
                  Group.SERVICE_LINE: i.c.service_line}.get(group)
        key = self._key(group, i.c.processed_at, column)
        query = select(key, func.count().label("invoices"),
                       func.sum(i.c.amount_cents).label("revenue_cents"))
        if group == Group.CUSTOMER:
            query = query.select_from(i.join(so, so.c.id == i.c.sales_order_id))
        query = query.where(i.c.processed.is_(True), i.c.processed_at >= rng.utc_start,
                            i.c.processed_at < rng.utc_end,
                            *_in_stores(i.c.store_id, stores)).group_by(key)
        return self._named(query, 2, group)

    def _sla(self, group: Group, rng: ReportRange, stores: Stores) -> tuple[Select[Any], int]:
        w, d = t.work_orders, self.dialect
        arrived = w.c.on_site_at.is_not(None)
        windowed = and_(arrived, w.c.window_end.is_not(None))
        emergency = w.c.priority == "emergency"
        key = self._key(group, w.c.created_at, w.c.store_id)
        query = select(
            key, func.count().label("jobs"), func.count(w.c.assigned_at).label("assigned"),
            func.sum(_seconds(w.c.assigned_at, w.c.created_at, d)).label("assign_seconds"),
            func.count(w.c.on_site_at).label("arrived"),
            func.sum(_seconds(w.c.on_site_at, w.c.created_at, d)).label("arrive_seconds"),
            _count(windowed).label("with_window"),
            _count(and_(windowed, w.c.on_site_at <= w.c.window_end)).label("on_time"),
            _count(emergency).label("emergencies"),
            _count(and_(emergency, arrived)).label("emergency_arrived"),
            func.sum(case((emergency, _seconds(w.c.on_site_at, w.c.created_at, d)),
                          else_=null())).label("emergency_arrive_seconds"),
        ).where(w.c.created_at >= rng.utc_start, w.c.created_at < rng.utc_end,
                w.c.status != "cancelled", *_in_stores(w.c.store_id, stores)).group_by(key)
        return self._named(query, 10, group)

    def _volume(self, group: Group, rng: ReportRange, stores: Stores) -> tuple[Select[Any], int]:
        w = t.work_orders
        key = self._key(group, w.c.created_at, w.c.store_id)
        channels = [_count(w.c.channel == name).label(name)
                    for name in ("phone", "partner", "webhook", "emergency")]
        query = select(key, *channels).where(
            w.c.created_at >= rng.utc_start, w.c.created_at < rng.utc_end,
            *_in_stores(w.c.store_id, stores)).group_by(key)
        return self._named(query, 4, group)

    def _technicians(self, group: Group, rng: ReportRange,
                     stores: Stores) -> tuple[Select[Any], int]:
        w, a, d = t.work_orders, t.assignment_declines, self.dialect
        # the jobs that got a follow-up, once each: joined (a hash), not asked per job
        follow = w.alias("follow")
        followed = (select(follow.c.follow_up_of.label("id"))
                    .where(follow.c.follow_up_of.is_not(None)).distinct().subquery("followed"))
        completed = w.c.status == "completed"
        windowed = and_(w.c.on_site_at.is_not(None), w.c.window_end.is_not(None))
        first_time = and_(completed, w.c.follow_up_of.is_(None), followed.c.id.is_(None))
        jobs = select(
            w.c.technician_id.label("key"), _count(completed).label("jobs_completed"),
            _count(w.c.status == "failed").label("jobs_failed"),
            _count(windowed).label("with_window"),
            _count(and_(windowed, w.c.on_site_at <= w.c.window_end)).label("on_time"),
            _count(first_time).label("first_time_completions"),
            func.sum(_seconds(w.c.on_site_at, w.c.en_route_at, d)).label("drive_seconds"),
            func.sum(_seconds(w.c.finished_at, w.c.on_site_at, d)).label("on_site_seconds"),
            _ZERO.label("declined"),
        ).select_from(w.outerjoin(followed, followed.c.id == w.c.id)).where(
            w.c.finished_at >= rng.utc_start, w.c.finished_at < rng.utc_end,
            w.c.technician_id.is_not(None), *_in_stores(w.c.store_id, stores),
        ).group_by(w.c.technician_id)
        declines = select(
            a.c.technician_id.label("key"), *(_ZERO.label(n) for n in _TECH_ZEROS),
            func.count().label("declined"),
        ).where(a.c.declined_at >= rng.utc_start, a.c.declined_at < rng.utc_end,
                *_in_stores(a.c.store_id, stores)).group_by(a.c.technician_id)
        both = union_all(jobs, declines).subquery("both")
        tech = t.technicians
        sums = [func.sum(both.c[name]).label(name) for name in (*_TECH_ZEROS, "declined")]
        query = (select(both.c.key, *sums, tech.c.name.label("label"),
                        tech.c.home_store_id.label("store_id"))
                 .select_from(both.outerjoin(tech, tech.c.id == both.c.key))
                 .group_by(both.c.key, tech.c.name, tech.c.home_store_id))
        return query, 8

