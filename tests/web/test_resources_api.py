"""Stores, technicians, units, customers, trip tickets, sales orders and invoices over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.web.api_helpers import assert_problem, auth, seeded_client

MANAGER_STORES = {"store-0001", "store-0002"}
OTHER_STORE = "store-0003"
#: path -> the field that places a row in a store
SCOPED = {
    "stores": "id", "technicians": "home_store_id", "units": "home_store_id",
    "customers": "home_store_id", "trip-tickets": "store_id", "sales-orders": "store_id",
    "invoices": "store_id",
}
NEW = {
    "stores": {"code": "S9001", "name": "Plano North", "location": {"lat": 33.05, "lon": -96.75},
               "region": "north", "hours": {"opens": "07:00", "closes": "19:00"}},
    "technicians": {"name": "Ada Lovelace", "home_store_id": "store-0001",
                    "skills": ["HVAC", "electrical"]},
    "units": {"name": "VAN-9001", "home_store_id": "store-0001", "plate": "TX-900-0001"},
    "customers": {"name": "Grace Hopper", "phone": "+19725550000", "home_store_id": "store-0001",
                  "location": {"lat": 32.9, "lon": -96.8}},
}
CHANGE = {
    "stores": {"name": "Plano North (renovated)", "hours": {"opens": "06:30", "closes": "20:00"}},
    "technicians": {"skills": ["plumbing"], "phone": "+19725551234"},
    "units": {"model": "Transit 350", "home_store_id": "store-0002"},
    "customers": {"email": "grace@example.com", "location": {"lat": 33.0, "lon": -96.7}},
}
ACTIVE = {"stores": "active", "technicians": "active", "units": "in_service",
          "customers": "active"}


def items(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(f"/api/{path}", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    return body


def test_a_store_manager_sees_only_their_stores_records_and_others_do_not_exist(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        admin, manager = auth(client, "admin"), auth(client, "manager")
        for path, field in SCOPED.items():
            mine = items(client, path, manager)
            assert mine["items"], path
            assert {row[field] for row in mine["items"]} <= MANAGER_STORES, path
            everything = items(client, path, admin)
            assert everything["total"] > mine["total"], path
            foreign = next(r for r in everything["items"] if r[field] not in MANAGER_STORES)
            assert client.get(f"/api/{path}/{foreign['id']}", headers=admin).status_code == 200
            assert_problem(client.get(f"/api/{path}/{foreign['id']}", headers=manager), 404,
                           "not_found")
            own = mine["items"][0]
            assert client.get(f"/api/{path}/{own['id']}", headers=manager).json()["id"] == own["id"]
            filtered = items(client, path, manager,
                             **({} if path == "stores" else {"store_id": OTHER_STORE}))
            assert {row[field] for row in filtered["items"]} <= MANAGER_STORES, path


def test_a_store_managers_billing_records_point_only_into_their_stores(database_url: str) -> None:
    with seeded_client(database_url) as client:
        manager = auth(client, "manager")
        for invoice in items(client, "invoices", manager)["items"]:
            order = client.get(f"/api/sales-orders/{invoice['sales_order_id']}", headers=manager)
            assert order.status_code == 200
            assert order.json()["store_id"] in MANAGER_STORES
        ticket = items(client, "trip-tickets", manager)["items"][0]
        assert ticket["store_id"] in MANAGER_STORES


@pytest.mark.parametrize("path", sorted(NEW))
def test_an_administrator_creates_changes_and_deactivates_a_resource(
    database_url: str, path: str,
) -> None:
    with seeded_client(database_url) as client:
        admin = auth(client, "admin")
        created = client.post(f"/api/{path}", json=NEW[path], headers=admin)
        assert created.status_code == 201, created.text
        body = created.json()
        rid = body["id"]
        assert body[ACTIVE[path]] is True
        assert body["version"] == 1
        if "location" in NEW[path]:
            assert body["location"] == NEW[path]["location"]
        changed = client.patch(f"/api/{path}/{rid}", json=CHANGE[path], headers=admin)
        assert changed.status_code == 200, changed.text
        for key, value in CHANGE[path].items():
            assert changed.json()[key] == value, key
        assert changed.json()["version"] == 2
        deleted = client.delete(f"/api/{path}/{rid}", headers=admin)
        assert deleted.status_code == 204, deleted.text
        after = client.get(f"/api/{path}/{rid}", headers=admin).json()
        assert after[ACTIVE[path]] is False
        inactive = items(client, path, admin, active="false")["items"]
        assert rid in {row["id"] for row in inactive}
        assert rid not in {row["id"] for row in items(client, path, admin, active="true")["items"]}
        again = client.patch(f"/api/{path}/{rid}", json={ACTIVE[path]: True}, headers=admin)
        assert again.status_code == 200, again.text
        assert again.json()[ACTIVE[path]] is True


def test_technician_skills_and_unit_filters_find_what_was_stored(database_url: str) -> None:
    with seeded_client(database_url) as client:
        admin = auth(client, "admin")
        made = client.post("/api/technicians", json=NEW["technicians"], headers=admin).json()
        assert made["skills"] == ["electrical", "hvac"]
        found = items(client, "technicians", admin, skill="hvac", q="lovelace")["items"]
        assert [t["id"] for t in found] == [made["id"]]
        partial = items(client, "technicians", admin, skill="hv")["items"]
        assert made["id"] not in {t["id"] for t in partial}  # a skill matches whole, not a prefix
        unit = client.post("/api/units", json=NEW["units"], headers=admin).json()
        assert items(client, "units", admin, q="van-9001")["items"][0]["id"] == unit["id"]


@pytest.mark.parametrize(("user", "path", "allowed"), [
    ("dispatcher", "stores", False), ("manager", "technicians", False),
    ("billing", "customers", False), ("fleet", "customers", False),
    ("service", "units", False), ("operations", "stores", False),
    ("fleet", "units", True), ("service", "customers", True),
])
def test_only_administrators_and_the_matching_manager_create_resources(
    database_url: str, user: str, path: str, allowed: bool,
) -> None:
    with seeded_client(database_url) as client:
        admin, headers = auth(client, "admin"), auth(client, user)
        before = items(client, path, admin)["total"]
        response = client.post(f"/api/{path}", json=NEW[path], headers=headers)
        if allowed:
            assert response.status_code == 201, response.text
            assert items(client, path, admin)["total"] == before + 1
        else:
            assert_problem(response, 403, "forbidden")
            assert items(client, path, admin)["total"] == before


BAD = [
    ("stores", {**NEW["stores"], "location": {"lat": 200, "lon": 0}}),
    ("stores", {**NEW["stores"], "hours": {"opens": "19:00", "closes": "07:00"}}),
    ("stores", {**NEW["stores"], "hours": {"opens": "7am", "closes": "19:00"}}),
    ("stores", {**NEW["stores"], "timezone": "Mars/Olympus"}),
    ("stores", {**NEW["stores"], "name": "   "}),
    ("stores", {**NEW["stores"], "colour": "red"}),
    ("technicians", {**NEW["technicians"], "home_store_id": "store-9999"}),
    ("technicians", {**NEW["technicians"], "unit_id": "unit-9999"}),
    ("technicians", {**NEW["technicians"], "shift": {"start": "2030-01-01T17:00:00Z",
                                                     "end": "2030-01-01T08:00:00Z"}}),
    ("technicians", {**NEW["technicians"], "skills": [""]}),
    ("units", {"home_store_id": "store-0001"}),
    ("units", {**NEW["units"], "name": "x" * 65}),
    ("customers", {**NEW["customers"], "location": {"lat": "north", "lon": 1}}),
    ("customers", {**NEW["customers"], "sms_opt_in": "perhaps"}),
    ("customers", []),
]


@pytest.mark.parametrize(("path", "body"), BAD)
def test_bad_resource_input_answers_422_and_creates_nothing(
    database_url: str, path: str, body: Any,
) -> None:
    with seeded_client(database_url) as client:
        admin = auth(client, "admin")
        before = items(client, path, admin)["total"]
        assert_problem(client.post(f"/api/{path}", json=body, headers=admin), 422)
        assert items(client, path, admin)["total"] == before


def test_bad_updates_and_queries_answer_4xx_and_change_nothing(database_url: str) -> None:
    with seeded_client(database_url) as client:
        admin = auth(client, "admin")
        before = client.get("/api/stores/store-0001", headers=admin).json()
        for body in ({}, {"name": None}, {"active": None}, {"id": "store-0009"},
                     {"location": {"lat": 1}}):
            assert_problem(client.patch("/api/stores/store-0001", json=body, headers=admin), 422)
        assert_problem(client.patch("/api/stores/store-0001", json={"name": "X"}, headers={
            **admin, "If-Match": '"77"'}), 409, "stale_version")
        assert_problem(client.patch("/api/stores/store-0001", json={"code": "S0002"},
                                    headers=admin), 409, "duplicate_code")
        assert_problem(client.patch("/api/units/unit-0001", json={"home_store_id": "nope"},
                                    headers=admin), 422, "invalid_store")
        assert client.get("/api/stores/store-0001", headers=admin).json() == before
        for query in ("limit=0", "offset=-1", "active=perhaps", "status=asleep", "colour=red"):
            assert_problem(client.get(f"/api/technicians?{query}", headers=admin), 422)
        assert_problem(client.patch("/api/stores/no-such-store", json={"name": "X"},
                                    headers=admin), 404)
        assert_problem(client.delete("/api/units/no-such-unit", headers=admin), 404)


def test_billing_creates_a_sales_order_invoices_it_and_processes_the_invoice(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        billing, dispatcher = auth(client, "billing"), auth(client, "dispatcher")
        customer = items(client, "customers", billing, store_id="store-0001")["items"][0]
        order = client.post("/api/sales-orders", headers=billing, json={
            "store_id": "store-0001", "customer_id": customer["id"], "total_cents": 12500})
        assert order.status_code == 201, order.text
        assert order.json()["status"] == "open"
        invoice = client.post("/api/invoices", headers=billing, json={
            "sales_order_id": order.json()["id"], "amount_cents": 12500, "number": "INV-T-1"})
        assert invoice.status_code == 201, invoice.text
        inv = invoice.json()
        assert (inv["store_id"], inv["customer_id"], inv["processed"]) == (
            "store-0001", customer["id"], False)
        by_order = items(client, "invoices", billing, sales_order_id=order.json()["id"])
        assert [i["id"] for i in by_order["items"]] == [inv["id"]]
        by_customer = items(client, "invoices", billing, customer_id=customer["id"])
        assert inv["id"] in {i["id"] for i in by_customer["items"]}
        done = client.post(f"/api/invoices/{inv['id']}/process", headers=billing)
        assert done.status_code == 200, done.text
        assert done.json()["processed"] is True
        assert inv["id"] in {i["id"] for i in items(client, "invoices", billing,
                                                    processed="true")["items"]}
        assert_problem(client.post(f"/api/invoices/{inv['id']}/process", headers=dispatcher), 403)
        assert_problem(client.post("/api/trip-tickets", headers=billing,
                                   json={"store_id": "store-0001"}), 403)
        ticket = client.post("/api/trip-tickets", headers=dispatcher,
                             json={"store_id": "store-0001", "customer_id": customer["id"]})
        assert ticket.status_code == 201, ticket.text
        assert ticket.json()["number"].startswith("TT-")
        assert ticket.json()["dispatch_id"] is None
        unused = items(client, "trip-tickets", dispatcher, unused="true")["items"]
        assert ticket.json()["id"] in {t["id"] for t in unused}


def test_an_invoice_needs_an_open_sales_order_that_exists(database_url: str) -> None:
    with seeded_client(database_url) as client:
        billing, admin = auth(client, "billing"), auth(client, "admin")
        before = items(client, "invoices", admin)["total"]
        assert client.delete("/api/sales-orders/so-000001", headers=billing).status_code == 204
        assert client.get("/api/sales-orders/so-000001", headers=billing).json()[
            "status"] == "cancelled"
        cancelled = client.post("/api/invoices", headers=billing,
                                json={"sales_order_id": "so-000001", "amount_cents": 100})
        assert_problem(cancelled, 422, "rule_violation")
        missing = client.post("/api/invoices", headers=billing,
                              json={"sales_order_id": "so-999999", "amount_cents": 100})
        assert_problem(missing, 422, "invalid_sales_order")
        negative = client.post("/api/invoices", headers=billing,
                               json={"sales_order_id": "so-000002", "amount_cents": -1})
        assert_problem(negative, 422, "validation_failed")
        assert items(client, "invoices", admin)["total"] == before


def test_a_sales_order_needs_a_customer_and_store_that_exist(database_url: str) -> None:
    with seeded_client(database_url) as client:
        billing, admin = auth(client, "billing"), auth(client, "admin")
        before = items(client, "sales-orders", admin)["total"]
        for body, code in (({"store_id": "store-0001", "customer_id": "cust-99999"},
                            "invalid_customer"),
                           ({"store_id": "store-9999", "customer_id": "cust-00001"},
                            "invalid_store"),
                           ({"store_id": "store-0001"}, "validation_failed")):
            assert_problem(client.post("/api/sales-orders", json=body, headers=billing), 422, code)
        assert items(client, "sales-orders", admin)["total"] == before


def test_a_store_manager_creates_trip_tickets_only_for_their_own_stores(database_url: str) -> None:
    with seeded_client(database_url) as client:
        manager, admin = auth(client, "manager"), auth(client, "admin")
        before = items(client, "trip-tickets", admin)["total"]
        foreign = client.post("/api/trip-tickets", headers=manager, json={"store_id": OTHER_STORE})
        assert_problem(foreign, 422, "invalid_store")
        assert items(client, "trip-tickets", admin)["total"] == before
        own = client.post("/api/trip-tickets", headers=manager,
                          json={"store_id": "store-0002", "number": "TT-MGR-1"})
        assert own.status_code == 201, own.text
        assert own.json()["number"] == "TT-MGR-1"
        again = client.post("/api/trip-tickets", headers=manager,
                            json={"store_id": "store-0002", "number": "TT-MGR-1"})
        assert_problem(again, 409, "duplicate_number")


def test_a_retried_create_with_the_same_idempotency_key_makes_one_customer(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        service = {**auth(client, "service"), "Idempotency-Key": "new-customer-1"}
        before = items(client, "customers", service)["total"]
        first = client.post("/api/customers", json=NEW["customers"], headers=service)
        retry = client.post("/api/customers", json=NEW["customers"], headers=service)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert first.json()["id"] == retry.json()["id"]
        assert items(client, "customers", service)["total"] == before + 1
