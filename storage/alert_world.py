"""The facts the alert rules read, from the tables: open orders (with the declines read back from
the outbox), active technicians with their vans' latest fixes, stores, proposals waiting, dead
webhooks, and the happenings (published events after a stored cursor, partner changes from their
ledger); feed and process health come from the process running the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain import alert_happenings as hp
from domain.alert_catalogue import RuleBook
from domain.alert_facts import (
    DeadWebhooks,
    Happening,
    IntegrationHealth,
    OrderFacts,
    ProposalFacts,
    StoreFacts,
    SystemFacts,
    TechnicianFacts,
    World,
)
from domain.alert_kinds import rule_book
from domain.alerts import HAPPENING_KINDS, AlertKind, AlertStatus
from domain.resources import TechnicianStatus
from domain.work_orders import OPEN_STATUSES, Priority, WorkOrderStatus
from storage import tables as t
from storage.alert_rule_store import read_overrides
from storage.feed_cursors import SqlFeedCursorStore

A = t.alerts
Integrations = Callable[[], Sequence[IntegrationHealth]]
#: Where the pass's reading of the published log stands (a row of ``feed_cursors``).
CURSOR = "alerts:happenings"
RAISED_KINDS = sorted(k.value for k in HAPPENING_KINDS | {AlertKind.SYSTEM_ERROR})


class SqlAlertFacts:
    """Implements ``domain.services.alerts.AlertFacts`` from the tables; integration health
    (``integrations``), the process's view of the system (``system``: unhandled errors, Redis,
    the relay's lag) and outages it lived through (``outages``) come from the process that runs
    the rules (unknown without them: their alerts are left alone)."""

    def __init__(self, engine: AsyncEngine, integrations: Integrations = lambda: (), *,
                 system: Callable[[], Awaitable[SystemFacts]] | None = None,
                 outages: Callable[[], Sequence[Happening]] | None = None,
                 cursors: SqlFeedCursorStore | None = None, batch: int = 2000) -> None:
        self.engine = engine
        self.integrations = integrations
        self.system = system
        self.outages = outages
        self.cursors = cursors
        self.batch = batch
        self.cursor: int | None = None
        self._cursor_loaded = cursors is None
        self._read_up_to: int | None = None

    async def rule_book(self) -> RuleBook:
        async with self.engine.connect() as conn:
            return rule_book(await read_overrides(conn))

    async def world(self, now: dt.datetime) -> World:
        process = await self.system() if self.system is not None else SystemFacts()
        if not self._cursor_loaded and self.cursors is not None:
            stored = await self.cursors.get(CURSOR)
            self.cursor = int(stored) if stored else None
            self._cursor_loaded = True
        async with self.engine.connect() as conn:
            orders = await _open_orders(conn)
            technicians, names = await _technicians(conn, orders)
            happenings, self._read_up_to = await _events(conn, now, self.cursor, self.batch)
            happenings += await _partner_changes(conn, now - hp.LOOKBACK)
            world = World(
                orders=tuple(orders), technicians=tuple(technicians),
                integrations=tuple(self.integrations()), technician_names=names,
                stores=await _stores(conn), proposals=await _proposals(conn, now),
                dead_webhooks=await _dead_webhooks(conn),
                system=process,
                happenings=tuple(happenings) + tuple(self.outages() if self.outages else ()))
        return world

    async def passed(self) -> None:
        if self._read_up_to is None or self._read_up_to == self.cursor:
            return
        self.cursor = self._read_up_to
        if self.cursors is not None:
            await self.cursors.set(CURSOR, str(self.cursor))

    async def snoozed_keys(self, since: dt.datetime) -> frozenset[str]:
        async with self.engine.connect() as conn:
            keys = (await conn.execute(
                select(A.c.dedup_key).where(A.c.status == AlertStatus.RESOLVED.value,
                                            A.c.resolved_by.is_not(None),
                                            A.c.resolved_at >= since))).scalars().all()
        return frozenset(keys)

    async def raised_keys(self, since: dt.datetime) -> frozenset[str]:
        async with self.engine.connect() as conn:
            keys = (await conn.execute(select(A.c.dedup_key).where(
                A.c.kind.in_(RAISED_KINDS), A.c.raised_at >= since))).scalars().all()
        return frozenset(keys)


async def _events(conn: AsyncConnection, now: dt.datetime, cursor: int | None,
                  batch: int) -> tuple[list[Happening], int | None]:
    """The happenings among the events published after ``cursor`` (the first time: those of
    the last day), and where the next read starts."""
    o = t.outbox
    top = (await conn.execute(select(func.max(o.c.seq)))).scalar()
    if top is None:
        return [], cursor
    query = select(o.c.seq, o.c.name, o.c.occurred_at, o.c.payload, o.c.store_id,
                   o.c.technician_id).where(o.c.seq.is_not(None), o.c.seq <= top,
                                            o.c.name.in_(hp.EVENT_NAMES))
    query = (query.where(o.c.occurred_at >= now - hp.LOOKBACK) if cursor is None
             else query.where(o.c.seq > cursor))
    rows = (await conn.execute(query.order_by(o.c.seq).limit(batch))).all()
    found = [hp.from_event(r.seq, r.name, r.occurred_at, dict(r.payload or {}),
                           store_id=r.store_id, technician_id=r.technician_id) for r in rows]
    return [h for h in found if h is not None], int(rows[-1].seq if len(rows) == batch else top)


async def _partner_changes(conn: AsyncConnection, since: dt.datetime) -> list[Happening]:
    """Partner changes applied since ``since``: the recent audit rows of such changes (indexed by
    time) name the orders; the partner's ledger (by its key) has each change's version."""
    au, io, ch, w = t.audit_log, t.intake_orders, t.intake_changes, t.work_orders
    ids = (await conn.execute(select(au.c.entity_id).distinct().where(
        au.c.at >= since, au.c.action.in_(hp.PARTNER_ACTIONS)))).scalars().all()
    out: list[Happening] = []
    for start in range(0, len(ids), 500):
        rows = (await conn.execute(
            select(ch.c.source, ch.c.external_id, ch.c.version, ch.c.outcome, ch.c.received_at,
                   io.c.work_order_id, w.c.store_id)
            .join(ch, and_(ch.c.source == io.c.source, ch.c.external_id == io.c.external_id))
            .join(w, w.c.id == io.c.work_order_id)
            .where(io.c.work_order_id.in_(ids[start:start + 500]), ch.c.received_at >= since,
                   ch.c.outcome.in_(sorted(hp.PARTNER_OUTCOMES))))).all()
        for r in rows:
            found = hp.partner_change(outcome=r.outcome, at=r.received_at,
                                      work_order_id=r.work_order_id, store_id=r.store_id,
                                      partner=r.source, external_id=r.external_id,
                                      version=r.version)
            if found is not None:
                out.append(found)
    return out


async def _stores(conn: AsyncConnection) -> dict[str, StoreFacts]:
    s = t.stores
    rows = (await conn.execute(select(s.c.id, s.c.name, s.c.lat, s.c.lon, s.c.timezone))).all()
    return {r.id: StoreFacts(r.name, r.lat, r.lon, r.timezone) for r in rows}


async def _proposals(conn: AsyncConnection, now: dt.datetime) -> tuple[ProposalFacts, ...]:
    p = t.proposals
    rows = (await conn.execute(
        select(p.c.id, p.c.scope, p.c.body, p.c.store_ids, p.c.created_at, p.c.expires_at)
        .where(p.c.status == "proposed", p.c.expires_at > now))).all()
    return tuple(ProposalFacts(
        id=r.id, created_at=r.created_at, expires_at=r.expires_at,
        store_ids=tuple(r.store_ids or ()), moves=len((r.body or {}).get("moves") or ()),
        scope=r.scope) for r in rows)


async def _dead_webhooks(conn: AsyncConnection) -> tuple[DeadWebhooks, ...]:
    d = t.webhook_deliveries
    rows = (await conn.execute(
        select(d.c.partner, d.c.last_error).where(d.c.status == "dead")
        .order_by(d.c.created_at))).all()
    found: dict[str, DeadWebhooks] = {}
    for r in rows:  # the newest last: its error is the one shown
        count = found[r.partner].count + 1 if r.partner in found else 1
        found[r.partner] = DeadWebhooks(r.partner, count, r.last_error or "")
    return tuple(found.values())


async def relay_lag_seconds(engine: AsyncEngine, now: dt.datetime) -> float:
    """How old the oldest event the relay has not published yet is (0: none waits)."""
    o = t.outbox
    async with engine.connect() as conn:
        oldest = (await conn.execute(select(func.min(o.c.occurred_at))
                                     .where(o.c.seq.is_(None)))).scalar()
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


async def _open_orders(conn: AsyncConnection) -> list[OrderFacts]:
    w = t.work_orders
    rows = (await conn.execute(
        select(w.c.id, w.c.store_id, w.c.priority, w.c.status, w.c.created_at, w.c.description,
               w.c.address, w.c.technician_id, w.c.window_end, w.c.status_changed_at,
               w.c.planned_arrival, w.c.lat, w.c.lon)
        .where(w.c.status.in_(sorted(s.value for s in OPEN_STATUSES)))
    )).mappings().all()
    waiting = [r for r in rows if r["status"] == WorkOrderStatus.NEW.value
               and r["technician_id"] is None]
    declines = await _current_declines(conn, {r["id"]: r["status_changed_at"] for r in waiting})
    out = []
    for r in rows:
        declined_by, reason = declines.get(r["id"], (None, ""))
        out.append(OrderFacts(
            id=r["id"], store_id=r["store_id"], priority=Priority(r["priority"]),
            status=WorkOrderStatus(r["status"]), created_at=r["created_at"],
            description=r["description"], address=r["address"],
            technician_id=r["technician_id"], window_end=r["window_end"],
            declined_by=declined_by, decline_reason=reason,
            status_changed_at=r["status_changed_at"], planned_arrival=r["planned_arrival"],
            lat=r["lat"], lon=r["lon"]))
    return out


async def _current_declines(conn: AsyncConnection, changed_at: dict[str, dt.datetime]
                            ) -> dict[str, tuple[str | None, str]]:
    """For waiting orders whose latest status change was a decline: who declined, and why.

    The decline is the ``WorkOrderDeclined`` event in the outbox whose work-order snapshot has
    the order's current ``status_changed_at`` (nothing moved the order since)."""
    found: dict[str, tuple[str | None, str]] = {}
    ids = sorted(changed_at)
    o = t.outbox
    for start in range(0, len(ids), 500):
        rows = (await conn.execute(
            select(o.c.aggregate_id, o.c.payload)
            .where(and_(o.c.aggregate_id.in_(ids[start:start + 500]),
                        o.c.name == "WorkOrderDeclined"))
        )).all()
        for order_id, payload in rows:
            snapshot = (payload or {}).get("work_order") or {}
            at = snapshot.get("status_changed_at")
            try:
                same = at is not None and dt.datetime.fromisoformat(at) == changed_at[order_id]
            except (TypeError, ValueError):
                same = False
            if same:
                by = payload.get("previous_technician_id") or payload.get("technician_id")
                found[order_id] = (by, str(snapshot.get("status_reason") or ""))
    return found


