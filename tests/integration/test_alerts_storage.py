"""Alerts on SQLite and PostgreSQL: the evaluation pass, dedup, declines read from the outbox,
escalation on an injected clock, the snooze after a manual close, and racing acknowledgements."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alert_rules import IntegrationHealth
from domain.alerts import AlertPolicy
from domain.errors import Conflict
from domain.geo import Location
from domain.roles import Principal, Role
from domain.services import alerts as uc
from domain.services import work_orders as wo_uc
from domain.services.context import Context
from domain.work_orders import Priority
from storage import tables as t
from storage.alerts import SqlAlertFacts
from storage.uow import SqlUnitOfWork
from tests.integration.helpers import DISPATCHER, NOW, ctx, seed_world

TECH = Principal(user_id="user-t1", username="tech1", roles=frozenset({Role.TECHNICIAN}),
                 technician_id="tech-1")
OTHER = Principal(user_id="user-d2", username="dispatcher2", roles=frozenset({Role.DISPATCHER}))


def new_uow(engine: AsyncEngine) -> Any:
    return lambda: SqlUnitOfWork(engine)


async def evaluate(engine: AsyncEngine, now: dt.datetime, **facts: Any) -> uc.PassResult:
    return await uc.evaluate_alerts(new_uow(engine), SqlAlertFacts(engine, **facts), now)


async def emergency(engine: AsyncEngine) -> str:
    created = await wo_uc.create_work_order(
        SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
        wo_uc.NewWorkOrder(store_id="store-1", priority=Priority.EMERGENCY,
                           location=Location(32.76, -96.8), description="Gas smell"))
    return str(created["id"])


async def alerts(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.alerts).order_by(t.alerts.c.raised_at))).mappings()
        return [dict(r) for r in rows]


async def outbox_names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.outbox.c.name).where(
            t.outbox.c.aggregate_type == "alert").order_by(t.outbox.c.id))
        return [r[0] for r in rows]


async def test_a_pass_raises_once_resolves_when_assigned_and_publishes_events(
        engine: AsyncEngine) -> None:
    await seed_world(engine)
    order_id = await emergency(engine)
    first = await evaluate(engine, NOW)
    assert [a["kind"] for a in first.raised] == ["emergency_order"]
    assert first.raised[0]["work_order_id"] == order_id
    assert first.raised[0]["store_id"] == "store-1"
    again = await evaluate(engine, NOW + dt.timedelta(seconds=15))
    assert again.changed == 0
    await wo_uc.assign_work_order(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                                  work_order_id=order_id, technician_id="tech-2")
    cleared = await evaluate(engine, NOW + dt.timedelta(seconds=30))
    assert [a["kind"] for a in cleared.resolved] == ["emergency_order"]
    [row] = await alerts(engine)
    assert row["status"] == "resolved" and row["resolved_by"] is None and row["version"] == 2
    assert await outbox_names(engine) == ["AlertRaised", "AlertResolved"]


async def test_a_decline_is_read_back_from_the_outbox_and_clears_on_reassignment(
        engine: AsyncEngine) -> None:
    await seed_world(engine)
    await wo_uc.assign_work_order(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                                  work_order_id="wo-1", technician_id="tech-1")
    await wo_uc.technician_step(SqlUnitOfWork(engine, actor=TECH), ctx(TECH),
                                work_order_id="wo-1", step="decline", reason="van broke down")
    result = await evaluate(engine, NOW)
    [declined] = result.raised
    assert declined["kind"] == "job_declined" and declined["technician_id"] == "tech-1"
    assert declined["title"] == "Job declined by Maria Garcia"
    assert "van broke down" in declined["message"]
    await wo_uc.assign_work_order(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                                  work_order_id="wo-1", technician_id="tech-2")
    assert [a["kind"] for a in (await evaluate(engine, NOW)).resolved] == ["job_declined"]


async def test_critical_alerts_escalate_on_the_clock_until_acknowledged(
        engine: AsyncEngine) -> None:
    await seed_world(engine)
    await emergency(engine)
    [raised] = (await evaluate(engine, NOW)).raised
    assert raised["escalation_level"] == 1
    assert (await evaluate(engine, NOW + dt.timedelta(minutes=4))).escalated == []
    [up] = (await evaluate(engine, NOW + dt.timedelta(minutes=5))).escalated
    assert up["escalation_level"] == 2
    await uc.acknowledge_alert(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(), alert_id=raised["id"])
    assert (await evaluate(engine, NOW + dt.timedelta(minutes=30))).changed == 0
    [row] = await alerts(engine)
    assert row["status"] == "acknowledged" and row["acknowledged_by"] == DISPATCHER.user_id
    assert row["escalation_level"] == 2 and row["next_escalation_at"] is None
    assert await outbox_names(engine) == ["AlertRaised", "AlertEscalated", "AlertAcknowledged"]
    async with engine.connect() as conn:
        audit = (await conn.execute(select(t.audit_log.c.action, t.audit_log.c.actor).where(
            t.audit_log.c.entity_type == "alert"))).all()
    assert [tuple(r) for r in audit] == [("alert.acknowledge", "dispatcher")]


async def test_a_manual_close_is_not_raised_again_while_snoozed(engine: AsyncEngine) -> None:
    await seed_world(engine)
    await emergency(engine)
    [raised] = (await evaluate(engine, NOW)).raised
    closed = await uc.resolve_alert(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                                    alert_id=raised["id"], note="handled by phone")
    assert closed["status"] == "resolved" and closed["resolved_by"] == DISPATCHER.user_id
    assert (await evaluate(engine, NOW + dt.timedelta(minutes=1))).raised == []
    later = await uc.evaluate_alerts(new_uow(engine), SqlAlertFacts(engine),
                                     dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
                                     AlertPolicy())
    assert [a["kind"] for a in later.raised] == ["emergency_order"]  # the condition still holds


@pytest.mark.parametrize("version", [1, None])
async def test_two_concurrent_acknowledgements_exactly_one_wins(engine: AsyncEngine,
                                                                version: int | None) -> None:
    await seed_world(engine)
    await emergency(engine)
    [raised] = (await evaluate(engine, NOW)).raised

    async def ack(principal: Principal) -> str:
        try:
            await uc.acknowledge_alert(SqlUnitOfWork(engine, actor=principal),
                                       Context(principal=principal, now=dt.datetime.now(dt.UTC)),
                                       alert_id=raised["id"], expected_version=version)
            return "ok"
        except Conflict as error:
            return error.code

    results = await asyncio.gather(ack(DISPATCHER), ack(OTHER))
    assert results.count("ok") == 1
    assert set(results) - {"ok"} <= {"already_acknowledged", "stale_version",
                                     "concurrent_modification"}
    [row] = await alerts(engine)
    assert row["version"] == 2 and row["acknowledged_by"] in {DISPATCHER.user_id, OTHER.user_id}
    assert (await outbox_names(engine)).count("AlertAcknowledged") == 1


async def test_concurrent_passes_keep_one_live_alert_per_key(engine: AsyncEngine) -> None:
    await seed_world(engine)
    await emergency(engine)
    results = await asyncio.gather(*(evaluate(engine, NOW) for _ in range(4)))
    assert sum(len(r.raised) for r in results) == 1
    assert len(await alerts(engine)) == 1


async def test_integration_failures_raise_a_system_alert(engine: AsyncEngine) -> None:
    await seed_world(engine)
    failing = [IntegrationHealth("geotab", 4, "ReadTimeout")]
    [raised] = (await evaluate(engine, NOW, integrations=lambda: failing)).raised
    assert raised["kind"] == "integration_failing" and raised["store_id"] is None
    assert raised["severity"] == "critical" and raised["escalation_level"] == 3
    assert (await evaluate(engine, NOW)).changed == 0  # not reported here: left alone
    healthy = [IntegrationHealth("geotab", 0)]
    assert len((await evaluate(engine, NOW, integrations=lambda: healthy)).resolved) == 1
