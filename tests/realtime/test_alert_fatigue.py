"""Alert fatigue, end to end on SQLite and PostgreSQL: alerts of one kind and store that follow
each other within a minute reach a person as one message (one text, one call) whose answer
answers for all of them; warnings reach level 1 once and wait out a person's quiet hours (and are
dropped if handled meanwhile), while critical alerts never wait."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alerts import Alert, AlertCandidate, AlertKind, Severity
from domain.services import alerts as uc
from domain.services.context import Context
from storage import tables as t
from storage.uow import SqlUnitOfWork
from tests.integration.helpers import DISPATCHER
from tests.realtime.escalation_world import ALICE, World, escalation_world


@pytest.fixture
async def world(engine: AsyncEngine, database_url: str) -> AsyncIterator[World]:
    async with escalation_world(engine, database_url, alert_notify_warnings=True,
                                alert_group_seconds=60) as made:
        yield made


async def texts_to(world: World, number: str) -> list[str]:
    return [m["textBody"] for m in world.sim.messages if m["toAddress"] == number]


async def test_alerts_of_a_kind_and_store_within_a_minute_go_as_one_message(
        world: World) -> None:
    first = await world.emergency()
    assert len(await texts_to(world, ALICE)) == 1 and len(world.calls_to(ALICE)) == 1
    world.now.advance(seconds=15)
    second = await world.emergency()
    world.now.advance(seconds=15)
    third = await world.emergency()
    assert len(await texts_to(world, ALICE)) == 1  # held for the rest of the minute
    world.now.advance(seconds=31)  # a minute after the first
    assert await world.first.worker.run_once() == 2  # one text and one call for both
    texts = await texts_to(world, ALICE)
    assert len(texts) == 2 and texts[1].startswith("[CRITICAL L1 store] 2 alerts: ")
    assert texts[1].endswith("Reply 1 to acknowledge them all.")
    [_, batch] = world.calls_to(ALICE)
    assert batch.data["alertId"] == second["id"]
    assert batch.data["alertText"].startswith("This is the dispatch board with two critical")
    rows = [r for a in (second, third) for r in await world.first.store.for_alert(a["id"])]
    assert sorted(r["status"] for r in rows) == ["grouped", "grouped", "sent", "sent"]

    answer = await world.sim.campaign.press(batch, "1")  # answers for both alerts in it
    assert answer.json()["outcome"] == "acknowledged"
    assert (await world.alert(second["id"]))["status"] == "acknowledged"
    assert (await world.alert(third["id"]))["status"] == "acknowledged"
    assert (await world.alert(first["id"]))["status"] == "open"


async def warning(world: World) -> dict[str, Any]:
    """A warning (a declined job) raised as the rules would, queued by the escalations."""
    alert = Alert.raise_for(AlertCandidate(
        kind=AlertKind.JOB_DECLINED, severity=Severity.WARNING, subject="wo-1",
        title="Job declined", message="Back in the queue.", store_id="store-1",
        work_order_id="wo-1"), world.now.at)
    async with SqlUnitOfWork(world.engine) as uow:
        uow.alerts.add(alert)
        await uow.commit()
    await world.first.escalations()
    return alert.snapshot()


async def quiet(world: World, name: str, starts: dt.datetime, ends: dt.datetime) -> None:
    async with world.engine.begin() as conn:
        await conn.execute(insert(t.alert_contacts).values(
            user_id=world.users[name], quiet_starts=starts.strftime("%H:%M"),
            quiet_ends=ends.strftime("%H:%M"), timezone="UTC", updated_at=world.now.at))


async def test_a_warning_waits_out_quiet_hours_and_a_critical_alert_does_not(
        world: World) -> None:
    start = world.now.at.replace(second=0) - dt.timedelta(minutes=1)
    end = start + dt.timedelta(hours=1)  # quiet hours are whole minutes
    await quiet(world, "alice", start, end)
    emergency = await world.emergency()  # critical: at once, quiet hours or not
    assert [m["toAddress"] for m in world.sim.messages] == [ALICE]
    assert world.sim.messages[0]["textBody"].endswith("to acknowledge.")

    declined = await warning(world)  # (raised by hand: no rules' pass after it here)
    assert await world.first.worker.run_once() == 0  # level 1 is Alice, and she is quiet
    [row] = await world.first.store.for_alert(declined["id"])
    assert (row["channel"], row["status"], row["level"]) == ("sms", "pending", 1)
    assert row["next_attempt_at"] == end  # and no call for a warning

    world.now.at = end + dt.timedelta(seconds=1)
    assert await world.first.worker.run_once() == 1
    assert "Job declined" in world.sim.messages[1]["textBody"]
    await uc.acknowledge_alert(SqlUnitOfWork(world.engine, actor=DISPATCHER),
                               Context(DISPATCHER, world.now.at), alert_id=emergency["id"])


async def test_a_warning_handled_during_quiet_hours_is_never_sent(world: World) -> None:
    start = world.now.at - dt.timedelta(minutes=1)
    await quiet(world, "alice", start, start + dt.timedelta(hours=2))
    declined = await warning(world)
    await uc.acknowledge_alert(SqlUnitOfWork(world.engine, actor=DISPATCHER),
                               Context(DISPATCHER, world.now.at), alert_id=declined["id"])
    world.now.advance(hours=3)
    await world.first.worker.run_once()
    assert world.sim.messages == []
    [row] = await world.first.store.for_alert(declined["id"])
    assert row["status"] == "cancelled"
