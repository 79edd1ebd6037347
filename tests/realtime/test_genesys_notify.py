"""Genesys Cloud SMS against the local simulator on a free loopback port: OAuth and its cache, the
message on the wire, 429 / 5xx / 4xx handling; then the delivery worker recording every attempt
in ``alert_notifications`` on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alert_delivery import OnCall, Recipient
from domain.geo import Location
from domain.roles import Role
from domain.services import alerts as uc
from domain.services import work_orders as wo_uc
from domain.users import User
from domain.work_orders import Priority
from realtime.notify import (
    CircuitBreaker,
    DeliveryFailed,
    DeliveryWorker,
    GenesysConfig,
    GenesysSimulator,
    GenesysSmsNotifier,
    LoggingNotifier,
    Notifier,
    TextChannel,
)
from storage.alert_notifications import SqlNotificationStore
from storage.alerts import SqlAlertFacts
from storage.uow import SqlUnitOfWork
from tests.integration.helpers import DISPATCHER, ctx, seed_world
from tests.realtime.conftest import serve_asgi
from web.alerts_wiring import Escalations

CLIENT, SECRET, FROM = "dispatch-alerts", "s3cret-value", "+13175550100"
ONCALL = "+13175550111"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def genesys() -> AsyncIterator[tuple[GenesysSimulator, str]]:
    sim = GenesysSimulator(client_id=CLIENT, client_secret=SECRET, token_ttl=600,
                           from_numbers=frozenset({FROM}))
    async with serve_asgi(sim) as url:
        yield sim, url


def notifier(url: str, secret: str = SECRET, **kwargs: Any) -> GenesysSmsNotifier:
    return GenesysSmsNotifier(GenesysConfig(base_url=url, login_url=url, client_id=CLIENT,
                                            client_secret=secret, from_number=FROM), **kwargs)


async def test_sends_with_a_cached_token_and_the_documented_body(
        genesys: tuple[GenesysSimulator, str]) -> None:
    sim, url = genesys
    clock = Clock()
    sms = notifier(url, clock=clock)
    try:
        first = await sms.send("+1 (317) 555-0111", "Gas smell at store 1")
        second = await sms.send(ONCALL, "x" * 2000)
        assert sim.token_requests == 1 and sms.token_requests == 1  # cached
        clock.t += 600  # past the token's life (less the margin): a new token
        await sms.send(ONCALL, "third")
        assert sim.token_requests == 2
    finally:
        await sms.aclose()
    assert [m["id"] for m in sim.messages[:2]] == [first.provider_id, second.provider_id]
    message = sim.messages[0]
    assert message["fromAddress"] == FROM and message["toAddress"] == ONCALL
    assert message["messengerType"] == "sms" and message["textBody"] == "Gas smell at store 1"
    assert len(sim.messages[1]["textBody"]) == 765


async def test_a_revoked_token_is_refreshed_once(genesys: tuple[GenesysSimulator, str]) -> None:
    sim, url = genesys
    sms = notifier(url)
    try:
        await sms.send(ONCALL, "one")
        sim.revoke_tokens()
        await sms.send(ONCALL, "two")
    finally:
        await sms.aclose()
    assert sim.token_requests == 2 and len(sim.messages) == 2


async def test_failures_say_whether_to_retry_and_when(genesys: tuple[GenesysSimulator, str]) -> None:
    sim, url = genesys
    sms = notifier(url)
    try:
        sim.fail_next(429, retry_after=7)
        with pytest.raises(DeliveryFailed) as limited:
            await sms.send(ONCALL, "hello")
        assert limited.value.retry_after == 7 and not limited.value.permanent
        sim.fail_next(503)
        with pytest.raises(DeliveryFailed) as down:
            await sms.send(ONCALL, "hello")
        assert not down.value.permanent and down.value.retry_after is None
        with pytest.raises(DeliveryFailed) as bad:
            await sms.send("555-0111", "hello")  # not E.164: refused before any request
        assert bad.value.permanent
        sim.fail_next(400)
        with pytest.raises(DeliveryFailed) as refused:
            await sms.send(ONCALL, "hello")
        assert refused.value.permanent
        assert sim.send_requests == 3 and sim.messages == []
    finally:
        await sms.aclose()
    wrong = notifier(url, secret="wrong")
    try:
        with pytest.raises(DeliveryFailed) as denied:
            await wrong.send(ONCALL, "hello")
        assert "401" in str(denied.value) and sim.send_requests == 3
    finally:
        await wrong.aclose()


# -- the delivery worker on both databases --------------------------------------------------------


class Now:
    def __init__(self) -> None:
        self.at = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.at


def texts(notifier: Notifier, clock: Now, threshold: int = 3) -> dict[str, CircuitBreaker]:
    """The text channel alone, behind its circuit breaker."""
    return {"sms": CircuitBreaker(TextChannel(notifier), provider="genesys-sms", clock=clock,
                                  threshold=threshold)}


async def raise_emergency(engine: AsyncEngine, now: dt.datetime) -> uc.PassResult:
    await seed_world(engine)
    await wo_uc.create_work_order(
        SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
        wo_uc.NewWorkOrder(store_id="store-1", priority=Priority.EMERGENCY,
                           location=Location(32.76, -96.8), description="Gas smell"))
    return await uc.evaluate_alerts(lambda: SqlUnitOfWork(engine), SqlAlertFacts(engine), now)


async def test_escalations_are_sent_and_every_attempt_is_recorded(
        engine: AsyncEngine, genesys: tuple[GenesysSimulator, str]) -> None:
    sim, url = genesys
    now = Now()
    store = SqlNotificationStore(engine)
    # a circuit that does not open here: this test is about retries (the breaker has its own)
    worker = DeliveryWorker(texts(notifier(url), now, threshold=100), store, max_attempts=3,
                            clock=now)
    escalations = Escalations(store, worker, OnCall.parse(f"{ONCALL}, 2=+13175550122"), now)
    try:
        await check_delivery(engine, sim, now, store, worker, escalations)
    finally:
        await worker.stop()


async def check_delivery(engine: AsyncEngine, sim: GenesysSimulator, now: Now,
                         store: SqlNotificationStore, worker: DeliveryWorker,
                         escalations: Escalations) -> None:
    result = await raise_emergency(engine, now.at)
    [alert] = result.raised
    await escalations(result)
    await escalations(result)  # a repeat queues nothing twice
    sim.fail_next(429, retry_after=30)
    assert await worker.run_once() == 0
    [row] = await store.for_alert(alert["id"])
    assert row["status"] == "pending" and row["attempts"] == 1 and "429" in row["error"]
    assert row["next_attempt_at"] == now.at + dt.timedelta(seconds=30)
    now.at += dt.timedelta(seconds=10)
    assert await worker.run_once() == 0 and sim.send_requests == 1  # still held back
    now.at += dt.timedelta(seconds=25)
    assert await worker.run_once() == 1
    [row] = await store.for_alert(alert["id"])
    assert row["status"] == "sent" and row["attempts"] == 2 and row["error"] == ""
    assert row["provider_id"] == sim.messages[0]["id"] and row["level"] == 1
    assert row["recipient"] == ONCALL and row["channel"] == "sms"
    assert sim.messages[0]["textBody"].startswith("[CRITICAL L1 store] Emergency job waiting")
    assert "(Store 1)" in sim.messages[0]["textBody"]

    now.at += dt.timedelta(minutes=5)  # unacknowledged: level 2 reaches its numbers too
    escalated = await uc.evaluate_alerts(lambda: SqlUnitOfWork(engine), SqlAlertFacts(engine),
                                         now.at)
    assert [a["escalation_level"] for a in escalated.escalated] == [2]
    await escalations(escalated)
    sim.fail_next(500, times=6)
    for _ in range(3):
        assert await worker.run_once() == 0
        now.at += dt.timedelta(minutes=5)
    level2 = [r for r in await store.for_alert(alert["id"]) if r["level"] == 2]
    assert {r["recipient"] for r in level2} == {ONCALL, "+13175550122"}
    assert [(r["status"], r["attempts"]) for r in level2] == [("failed", 3)] * 2  # gave up
    assert all("HTTP 500" in r["error"] and r["next_attempt_at"] is None for r in level2)
    assert await worker.run_once() == 0 and sim.send_requests == 8


def logged_escalations(engine: AsyncEngine) -> tuple[
        Now, SqlNotificationStore, LoggingNotifier, DeliveryWorker, Escalations]:
    """Escalations to the on-call number, delivered by the logging notifier."""
    now = Now()
    store = SqlNotificationStore(engine)
    logger = LoggingNotifier()
    worker = DeliveryWorker(texts(logger, now), store, clock=now)
    return now, store, logger, worker, Escalations(store, worker, OnCall.parse(ONCALL), now)


async def test_an_acknowledged_alert_is_not_texted_and_without_genesys_it_is_logged(
        engine: AsyncEngine) -> None:
    now, store, logger, worker, escalations = logged_escalations(engine)
    result = await raise_emergency(engine, now.at)
    [alert] = result.raised
    await escalations(result)
    assert await worker.run_once() == 1
    [row] = await store.for_alert(alert["id"])
    assert row["status"] == "logged" and row["channel"] == "sms" and len(logger.sent) == 1
    await uc.acknowledge_alert(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(), alert_id=alert["id"])
    await store.enqueue(alert["id"], 2, [Recipient("+13175550199", "on-call level 2")], now.at)
    assert await worker.run_once() == 0
    cancelled = [r for r in await store.for_alert(alert["id"]) if r["level"] == 2]
    assert cancelled[0]["status"] == "cancelled" and len(logger.sent) == 1


async def test_a_level_texts_the_users_who_hold_its_roles_for_that_store(
        engine: AsyncEngine) -> None:
    """Users with a phone: the store's manager and a dispatcher at level 1, not another store's
    manager, nor an operations manager (level 2)."""
    now = Now()
    async with SqlUnitOfWork(engine) as uow:
        for name, role, stores, phone in [
                ("mgr1", Role.STORE_MANAGER, {"store-1"}, "+13175550301"),
                ("mgr2", Role.STORE_MANAGER, {"store-2"}, "+13175550302"),
                ("disp", Role.DISPATCHER, set(), "+13175550303"),
                ("ops", Role.OPERATIONS_MANAGER, set(), "+13175550304"),
                ("quiet", Role.DISPATCHER, set(), "")]:
            uow.users.add(User(username=name, password_hash="x", roles=frozenset({role}),
                               store_ids=frozenset(stores), phone=phone))
        await uow.commit()
    store = SqlNotificationStore(engine)
    logger = LoggingNotifier()
    worker = DeliveryWorker(texts(logger, now), store, clock=now)
    escalations = Escalations(store, worker, OnCall(), now)
    result = await raise_emergency(engine, now.at)
    [alert] = result.raised
    await escalations(result)
    assert await worker.run_once() == 2
    rows = await store.for_alert(alert["id"])
    assert sorted(r["recipient"] for r in rows) == ["+13175550301", "+13175550303"]
    assert {r["status"] for r in rows} == {"logged"}


async def test_texts_lost_to_a_crash_after_the_alert_pass_are_queued_at_the_next_pass(
        engine: AsyncEngine) -> None:
    now, store, logger, worker, escalations = logged_escalations(engine)
    result = await raise_emergency(engine, now.at)  # committed; the process dies before queueing
    [alert] = result.raised
    assert await store.for_alert(alert["id"]) == []
    await escalations(uc.PassResult())  # the next pass, after a restart, with nothing new
    assert await worker.run_once() == 1
    [row] = await store.for_alert(alert["id"])
    assert (row["level"], row["recipient"], row["status"]) == (1, ONCALL, "logged")
    await escalations(uc.PassResult())  # already queued: nothing twice
    assert await worker.run_once() == 0 and len(logger.sent) == 1
    await uc.acknowledge_alert(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(), alert_id=alert["id"])
    now.at += dt.timedelta(minutes=6)
    later = await uc.evaluate_alerts(lambda: SqlUnitOfWork(engine), SqlAlertFacts(engine), now.at)
    assert later.escalated == []  # acknowledged: no level 2, and nothing picked up for it
    await escalations(later)
    assert await store.unnotified() == [] and await worker.run_once() == 0
