"""A store manager reaching into another store through a reference: a technician's track that
lists their jobs elsewhere, a dispatch with another store's van, a work order with another store's
customer. Each is an attack that worked once; another store's record must not exist for them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.roles import Role
from domain.users import User
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.web.api_helpers import assert_problem, auth, seed_small
from web.app import create_app
from web.security import hash_password
from web.settings import Settings

MINE, THEIRS = "store-0001", "store-0003"  # the demo manager has stores 1 and 2


def add_store_dispatcher(database_url: str) -> None:
    """``local``: a dispatcher limited to stores 1 and 2 (work order edits need a dispatcher)."""
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with SqlUnitOfWork(engine) as uow:
                uow.users.add(User(username="local", password_hash=hash_password("demo"),
                                   roles=frozenset({Role.DISPATCHER}),
                                   store_ids=frozenset({"store-0001", "store-0002"})))
                await uow.commit()
        finally:
            await engine.dispose()
    asyncio.run(run())


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    seed_small(database_url)
    add_store_dispatcher(database_url)
    with TestClient(create_app(Settings(database_url=database_url)),
                    raise_server_exceptions=False) as client:
        yield client


def first(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    items = client.get(path, params=params, headers=auth(client, "operations")).json()["items"]
    assert items, (path, params)
    return dict(items[0])


def test_a_technicians_track_lists_only_the_callers_stores_jobs(client: TestClient) -> None:
    ops, manager = auth(client, "operations"), auth(client, "manager")
    tech = first(client, "/api/technicians", store_id=MINE)["id"]
    elsewhere = first(client, "/api/work-orders", store_id=THEIRS, status="new")["id"]
    assigned = client.post(f"/api/work-orders/{elsewhere}/assign", headers=ops,
                           json={"technician_id": tech, "allow_missing_skills": True})
    assert assigned.status_code == 200, assigned.text
    assert_problem(client.get(f"/api/work-orders/{elsewhere}", headers=manager), 404)

    everyone = client.get(f"/api/technicians/{tech}/track", headers=ops).json()
    assert elsewhere in {s["work_order_id"] for s in everyone["route"]}
    answer = client.get(f"/api/technicians/{tech}/track", headers=manager)
    assert answer.status_code == 200, answer.text
    route = answer.json()["route"]
    assert elsewhere not in {s["work_order_id"] for s in route}
    assert elsewhere not in answer.text
    stores = {client.get(f"/api/work-orders/{s['work_order_id']}", headers=ops).json()["store_id"]
              for s in route}
    assert stores <= {"store-0001", "store-0002"}


def test_a_dispatch_cannot_be_created_or_moved_onto_another_stores_unit(
        client: TestClient) -> None:
    manager = auth(client, "manager")
    van = first(client, "/api/units", store_id=THEIRS)
    ticket = first(client, "/api/trip-tickets", store_id=MINE, unused=True)["id"]
    when = "2031-03-04T09:00:00+00:00"
    created = client.post("/api/dispatch", headers=manager, json={
        "trip_ticket_id": ticket, "datetime": when, "unit": van["id"]})
    assert_problem(created, 422, "invalid_unit")
    assert van["name"] not in created.text

    own_van = first(client, "/api/units", store_id=MINE)["id"]
    ok = client.post("/api/dispatch", headers=manager, json={
        "trip_ticket_id": ticket, "datetime": when, "unit": own_van})
    assert ok.status_code == 201, ok.text
    moved = client.patch(f"/api/dispatch/{ok.json()['id']}", headers=manager,
                         json={"unit": van["id"]})
    assert_problem(moved, 422, "invalid_unit")
    assert van["name"] not in moved.text
    kept = client.get(f"/api/dispatch/{ok.json()['id']}", headers=manager).json()
    assert kept["unit"] == own_van and kept["version"] == ok.json()["version"]


def test_a_work_order_cannot_name_another_stores_customer(client: TestClient) -> None:
    manager = auth(client, "manager")
    theirs = first(client, "/api/customers", store_id=THEIRS)
    mine = first(client, "/api/customers", store_id=MINE)
    order = {"store_id": MINE, "priority": "normal", "location": {"lat": 32.78, "lon": -96.8},
             "description": "Leaking valve"}
    created = client.post("/api/work-orders", headers=manager,
                          json={**order, "customer_id": theirs["id"]})
    assert_problem(created, 422, "invalid_customer")
    assert theirs["name"] not in created.text

    ok = client.post("/api/work-orders", headers=manager, json={**order, "customer_id": mine["id"]})
    assert ok.status_code == 201, ok.text
    local = auth(client, "local")  # a store-scoped dispatcher may edit work orders
    patched = client.patch(f"/api/work-orders/{ok.json()['id']}", headers=local,
                           json={"customer_id": theirs["id"]})
    assert_problem(patched, 422, "invalid_customer")
    kept = client.get(f"/api/work-orders/{ok.json()['id']}", headers=manager).json()
    assert kept["customer_id"] == mine["id"] and kept["version"] == ok.json()["version"]
    # an unscoped dispatcher may still book any store's customer
    dispatcher = auth(client, "dispatcher")
    assert client.patch(f"/api/work-orders/{ok.json()['id']}", headers=dispatcher,
                        json={"customer_id": theirs["id"]}).status_code == 200
