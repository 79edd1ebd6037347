"""The live state the planner works from, the proposals as a caller sees them, and the records a
proposal's undo needs.

``load_live_state`` reads, in the caller's store scope: every active technician with their shift,
status, skills, home store (location and region) and latest van position; and every open work
order with its assignment, pin and version. Plain rows, no aggregates: the web planning adapter
turns them into the routing package's problem.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Principal
from domain.work_orders import OPEN_STATUSES
from storage import tables as t
from storage.queries.common import scope_filter


@dataclass(frozen=True, slots=True)
class TechnicianRow:
    id: str
    name: str
    home_store_id: str
    region: str
    store_lat: float
    store_lon: float
    skills: frozenset[str]
    status: str
    shift_start: dt.datetime | None
    shift_end: dt.datetime | None
    position: tuple[float, float] | None
    position_at: dt.datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: str
    store_id: str
    region: str
    priority: str
    lat: float
    lon: float
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    required_skills: frozenset[str]
    estimated_minutes: int
    status: str
    status_changed_at: dt.datetime
    technician_id: str | None
    sequence: int | None
    pinned: bool
    version: int


@dataclass(frozen=True, slots=True)
class LiveState:
    technicians: tuple[TechnicianRow, ...]
    orders: tuple[OrderRow, ...]
    mark: int
    """The event log position the state was read at (``max(outbox.id)``)."""


async def event_mark(conn: AsyncConnection) -> int:
    """The newest event log row: any committed change moves it."""
    return int((await conn.execute(select(func.max(t.outbox.c.id)))).scalar() or 0)


async def _rows(conn: AsyncConnection, query: Any) -> AsyncIterator[Any]:
    """Rows in slices, yielding to the event loop between them (thousands of rows convert for
    tens of milliseconds; other requests should not wait that long)."""
    result = (await conn.execute(query)).mappings()
    for part in result.partitions(500):
        for row in part:
            yield row
        await asyncio.sleep(0)


async def load_live_state(conn: AsyncConnection, principal: Principal) -> LiveState:
    mark = await event_mark(conn)
    tc, s, u, p = t.technicians, t.stores, t.units, t.positions_latest
    tech_q = (
        select(tc.c.id, tc.c.name, tc.c.home_store_id, tc.c.skills, tc.c.status,
               tc.c.shift_start, tc.c.shift_end, tc.c.version, s.c.region,
               s.c.lat.label("store_lat"), s.c.lon.label("store_lon"),
               p.c.lat.label("pos_lat"), p.c.lon.label("pos_lon"),
               p.c.device_time.label("pos_at"))
        .join(s, s.c.id == tc.c.home_store_id)
        .outerjoin(u, u.c.id == tc.c.unit_id)
        .outerjoin(p, p.c.unit_id == u.c.id)
        .where(tc.c.active.is_(True), scope_filter(principal, tc.c.home_store_id))
        .order_by(tc.c.id)
    )
    techs = tuple([
        TechnicianRow(
            id=r["id"], name=r["name"], home_store_id=r["home_store_id"], region=r["region"],
            store_lat=r["store_lat"], store_lon=r["store_lon"],
            skills=frozenset(r["skills"] or ()), status=r["status"],
            shift_start=r["shift_start"], shift_end=r["shift_end"],
            position=(r["pos_lat"], r["pos_lon"]) if r["pos_lat"] is not None else None,
            position_at=r["pos_at"], version=r["version"],
        )
        async for r in _rows(conn, tech_q)
    ])
    w = t.work_orders
    order_q = (
        select(w.c.id, w.c.store_id, w.c.priority, w.c.lat, w.c.lon, w.c.window_start,
               w.c.window_end, w.c.required_skills, w.c.estimated_minutes, w.c.status,
               w.c.status_changed_at, w.c.technician_id, w.c.sequence, w.c.pinned, w.c.version,
               s.c.region)
        .join(s, s.c.id == w.c.store_id)
        .where(w.c.status.in_(sorted(OPEN_STATUSES)), scope_filter(principal, w.c.store_id))
        .order_by(w.c.id)
    )
    orders = tuple([
        OrderRow(
            id=r["id"], store_id=r["store_id"], region=r["region"], priority=r["priority"],
            lat=r["lat"], lon=r["lon"], window_start=r["window_start"],
            window_end=r["window_end"], required_skills=frozenset(r["required_skills"] or ()),
            estimated_minutes=r["estimated_minutes"], status=r["status"],
            status_changed_at=r["status_changed_at"], technician_id=r["technician_id"],
            sequence=r["sequence"], pinned=bool(r["pinned"]), version=r["version"],
        )
        async for r in _rows(conn, order_q)
    ])
    return LiveState(technicians=techs, orders=orders, mark=mark)


async def proposal_records(conn: AsyncConnection, proposal_id: str) -> dict[str, dict[str, Any]]:
    """The newest audit ``after`` per action recorded against a proposal (e.g. the previous
    assignments saved by ``proposal.confirm``, the technicians an emergency marked unavailable)."""
    a = t.audit_log
    rows = (await conn.execute(
        select(a.c.action, a.c.after)
        .where(a.c.entity_type == "proposal", a.c.entity_id == proposal_id)
        .order_by(desc(a.c.id))
    )).all()
    out: dict[str, dict[str, Any]] = {}
    for action, after in rows:
        if action not in out and isinstance(after, dict):
            out[action] = after
    return out


def _sees(principal: Principal, row: Any) -> bool:
    """A store-scoped user sees the proposals that touch only their stores."""
    return principal.store_ids is None or set(row["store_ids"]) <= principal.store_ids


async def proposal_row(conn: AsyncConnection, principal: Principal, proposal_id: str) -> Any | None:
    """The proposal's row; None when there is none, or it touches a store outside the caller's."""
    pr = t.proposals
    row = (await conn.execute(select(pr).where(pr.c.id == proposal_id))).mappings().first()
    return row if row is not None and _sees(principal, row) else None


async def list_proposals(
    conn: AsyncConnection, principal: Principal, *, open_only: bool, now: dt.datetime,
    limit: int, offset: int,
) -> tuple[list[Any], int]:
    """Proposals, newest first. A store-scoped user sees those touching only their stores."""
    pr = t.proposals
    q = select(pr)
    if open_only:
        q = q.where(pr.c.status == "proposed", pr.c.expires_at > now)
    q = q.order_by(desc(pr.c.created_at), desc(pr.c.id))
    rows = [r for r in (await conn.execute(q)).mappings().all() if _sees(principal, r)]
    return rows[offset:offset + limit], len(rows)
