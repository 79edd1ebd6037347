"""Partner orders both ways, inbound: a partner's update, priority change and cancellation of an
order it created apply once (webhook and feed), never out of order, and a change to a job under
way raises an alert instead (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from realtime.intake.webhooks import Webhook
from storage.engine import create_engine
from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client
from web.intake_wiring import OrderIntake

SECRET = "whsec_" + base64.b64encode(b"partner-orders-test-secret-0123").decode()
URL = "/api/intake/webhooks/orders"
STORE = "store-0001"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url, alerts_enabled=False,
                       intake_webhook_secret=SecretStr(SECRET)) as c:
        yield c


def send(client: TestClient, body: Any, msg_id: str) -> Any:
    raw = json.dumps(body).encode()
    return client.post(URL, content=raw, headers={"content-type": "application/json",
                                                  **Webhook(SECRET).headers(msg_id, raw)})


def created(client: TestClient, external_id: str = "P-1", version: int = 1) -> dict[str, Any]:
    response = send(client, {"type": "order.created", "data": {
        "external_id": external_id, "version": version, "store_id": STORE, "priority": "normal",
        "location": {"lat": 32.78, "lon": -96.8}, "description": "Dishwasher does not drain"}},
        f"msg_create_{external_id}")
    assert response.status_code == 201, response.text
    return dict(response.json())


def change(type_: str, version: int, external_id: str = "P-1", **data: Any) -> dict[str, Any]:
    return {"type": type_, "data": {"external_id": external_id, "version": version, **data}}


def audit_actions(client: TestClient, work_order_id: str) -> list[str]:
    response = client.get("/api/audit", headers=auth(client, "admin"), params={
        "entity_type": "work_order", "entity_id": work_order_id, "limit": 100})
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["items"]]


def test_an_update_a_priority_change_and_a_cancellation_each_apply_once_and_in_order(
        client: TestClient) -> None:
    order = created(client)
    update = change("order.updated", 2, description="Dishwasher leaks and does not drain",
                    estimated_minutes=45, required_skills=["plumbing"])
    first = send(client, update, "msg_u2")
    assert first.status_code == 200, first.text
    assert first.headers["intake-outcome"] == "updated"
    body = first.json()
    assert body["description"] == "Dishwasher leaks and does not drain"
    assert body["estimated_minutes"] == 45 and body["required_skills"] == ["plumbing"]
    assert body["version"] == order["version"] + 1
    again = send(client, update, "msg_u2")  # the sender's retry: the same message
    assert again.headers["intake-outcome"] == "replayed" and again.json() == body
    resent = send(client, update, "msg_u2_bis")  # the same change in another message
    assert resent.headers["intake-outcome"] == "duplicate" and resent.json() == body

    urgent = send(client, change("order.priority_changed", 4, priority="emergency"), "msg_p3")
    assert urgent.headers["intake-outcome"] == "updated"
    assert urgent.json()["priority"] == "emergency"
    # version 3, sent before version 4, arrives after it: it changes nothing
    late = send(client, change("order.updated", 3, description="an older text"), "msg_late")
    assert late.status_code == 200 and late.headers["intake-outcome"] == "stale"
    assert late.json()["description"] == "Dishwasher leaks and does not drain"

    cancel = change("order.cancelled", 5, reason="customer fixed it")
    cancelled = send(client, cancel, "msg_c4")
    assert cancelled.headers["intake-outcome"] == "cancelled"
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["status_reason"] == "customer fixed it"
    assert send(client, cancel, "msg_c4_bis").headers["intake-outcome"] == "duplicate"
    seen = client.get(f"/api/work-orders/{order['id']}", headers=auth(client, "dispatcher"))
    assert seen.json()["version"] == order["version"] + 3
    assert sorted(audit_actions(client, order["id"])) == sorted([
        "work_order.create", "work_order.partner_updated", "work_order.partner_updated",
        "work_order.partner_cancelled"])


def test_a_partner_cancellation_of_an_assigned_job_raises_an_alert_and_changes_nothing(
        client: TestClient) -> None:
    order = created(client, "P-7")
    dispatcher = auth(client, "dispatcher")
    assigned = client.post(f"/api/work-orders/{order['id']}/assign", headers=dispatcher,
                           json={"technician_id": "tech-0001", "allow_missing_skills": True})
    assert assigned.status_code == 200, assigned.text
    before = {**assigned.json(), "tracking_url": None}  # the partner never gets the link
    cancel = change("order.cancelled", 2, external_id="P-7", reason="duplicate booking")
    for msg_id in ("msg_c", "msg_c", "msg_c_again"):
        answer = send(client, cancel, msg_id)
        assert answer.status_code == 200, answer.text
        assert answer.json() == before  # nothing changed
    assert answer.headers["intake-outcome"] == "duplicate"
    now = client.get(f"/api/work-orders/{order['id']}", headers=dispatcher).json()
    assert now["status"] == "assigned" and now["version"] == before["version"]
    alerts = client.get("/api/alerts", headers=dispatcher,
                        params={"kind": "partner_change_blocked"}).json()["items"]
    [alert] = alerts  # one, however often the change came
    assert alert["work_order_id"] == order["id"] and alert["store_id"] == STORE
    assert alert["status"] == "open" and "cancel" in alert["title"]
    assert "P-7" in alert["message"] and "nothing was changed" in alert["message"]
    # a later change to the job under way: one more alert, still nothing changed
    moved = send(client, change("order.updated", 3, external_id="P-7", priority="high"), "m3")
    assert moved.headers["intake-outcome"] == "blocked"
    assert client.get(f"/api/work-orders/{order['id']}",
                      headers=dispatcher).json()["priority"] == "normal"
    assert len(client.get("/api/alerts", headers=dispatcher, params={
        "kind": "partner_change_blocked"}).json()["items"]) == 2


def test_changes_the_intake_cannot_take_are_refused_and_change_nothing(
        client: TestClient) -> None:
    order = created(client, "P-9", version=5)
    unknown = send(client, change("order.cancelled", 2, external_id="P-404"), "msg_x1")
    assert_problem(unknown, 404)
    older = send(client, change("order.updated", 4, external_id="P-9", priority="low"), "msg_x2")
    assert older.headers["intake-outcome"] == "stale" and older.json()["priority"] == "normal"
    empty = send(client, change("order.updated", 6, external_id="P-9"), "msg_x3")
    assert_problem(empty, 422)
    null = send(client, change("order.updated", 6, external_id="P-9", description=None), "m4")
    assert_problem(null, 422)
    reused = send(client, change("order.updated", 6, external_id="P-9", priority="low"),
                  "msg_create_P-9")
    assert_problem(reused, 409, "webhook_id_reused")
    current = client.get(f"/api/work-orders/{order['id']}", headers=auth(client, "dispatcher"))
    assert current.json()["version"] == order["version"]


def test_the_feed_applies_changes_once_like_the_webhook(client: TestClient,
                                                        database_url: str) -> None:
    page = [
        {"external_id": "F-1", "version": 1, "store_code": "S0001", "priority": "low",
         "location": {"lat": 32.7, "lon": -96.7}, "description": "Front door lock jammed"},
        change("order.priority_changed", 2, external_id="F-1", priority="high"),
        change("order.updated", 3, external_id="F-1", address="12 Elm St"),
    ]

    async def take(orders: list[dict[str, Any]]) -> dict[str, int]:
        engine = create_engine(database_url)
        try:
            intake = OrderIntake(engine, source="partner", now=lambda: app_now(client))
            return await intake.take_feed(orders)
        finally:
            await engine.dispose()

    assert asyncio.run(take(page)) == {"created": 1, "updated": 2, "duplicate": 0,
                                       "replayed": 0, "invalid": 0}
    # the page read again (a crash before the cursor was saved): nothing changes twice
    again = asyncio.run(take(page))
    assert again["duplicate"] == 3 and again.get("updated", 0) == 0
    items = client.get("/api/work-orders", headers=auth(client, "dispatcher"),
                       params={"store_id": STORE, "limit": 500}).json()["items"]
    [taken] = [o for o in items if o["description"] == "Front door lock jammed"]
    assert taken["priority"] == "high" and taken["address"] == "12 Elm St"
