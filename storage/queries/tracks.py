"""Where a technician has been (the van's recent positions, thinned) and where they go next (their
open jobs in route order): the board draws both for the selected technician."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import asc, desc, nulls_last, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Principal
from domain.work_orders import OPEN_STATUSES, STARTED_STATUSES
from storage import tables as t
from storage.queries.common import scope_filter

#: Rows read at most for one trail (a van reporting every second for 2 hours is 7,200).
READ_LIMIT = 20_000


def thin(points: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """At most ``most`` points, evenly spaced, keeping the first and the newest."""
    if len(points) <= most:
        return points
    step = (len(points) - 1) / (most - 1)
    return [points[round(i * step)] for i in range(most)]


async def technician_track(conn: AsyncConnection, principal: Principal, technician_id: str,
                           since: dt.datetime, most: int) -> dict[str, Any] | None:
    """None when the technician does not exist or is outside the caller's stores."""
    tc = t.technicians
    tech = (await conn.execute(
        select(tc.c.id, tc.c.unit_id, tc.c.home_store_id)
        .where(tc.c.id == technician_id, scope_filter(principal, tc.c.home_store_id))
    )).first()
    if tech is None:
        return None
    trail: list[dict[str, Any]] = []
    position = None
    if tech.unit_id is not None:
        h = t.position_history
        rows = (await conn.execute(
            select(h.c.lat, h.c.lon, h.c.device_time)
            .where(h.c.unit_id == tech.unit_id, h.c.device_time >= since)
            .order_by(desc(h.c.device_time)).limit(READ_LIMIT))).all()
        trail = thin([{"lat": r.lat, "lon": r.lon, "at": r.device_time} for r in reversed(rows)],
                     most)
        p = t.positions_latest
        latest = (await conn.execute(
            select(p.c.lat, p.c.lon, p.c.device_time).where(p.c.unit_id == tech.unit_id))).first()
        if latest is not None:
            position = {"lat": latest.lat, "lon": latest.lon, "at": latest.device_time}
    w = t.work_orders
    started = sorted(s.value for s in STARTED_STATUSES)
    jobs = (await conn.execute(
        select(w.c.id, w.c.status, w.c.sequence, w.c.lat, w.c.lon, w.c.planned_arrival,
               w.c.description, w.c.window_end)
        .where(w.c.technician_id == technician_id, w.c.status.in_(sorted(OPEN_STATUSES)),
               scope_filter(principal, w.c.store_id))  # their jobs of other stores stay hidden
        .order_by(desc(w.c.status.in_(started)), nulls_last(asc(w.c.sequence)),
                  nulls_last(asc(w.c.planned_arrival)), asc(w.c.id)))).all()
    route = [{"work_order_id": j.id, "status": j.status, "sequence": j.sequence,
              "location": {"lat": j.lat, "lon": j.lon}, "planned_arrival": j.planned_arrival,
              "window_end": j.window_end, "description": j.description} for j in jobs]
    return {"technician_id": technician_id, "unit_id": tech.unit_id, "since": since,
            "position": position, "trail": trail, "route": route}
