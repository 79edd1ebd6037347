"""A store's day so far, for its manager's numbers: jobs completed since local midnight and how
many of them were reached within their window (the arrival is the technician's on-site step;
without one, the completion)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Principal
from storage import tables as t
from storage.queries.common import scope_filter


def local_midnight(now: dt.datetime, timezone: str) -> dt.datetime:
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


async def store_today(conn: AsyncConnection, principal: Principal, store_id: str,
                      now: dt.datetime) -> dict[str, Any] | None:
    """None when the store does not exist or is outside the caller's scope."""
    s = t.stores
    store = (await conn.execute(select(s.c.id, s.c.timezone).where(
        s.c.id == store_id, scope_filter(principal, s.c.id)))).first()
    if store is None:
        return None
    since = local_midnight(now, store.timezone)
    w = t.work_orders
    done = (await conn.execute(
        select(w.c.window_end, w.c.on_site_at, w.c.finished_at, w.c.status_changed_at)
        .where(w.c.store_id == store_id, w.c.status == "completed",
               w.c.status_changed_at >= since))).all()
    on_time = sum(1 for d in done
                  if d.window_end is None
                  or (d.on_site_at or d.finished_at or d.status_changed_at) <= d.window_end)
    return {"store_id": store_id, "since": since, "completed": len(done), "on_time": on_time,
            "on_time_rate": round(on_time / len(done), 4) if done else None}
