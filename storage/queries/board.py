"""The board snapshot: what a session needs to draw the board from scratch.

Open work orders only (closed ones are history: the REST lists have them), each with what the
board draws first; what only a job's detail shows (comments, proof, customer, creator, channel,
first assignment, pinning) is left out and read from ``GET /api/work-orders/{id}`` when the job
is opened. Live events still carry the whole job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.positions import PositionFix, freshness
from domain.roles import Permission, Principal, may_see_proposal
from domain.work_orders import OPEN_STATUSES
from storage import mapping as m
from storage import tables as t
from storage.queries.alerts import live_alerts
from storage.queries.common import scope_filter

#: Work-order fields the snapshot leaves to the job's detail (the board does not draw them).
DETAIL_ONLY = ("comments", "proof", "customer_id", "created_by", "channel", "assigned_at",
               "pinned")
_HEAVY_COLUMNS = frozenset({"comments", "proof"})


class SqlSnapshotSource:
    """Implements ``realtime.ports.SnapshotSource``."""

    def __init__(self, engine: AsyncEngine,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.engine = engine
        self.clock = clock

    async def snapshot(self, principal: Principal, topics: frozenset[str]) -> dict[str, Any]:
        stores_in = {topic.split(":", 1)[1] for topic in topics if topic.startswith("store:")}
        techs_in = {topic.split(":", 1)[1] for topic in topics if topic.startswith("technician:")}
        board = "board" in topics
        now = self.clock()
        tech, wo, p = t.technicians, t.work_orders, t.positions_latest

        def narrow(query: Any, store_col: Any, tech_col: Any) -> Any:
            query = query.where(scope_filter(principal, store_col))
            if principal.is_technician_only:
                return query.where(tech_col == principal.technician_id)
            if board:
                return query
            conditions = []
            if stores_in:
                conditions.append(store_col.in_(sorted(stores_in)))
            if techs_in:
                conditions.append(tech_col.in_(sorted(techs_in)))
            return query.where(or_(*conditions) if conditions else false())

        async with self.engine.connect() as conn:
            tech_rows = (await conn.execute(narrow(
                select(tech, p.c.lat, p.c.lon, p.c.speed_kmh, p.c.bearing, p.c.device_time)
                .outerjoin(p, p.c.unit_id == tech.c.unit_id).where(tech.c.active.is_(True)),
                tech.c.home_store_id, tech.c.id))).mappings().all()
            wo_rows = (await conn.execute(narrow(
                select(*(c for c in wo.c if c.name not in _HEAVY_COLUMNS))
                .where(wo.c.status.in_([s.value for s in OPEN_STATUSES])),
                wo.c.store_id, wo.c.technician_id))).mappings().all()
            store_rows = (await conn.execute(
                select(t.stores).where(scope_filter(principal, t.stores.c.id),
                                       t.stores.c.active.is_(True)))).mappings().all()
            proposal_rows = await open_proposals(conn, principal, board, stores_in)
            alerts = await live_alerts(
                conn, principal, None if board or "alerts" in topics else stores_in)
        technicians = []
        for r in tech_rows:
            item = m.technician_from_row(r).snapshot()
            if r["lat"] is not None:
                item["position"] = {
                    "unit_id": r["unit_id"], "lat": r["lat"], "lon": r["lon"],
                    "speed_kmh": r["speed_kmh"], "bearing": r["bearing"],
                    "at": r["device_time"].isoformat(),
                    "freshness": freshness(PositionFix(
                        unit_id=r["unit_id"], lat=r["lat"], lon=r["lon"],
                        speed_kmh=r["speed_kmh"], bearing=r["bearing"],
                        device_time=r["device_time"], record_id=""), now),
                }
            else:
                item["position"] = None
            technicians.append(item)
        if principal.is_technician_only:
            store_rows = []
        return {
            "technicians": technicians,
            "work_orders": [board_item(r) for r in wo_rows],
            "stores": [m.store_from_row(r).snapshot() for r in store_rows],
            "proposals": [m.proposal_from_row(r).snapshot() for r in proposal_rows],
            "alerts": alerts,
        }


def board_item(row: Any) -> dict[str, Any]:
    """A work order as the snapshot carries it: without the fields only its detail shows."""
    item = m.work_order_from_row({**row, "comments": [], "proof": None}).snapshot()
    for name in DETAIL_ONLY:
        item.pop(name, None)
    return item


class SqlUnitDirectory:
    """Implements ``realtime.positions.UnitDirectory`` (values built by ``info_factory``)."""

    def __init__(self, engine: AsyncEngine, info_factory: Any) -> None:
        self.engine = engine
        self.make = info_factory

    async def units(self) -> dict[str, Any]:
        u, tech = t.units, t.technicians
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(u.c.id, u.c.geotab_device_id, u.c.home_store_id, tech.c.id.label("tech"))
                .outerjoin(tech, tech.c.unit_id == u.c.id))).mappings().all()
        out: dict[str, Any] = {}
        for r in rows:
            info = self.make(r["id"], r["tech"], r["home_store_id"])
            out[r["id"]] = info
            if r["geotab_device_id"]:
                out[r["geotab_device_id"]] = info
            if r["tech"]:
                out[f"technician:{r['tech']}"] = info
        return out


async def open_proposals(conn: AsyncConnection, principal: Principal, board: bool,
                         stores_in: set[str]) -> list[Any]:
    """Open proposals for those with the proposal view, within their stores: on the board topic
    all of those, on store topics the ones touching a subscribed store (the live stream's rule,
    ``realtime.scope.proposal_matches``)."""
    if not principal.can(Permission.PROPOSAL_VIEW):
        return []
    rows = (await conn.execute(
        select(t.proposals).where(t.proposals.c.status == "proposed"))).mappings().all()
    out = []
    for r in rows:
        store_ids = frozenset(r["store_ids"] or ())
        if may_see_proposal(principal, store_ids) and (board or store_ids & stores_in):
            out.append(r)
    return out
