"""Escalation calls with a keypress, end to end on SQLite and PostgreSQL: the rota says who is
called, the delivery worker adds a contact row to the simulated campaign, the simulated flow
calls the real app back with the key, and the alert is acknowledged (1), passed on (2) or left
to climb on the clock (no answer). Each call is placed once across a restart and with two
delivery workers racing over the same database. Time is the test's clock: no sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alert_responses import token_hash
from storage.engine import create_engine
from tests.realtime.escalation_world import (
    ALICE,
    CALL_TIMEOUT,
    OLGA,
    POLICY,
    World,
    escalation_world,
)


@pytest.fixture
async def world(engine: AsyncEngine, database_url: str) -> AsyncIterator[World]:
    async with escalation_world(engine, database_url) as made:
        yield made


async def test_a_call_answered_with_1_acknowledges_and_stops_the_escalation(world: World) -> None:
    alert = await world.emergency()
    [call] = world.calls_to(ALICE)  # level 1: the person on call, by call and by text
    assert call.priority and call.data["alertId"] == alert["id"]
    assert call.data["alertText"].startswith("This is the dispatch board with a critical alert")
    assert [m["toAddress"] for m in world.sim.messages] == [ALICE]

    answer = await world.sim.campaign.press(call, "1")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": True, "outcome": "acknowledged",
                             "say": "Thank you. The alert is acknowledged."}
    acknowledged = await world.alert(alert["id"])
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_by"] == world.users["alice"]
    assert ("alert.acknowledge", world.users["alice"]) in await world.audit(alert["id"])
    assert "AlertAcknowledged" in await world.events(alert["id"])  # the board's live path

    world.now.advance(minutes=6)  # past the next rung: nothing climbs, nobody else is called
    assert (await world.rules_pass()).escalated == []
    assert await world.first.worker.run_once() == 0
    assert world.calls_to(OLGA) == [] and len(world.sim.campaign.contacts) == 1
    again = await world.sim.campaign.press(call, "1")  # a provider retrying its callback
    assert again.json()["outcome"] == "answered_before"
    [row] = [r for r in await world.first.store.for_alert(alert["id"]) if r["channel"] == "voice"]
    assert (row["response"], row["status"]) == ("1", "sent")
    assert row["provider_id"] == call.id and row["call_token"] == token_hash(call.data["callToken"])


async def test_a_call_answered_with_2_passes_the_alert_to_the_next_level_at_once(
        world: World) -> None:
    alert = await world.emergency()
    [call] = world.calls_to(ALICE)
    world.now.advance(seconds=40)
    answer = await world.sim.campaign.press(call, "2")
    assert answer.json()["outcome"] == "passed_on"
    passed = await world.alert(alert["id"])
    assert passed["status"] == "open" and passed["escalation_level"] == 2
    assert passed["next_escalation_at"] == world.now.at + POLICY.escalation_interval
    assert ("alert.pass_on", world.users["alice"]) in await world.audit(alert["id"])

    # the worker process hears AlertEscalated on the bus; here its escalations run directly
    await world.first.escalations()
    assert await world.first.worker.run_once() == 2  # Olga: a call and a text, well before 5 min
    [olga] = world.calls_to(OLGA)
    assert olga.data["level"] == "2" and olga.data["alertId"] == alert["id"]
    assert (await world.sim.campaign.press(call, "2")).json()["outcome"] == "answered_before"


async def test_a_call_nobody_answers_counts_as_not_acknowledged_and_the_clock_goes_on(
        world: World) -> None:
    alert = await world.emergency()
    [call] = world.calls_to(ALICE)
    world.sim.campaign.no_answer(call)  # no flow ran: nothing calls back
    world.now.advance(seconds=CALL_TIMEOUT.total_seconds() + 1)
    await world.first.worker.run_once()
    [row] = [r for r in await world.first.store.for_alert(alert["id"]) if r["channel"] == "voice"]
    assert row["response"] == "none" and (await world.alert(alert["id"]))["status"] == "open"

    world.now.advance(minutes=2)  # five minutes after the alert: the next rung, on the clock
    assert [a["escalation_level"] for a in (await world.rules_pass()).escalated] == [2]
    await world.first.worker.run_once()
    assert len(world.calls_to(OLGA)) == 1
    late = await world.sim.campaign.press(call, "1")  # Alice's phone rings back too late
    assert late.json()["outcome"] == "expired"
    assert (await world.alert(alert["id"]))["status"] == "open"


async def test_a_call_with_no_key_before_the_flow_gave_up_changes_nothing(world: World) -> None:
    alert = await world.emergency()
    [call] = world.calls_to(ALICE)
    answer = await world.sim.campaign.press(call, "")  # Collect Input timed out
    assert answer.json()["outcome"] == "no_key"
    assert (await world.alert(alert["id"]))["status"] == "open"


async def test_each_call_is_placed_once_across_a_restart(world: World) -> None:
    alert = await world.emergency()
    assert len(world.calls_to(ALICE)) == 1
    restarted = world.process()  # a new process: new clients, nothing in memory
    await restarted.escalations()
    assert await restarted.worker.run_once() == 0
    assert len(world.calls_to(ALICE)) == 1 and len(world.sim.messages) == 1
    # its callback still finds the call: the database, not the process, knew the token
    answer = await world.sim.campaign.press(world.calls_to(ALICE)[0], "1")
    assert answer.json()["outcome"] == "acknowledged"
    assert (await world.alert(alert["id"]))["status"] == "acknowledged"


async def test_a_call_claimed_by_a_worker_that_died_is_not_placed_again(world: World) -> None:
    alert = await world.emergency(deliver=False)
    rows = await world.first.store.for_alert(alert["id"])
    [voice] = [r for r in rows if r["channel"] == "voice"]
    # the worker took the call and died before it could say whether Genesys had it
    assert await world.first.store.claim(voice["id"], world.now.at, call_token=token_hash("x" * 32))
    world.now.advance(minutes=3)  # past the claim's lease
    restarted = world.process()
    assert await restarted.worker.run_once() == 1  # the text goes out; the call does not
    assert world.calls_to(ALICE) == [] and [m["toAddress"] for m in world.sim.messages] == [ALICE]
    [voice] = [r for r in await world.first.store.for_alert(alert["id"])
               if r["channel"] == "voice"]
    assert voice["status"] == "failed" and "not placed again" in voice["error"]
    world.now.advance(minutes=2)  # the alert climbs on the clock instead
    assert [a["escalation_level"] for a in (await world.rules_pass()).escalated] == [2]


async def test_two_workers_racing_place_each_call_once(world: World) -> None:
    other_engine = create_engine(world.database_url)  # a second process's own connections
    try:
        second = world.process(other_engine)
        alerts = []
        for _ in range(4):
            alerts.append(await world.emergency(deliver=False))
        await asyncio.gather(world.first.escalations(), second.escalations())
        sent = await asyncio.gather(world.first.worker.run_once(), second.worker.run_once(),
                                    world.first.worker.run_once(), second.worker.run_once())
    finally:
        await other_engine.dispose()
    assert sum(sent) == 8  # 4 calls and 4 texts, between them
    calls = world.calls_to(ALICE)
    assert sorted(c.data["alertId"] for c in calls) == sorted(a["id"] for a in alerts)
    assert len({c.data["deliveryId"] for c in calls}) == 4
    assert len(world.sim.messages) == 4 and world.sim.call_requests == 4

