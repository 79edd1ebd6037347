"""Comments are bounded (2,000 characters, 200 per work order) and the live event of a comment
carries that comment alone, not the order with every earlier comment."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from storage import tables as t
from storage.engine import create_engine, write_transaction
from tests.realtime.ws_helpers import connect, receive_until
from tests.web.api_helpers import assert_problem, auth, seed_small
from web.app import create_app
from web.settings import Settings

ORDER = "wo-000001"
HELD = 199  # comments the order already has: one more is allowed, then no more


def fill_comments(database_url: str) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with write_transaction(engine) as conn:
                await conn.execute(update(t.work_orders).where(t.work_orders.c.id == ORDER).values(
                    comments=[{"author": "service", "text": f"call {n}: " + "x" * 1_900,
                               "at": "2030-01-01T00:00:00+00:00"} for n in range(HELD)]))
        finally:
            await engine.dispose()
    asyncio.run(run())


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    seed_small(database_url)
    fill_comments(database_url)  # before the app's background writers start
    with TestClient(create_app(Settings(database_url=database_url)),
                    raise_server_exceptions=False) as client:
        yield client


def test_a_comment_is_at_most_2000_characters(client: TestClient) -> None:
    h = auth(client, "dispatcher")
    url = "/api/work-orders/wo-000002/comments"
    body = assert_problem(client.post(url, headers=h, json={"text": "a" * 2_001}), 422)
    assert body["errors"][0]["field"] == "text"
    assert client.post(url, headers=h, json={"text": "a" * 2_000}).status_code == 201


def test_a_work_order_takes_200_comments_then_refuses_with_a_conflict(client: TestClient) -> None:
    h = auth(client, "dispatcher")
    url = f"/api/work-orders/{ORDER}/comments"
    assert client.post(url, headers=h, json={"text": "the 200th"}).status_code == 201
    refused = assert_problem(client.post(url, headers=h, json={"text": "the 201st"}),
                             409, "too_many_comments")
    assert refused["limit"] == 200
    listed = client.get(url, headers=h, params={"limit": 1, "offset": 199}).json()
    assert listed["total"] == 200 and listed["items"][0]["text"] == "the 200th"


def test_the_comment_event_carries_the_comment_alone(client: TestClient) -> None:
    h = auth(client, "dispatcher")
    with connect(client, "dispatcher", ["board"]) as ws:
        receive_until(ws, lambda m: m["type"] == "snapshot")
        posted = client.post(f"/api/work-orders/{ORDER}/comments", headers=h,
                             json={"text": "Gate code 1234"})
        assert posted.status_code == 201, posted.text
        got = receive_until(ws, lambda m: m.get("event") == "WorkOrderCommented")[-1]
    order = client.get(f"/api/work-orders/{ORDER}", headers=h).json()
    data = got["data"]
    assert data["work_order_id"] == ORDER and data["version"] == order["version"]
    assert {k: data["comment"][k] for k in ("author", "text")} == {
        "author": "dispatcher", "text": "Gate code 1234"}
    assert "work_order" not in data and "comments" not in data
    assert len(json.dumps(got)) < 1_000  # the order's 199 earlier comments are ~400 kB
