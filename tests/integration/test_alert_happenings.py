"""Happenings on SQLite and PostgreSQL: what the relay published (an order booked, a note to the
customer, a technician's status change) and what a partner changed are raised once each, however
many passes read them at once, across a restart (the stored cursor) and after a person closed
the alert; dead webhooks and proposals waiting for review are read from their tables."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.geo import Location
from domain.resources import TechnicianStatus
from domain.services import alerts as uc
from domain.services import work_orders as wo_uc
from domain.work_orders import Priority
from realtime.events import LogEvent
from storage import tables as t
from storage.alert_world import SqlAlertFacts
from storage.engine import write_transaction
from storage.eventlog import SqlEventLog
from storage.feed_cursors import SqlFeedCursorStore
from storage.uow import SqlUnitOfWork
from tests.integration.helpers import DISPATCHER, NOW, ctx, seed_world


def facts(engine: AsyncEngine) -> SqlAlertFacts:
    """The facts as the alerts leader builds them, its cursor stored (a new one: a restart)."""
    return SqlAlertFacts(engine, cursors=SqlFeedCursorStore(engine))


async def evaluate(engine: AsyncEngine, found: SqlAlertFacts,
                   at: dt.datetime | None = None) -> uc.PassResult:
    return await uc.evaluate_alerts(lambda: SqlUnitOfWork(engine), found,
                                    at or dt.datetime.now(dt.UTC))


async def publish(engine: AsyncEngine) -> None:
    """What the relay does: give the committed events their published sequence."""
    await SqlEventLog(engine, LogEvent, lambda: dt.datetime.now(dt.UTC)).publish_pending(1000)


def kinds(result: uc.PassResult) -> list[str]:
    return sorted(a["kind"] for a in result.raised)


async def happen(engine: AsyncEngine) -> str:
    """An order booked, a note for its customer, a technician gone unavailable; published."""
    created = await wo_uc.create_work_order(
        SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
        wo_uc.NewWorkOrder(store_id="store-1", priority=Priority.HIGH,
                           location=Location(32.76, -96.8), description="Leaking pipe"))
    await wo_uc.comment_work_order(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                                   work_order_id=created["id"], text="We call before coming",
                                   visibility="customer")
    await wo_uc.change_technician_status(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                                         technician_id="tech-2",
                                         status=TechnicianStatus.UNAVAILABLE, reason="sick")
    await publish(engine)
    return str(created["id"])


async def test_each_happening_is_raised_once_by_passes_racing_and_after_a_restart(
        engine: AsyncEngine) -> None:
    await seed_world(engine)
    order_id = await happen(engine)
    results = await asyncio.gather(*(evaluate(engine, facts(engine)) for _ in range(3)))
    raised = [a for r in results for a in r.raised]
    # the seed's order was booked too (its event is in the log as well)
    assert sorted(a["kind"] for a in raised) == ["customer_note", "new_order", "new_order",
                                                 "technician_status"]
    booked = next(a for a in raised if a["work_order_id"] == order_id
                  and a["kind"] == "new_order")
    assert booked["store_id"] == "store-1"
    assert booked["title"] == "New high job" and "Leaking pipe" in booked["message"]
    note = next(a for a in raised if a["kind"] == "customer_note")
    assert "We call before coming" in note["message"]
    status = next(a for a in raised if a["kind"] == "technician_status")
    assert status["title"] == "Luis Lopez is now unavailable"

    again = facts(engine)  # a restart: resumes after the stored cursor
    assert (await evaluate(engine, again)).raised == []
    await uc.resolve_alert(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                           alert_id=booked["id"], note="seen")
    fresh = SqlAlertFacts(engine)  # no cursor at all: reads the last day again
    assert (await evaluate(engine, fresh)).raised == []  # a closed happening stays closed


async def test_a_new_order_alert_clears_once_the_order_is_assigned(engine: AsyncEngine) -> None:
    await seed_world(engine)
    order_id = await happen(engine)
    found = facts(engine)
    assert "new_order" in kinds(await evaluate(engine, found))
    await wo_uc.assign_work_order(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                                  work_order_id=order_id, technician_id="tech-1")
    await publish(engine)
    result = await evaluate(engine, found)
    assert [(a["kind"], a["work_order_id"]) for a in result.resolved] == [("new_order",
                                                                          order_id)]
    assert result.raised == []


async def partner_ledger(engine: AsyncEngine, outcome: str, version: int,
                         at: dt.datetime) -> None:
    async with write_transaction(engine) as conn:
        if version == 2:
            await conn.execute(insert(t.intake_orders).values(
                source="acme", external_id="P-7", work_order_id="wo-1", received_at=NOW,
                partner_version=1))
        await conn.execute(insert(t.intake_changes).values(
            source="acme", external_id="P-7", version=version, kind="update", outcome=outcome,
            work_order_id="wo-1", received_at=at))
        await conn.execute(insert(t.audit_log).values(
            at=at, actor="intake:acme", action=f"work_order.partner_{outcome}",
            entity_type="work_order", entity_id="wo-1"))


async def test_a_partners_applied_change_is_raised_from_its_ledger(engine: AsyncEngine) -> None:
    await seed_world(engine)
    now = dt.datetime.now(dt.UTC)
    await partner_ledger(engine, "updated", 2, now - dt.timedelta(minutes=1))
    await partner_ledger(engine, "blocked", 3, now)  # raised by its own use case instead
    result = await evaluate(engine, facts(engine), now)
    [changed] = [a for a in result.raised if a["kind"] == "partner_change"]
    assert changed["dedup_key"] == "partner_change:wo-1:v2"
    assert changed["title"] == "acme changed a job"
    assert "Order P-7 (version 2) was changed by acme: No cooling" in changed["message"]
    assert [a for a in (await evaluate(engine, facts(engine), now)).raised
            if a["kind"] == "partner_change"] == []


async def rows(engine: AsyncEngine, kind: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        found = (await conn.execute(select(t.alerts).where(t.alerts.c.kind == kind)))
        return [dict(r) for r in found.mappings()]


async def test_dead_webhooks_alert_per_partner_until_replayed(engine: AsyncEngine) -> None:
    await seed_world(engine)
    async with write_transaction(engine) as conn:
        for n in (1, 2):
            await conn.execute(insert(t.webhook_deliveries).values(
                message_id=f"msg-{n}", partner="acme", event_type="order.status_changed",
                external_id="P-7", work_order_id="wo-1", payload={}, status="dead",
                attempts=8, last_error=f"HTTP 50{n}", created_at=NOW))
    result = await evaluate(engine, facts(engine))
    [dead] = [a for a in result.raised if a["kind"] == "webhook_dead"]
    assert dead["store_id"] is None and dead["escalation_level"] == 0  # a warning, for admins
    assert dead["message"].startswith("2 delivery(ies) gave up; the last error: HTTP 502")
    async with write_transaction(engine) as conn:
        await conn.execute(update(t.webhook_deliveries).values(status="pending"))
    cleared = await evaluate(engine, facts(engine))
    assert [a["kind"] for a in cleared.resolved] == ["webhook_dead"]
    assert [r["status"] for r in await rows(engine, "webhook_dead")] == ["resolved"]
