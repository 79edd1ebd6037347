"""Alert list, detail and the live alerts of a board snapshot, in the caller's scope.

Scope: the alert view permission; a store-scoped user sees their stores' alerts only; system
alerts (no store) need the system-alert permission (admins).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, desc, false, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.alerts import LIVE_STATUSES
from domain.roles import Permission, Principal
from storage import tables as t
from storage.alerts import alert_from_row
from storage.queries.common import fetch_page, scope_filter

A = t.alerts


def visible(principal: Principal) -> ColumnElement[bool]:
    if not principal.can(Permission.ALERT_VIEW):
        return false()
    condition = scope_filter(principal, A.c.store_id)
    if not principal.can(Permission.ALERT_SYSTEM):
        condition = condition & A.c.store_id.is_not(None)
    return condition


async def list_alerts(
    conn: AsyncConnection, principal: Principal, *, statuses: Sequence[str] = (),
    severities: Sequence[str] = (), kinds: Sequence[str] = (), store_id: str | None = None,
    limit: int = 50, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Newest first."""
    q = select(A).where(visible(principal))
    if statuses:
        q = q.where(A.c.status.in_(sorted(set(statuses))))
    if severities:
        q = q.where(A.c.severity.in_(sorted(set(severities))))
    if kinds:
        q = q.where(A.c.kind.in_(sorted(set(kinds))))
    if store_id:
        q = q.where(A.c.store_id == store_id)
    q = q.order_by(desc(A.c.raised_at), desc(A.c.id))
    rows, total = await fetch_page(conn, q, limit=limit, offset=offset)
    return [alert_from_row(r).snapshot() for r in rows], total


async def alert_detail(conn: AsyncConnection, principal: Principal,
                       alert_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(
        select(A).where(A.c.id == alert_id, visible(principal)))).mappings().first()
    return alert_from_row(row).snapshot() if row is not None else None


async def live_alerts(conn: AsyncConnection, principal: Principal,
                      store_ids: Collection[str] | None = None,
                      limit: int = 1000) -> list[dict[str, Any]]:
    """Open and acknowledged alerts, newest first (``store_ids``: only those stores')."""
    q = select(A).where(visible(principal),
                        A.c.status.in_(sorted(s.value for s in LIVE_STATUSES)))
    if store_ids is not None:
        q = q.where(A.c.store_id.in_(sorted(store_ids)))
    rows = (await conn.execute(
        q.order_by(desc(A.c.raised_at), desc(A.c.id)).limit(limit))).mappings().all()
    return [alert_from_row(r).snapshot() for r in rows]
