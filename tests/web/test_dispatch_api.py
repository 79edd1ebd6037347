"""The dispatch module's seven endpoints, as the dispatcher, manager and billing clerk use them."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.testclient import TestClient

from storage import tables as t
from storage.engine import create_engine
from tests.conftest import free_port
from tests.web.api_helpers import assert_problem, auth, seed_small, seeded_client
from web.app import create_app
from web.settings import Settings

LATER = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).replace(microsecond=0)


def free_ticket(client: TestClient, headers: dict[str, str]) -> str:
    """Odd-numbered demo trip tickets have no dispatch yet."""
    used = {d["trip_ticket_id"] for d in client.get("/api/dispatch?limit=500",
                                                     headers=headers).json()["items"]}
    for n in range(1, 200, 2):
        ticket = f"tt-{n:06d}"
        if ticket not in used:
            return ticket
    raise AssertionError("no free trip ticket")


def new_dispatch(client: TestClient, headers: dict[str, str], **extra: Any) -> Any:
    body = {"trip_ticket_id": free_ticket(client, headers), "datetime": LATER.isoformat(),
            "unit": "unit-0001", **extra}
    return client.post("/api/dispatch", json=body, headers=headers)


def test_a_dispatcher_creates_a_dispatch_that_shows_as_pending_until_invoiced(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "dispatcher")
        created = new_dispatch(client, h)
        assert created.status_code == 201, created.text
        d = created.json()
        assert d["dispatch_id"] == d["id"]
        assert d["display_status"] == "pending"
        assert d["created_by"] == "user-dispatcher"
        assert d["trip_ticket"]["id"] == d["trip_ticket_id"]
        assert d["invoices"] == []
        so = client.get(f"/api/dispatch/{d['id']}", headers=h).json()
        assert so["unit"] == "unit-0001"
        added = client.post(f"/api/dispatch/{d['id']}/invoices", headers=h,
                            json={"sales_order_id": "so-000001", "amount_cents": 4200})
        assert added.status_code == 201, added.text
        detail = client.get(f"/api/dispatch/{d['id']}", headers=h).json()
        assert detail["invoice_count"] == 1
        assert detail["display_status"] == "draft"


def test_the_same_unit_at_the_same_datetime_is_refused_with_a_conflict(database_url: str) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "dispatcher")
        assert new_dispatch(client, h).status_code == 201
        assert_problem(new_dispatch(client, h), 409, "unit_double_booked")


def test_a_reused_trip_ticket_and_a_past_datetime_are_refused(database_url: str) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "dispatcher")
        first = new_dispatch(client, h).json()
        again = client.post("/api/dispatch", headers=h, json={
            "trip_ticket_id": first["trip_ticket_id"], "unit": "unit-0002",
            "datetime": LATER.isoformat()})
        assert_problem(again, 409, "trip_ticket_in_use")
        past = client.post("/api/dispatch", headers=h, json={
            "trip_ticket_id": free_ticket(client, h), "unit": "unit-0002",
            "datetime": "2020-01-01T00:00:00+00:00"})
        assert "past" in assert_problem(past, 422)["detail"]


@pytest.mark.parametrize("body", [
    {"datetime": LATER.isoformat(), "unit": "unit-0001"},
    {"trip_ticket_id": "tt-000001", "datetime": "2030-01-01T10:00:00", "unit": "unit-0001"},
    {"trip_ticket_id": "tt-000001", "datetime": "tomorrow", "unit": "unit-0001"},
    {"trip_ticket_id": "", "datetime": LATER.isoformat(), "unit": "unit-0001"},
    {"trip_ticket_id": "tt-000001", "datetime": LATER.isoformat(), "unit": "unit-0001",
     "created_by": "someone"},
    {"trip_ticket_id": "tt-nope", "datetime": LATER.isoformat(), "unit": "unit-0001"},
    {"trip_ticket_id": "tt-000001", "datetime": LATER.isoformat(), "unit": "unit-nope"},
])
def test_bad_create_requests_answer_422_and_create_nothing(database_url: str,
                                                          body: dict[str, Any]) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "dispatcher")
        before = client.get("/api/dispatch", headers=h).json()["total"]
        assert_problem(client.post("/api/dispatch", json=body, headers=h), 422)
        assert client.get("/api/dispatch", headers=h).json()["total"] == before


def test_only_datetime_and_unit_can_be_patched_and_stale_versions_conflict(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "dispatcher")
        d = new_dispatch(client, h).json()
        refused = client.patch(f"/api/dispatch/{d['id']}", headers=h,
                               json={"created_by": "me", "unit": "unit-0002"})
        body = assert_problem(refused, 422)
        assert body["errors"][0]["field"] == "created_by"
        moved = LATER + dt.timedelta(hours=3)
        ok = client.patch(f"/api/dispatch/{d['id']}", headers={**h, "If-Match": '"1"'},
                          json={"datetime": moved.isoformat(), "unit": "unit-0002"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["unit"] == "unit-0002"
        assert dt.datetime.fromisoformat(ok.json()["datetime"]) == moved
        stale = client.patch(f"/api/dispatch/{d['id']}", headers={**h, "If-Match": '"1"'},
                             json={"unit": "unit-0003"})
        assert assert_problem(stale, 409, "stale_version")["current_version"] == 2


def test_the_list_filters_by_unit_date_customer_and_creator_with_paging(database_url: str) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "operations")
        everything = client.get("/api/dispatch?limit=500", headers=h).json()
        assert everything["total"] == len(everything["items"]) > 0
        unit = everything["items"][0]["unit"]
        by_unit = client.get(f"/api/dispatch?unit={unit}", headers=h).json()
        assert by_unit["items"] and all(i["unit"] == unit for i in by_unit["items"])
        first_two = client.get("/api/dispatch?limit=2&sort=-datetime", headers=h).json()
        next_two = client.get("/api/dispatch?limit=2&offset=2&sort=-datetime", headers=h).json()
        assert len(first_two["items"]) == 2
        assert first_two["items"][1]["datetime"] >= next_two["items"][0]["datetime"]
        nobody = client.get("/api/dispatch?created_by=user-dispatcher", headers=h).json()
        assert nobody["total"] == 0
        far = client.get("/api/dispatch?date_from=2099-01-01T00:00:00Z", headers=h).json()
        assert far["total"] == 0
        detail = client.get(f"/api/dispatch/{everything['items'][0]['id']}", headers=h).json()
        if detail["invoices"]:
            customer = detail["invoices"][0]["customer_id"]
            by_customer = client.get(f"/api/dispatch?customer_id={customer}", headers=h).json()
            assert detail["id"] in {i["id"] for i in by_customer["items"]}
        assert_problem(client.get("/api/dispatch?limit=0", headers=h), 422)
        assert_problem(client.get("/api/dispatch?sort=evil", headers=h), 422)
        assert_problem(client.get("/api/dispatch?date_from=yesterday", headers=h), 422)


def test_billing_views_and_adds_invoices_but_cannot_create_edit_or_delete(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        d = new_dispatch(client, auth(client, "dispatcher")).json()
        b = auth(client, "billing")
        assert client.get(f"/api/dispatch/{d['id']}", headers=b).status_code == 200
        assert_problem(new_dispatch(client, b), 403)
        assert_problem(client.patch(f"/api/dispatch/{d['id']}", headers=b,
                                    json={"unit": "unit-0002"}), 403)
        assert_problem(client.delete(f"/api/dispatch/{d['id']}", headers=b), 403)
        added = client.post(f"/api/dispatch/{d['id']}/invoices", headers=b,
                            json={"sales_order_id": "so-000003", "amount_cents": 100})
        assert added.status_code == 201, added.text


def test_a_dispatcher_deletes_only_their_own_pending_dispatch_a_manager_any(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        disp = auth(client, "dispatcher")
        ops = auth(client, "operations")
        mine = new_dispatch(client, disp).json()
        theirs = new_dispatch(client, ops, unit="unit-0002").json()
        assert_problem(client.delete(f"/api/dispatch/{theirs['id']}", headers=disp), 403)
        assert client.delete(f"/api/dispatch/{mine['id']}", headers=disp).status_code == 204
        assert_problem(client.get(f"/api/dispatch/{mine['id']}", headers=disp), 404)
        assert client.delete(f"/api/dispatch/{theirs['id']}", headers=ops).status_code == 204


def test_an_invoice_links_to_one_dispatch_and_a_processed_one_blocks_deletion(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "operations")
        one = new_dispatch(client, h).json()
        two = new_dispatch(client, h, unit="unit-0002").json()
        inv = client.post(f"/api/dispatch/{one['id']}/invoices", headers=h,
                          json={"sales_order_id": "so-000005", "amount_cents": 900}).json()
        assert_problem(client.post(f"/api/dispatch/{two['id']}/invoices", headers=h,
                                   json={"invoice_id": inv["id"]}), 409, "invoice_already_linked")
        removed = client.delete(f"/api/dispatch/{one['id']}/invoices/{inv['id']}", headers=h)
        assert removed.status_code == 204
        assert client.post(f"/api/dispatch/{two['id']}/invoices", headers=h,
                           json={"invoice_id": inv["id"]}).status_code == 201
        assert_problem(client.post(f"/api/dispatch/{two['id']}/invoices", headers=h,
                                   json={"sales_order_id": "so-nope", "amount_cents": 1}), 422)


def test_a_store_manager_never_sees_another_stores_dispatch(database_url: str) -> None:
    with seeded_client(database_url) as client:
        ops = auth(client, "operations")
        every = client.get("/api/dispatch?limit=500", headers=ops).json()["items"]
        outside = [d for d in every if d["store_id"] not in {"store-0001", "store-0002"}]
        assert outside
        m = auth(client, "manager")
        listed = client.get("/api/dispatch?limit=500", headers=m).json()["items"]
        assert all(d["store_id"] in {"store-0001", "store-0002"} for d in listed)
        assert_problem(client.get(f"/api/dispatch/{outside[0]['id']}", headers=m), 404)
        assert_problem(client.patch(f"/api/dispatch/{outside[0]['id']}", headers=m,
                                    json={"unit": "unit-0001"}), 404)


def test_the_lifecycle_needs_an_invoice_before_completion(database_url: str) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "dispatcher")
        d = new_dispatch(client, h).json()
        for status in ("scheduled", "dispatched"):
            r = client.post(f"/api/dispatch/{d['id']}/status", headers=h, json={"status": status})
            assert r.status_code == 200, r.text
        assert_problem(client.post(f"/api/dispatch/{d['id']}/status", headers=h,
                                   json={"status": "completed"}), 422)
        assert_problem(client.post(f"/api/dispatch/{d['id']}/status", headers=h,
                                   json={"status": "draft"}), 409, "invalid_transition")


def test_concurrent_retries_with_one_idempotency_key_create_one_dispatch(
    database_url: str,
) -> None:
    seed_small(database_url)
    port = free_port()
    config = uvicorn.Config(create_app(Settings(database_url=database_url)), host="127.0.0.1",
                            port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    async def scenario() -> list[httpx.Response]:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(100):
                if server.started:
                    break
                await asyncio.sleep(0.05)
            login = await http.post("/api/auth/login",
                                    json={"username": "dispatcher", "password": "demo"})
            h = {"Authorization": f"Bearer {login.json()['access_token']}",
                 "Idempotency-Key": "create-dispatch-42"}
            body = {"trip_ticket_id": "tt-000001", "datetime": LATER.isoformat(),
                    "unit": "unit-0003"}
            return list(await asyncio.gather(*(http.post("/api/dispatch", json=body, headers=h)
                                               for _ in range(8))))

    try:
        responses = asyncio.run(scenario())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1

    async def count() -> int:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(
                    select(func.count()).select_from(t.dispatches)
                    .where(t.dispatches.c.trip_ticket_id == "tt-000001"))).scalar() or 0)
        finally:
            await engine.dispose()

    assert asyncio.run(count()) == 1