async def _technicians(conn: AsyncConnection, orders: list[OrderFacts]
                       ) -> tuple[list[TechnicianFacts], dict[str, str]]:
    tech, p = t.technicians, t.positions_latest
    rows = (await conn.execute(
        select(tech.c.id, tech.c.name, tech.c.home_store_id, tech.c.status, tech.c.shift_start,
               tech.c.shift_end, tech.c.unit_id, tech.c.active, p.c.device_time, p.c.lat,
               p.c.lon, p.c.speed_kmh)
        .outerjoin(p, p.c.unit_id == tech.c.unit_id)
    )).mappings().all()
    jobs: dict[str, int] = {}
    for order in orders:
        if order.technician_id is not None:
            jobs[order.technician_id] = jobs.get(order.technician_id, 0) + 1
    names = {r["id"]: r["name"] for r in rows}
    facts = [TechnicianFacts(
        id=r["id"], name=r["name"], home_store_id=r["home_store_id"],
        status=TechnicianStatus(r["status"]), shift_start=r["shift_start"],
        shift_end=r["shift_end"], unit_id=r["unit_id"], last_fix_at=r["device_time"],
        open_jobs=jobs.get(r["id"], 0), lat=r["lat"], lon=r["lon"],
        speed_kmh=r["speed_kmh"]) for r in rows if r["active"]]
    return facts, names
