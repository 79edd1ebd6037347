"""Partner orders both ways, outbound: a partner job's status change is queued with the change
and sent as a signed Standard Webhook to a partner on 127.0.0.1, retried while it answers 503,
dead-lettered after the attempts and replayed by an admin (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from realtime.intake import PartnerFeedSimulator
from realtime.intake.webhooks import Webhook
from realtime.outbound_webhooks import WebhookSender
from storage.engine import create_engine
from storage.webhook_deliveries import SqlWebhookDeliveries
from tests.web.api_helpers import assert_problem, auth, seeded_client
from web.embedded import serve_in_thread

SECRET = "whsec_" + base64.b64encode(b"partner-webhooks-test-secret-01").decode()
PARTNER_SECRET = "whsec_" + base64.b64encode(b"what-the-partner-checks-with-0").decode()
URL = "/api/intake/webhooks/orders"


@contextmanager
def partner(clock: Callable[[], float] = time.time) -> Iterator[tuple[PartnerFeedSimulator, str]]:
    """The partner's end on a free loopback port: verifies signatures with PARTNER_SECRET."""
    sim = PartnerFeedSimulator(webhook_secret=PARTNER_SECRET, webhook_clock=clock)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server, thread = serve_in_thread(sim, sock, "partner-test")
    try:
        for _ in range(100):  # bounded: until it listens
            if server.started:
                break
            time.sleep(0.05)
        yield sim, f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url, alerts_enabled=False,
                       intake_webhook_secret=SecretStr(SECRET)) as c:
        yield c


def partner_order(client: TestClient, external_id: str) -> dict[str, Any]:
    raw = json.dumps({"external_id": external_id, "store_id": "store-0001",
                      "priority": "normal", "location": {"lat": 32.78, "lon": -96.8},
                      "description": "Ice machine not producing ice"}).encode()
    response = client.post(URL, content=raw, headers={
        "content-type": "application/json", **Webhook(SECRET).headers(f"m-{external_id}", raw)})
    assert response.status_code == 201, response.text
    return dict(response.json())


def assign(client: TestClient, work_order_id: str, technician_id: str = "tech-0001") -> None:
    response = client.post(f"/api/work-orders/{work_order_id}/assign",
                           headers=auth(client, "dispatcher"),
                           json={"technician_id": technician_id, "allow_missing_skills": True})
    assert response.status_code == 200, response.text


def deliveries(client: TestClient, status: str | None = None) -> list[dict[str, Any]]:
    response = client.get("/api/webhook-deliveries", headers=auth(client, "admin"),
                          params={"status": status} if status else {})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def send_due(client: TestClient, database_url: str, url: str, *, secret: str = PARTNER_SECRET,
             max_attempts: int = 8) -> int:
    """One pass of the sender at the app's time (its own worker is not configured here)."""
    clock = client.app.state.runtime.clock  # type: ignore[attr-defined]

    async def run() -> int:
        engine = create_engine(database_url)
        sender = WebhookSender(SqlWebhookDeliveries(engine), url, secret, clock=clock,
                               max_attempts=max_attempts)
        try:
            return await sender.run_once()
        finally:
            await sender.aclose()
            await engine.dispose()
    return asyncio.run(run())


def later(client: TestClient, hours: float = 2) -> None:
    """Past any backoff (capped at an hour)."""
    import datetime as dt
    client.app.state.runtime.clock.advance(dt.timedelta(hours=hours))  # type: ignore[attr-defined]


def test_a_partner_jobs_status_change_goes_back_signed_and_only_partner_jobs_do(
        client: TestClient, database_url: str) -> None:
    order = partner_order(client, "P-100")
    assert deliveries(client) == []  # a creation is the partner's own news
    assign(client, order["id"])
    mine = client.post("/api/work-orders", headers=auth(client, "dispatcher"), json={
        "store_id": "store-0001", "priority": "low", "location": {"lat": 32.7, "lon": -96.7},
        "description": "Not a partner job"}).json()
    assign(client, mine["id"], "tech-0002")
    [queued] = deliveries(client, "pending")
    assert queued["external_id"] == "P-100" and queued["work_order_id"] == order["id"]
    assert queued["payload"]["type"] == "order.status_changed"
    assert queued["payload"]["data"]["status"] == "assigned"

    app_clock = client.app.state.runtime.clock  # type: ignore[attr-defined]
    with partner(lambda: app_clock().timestamp()) as (sim, url):
        assert send_due(client, database_url, url, secret=SECRET) == 0  # wrong key: 401
        assert sim.received == []
        later(client)
        assert send_due(client, database_url, url) == 1
        [got] = sim.received
    assert got["webhook_id"] == queued["message_id"]
    assert got["data"]["external_id"] == "P-100" and got["data"]["status"] == "assigned"
    [done] = deliveries(client, "delivered")
    assert done["attempts"] == 2 and done["last_status"] == 204


