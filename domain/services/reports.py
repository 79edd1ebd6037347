"""Use case: a report (revenue, SLA, technicians, volume) over a range of local dates.

Who may read reports (``report:view``) and over which stores: a store-bound user reads only
their stores, and naming another store is refused (403), not answered with nothing. The counting
is the database's (``ReportSource``); the folding into the local calendar and the finishing of
each item are ``domain/reports.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from domain.errors import PermissionDenied, RuleViolation, ValidationFailed
from domain.ports import ReportSource
from domain.reports import (
    Group,
    ReportKind,
    build_report,
    check_group,
    report_range,
    report_zone,
)
from domain.roles import Permission
from domain.services.context import Context

FALLBACK_ZONE = "UTC"


@dataclass(frozen=True, slots=True)
class ReportQuery:
    kind: ReportKind
    group: Group | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    store_id: str | None = None


async def report_timezone(source: ReportSource, configured: str | None) -> str:
    """``REPORT_TIMEZONE`` when set; else the zone most stores use (when the reports can count
    in it), else UTC."""
    if configured:
        return report_zone(configured).key
    found = await source.default_timezone()
    if found:
        try:
            return report_zone(found).key
        except ValidationFailed:
            pass
    return FALLBACK_ZONE


async def _stores(source: ReportSource, ctx: Context, store_id: str | None
                  ) -> frozenset[str] | None:
    """The stores the report counts: the one asked for (within the caller's), else the
    caller's (None: every store)."""
    p = ctx.principal
    if store_id is None:
        return p.store_ids
    if not p.sees_store(store_id):
        raise PermissionDenied(f"{p.username} may not read the reports of store {store_id}",
                               store_id=store_id)
    if not await source.store_exists(store_id):
        raise RuleViolation(f"store {store_id} does not exist", field="store_id",
                            code="invalid_store")
    return frozenset({store_id})


async def run_report(source: ReportSource, ctx: Context, query: ReportQuery, *,
                     timezone: str | None = None) -> dict[str, Any]:
    """The report's answer: what was asked (range, group, store, zone), its items and total."""
    ctx.principal.require(Permission.REPORT_VIEW)
    group = check_group(query.kind, query.group)
    stores = await _stores(source, ctx, query.store_id)
    zone = report_zone(await report_timezone(source, timezone))
    rng = report_range(query.start, query.end, today=ctx.now.astimezone(zone).date(), zone=zone)
    counted = await source.count(query.kind, group, rng, stores)
    items, total = build_report(query.kind, group, rng, counted)
    return {
        "report": query.kind.value, "from": rng.start.isoformat(), "to": rng.end.isoformat(),
        "group": group.value, "store_id": query.store_id, "timezone": zone.key,
        "items": items, "total": total,
    }
