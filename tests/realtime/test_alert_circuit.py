"""A provider that is down: its circuit opens after three failures in a row, later deliveries are
postponed without calling it, one system alert says so; after the cooldown one trial goes
through, the circuit closes, the postponed deliveries go out and the alert resolves itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alert_delivery import PendingNotification
from realtime.notify import CircuitBreaker, DeliveryFailed, SendReceipt
from storage import tables as t
from tests.realtime.escalation_world import ALICE, World, escalation_world

KEY = "integration_failing:notify:genesys-voice"


@pytest.fixture
async def world(engine: AsyncEngine, database_url: str) -> AsyncIterator[World]:
    async with escalation_world(engine, database_url) as made:
        yield made


async def integration_alerts(world: World) -> list[tuple[str, str]]:
    a = t.alerts
    async with world.engine.connect() as conn:
        rows = (await conn.execute(select(a.c.dedup_key, a.c.status).where(
            a.c.kind == "integration_failing"))).all()
    return [(r[0], r[1]) for r in rows]


async def test_the_provider_down_opens_the_circuit_and_it_closes_again(world: World) -> None:
    voice = world.first.worker.channels["voice"]
    world.sim.fail_next(503, times=3, on="call")
    for _ in range(3):
        await world.emergency()  # each call fails: 503
    assert voice.state == "open" and world.sim.call_requests == 3
    assert len(world.sim.messages) == 3  # texts have their own provider's circuit: closed

    await world.emergency()  # while open: the call is postponed, Genesys is not called
    assert world.sim.call_requests == 3
    world.now.advance(seconds=20)  # the first retries are due, the circuit still open
    await world.first.worker.run_once()
    assert world.sim.call_requests == 3

    facts = world.facts()
    await world.rules_pass(facts=facts)
    await world.rules_pass(facts=facts)
    assert await integration_alerts(world) == [(KEY, "open")]  # one alert, however many passes

    world.now.advance(seconds=45)  # past the cooldown: one trial, which succeeds
    await world.first.worker.run_once()
    assert voice.state == "closed"
    assert len(world.calls_to(ALICE)) == 4  # every call placed, each once
    await world.rules_pass(facts=facts)
    assert await integration_alerts(world) == [(KEY, "resolved")]


class Flaky:
    """A channel that fails as it is told (for the breaker alone)."""

    name = "sms"

    def __init__(self) -> None:
        self.errors: list[DeliveryFailed] = []
        self.calls = 0

    async def deliver(self, item: PendingNotification) -> SendReceipt:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return SendReceipt("ok")

    async def aclose(self) -> None:
        return None


async def test_a_failed_trial_opens_the_circuit_for_twice_as_long() -> None:
    now = [dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)]
    flaky = Flaky()
    breaker = CircuitBreaker(flaky, provider="test", clock=lambda: now[0], threshold=2,
                             cooldown=dt.timedelta(seconds=60))
    item = PendingNotification("n1", {"id": "a1"}, 1, "+13175550201", 0)
    flaky.errors = [DeliveryFailed("down"), DeliveryFailed("bad number", permanent=True),
                    DeliveryFailed("down"), DeliveryFailed("down"), DeliveryFailed("down")]
    for _ in range(2):
        with pytest.raises(DeliveryFailed):
            await breaker.deliver(item)
    assert breaker.state == "closed"  # a refusal of one message: the provider answered
    for _ in range(2):
        with pytest.raises(DeliveryFailed):
            await breaker.deliver(item)
    assert breaker.state == "open" and breaker.in_a_row == 2
    with pytest.raises(DeliveryFailed) as refused:
        await breaker.deliver(item)
    assert not refused.value.attempted and refused.value.retry_after == 60 and flaky.calls == 4
    now[0] += dt.timedelta(seconds=61)
    with pytest.raises(DeliveryFailed):
        await breaker.deliver(item)  # the trial fails
    assert breaker.blocked_until(now[0]) == now[0] + dt.timedelta(seconds=120)
    now[0] += dt.timedelta(seconds=121)
    assert (await breaker.deliver(item)).provider_id == "ok"
    assert breaker.state == "closed" and breaker.in_a_row == 0
    flaky.errors = [DeliveryFailed("slow down", retry_after=30)]
    with pytest.raises(DeliveryFailed):
        await breaker.deliver(item)
    assert breaker.state == "closed" and breaker.blocked_until(now[0]) is not None
