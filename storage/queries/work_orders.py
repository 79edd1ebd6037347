"""Work-order list and detail, in the caller's scope (their stores; a technician their own jobs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, asc, case, desc, false, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.comments import customer_visible
from domain.roles import Principal
from domain.work_orders import Priority
from storage import tables as t
from storage.queries.common import fetch_page, scope_filter

W = t.work_orders


def _visible(principal: Principal) -> ColumnElement[bool]:
    """Store scope, and for a technician with no other role only the jobs assigned to them."""
    own: ColumnElement[bool] = true()
    if principal.is_technician_only:
        own = (W.c.technician_id == principal.technician_id
               if principal.technician_id is not None else false())
    return scope_filter(principal, W.c.store_id) & own


def _priority_rank() -> Any:
    return case({p.value: p.rank for p in Priority}, value=W.c.priority, else_=len(Priority))


def _order_by(sort: str) -> list[Any]:
    if sort == "priority":
        # most urgent first, then the earliest window (orders without a window last)
        return [asc(_priority_rank()), asc(case((W.c.window_start.is_(None), 1), else_=0)),
                asc(W.c.window_start), asc(W.c.created_at), asc(W.c.id)]
    if sort == "-created_at":
        return [desc(W.c.created_at), desc(W.c.id)]
    return [asc(W.c.created_at), asc(W.c.id)]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def work_order_row(r: Any) -> dict[str, Any]:
    """A stored row in the shape of ``WorkOrder.snapshot()`` (the API's work-order shape)."""
    start, end = r["window_start"], r["window_end"]
    return {
        "id": r["id"], "store_id": r["store_id"], "customer_id": r["customer_id"],
        "priority": r["priority"], "location": {"lat": r["lat"], "lon": r["lon"]},
        "address": r["address"], "description": r["description"],
        "time_window": {"start": _iso(start), "end": _iso(end)} if start and end else None,
        "required_skills": sorted(r["required_skills"] or []),
        "estimated_minutes": r["estimated_minutes"], "status": r["status"],
        "status_reason": r["status_reason"], "status_changed_at": _iso(r["status_changed_at"]),
        "en_route_at": _iso(r["en_route_at"]), "on_site_at": _iso(r["on_site_at"]),
        "finished_at": _iso(r["finished_at"]), "channel": r["channel"],
        "assigned_at": _iso(r["assigned_at"]),
        "technician_id": r["technician_id"], "sequence": r["sequence"],
        "planned_arrival": _iso(r["planned_arrival"]), "pinned": bool(r["pinned"]),
        "follow_up_of": r["follow_up_of"], "created_at": _iso(r["created_at"]),
        "created_by": r["created_by"], "comments": list(r["comments"] or []),
        "proof": r["proof"], "version": r["version"],
    }


async def list_work_orders(
    conn: AsyncConnection, principal: Principal, *, statuses: Sequence[str] = (),
    store_id: str | None = None, priority: str | None = None,
    date_from: dt.datetime | None = None, date_to: dt.datetime | None = None,
    technician_id: str | None = None, unassigned: bool | None = None, sort: str = "priority",
    limit: int = 50, offset: int = 0, changed_from: dt.datetime | None = None,
    customer_id: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    q = select(W).where(_visible(principal))
    if statuses:
        q = q.where(W.c.status.in_(sorted(set(statuses))))
    if store_id:
        q = q.where(W.c.store_id == store_id)
    if priority:
        q = q.where(W.c.priority == priority)
    if date_from is not None:
        q = q.where(W.c.created_at >= date_from)
    if date_to is not None:
        q = q.where(W.c.created_at <= date_to)
    if changed_from is not None:
        q = q.where(W.c.status_changed_at >= changed_from)
    if technician_id:
        q = q.where(W.c.technician_id == technician_id)
    if customer_id:
        q = q.where(W.c.customer_id == customer_id)
    if unassigned is True:
        q = q.where(W.c.technician_id.is_(None))
    elif unassigned is False:
        q = q.where(W.c.technician_id.is_not(None))
    q = q.order_by(*_order_by(sort))
    rows, total = await fetch_page(conn, q, limit=limit, offset=offset)
    return await with_follow_ups(conn, [work_order_row(r) for r in rows]), total


async def work_order_detail(conn: AsyncConnection, principal: Principal,
                            work_order_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(
        select(W).where(W.c.id == work_order_id, _visible(principal))
    )).mappings().first()
    if row is None:
        return None
    return (await with_follow_ups(conn, [work_order_row(row)]))[0]


async def with_follow_ups(conn: AsyncConnection, items: list[dict[str, Any]]
                          ) -> list[dict[str, Any]]:
    """Add ``follow_ups`` (the ids of the work orders made when each failed, oldest first) in
    one query; the other end of ``follow_up_of``."""
    failed = [i["id"] for i in items if i["status"] == "failed"]
    found: dict[str, list[str]] = {}
    if failed:
        rows = (await conn.execute(
            select(W.c.id, W.c.follow_up_of).where(W.c.follow_up_of.in_(failed))
            .order_by(W.c.created_at, W.c.id))).all()
        for follow_id, original_id in rows:
            found.setdefault(original_id, []).append(follow_id)
    for item in items:
        item["follow_ups"] = found.get(item["id"], [])
    return items


async def customer_notes(conn: AsyncConnection, work_order_id: str) -> list[dict[str, str]]:
    """The job's customer-visible comments (``author``, ``text``, ``at``), oldest first: what its
    tracking page may show. Internal comments are never read out here."""
    stored = (await conn.execute(select(W.c.comments).where(W.c.id == work_order_id))
              ).scalar_one_or_none()
    return customer_visible(stored or [])
