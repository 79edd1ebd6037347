"""The signed order-intake webhook over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from pydantic import SecretStr
from starlette.testclient import TestClient

from realtime.intake import PartnerFeedSimulator
from realtime.intake.webhooks import Webhook
from tests.web.api_helpers import assert_problem, auth, seed_small
from web.app import create_app
from web.settings import Settings

SECRET = "whsec_" + base64.b64encode(b"intake-test-secret-0123456789").decode()
URL = "/api/intake/webhooks/orders"
STORE = "store-0001"


class IntakeSettings(Settings):
    """The intake settings, declared here too until (and harmlessly after) web/settings.py has them."""

    intake_webhook_secret: SecretStr | None = None
    intake_webhook_tolerance_seconds: int = 300
    intake_partner: str = "partner"
    partner_feed_url: str | None = None
    partner_feed_interval_seconds: float = 30.0


@contextmanager
def intake_client(database_url: str, **settings: Any) -> Iterator[TestClient]:
    seed_small(database_url)
    settings.setdefault("intake_webhook_secret", SecretStr(SECRET))
    app = create_app(IntakeSettings(database_url=database_url, **settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def order(external_id: str = "P-1001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id, "store_id": STORE, "priority": "high",
        "location": {"lat": 32.78, "lon": -96.8}, "description": "Walk-in freezer alarm",
        "customer_name": "Maria Lopez", "customer_phone": "+12145550101",
        "required_skills": ["refrigeration"], "estimated_minutes": 90,
    }
    body.update(overrides)
    return body


def send(client: TestClient, body: Any, *, msg_id: str = "msg_1", secret: str = SECRET,
         ts: int | None = None, headers: dict[str, str] | None = None) -> Any:
    raw = json.dumps(body).encode()
    signed = Webhook(secret).headers(msg_id, raw, timestamp=ts)
    return client.post(URL, content=raw, headers={"content-type": "application/json", **signed,
                                                  **(headers or {})})


def total(client: TestClient, h: dict[str, str]) -> int:
    response = client.get("/api/work-orders", params={"limit": 1}, headers=h)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def test_signed_webhook_creates_a_work_order_seen_in_the_list(database_url: str) -> None:
    with intake_client(database_url) as client:
        h = auth(client, "dispatcher")
        before = total(client, h)
        response = send(client, order())
        assert response.status_code == 201, response.text
        assert response.headers["intake-outcome"] == "created"
        created = response.json()
        assert created["store_id"] == STORE and created["priority"] == "high"
        assert created["status"] == "new" and created["created_by"] == "intake"
        assert created["customer_id"] is not None  # the walk-in became a customer
        assert total(client, h) == before + 1
        listed = client.get("/api/work-orders", params={"limit": 500, "sort": "-created_at"},
                            headers=h).json()["items"]
        assert created["id"] in {item["id"] for item in listed}
        audit = client.get("/api/audit", params={"entity_id": created["id"]},
                           headers=auth(client, "admin"))
        assert audit.status_code == 200, audit.text
        rows = audit.json()["items"]
        assert [(r["actor"], r["action"]) for r in rows] == [("intake:partner", "work_order.create")]


def test_store_by_code_and_the_envelope_form(database_url: str) -> None:
    with intake_client(database_url) as client:
        h = auth(client, "dispatcher")
        code = client.get(f"/api/stores/{STORE}", headers=h).json()["code"]
        body = order("P-2001", store_code=code)
        del body["store_id"]
        envelope = {"type": "order.created", "timestamp": "2026-11-22T10:00:00Z", "data": body}
        response = send(client, envelope, msg_id="msg_env")
        assert response.status_code == 201, response.text
        assert response.json()["store_id"] == STORE
        assert_problem(send(client, {**envelope, "type": "order.deleted"}, msg_id="msg_x"),
                       422, "unsupported_event_type")


def test_replayed_webhook_is_answered_without_changing_anything(database_url: str) -> None:
    with intake_client(database_url) as client:
        h = auth(client, "dispatcher")
        first = send(client, order(), msg_id="msg_replay")
        assert first.status_code == 201
        count = total(client, h)
        again = send(client, order(), msg_id="msg_replay")
        assert again.status_code == 200, again.text
        assert again.headers["intake-outcome"] == "replayed"
        assert again.json()["id"] == first.json()["id"]
        assert total(client, h) == count
        # The same webhook-id carrying another order is refused.
        assert_problem(send(client, order("P-9999"), msg_id="msg_replay"), 409,
                       "webhook_id_reused")
        assert total(client, h) == count


def test_same_external_id_twice_gives_one_order(database_url: str) -> None:
    with intake_client(database_url) as client:
        h = auth(client, "dispatcher")
        count = total(client, h)
        first = send(client, order("P-7"), msg_id="msg_a")
        second = send(client, order("P-7", description="sent again"), msg_id="msg_b")
        assert (first.status_code, second.status_code) == (201, 200)
        assert second.headers["intake-outcome"] == "duplicate"
        assert second.json()["id"] == first.json()["id"]
        assert second.json()["description"] == "Walk-in freezer alarm"
        assert total(client, h) == count + 1


def test_unsigned_and_badly_signed_requests_are_refused(database_url: str) -> None:
    with intake_client(database_url) as client:
        h = auth(client, "dispatcher")
        count = total(client, h)
        assert_problem(client.post(URL, json=order()), 401, "missing_signature")
        other = "whsec_" + base64.b64encode(b"not the partner's secret!").decode()
        assert_problem(send(client, order(), secret=other), 401, "invalid_signature")
        assert_problem(send(client, order(), ts=int(time.time()) - 600), 401,
                       "webhook_timestamp_out_of_tolerance")
        assert_problem(send(client, order(), headers={"webhook-timestamp": "yesterday"}), 400,
                       "bad_webhook_timestamp")
        assert_problem(send(client, order(), headers={"webhook-signature": "nonsense"}), 401,
                       "malformed_signature")
        # A Bearer token is no substitute for the signature.
        assert_problem(client.post(URL, json=order(), headers=h), 401, "missing_signature")
        assert total(client, h) == count


def test_bad_bodies_are_refused_and_create_nothing(database_url: str) -> None:
    with intake_client(database_url) as client:
        h = auth(client, "dispatcher")
        count = total(client, h)
        no_priority = order("P-3")
        del no_priority["priority"]
        assert_problem(send(client, no_priority, msg_id="m1"), 422)
        assert_problem(send(client, order("P-3", store_code="S-1"), msg_id="m2"), 422)
        assert_problem(send(client, order("P-3", surprise=1), msg_id="m3"), 422)
        assert_problem(send(client, order("has space"), msg_id="m4"), 422)
        assert_problem(send(client, order("P-3", store_id="store-9999"), msg_id="m5"), 422,
                       "invalid_store")
        window = {"start": "2026-11-22T12:00:00+00:00", "end": "2026-11-22T11:00:00+00:00"}
        assert_problem(send(client, order("P-3", time_window=window), msg_id="m6"), 422)
        raw = b"{not json"
        signed = Webhook(SECRET).headers("m7", raw)
        assert_problem(client.post(URL, content=raw, headers={
            "content-type": "application/json", **signed}), 400, "malformed_json")
        raw = b"external_id=P-3"
        signed = Webhook(SECRET).headers("m8", raw)
        assert_problem(client.post(URL, content=raw, headers={
            "content-type": "application/x-www-form-urlencoded", **signed}), 415)
        assert total(client, h) == count
        # Nothing was recorded for those deliveries: the fixed order is taken.
        assert send(client, order("P-3"), msg_id="m1").status_code == 201


def test_webhook_is_unavailable_without_a_secret(database_url: str) -> None:
    with intake_client(database_url, intake_webhook_secret=None) as client:
        assert_problem(send(client, order()), 404, "intake_not_configured")


@contextmanager
def served_in_thread(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", ws="none", log_config=None,
                                           access_log=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def test_the_app_polls_a_configured_partner_feed(database_url: str) -> None:
    sim = PartnerFeedSimulator([])
    with served_in_thread(sim) as url, intake_client(
            database_url, partner_feed_url=url, partner_feed_interval_seconds=0.2) as client:
        h = auth(client, "dispatcher")
        count = total(client, h)  # the app polls from start-up; the feed is empty so far
        sim.publish(*(order(f"F-{i}") for i in range(3)))
        deadline = time.monotonic() + 15
        while total(client, h) < count + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert total(client, h) == count + 3
        sim.publish(order("F-0"), order("F-3"))  # one already taken, one new
        deadline = time.monotonic() + 15
        while total(client, h) < count + 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        assert total(client, h) == count + 4
