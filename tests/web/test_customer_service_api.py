"""What customer service needs server-side, over HTTP on SQLite and PostgreSQL: finding a customer
by name, phone (any punctuation), address or order number; one customer's jobs; editing,
rescheduling and cancelling a job; comments marked internal or customer-visible, and the
tracking page showing the customer-visible ones only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url) as c:
        yield c


@pytest.fixture
def service(client: TestClient) -> dict[str, str]:
    return auth(client, "service")


def _found(client: TestClient, headers: dict[str, str], q: str) -> list[str]:
    response = client.get("/api/customers", params={"q": q, "limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def _customer(client: TestClient, headers: dict[str, str], id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/customers/{id}", headers=headers).json()
    return body


def _book(client: TestClient, headers: dict[str, str], customer_id: str = "cust-00001",
          **extra: Any) -> dict[str, Any]:
    start = (app_now(client) + dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    response = client.post("/api/work-orders", headers=headers, json={
        "store_id": "store-0001", "priority": "normal", "customer_id": customer_id,
        "location": {"lat": 32.78, "lon": -96.8}, "description": "Dryer makes a noise",
        "time_window": {"start": start.isoformat(),
                        "end": (start + dt.timedelta(hours=2)).isoformat()}, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_customer_is_found_by_phone_whatever_the_punctuation(
        client: TestClient, service: dict[str, str]) -> None:
    phone = _customer(client, service, "cust-00007")["phone"]  # +1972555NNNN
    digits = phone[2:]
    typed = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    assert _found(client, service, typed) == ["cust-00007"]
    assert _found(client, service, digits[3:]) == ["cust-00007"]  # the local part
    assert _found(client, service, phone) == ["cust-00007"]


def test_a_customer_is_found_by_name_and_by_address(
        client: TestClient, service: dict[str, str]) -> None:
    c = _customer(client, service, "cust-00003")
    assert "cust-00003" in _found(client, service, c["name"].upper())
    street = c["address"].split(",")[0]
    by_address = _found(client, service, street)
    assert "cust-00003" in by_address
    assert all(street.lower() in _customer(client, service, i)["address"].lower()
               for i in by_address)
    assert _found(client, service, "nobody by this name") == []


def test_a_customer_is_found_by_an_order_number(
        client: TestClient, service: dict[str, str]) -> None:
    order = client.get("/api/sales-orders", params={"limit": 1}, headers=service).json()[
        "items"][0]
    assert _found(client, service, order["number"].lower()) == [order["customer_id"]]
    invoice = client.get("/api/invoices", params={"limit": 1}, headers=service).json()[
        "items"][0]
    assert _found(client, service, invoice["number"]) == [invoice["customer_id"]]
    job = _book(client, service, "cust-00005")
    assert _found(client, service, job["id"]) == ["cust-00005"]


def test_one_customers_jobs_open_and_past(client: TestClient, service: dict[str, str]) -> None:
    job = _book(client, service, "cust-00002")
    listed = client.get("/api/work-orders", params={"customer_id": "cust-00002", "limit": 100},
                        headers=service).json()
    assert job["id"] in [o["id"] for o in listed["items"]]
    assert {o["customer_id"] for o in listed["items"]} == {"cust-00002"}
    assert client.get("/api/work-orders", params={"customer_id": "cust-99999"},
                      headers=service).json()["total"] == 0


def test_customer_service_edits_reschedules_and_cancels_with_a_reason(
        client: TestClient, service: dict[str, str]) -> None:
    job = _book(client, service)
    url = f"/api/work-orders/{job['id']}"
    start = dt.datetime.fromisoformat(job["time_window"]["start"]) + dt.timedelta(days=1)
    window = {"start": start.isoformat(), "end": (start + dt.timedelta(hours=3)).isoformat()}
    moved = client.patch(url, headers={**service, "If-Match": f'"{job["version"]}"'},
                         json={"time_window": window, "description": "Dryer drum squeaks"})
    assert moved.status_code == 200, moved.text
    assert dt.datetime.fromisoformat(moved.json()["time_window"]["start"]) == start
    assert moved.json()["description"] == "Dryer drum squeaks"
    cancelled = client.post(f"{url}/cancel", headers=service,
                            json={"reason": "Customer fixed it", "version": moved.json()["version"]})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["status_reason"] == "Customer fixed it"
    assert_problem(client.post(f"{url}/assign", json={"technician_id": "tech-0001"},
                               headers=service), 403)


def test_comments_are_internal_unless_marked_customer_visible(
        client: TestClient, service: dict[str, str]) -> None:
    job = _book(client, service)
    url = f"/api/work-orders/{job['id']}/comments"
    internal = client.post(url, headers=service, json={"text": "Customer was rude on the phone"})
    assert internal.status_code == 201, internal.text
    assert internal.json()["visibility"] == "internal"
    shown = client.post(url, headers=service,
                        json={"text": "Please leave the gate open", "visibility": "customer"})
    assert shown.status_code == 201, shown.text
    assert shown.json()["visibility"] == "customer"
    assert_problem(client.post(url, headers=service, json={"text": "x", "visibility": "public"}),
                   422)
    listed = client.get(url, headers=service).json()["items"]
    assert [(c["text"], c["visibility"]) for c in listed] == [
        ("Customer was rude on the phone", "internal"), ("Please leave the gate open", "customer")]
    detail = client.get(f"/api/work-orders/{job['id']}", headers=service).json()
    assert [c["visibility"] for c in detail["comments"]] == ["internal", "customer"]

    token = detail["tracking_url"].rsplit("/t/", 1)[1]
    tracked = client.get(f"/api/track/{token}")
    assert tracked.status_code == 200, tracked.text
    notes = [m for m in tracked.json()["messages"] if m["kind"] == "note"]
    assert [n["text"] for n in notes] == ["Please leave the gate open"]
    assert "rude" not in tracked.text
    assert "service" not in {n.get("author") for n in notes}  # no author shown to the customer
