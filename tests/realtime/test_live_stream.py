"""The websocket protocol end to end, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack

from starlette.testclient import TestClient

from tests.realtime.ws_helpers import FUTURE, close_code, connect, make_dispatches, receive_until
from tests.web.api_helpers import auth, seed_small, token
from web.app import create_app
from web.settings import Settings

ODD_TICKETS = [f"tt-{n:06d}" for n in range(1, 210, 2)]


def app_client(database_url: str, **settings: object) -> TestClient:
    seed_small(database_url, orders=420)  # 210 trip tickets, the odd ones still free
    return TestClient(create_app(Settings(database_url=database_url, **settings)))  # type: ignore[arg-type]


def is_event(m: dict[str, object]) -> bool:
    return m["type"] == "event"


def test_a_dispatcher_gets_a_snapshot_then_live_events_in_order(database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        ws = stack.enter_context(connect(client, "dispatcher", ["board"]))
        first = receive_until(ws, lambda m: m["type"] == "snapshot")
        snapshot = first[-1]
        assert {"technicians", "work_orders", "stores", "proposals", "alerts"} <= set(snapshot)
        assert len(snapshot["technicians"]) == 6
        assert all(w["status"] not in {"completed", "cancelled"} for w in snapshot["work_orders"])
        h = auth(client, "dispatcher")
        for n, ticket in enumerate(ODD_TICKETS[:3]):
            response = client.post(
                "/api/dispatch",
                headers=h,
                json={
                    "trip_ticket_id": ticket,
                    "unit": "unit-0002",
                    "datetime": (FUTURE + dt.timedelta(hours=n)).isoformat(),
                },
            )
            assert response.status_code == 201
        events = [m for m in receive_until(ws, lambda m: is_event(m) and m["seq"] >= 3) if is_event(m)]
        assert [e["seq"] for e in events] == [1, 2, 3]
        assert {e["event"] for e in events} == {"DispatchCreated"}
        assert events[0]["data"]["unit"] == "unit-0002"


def test_reconnecting_with_since_replays_exactly_the_missed_events(database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        ws = stack.enter_context(connect(client, "operations", ["board"]))
        receive_until(ws, lambda m: m["type"] == "snapshot")
        make_dispatches(database_url, ODD_TICKETS[:2])
        seen = receive_until(ws, lambda m: is_event(m) and m["seq"] == 2)
        last = max(m["seq"] for m in seen if is_event(m))
        make_dispatches(database_url, ODD_TICKETS[2:102], unit="unit-0003")  # 100 while away
        ws = stack.enter_context(connect(client, "operations", ["board"], since=last))
        replay = [
            m
            for m in receive_until(ws, lambda m: is_event(m) and m["seq"] == 102)
            if m["type"] in {"event", "snapshot"}
        ]
        assert [m["seq"] for m in replay] == list(range(3, 103))
        ws.send_json({"type": "ping"})
        assert receive_until(ws, lambda m: m["type"] == "pong")


def test_a_since_older_than_the_log_gets_a_fresh_snapshot(database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        make_dispatches(database_url, ODD_TICKETS[:3])
        ws = stack.enter_context(connect(client, "operations", ["board"]))
        receive_until(ws, lambda m: m["type"] == "snapshot")
        # a since from the future (another server's log) is not trusted either
        ws = stack.enter_context(connect(client, "operations", ["board"], since=10_000))
        got = receive_until(ws, lambda m: m["type"] in {"snapshot", "event"})
        assert got[-1]["type"] == "snapshot"


def test_a_store_manager_never_receives_another_stores_event(database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        manager = stack.enter_context(connect(client, "manager", ["board"]))
        snap = receive_until(manager, lambda m: m["type"] == "snapshot")[-1]
        assert {s["id"] for s in snap["stores"]} == {"store-0001", "store-0002"}
        assert all(w["store_id"] in {"store-0001", "store-0002"} for w in snap["work_orders"])
        ops = stack.enter_context(connect(client, "operations", ["board"]))
        receive_until(ops, lambda m: m["type"] == "snapshot")
        # trip tickets of store-0003/4 first, then one of store-0001 (tt n -> store by seed)
        h = auth(client, "operations")
        tickets = client.get("/api/dispatch?limit=500", headers=h).json()
        assert tickets  # the seed has dispatches
        outside, inside = _tickets_by_store(client, h)
        make_dispatches(database_url, [outside, inside])
        ops_events = [m for m in receive_until(ops, lambda m: is_event(m) and m["seq"] == 2) if is_event(m)]
        assert len(ops_events) == 2
        got = receive_until(manager, is_event)
        assert got[-1]["seq"] == 2 and got[-1]["data"]["store_id"] == "store-0001"


def _tickets_by_store(client: TestClient, h: dict[str, str]) -> tuple[str, str]:
    used = {d["trip_ticket_id"] for d in client.get("/api/dispatch?limit=500", headers=h).json()["items"]}
    outside = inside = None
    for n in range(1, 200):
        ticket = f"tt-{n:06d}"
        if ticket in used:
            continue
        detail = client.get(f"/api/trip-tickets/{ticket}", headers=h)
        store = detail.json().get("store_id") if detail.status_code == 200 else None
        if store is None:
            continue
        if store in {"store-0001"} and inside is None:
            inside = ticket
        elif store not in {"store-0001", "store-0002"} and outside is None:
            outside = ticket
        if inside and outside:
            return outside, inside
    raise AssertionError("no suitable trip tickets")


def test_topics_outside_the_scope_are_refused_and_bad_messages_answered(
    database_url: str,
) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        ws = stack.enter_context(connect(client, "manager", ["store:store-0003", "store:store-0001"]))
        got = receive_until(ws, lambda m: m["type"] == "snapshot")
        errors = [m for m in got if m["type"] == "error"]
        assert errors[0]["code"] == "forbidden_topic"
        assert next(m for m in got if m["type"] == "subscribed")["topics"] == ["store:store-0001"]
        ws.send_text("not json")
        assert receive_until(ws, lambda m: m["type"] == "error")[-1]["code"] == "bad_json"
        ws.send_json({"type": "teleport"})
        assert receive_until(ws, lambda m: m["type"] == "error")[-1]["code"] == "unknown_type"
        ws.send_json({"type": "subscribe", "topics": ["nonsense:"], "since": None})
        assert receive_until(ws, lambda m: m["type"] == "error")[-1]["code"] == "bad_topic"
        ws.send_json({"type": "bounds", "south": "x"})
        assert receive_until(ws, lambda m: m["type"] == "error")[-1]["code"] == "bad_message"
        ws.send_json({"type": "ping"})
        assert receive_until(ws, lambda m: m["type"] == "pong")


def test_a_technician_cannot_watch_the_board_or_another_technician(database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        ws = stack.enter_context(
            connect(client, "tech1", ["board", "technician:tech-0002", "technician:tech-0001"])
        )
        got = receive_until(ws, lambda m: m["type"] == "snapshot")
        assert sum(1 for m in got if m.get("code") == "forbidden_topic") == 2
        snap = got[-1]
        assert [t["id"] for t in snap["technicians"]] == ["tech-0001"]
        assert all(w["technician_id"] == "tech-0001" for w in snap["work_orders"])
        assert snap["stores"] == []


def test_the_first_message_must_be_a_valid_auth(database_url: str) -> None:
    with app_client(database_url, ws_auth_timeout=0.3) as client, ExitStack() as stack:
        ws = stack.enter_context(client.websocket_connect("/ws"))
        ws.send_json({"type": "subscribe", "topics": ["board"]})
        assert close_code(ws) == 4003
        ws = stack.enter_context(client.websocket_connect("/ws"))
        ws.send_json({"type": "auth", "token": "forged.token.value"})
        assert close_code(ws) == 4003
        ws = stack.enter_context(client.websocket_connect("/ws"))
        assert close_code(ws) == 4001  # said nothing within the timeout
        good = token(client, "dispatcher")  # log in first: the socket waits only 0.3 s here
        ws = stack.enter_context(client.websocket_connect("/ws"))
        ws.send_json({"type": "auth", "token": good})
        assert ws.receive_json()["type"] == "ready"
        ws.send_text("x" * 70_000)
        assert close_code(ws) == 1009


def test_a_store_manager_never_receives_another_stores_position(database_url: str) -> None:
    import datetime as dt

    from domain.positions import PositionFix

    with app_client(database_url) as client, ExitStack() as stack:
        manager = stack.enter_context(connect(client, "manager", ["board"]))
        receive_until(manager, lambda m: m["type"] == "snapshot")
        ops = stack.enter_context(connect(client, "operations", ["board"]))
        receive_until(ops, lambda m: m["type"] == "snapshot")
        now = dt.datetime.now(dt.UTC)
        # seeded vans b1..b6 belong to technicians of store-0001..store-0004 in turn
        fixes = [PositionFix(unit_id=f"b{n}", lat=32.7 + n / 100, lon=-96.8, speed_kmh=30.0,
                             bearing=None, device_time=now, record_id=f"r{n}")
                 for n in range(1, 7)]
        pipeline = client.app.state.runtime.live.positions  # type: ignore[attr-defined]
        assert client.portal.call(pipeline.ingest, fixes) == 6  # type: ignore[union-attr]
        client.portal.call(pipeline.flush)  # type: ignore[union-attr]
        everyone = receive_until(ops, lambda m: m["type"] == "positions")[-1]["items"]
        assert {i["store_id"] for i in everyone} == {"store-0001", "store-0002", "store-0003",
                                                     "store-0004"}
        mine = receive_until(manager, lambda m: m["type"] == "positions")[-1]["items"]
        assert mine and {i["store_id"] for i in mine} <= {"store-0001", "store-0002"}
        assert len(mine) == sum(1 for i in everyone if i["store_id"] in {"store-0001",
                                                                          "store-0002"})


def test_a_technician_receives_their_own_assignment_and_not_anothers(database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        tech = stack.enter_context(connect(client, "tech1", ["technician:tech-0001"]))
        receive_until(tech, lambda m: m["type"] == "snapshot")
        h = auth(client, "dispatcher")
        ids = []
        for store, who in (("store-0002", "tech-0002"), ("store-0001", "tech-0001")):
            created = client.post("/api/work-orders", headers=h, json={
                "store_id": store, "priority": "high", "description": "Breaker trips",
                "location": {"lat": 32.78, "lon": -96.8}})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
            assigned = client.post(f"/api/work-orders/{ids[-1]}/assign", headers=h,
                                   json={"technician_id": who})
            assert assigned.status_code == 200, assigned.text
        got = receive_until(tech, lambda m: is_event(m) and m["event"] == "WorkOrderAssigned")
        events = [m for m in got if is_event(m)]
        assert [e["data"]["work_order"]["id"] for e in events] == [ids[1]]
        assert events[0]["data"]["work_order"]["technician_id"] == "tech-0001"


def test_a_technician_created_reaches_the_board_and_a_store_manager_of_another_store_not(
        database_url: str) -> None:
    """Creation records its event like every change: the boards learn of a new technician (and
    draw them) without reloading; the record goes only where its store is seen."""
    with app_client(database_url) as client, ExitStack() as stack:
        board = stack.enter_context(connect(client, "dispatcher", ["board"]))
        receive_until(board, lambda m: m["type"] == "snapshot")
        created = client.post("/api/technicians", headers=auth(client, "admin"), json={
            "name": "Ada Lovelace", "home_store_id": "store-0003", "skills": ["hvac"]})
        assert created.status_code == 201, created.text
        [event] = [m for m in receive_until(board, is_event) if is_event(m)]
        assert (event["event"], event["seq"]) == ("TechnicianCreated", 1)
        assert event["data"]["technician"] == created.json()
        manager = stack.enter_context(connect(client, "manager", ["board"], since=0))
        ticket = client.post("/api/trip-tickets", headers=auth(client, "dispatcher"),
                             json={"store_id": "store-0001"})
        assert ticket.status_code == 201, ticket.text
        seen = [m for m in receive_until(manager, lambda m: is_event(m) and m["seq"] >= 2)
                if is_event(m)]
        assert [(e["event"], e["seq"]) for e in seen] == [("TripTicketCreated", 2)]
