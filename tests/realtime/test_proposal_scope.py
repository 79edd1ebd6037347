"""Proposals on the websocket only for those allowed to see them (the proposal view), within their
stores, in snapshots, replays and live events. Once a technician and a fleet manager received a
company-wide re-plan in their snapshot."""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import ExitStack
from typing import Any

from starlette.testclient import TestClient

from domain.planning import Move, Proposal
from domain.roles import Principal, Role
from domain.services.context import Context
from domain.services.planning import store_proposal
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.realtime.ws_helpers import connect, make_dispatches, receive_until
from tests.web.api_helpers import auth, seed_small
from web.app import create_app
from web.settings import Settings

AT = dt.datetime(2031, 1, 2, 9, 0, tzinfo=dt.UTC)
PLANNER = Principal(user_id="user-dispatcher", username="dispatcher",
                    roles=frozenset({Role.DISPATCHER}))


def app_client(database_url: str) -> TestClient:
    seed_small(database_url)
    return TestClient(create_app(Settings(database_url=database_url)))


def orders_of(client: TestClient, store: str) -> list[str]:
    items = client.get("/api/work-orders", params={"store_id": store, "status": "new"},
                       headers=auth(client, "operations")).json()["items"]
    assert items, store
    return [str(i["id"]) for i in items]


def propose(database_url: str, moves: dict[str, str]) -> str:
    """Store a proposal moving each work order (id -> its store) to the queue; its id."""
    async def run() -> str:
        engine = create_engine(database_url)
        try:
            proposal = Proposal(
                scope="board", unassigned=(), kpis_before={}, kpis_after={}, created_at=AT,
                created_by=PLANNER.user_id, expires_at=AT + dt.timedelta(days=3650),
                moves=tuple(Move(work_order_id=w, from_technician_id=None, to_technician_id=None,
                                 position=None, eta=None) for w in moves),
                store_ids=frozenset(moves.values()))
            stored = await store_proposal(SqlUnitOfWork(engine, actor=PLANNER),
                                          Context(principal=PLANNER, now=AT), proposal)
            return str(stored["id"])
        finally:
            await engine.dispose()
    return asyncio.run(run())


def two_proposals(client: TestClient, database_url: str) -> tuple[str, str]:
    """One within the manager's store 1, one company-wide (stores 1 and 3)."""
    one, three = orders_of(client, "store-0001")[0], orders_of(client, "store-0003")[0]
    local = propose(database_url, {one: "store-0001"})
    company = propose(database_url, {one: "store-0001", three: "store-0003"})
    return local, company


def snapshot_proposals(client: TestClient, username: str, topics: list[str]) -> set[str]:
    with connect(client, username, topics) as ws:
        snap = receive_until(ws, lambda m: m["type"] == "snapshot")[-1]
    return {p["id"] for p in snap["proposals"]}


def technician_topic(client: TestClient, username: str) -> str:
    me = client.get("/api/auth/me", headers=auth(client, username)).json()
    return f"technician:{me['technician_id']}"


def test_a_snapshot_holds_only_the_proposals_the_user_may_see(database_url: str) -> None:
    with app_client(database_url) as client:
        local, company = two_proposals(client, database_url)
        assert snapshot_proposals(client, "fleet", ["board"]) == set()
        assert snapshot_proposals(client, "service", ["board"]) == set()
        assert snapshot_proposals(client, "tech1", [technician_topic(client, "tech1")]) == set()
        assert snapshot_proposals(client, "dispatcher", ["board"]) == {local, company}
        assert snapshot_proposals(client, "manager", ["board"]) == {local}
        assert snapshot_proposals(client, "manager", ["store:store-0001"]) == {local}
        assert snapshot_proposals(client, "manager", ["store:store-0002"]) == set()


def proposals_before_marker(ws: Any) -> list[str]:
    """The proposal ids a session receives before the marker dispatch event arrives."""
    got = receive_until(ws, lambda m: m.get("event") == "DispatchCreated")
    return [m["data"]["proposal"]["id"] for m in got
            if m["type"] == "event" and m["event"].startswith("Proposal")]


def test_live_and_replayed_proposal_events_follow_the_same_rule(database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        sessions = {}
        for user in ("dispatcher", "manager", "fleet"):
            sessions[user] = stack.enter_context(connect(client, user, ["board"]))
            receive_until(sessions[user], lambda m: m["type"] == "snapshot")
        local, company = two_proposals(client, database_url)
        ticket = client.get("/api/trip-tickets", params={"store_id": "store-0001", "unused": True},
                            headers=auth(client, "operations")).json()["items"][0]["id"]
        make_dispatches(database_url, [ticket])  # the marker: everyone here sees it
        assert proposals_before_marker(sessions["fleet"]) == []
        assert proposals_before_marker(sessions["dispatcher"]) == [local, company]
        assert proposals_before_marker(sessions["manager"]) == [local]
        # reconnecting with since replays the log through the same filter
        for user, expected in (("fleet", []), ("manager", [local])):
            ws = stack.enter_context(connect(client, user, ["board"], since=0))
            assert proposals_before_marker(ws) == expected
