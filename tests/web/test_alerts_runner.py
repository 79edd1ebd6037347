"""The alert rules' loop on SQLite and PostgreSQL: only the leader acts (PostgreSQL: its own
advisory lock, taken over when the leader goes), a database outage is raised as one system error
once the database answers again, and every process's unhandled errors reach the rule through the
bus. Each pass is run by hand on a given instant (no loop, no sleeping)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alert_facts import SystemFacts
from domain.geo import Location
from domain.services import work_orders as wo_uc
from domain.work_orders import Priority
from realtime.bus import MemoryBus
from storage.alert_world import SqlAlertFacts
from storage.engine import create_engine
from storage.eventlog import LocalLeaderLock, PostgresLeaderLock
from storage.uow import SqlUnitOfWork
from tests.integration.helpers import DISPATCHER, ctx, seed_world
from web.alerts_runner import ALERTS_LOCK_KEY, AlertsRunner, wakes_alerts
from web.system_errors import ErrorReports

NOW = dt.datetime.now(dt.UTC)
UNREACHABLE = "postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none"


def lock(engine: AsyncEngine) -> Any:
    return (PostgresLeaderLock(engine, key=ALERTS_LOCK_KEY)
            if engine.dialect.name == "postgresql" else LocalLeaderLock())


def runner(engine: AsyncEngine, **options: Any) -> AlertsRunner:
    facts = options.pop("facts", None) or SqlAlertFacts(engine)
    return AlertsRunner(lambda: SqlUnitOfWork(engine), facts, interval=15.0, clock=lambda: NOW,
                        lock=options.pop("lock", None) or lock(engine), **options)


async def emergency(engine: AsyncEngine) -> None:
    await wo_uc.create_work_order(
        SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
        wo_uc.NewWorkOrder(store_id="store-1", priority=Priority.EMERGENCY,
                           location=Location(32.76, -96.8), description="Gas smell"))


async def test_only_the_leader_runs_the_rules_and_another_takes_over(engine: AsyncEngine) -> None:
    await seed_world(engine)
    await emergency(engine)
    first, second = runner(engine), runner(engine)
    try:
        a, b = await first.run_once(), await second.run_once()
        if engine.dialect.name == "sqlite":  # embedded: one process, it always leads
            assert first.leading and second.leading
            return
        assert first.leading and not second.leading
        assert [x["kind"] for x in a.raised] == ["emergency_order"] and b.raised == []
        assert second.passes == 0
        await first.stop()  # the leader goes: the lock is free
        await second.run_once()
        assert second.leading and second.passes == 1
        await first.run_once()
        assert not first.leading
    finally:
        await first.stop()
        await second.stop()


async def test_a_database_outage_is_raised_once_the_database_answers(engine: AsyncEngine) -> None:
    await seed_world(engine)
    down = create_engine(UNREACHABLE)
    loop = runner(engine, lock=LocalLeaderLock(), facts=SqlAlertFacts(down))
    loop.new_uow = lambda: SqlUnitOfWork(down)
    try:
        with pytest.raises(ConnectionRefusedError):
            await loop.run_once()
        assert loop.outages.down_since == NOW
    finally:
        await down.dispose()
    loop.facts = SqlAlertFacts(engine, outages=loop.outages.happenings)
    loop.new_uow = lambda: SqlUnitOfWork(engine)
    back = await loop.run_once()  # the outage is over: it is raised with the next pass
    assert [a for a in back.raised if a["kind"] == "system_error"] == []
    [outage] = [a for a in (await loop.run_once()).raised if a["kind"] == "system_error"]
    assert outage["title"] == "System error: database"
    assert "did not answer" in outage["message"] and outage["store_id"] is None
    assert outage["escalation_level"] == 3  # a critical system alert goes to the top at once
    assert [a for a in (await loop.run_once()).raised if a["kind"] == "system_error"] == []


async def test_unhandled_errors_of_any_process_reach_the_system_error_rule(
        engine: AsyncEngine) -> None:
    await seed_world(engine)
    bus = MemoryBus()
    await bus.start()
    here = ErrorReports(_publisher(bus), lambda: NOW, "web-1")
    bus.subscribe("errors", here.on_bus_message)
    log = logging.getLogger("dispatch.test.boom")
    log.addHandler(here)
    try:
        for n in range(5):
            try:
                raise RuntimeError(f"boom {n}")
            except RuntimeError:
                log.exception("request failed")
        log.error("no traceback: not counted")
        await here.flush_pending()
        for _ in range(100):  # let the bus hand what was published to its subscriber
            await asyncio.sleep(0)
            if len(here.received) == 5:
                break
    finally:
        log.removeHandler(here)
        await bus.stop()
    assert [what for _, what in here.recent(NOW)][-1].endswith("(RuntimeError: boom 4)")

    async def system() -> SystemFacts:
        return SystemFacts(exceptions=here.recent(NOW))

    loop = runner(engine, lock=LocalLeaderLock(), facts=SqlAlertFacts(engine, system=system))
    [raised] = [a for a in (await loop.run_once()).raised if a["kind"] == "system_error"]
    assert raised["dedup_key"] == "system_error:exceptions"
    assert raised["message"].startswith("5 unhandled errors in 10 min")


def _publisher(bus: MemoryBus) -> Any:
    async def publish(message: str) -> None:
        await bus.publish("errors", message)
    return publish


def test_the_events_that_wake_the_loop() -> None:
    for name in ("WorkOrderCreated", "WorkOrderCommented", "WorkOrderDeclined",
                 "TechnicianStatusChanged", "WorkOrderCancelled"):
        assert wakes_alerts({"kind": "event", "name": name})
    assert not wakes_alerts({"kind": "event", "name": "AlertRaised"})
    assert not wakes_alerts({"kind": "heartbeat", "name": "WorkOrderCreated"})