def test_the_signature_is_the_one_the_intake_verifies() -> None:
    class Store:
        def __init__(self) -> None:
            self.item = {"id": 1, "message_id": "msg_abc", "attempts": 0,
                         "payload": {"type": "order.status_changed", "data": {"status": "new"}}}
            self.result: dict[str, Any] = {}

        async def due(self, now: Any, limit: int) -> list[dict[str, Any]]:
            return [self.item]

        async def delivered(self, id: int, **kw: Any) -> None:
            self.result = {"delivered": id, **kw}

        async def failed(self, id: int, **kw: Any) -> None:
            self.result = {"failed": id, **kw}

    import httpx
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async def run() -> Store:
        store = Store()
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            await WebhookSender(store, "http://partner.invalid/hook", PARTNER_SECRET,
                                client=http).run_once()
        return store

    store = asyncio.run(run())
    [request] = seen
    message = Webhook(PARTNER_SECRET).verify(dict(request.headers), request.content)
    assert message.id == "msg_abc" and json.loads(message.body)["data"] == {"status": "new"}
    assert store.result["delivered"] == 1
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(dict(request.headers), request.content)


def test_a_delivery_is_retried_while_the_partner_is_down_then_delivered_once(
        client: TestClient, database_url: str) -> None:
    order = partner_order(client, "P-200")
    assign(client, order["id"])
    app_clock = client.app.state.runtime.clock  # type: ignore[attr-defined]
    with partner(lambda: app_clock().timestamp()) as (sim, url):
        sim.fail_next(2, status=503)
        assert send_due(client, database_url, url) == 0
        [pending] = deliveries(client, "pending")
        assert pending["attempts"] == 1 and pending["last_status"] == 503
        assert send_due(client, database_url, url) == 0  # not due yet: nothing sent
        assert sim.deliveries == 1
        later(client)
        assert send_due(client, database_url, url) == 0  # 503 again
        later(client)
        assert send_due(client, database_url, url) == 1
        later(client)
        assert send_due(client, database_url, url) == 0  # nothing left to send
        assert len(sim.received) == 1 and sim.deliveries == 3
    [done] = deliveries(client, "delivered")
    assert done["attempts"] == 3 and done["status"] == "delivered"


def test_a_delivery_is_dead_lettered_after_its_attempts_and_an_admin_replays_it(
        client: TestClient, database_url: str) -> None:
    order = partner_order(client, "P-300")
    assign(client, order["id"])
    app_clock = client.app.state.runtime.clock  # type: ignore[attr-defined]
    with partner(lambda: app_clock().timestamp()) as (sim, url):
        sim.fail_next(3, status=503)
        for _ in range(3):
            send_due(client, database_url, url, max_attempts=3)
            later(client)
        [dead] = deliveries(client, "dead")
        assert dead["attempts"] == 3 and "503" in dead["last_error"]
        assert send_due(client, database_url, url, max_attempts=3) == 0  # dead stays dead

        for user in ("dispatcher", "operations", "manager"):
            assert_problem(client.get("/api/webhook-deliveries", headers=auth(client, user),
                                      params={"status": "dead"}), 403)
            assert_problem(client.post(f"/api/webhook-deliveries/{dead['id']}/replay",
                                       headers=auth(client, user)), 403)
        assert deliveries(client, "dead") == [dead]  # the refused replays changed nothing

        admin = auth(client, "admin")
        replayed = client.post(f"/api/webhook-deliveries/{dead['id']}/replay", headers=admin)
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["status"] == "pending" and replayed.json()["replays"] == 1
        assert_problem(client.post(f"/api/webhook-deliveries/{dead['id']}/replay",
                                   headers=admin), 409, "not_dead")
        assert send_due(client, database_url, url, max_attempts=3) == 1
        [got] = sim.received
    assert got["webhook_id"] == dead["message_id"]  # the same message, as the partner knows it
    assert deliveries(client, "dead") == []
    assert_problem(client.post("/api/webhook-deliveries/999999/replay", headers=admin), 404)


def test_the_app_sends_on_its_own_when_a_partner_endpoint_is_configured(
        database_url: str) -> None:
    with partner() as (sim, url), seeded_client(
            database_url, alerts_enabled=False, intake_webhook_secret=SecretStr(SECRET),
            partner_webhook_url=url, partner_webhook_secret=SecretStr(PARTNER_SECRET)) as client:
        order = partner_order(client, "P-400")
        assign(client, order["id"])
        for _ in range(200):  # bounded wait for the supervised sender (woken by the bus)
            if sim.received:
                break
            time.sleep(0.05)
        [got] = sim.received
        assert got["data"]["external_id"] == "P-400" and got["data"]["status"] == "assigned"
