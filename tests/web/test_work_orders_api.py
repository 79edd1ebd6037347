"""The work-order endpoints over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from tests.conftest import free_port
from tests.web.api_helpers import assert_problem, auth, seed_small, seeded_client, token
from web.app import create_app
from web.settings import Settings

MINE = "store-0001"  # the store manager holds store-0001 and store-0002
OTHER = "store-0003"
TOMORROW = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)


def new_order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store_id": MINE, "priority": "normal", "location": {"lat": 32.78, "lon": -96.8},
        "description": "Water heater leaking",
    }
    body.update(overrides)
    return body


def create(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/work-orders", json=new_order(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def total(client: TestClient, headers: dict[str, str], **filters: Any) -> int:
    response = client.get("/api/work-orders", params={"limit": 1, **filters}, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url) as c:
        yield c


@pytest.fixture
def dispatcher(client: TestClient) -> dict[str, str]:
    return auth(client, "dispatcher")


# -- intake ----------------------------------------------------------------------------------


def test_a_dispatcher_creates_a_work_order_and_reads_it_back(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    window = {"start": TOMORROW.isoformat(), "end": (TOMORROW + dt.timedelta(hours=3)).isoformat()}
    response = client.post("/api/work-orders", headers=dispatcher, json=new_order(
        priority="high", address="12 Elm St", time_window=window, required_skills=["Plumbing"],
        estimated_minutes=90, customer_id="cust-00001"))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "new" and order["version"] == 1
    assert order["technician_id"] is None and order["comments"] == []
    assert order["location"] == {"lat": 32.78, "lon": -96.8}
    assert order["required_skills"] == ["plumbing"]
    assert order["customer_id"] == "cust-00001" and order["priority"] == "high"
    assert dt.datetime.fromisoformat(order["time_window"]["start"]) == TOMORROW
    detail = client.get(f"/api/work-orders/{order['id']}", headers=dispatcher)
    assert detail.status_code == 200
    assert detail.json() == order


def test_a_walk_in_customer_is_recorded_with_the_work_order(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher, customer_name="Walk In", customer_phone="+12145550000",
                   sms_opt_in=True)
    assert order["customer_id"] is not None


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"description": None}, 422, "description"),
    ({"location": {"lat": 91, "lon": 0}}, 422, "location.lat"),
    ({"time_window": {"start": "2030-01-01T08:00:00", "end": "2030-01-01T10:00:00"}}, 422,
     "time_window.start"),
    ({"colour": "red"}, 422, "colour"),
    ({"priority": "urgent"}, 422, "priority"),
    ({"description": "bad \x00 text"}, 422, "description"),
    ({"customer_id": "cust-00001", "customer_name": "Both"}, 422, None),
    ({"customer_phone": "+1214"}, 422, None),
    ({"store_id": "store-9999"}, 422, "store_id"),
    ({"customer_id": "nobody"}, 422, "customer_id"),
    ({"time_window": {"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T08:00:00Z"}}, 422,
     "time_window"),
])
def test_bad_input_is_refused_with_a_problem_and_creates_nothing(
        client: TestClient, dispatcher: dict[str, str], body: dict[str, Any], status: int,
        field: str | None) -> None:
    before = total(client, dispatcher)
    payload = new_order(**body)
    if body.get("description", "") is None:
        del payload["description"]
    problem = assert_problem(client.post("/api/work-orders", json=payload, headers=dispatcher),
                             status)
    if field is not None:
        named = [e["field"] for e in problem.get("errors", [])] + [problem.get("field")]
        assert any(field == n or (n or "").startswith(field) for n in named), problem
    assert total(client, dispatcher) == before


def test_malformed_json_answers_400_and_creates_nothing(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    before = total(client, dispatcher)
    response = client.post("/api/work-orders", content=b'{"store_id": ', headers={
        **dispatcher, "content-type": "application/json"})
    assert_problem(response, 400, "malformed_json")
    assert total(client, dispatcher) == before


def test_only_those_allowed_create_work_orders_and_emergencies(client: TestClient) -> None:
    assert_problem(client.post("/api/work-orders", json=new_order(),
                               headers=auth(client, "billing")), 403)
    service = auth(client, "service")
    create(client, service)
    assert_problem(client.post("/api/work-orders", json=new_order(priority="emergency"),
                               headers=service), 403)
    create(client, auth(client, "coordinator"), priority="emergency")


# -- reading ---------------------------------------------------------------------------------


def test_the_list_filters_by_status_store_priority_technician_and_creation_date(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    everything = total(client, dispatcher)
    assert everything == 20
    first = client.get("/api/work-orders", params={"limit": 7}, headers=dispatcher).json()
    second = client.get("/api/work-orders", params={"limit": 7, "offset": 7},
                        headers=dispatcher).json()
    assert first["total"] == 20 and first["limit"] == 7 and len(first["items"]) == 7
    assert not {o["id"] for o in first["items"]} & {o["id"] for o in second["items"]}
    ranks = ["emergency", "high", "normal", "low"]
    listed = [ranks.index(o["priority"]) for o in first["items"] + second["items"]]
    assert listed == sorted(listed)

    items = client.get("/api/work-orders", params={"limit": 500}, headers=dispatcher).json()["items"]
    by_status: dict[str, int] = {}
    for o in items:
        by_status[o["status"]] = by_status.get(o["status"], 0) + 1
    assert total(client, dispatcher, status="new") == by_status.get("new", 0)
    assert total(client, dispatcher, status="new,assigned") == (
        by_status.get("new", 0) + by_status.get("assigned", 0))
    response = client.get("/api/work-orders?status=new&status=assigned&limit=1",
                          headers=dispatcher)
    assert response.json()["total"] == by_status.get("new", 0) + by_status.get("assigned", 0)
    assert total(client, dispatcher, store_id=MINE) == sum(o["store_id"] == MINE for o in items)
    assert total(client, dispatcher, priority="low") == sum(o["priority"] == "low" for o in items)
    assert total(client, dispatcher, unassigned="true") == sum(
        o["technician_id"] is None for o in items)
    tech = next(o["technician_id"] for o in items if o["technician_id"])
    assert total(client, dispatcher, technician_id=tech) == sum(
        o["technician_id"] == tech for o in items)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert total(client, dispatcher, date_from=future) == 0
    assert total(client, dispatcher, date_to=future) == 20
    newest = client.get("/api/work-orders", params={"sort": "-created_at"},
                        headers=dispatcher).json()["items"]
    created = [o["created_at"] for o in newest]
    assert created == sorted(created, reverse=True)
    for bad in ({"status": "lost"}, {"limit": 0}, {"date_from": "yesterday"},
                {"sort": "colour"}, {"date_from": "2030-01-01T00:00:00"}):
        assert_problem(client.get("/api/work-orders", params=bad, headers=dispatcher), 422)


def test_a_store_manager_sees_only_their_stores(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    theirs = create(client, dispatcher, store_id=OTHER)
    manager = auth(client, "manager")
    items = client.get("/api/work-orders", params={"limit": 500}, headers=manager).json()["items"]
    assert items and {o["store_id"] for o in items} <= {"store-0001", "store-0002"}
    assert total(client, manager, store_id=OTHER) == 0
    for path in (f"/api/work-orders/{theirs['id']}", f"/api/work-orders/{theirs['id']}/comments"):
        assert_problem(client.get(path, headers=manager), 404)
    assert_problem(client.get("/api/work-orders/no-such-order", headers=manager), 404)
    assert_problem(client.post(f"/api/work-orders/{theirs['id']}/comments", json={"text": "hi"},
                               headers=manager), 404)
    assert_problem(client.post("/api/work-orders", json=new_order(store_id=OTHER),
                               headers=manager), 422, "invalid_store")
    create(client, manager, store_id=MINE)


def test_a_technician_sees_only_their_own_work_orders(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher)
    tech1 = auth(client, "tech1")
    assert_problem(client.get(f"/api/work-orders/{order['id']}", headers=tech1), 404)
    mine = client.get("/api/work-orders", params={"limit": 500}, headers=tech1).json()["items"]
    assert all(o["technician_id"] == "tech-0001" for o in mine)
    assigned = client.post(f"/api/work-orders/{order['id']}/assign",
                           json={"technician_id": "tech-0001"}, headers=dispatcher)
    assert assigned.status_code == 200, assigned.text
    assert client.get(f"/api/work-orders/{order['id']}", headers=tech1).status_code == 200
    assert total(client, tech1) == len(mine) + 1
    assert_problem(client.get(f"/api/work-orders/{order['id']}", headers=auth(client, "tech2")),
                   404)
    assert_problem(client.get("/api/work-orders", headers=auth(client, "billing")), 403)


# -- changes ---------------------------------------------------------------------------------


def test_a_job_goes_from_assignment_through_the_technicians_steps_to_completion(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher)
    url = f"/api/work-orders/{order['id']}"
    assigned = client.post(f"{url}/assign", headers=dispatcher,
                           json={"technician_id": "tech-0001", "version": order["version"]})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "assigned"
    tech = auth(client, "tech1")
    for step, status in (("accept", "accepted"), ("en_route", "en_route"), ("on_site", "on_site")):
        response = client.post(f"{url}/status", json={"step": step}, headers=tech)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    assert_problem(client.post(f"{url}/status", json={"step": "accept"}, headers=tech), 409)
    done = client.post(f"{url}/status", headers=tech, json={
        "step": "complete", "device_time": dt.datetime.now(dt.UTC).isoformat(),
        "proof": {"location": {"lat": 32.78, "lon": -96.8}, "signature_ref": "sig-1",
                  "photo_refs": ["photo-1"], "notes": "replaced the valve"}})
    assert done.status_code == 200, done.text
    finished = done.json()
    assert finished["status"] == "completed"
    assert finished["proof"]["photo_refs"] == ["photo-1"]
    seen = client.get(url, headers=dispatcher).json()
    assert seen["tracking_url"] and finished["tracking_url"] is None  # the customer's link:
    assert {**seen, "tracking_url": None} == finished  # for the dispatcher, not the technician
    assert_problem(client.patch(url, json={"description": "again"}, headers=dispatcher), 422)


def test_a_dispatcher_reports_a_step_only_for_a_named_technician(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher)
    url = f"/api/work-orders/{order['id']}"
    client.post(f"{url}/assign", json={"technician_id": "tech-0001"}, headers=dispatcher)
    assert_problem(client.post(f"{url}/status", json={"step": "accept"}, headers=dispatcher), 422)
    response = client.post(f"{url}/status", json={"step": "accept", "technician_id": "tech-0001"},
                           headers=dispatcher)
    assert response.status_code == 200, response.text
    declined = client.post(f"{url}/status", json={"step": "decline", "reason": ""},
                           headers=auth(client, "tech1"))
    assert_problem(declined, 422)
    assert_problem(client.post(f"{url}/status", json={"step": "fly"}, headers=dispatcher), 422)
    assert_problem(client.post(f"{url}/status", json={"step": "accept", "proof": {}},
                               headers=dispatcher), 422)


def test_a_stale_version_answers_409_with_the_current_work_order(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher)
    url = f"/api/work-orders/{order['id']}"
    seen = order["version"]
    edited = client.patch(url, json={"priority": "high"},
                          headers={**dispatcher, "If-Match": f'"{seen}"'})
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == seen + 1
    stale = client.post(f"{url}/assign", json={"technician_id": "tech-0001", "version": seen},
                        headers=dispatcher)
    body = assert_problem(stale, 409, "stale_version")
    assert body["current"]["priority"] == "high"
    assert body["current_version"] == seen + 1 and body["expected_version"] == seen
    assert_problem(client.patch(url, json={"address": "x"},
                                headers={**dispatcher, "If-Match": f'"{seen}"'}), 409)
    assert_problem(client.patch(url, json={"address": "x"},
                                headers={**dispatcher, "If-Match": "abc"}), 400)
    assert_problem(client.post(f"{url}/unassign", json={"version": seen}, headers=dispatcher), 409)
    assert client.get(url, headers=dispatcher).json()["technician_id"] is None


def test_an_edit_refuses_fields_that_are_not_editable_and_names_them(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher)
    url = f"/api/work-orders/{order['id']}"
    problem = assert_problem(client.patch(url, json={"status": "completed"}, headers=dispatcher),
                             422)
    assert "status" in problem["detail"]
    for bad in ({}, {"description": None}, {"estimated_minutes": 0},
                {"customer_id": "nobody"}, {"location": {"lat": 0, "lon": 181}}):
        assert_problem(client.patch(url, json=bad, headers=dispatcher), 422)
    changed = client.patch(url, headers=dispatcher, json={
        "location": {"lat": 32.9, "lon": -96.7}, "required_skills": ["HVAC"], "pinned": True,
        "time_window": None, "estimated_minutes": 30, "description": "Leak under the sink"})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["location"] == {"lat": 32.9, "lon": -96.7}
    assert after["required_skills"] == ["hvac"] and after["pinned"] is True
    assert after["version"] == order["version"] + 1
    assert_problem(client.patch("/api/work-orders/nope", json={"pinned": True},
                                headers=dispatcher), 404)


def test_a_cancelled_work_order_keeps_its_reason_and_can_no_longer_change(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher)
    url = f"/api/work-orders/{order['id']}"
    assert_problem(client.post(f"{url}/cancel", json={}, headers=dispatcher), 422)
    assert_problem(client.post(f"{url}/cancel", json={"reason": "x"},
                               headers=auth(client, "manager")), 403)
    cancelled = client.post(f"{url}/cancel", json={"reason": "customer called off"},
                            headers=dispatcher)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["status_reason"] == "customer called off"
    assert_problem(client.post(f"{url}/cancel", json={"reason": "again"}, headers=dispatcher), 409)
    assert_problem(client.post(f"{url}/assign", json={"technician_id": "tech-0001"},
                               headers=dispatcher), 409)


def test_comments_are_added_by_those_involved_and_listed_oldest_first(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher)
    url = f"/api/work-orders/{order['id']}/comments"
    first = client.post(url, json={"text": "Customer prefers mornings"}, headers=dispatcher)
    assert first.status_code == 201, first.text
    assert first.json()["author"] == "dispatcher"
    client.post(url, json={"text": "Gate code 1234"}, headers=auth(client, "manager"))
    assert_problem(client.post(url, json={"text": "   "}, headers=dispatcher), 422)
    assert_problem(client.post(url, json={"text": "x"}, headers=auth(client, "billing")), 403)
    listed = client.get(url, headers=dispatcher).json()
    assert listed["total"] == 2
    assert [c["text"] for c in listed["items"]] == ["Customer prefers mornings", "Gate code 1234"]
    assert client.get(url, params={"offset": 1}, headers=dispatcher).json()["items"][0][
        "author"] == "manager"


def test_assignment_by_hand_checks_the_technician_and_can_be_undone(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    order = create(client, dispatcher, store_id=OTHER)
    url = f"/api/work-orders/{order['id']}"
    assert_problem(client.post(f"{url}/assign", json={"technician_id": "tech-9999"},
                               headers=dispatcher), 422, "invalid_technician")
    assert_problem(client.post(f"{url}/assign", json={"technician_id": "tech-0001"},
                               headers=auth(client, "service")), 403)
    first = client.post(f"{url}/assign", json={"technician_id": "tech-0003", "pinned": True},
                        headers=dispatcher).json()
    assert first["technician_id"] == "tech-0003" and first["pinned"] is True
    moved = client.post(f"{url}/assign", headers=auth(client, "coordinator"),
                        json={"technician_id": "tech-0004", "version": first["version"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["technician_id"] == "tech-0004"
    back = client.post(f"{url}/unassign", json={"reason": "customer away"}, headers=dispatcher)
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "new" and back.json()["technician_id"] is None
    assert_problem(client.post(f"{url}/unassign", json={}, headers=dispatcher), 409)


def test_a_technician_changes_their_own_status_and_a_dispatcher_anyones(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    tech1 = auth(client, "tech1")
    mine = client.post("/api/technicians/tech-0001/status", json={"status": "off_duty"},
                       headers=tech1)
    if mine.status_code == 409:  # a demo technician may start on a break
        mine = client.post("/api/technicians/tech-0001/status", json={"status": "available"},
                           headers=tech1)
    assert mine.status_code == 200, mine.text
    assert_problem(client.post("/api/technicians/tech-0002/status", json={"status": "off_duty"},
                               headers=tech1), 404)
    assert_problem(client.post("/api/technicians/tech-0002/status", json={"status": "asleep"},
                               headers=dispatcher), 422)
    assert_problem(client.post("/api/technicians/tech-9999/status", json={"status": "off_duty"},
                               headers=dispatcher), 404)
    assert_problem(client.post("/api/technicians/tech-0003/status", json={"status": "off_duty"},
                               headers=auth(client, "manager")), 403)


# -- idempotency -----------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_returns_the_same_work_order(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    before = total(client, dispatcher)
    headers = {**dispatcher, "Idempotency-Key": "intake-42"}
    first = client.post("/api/work-orders", json=new_order(), headers=headers)
    again = client.post("/api/work-orders", json=new_order(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert total(client, dispatcher) == before + 1
    other = client.post("/api/work-orders", json=new_order(description="Other"), headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")


@contextmanager
def running_server(database_url: str) -> Iterator[str]:
    seed_small(database_url)
    app = create_app(Settings(database_url=database_url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_five_concurrent_retries_with_one_idempotency_key_create_one_work_order(
        database_url: str) -> None:
    async def scenario(base: str) -> tuple[list[httpx.Response], int]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            login = await http.post("/api/auth/login",
                                    json={"username": "dispatcher", "password": "demo"})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            retry = {**headers, "Idempotency-Key": "van-radio-7"}
            answers = await asyncio.gather(*(
                http.post("/api/work-orders", json=new_order(description="Gas smell"),
                          headers=retry) for _ in range(5)))
            listed = await http.get("/api/work-orders", headers=headers, params={"limit": 500})
            count = sum(o["description"] == "Gas smell" for o in listed.json()["items"])
            return list(answers), count

    with running_server(database_url) as base:
        answers, count = asyncio.run(scenario(base))
    assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert count == 1


def test_requests_without_a_valid_token_are_refused(client: TestClient) -> None:
    assert_problem(client.get("/api/work-orders"), 401)
    assert_problem(client.get("/api/work-orders",
                              headers={"Authorization": "Bearer nonsense"}), 401)
    assert token(client, "dispatcher")


FAR_FUTURE = "9999-12-31T23:59:59-05:00"
FAR_PAST = "0001-01-01T00:00:00+05:00"
HOSTILE: list[tuple[str, str, Any]] = [
    ("POST", "/api/work-orders", new_order(time_window={"start": FAR_PAST, "end": FAR_FUTURE})),
    ("POST", "/api/work-orders", b'{"store_id": "store-0001", "description": "\\ud800"}'),
    ("POST", "/api/work-orders", b'{"location": {"lat": 1e400, "lon": 2}}'),
    ("POST", "/api/work-orders", b"[1, 2]"),
    ("POST", "/api/work-orders", new_order(estimated_minutes=10**30)),
    ("POST", "/api/work-orders", new_order(required_skills=["x" * 65], address="a" * 301)),
    ("GET", "/api/work-orders/%00", None),
    ("GET", "/api/work-orders/" + "a" * 300, None),
    ("GET", f"/api/work-orders?date_from={FAR_FUTURE}", None),
    ("GET", "/api/work-orders?date_to=0001-01-01T00:00:00%2B05:00", None),
    ("GET", "/api/work-orders?store_id=%00&technician_id=%00", None),
    ("GET", "/api/work-orders?unassigned=maybe&offset=-1", None),
    ("PATCH", "/api/work-orders/wo-000001", {"time_window": {"start": FAR_PAST, "end": FAR_FUTURE}}),
    ("PATCH", "/api/work-orders/wo-000001", {"customer_id": "x" * 64}),
    ("POST", "/api/work-orders/wo-000001/status", {"step": "complete", "device_time": FAR_FUTURE,
                                                   "technician_id": "tech-0001"}),
    ("POST", "/api/work-orders/wo-000001/assign", {"technician_id": "t", "version": 2**40}),
    ("POST", "/api/work-orders/wo-000001/comments", {"text": "a" * 2001}),
    ("POST", "/api/technicians/%00/status", {"status": "available"}),
]


def test_nothing_a_client_sends_produces_a_server_error(
        client: TestClient, dispatcher: dict[str, str]) -> None:
    before = total(client, dispatcher)
    for method, path, body in HOSTILE:
        kwargs: dict[str, Any] = {"headers": {**dispatcher, "content-type": "application/json"}}
        kwargs["content" if isinstance(body, bytes) else "json"] = body
        response = client.request(method, path, **kwargs)
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert total(client, dispatcher) == before
