"""Alerts on the live stream: an emergency order raises an alert a subscriber receives within a
second or two, acknowledgements reach everyone, and a store manager never gets another store's."""

from __future__ import annotations

import datetime as dt
import time
from contextlib import ExitStack
from typing import Any

from starlette.testclient import TestClient

from domain.roles import Principal, Role
from realtime.events import LogEvent
from realtime.scope import event_matches
from tests.realtime.ws_helpers import connect, receive_until
from tests.web.api_helpers import auth, seed_small
from web.app import create_app
from web.settings import Settings

MINE, OTHER = "store-0001", "store-0003"


def app_client(database_url: str) -> TestClient:
    seed_small(database_url)
    # A long tick: only the event-driven wake-up can raise the alert within the test's bound.
    return TestClient(create_app(Settings(database_url=database_url,
                                          alerts_interval_seconds=300)))


def emergency(client: TestClient, store_id: str, priority: str = "emergency") -> str:
    response = client.post("/api/work-orders", headers=auth(client, "dispatcher"), json={
        "store_id": store_id, "priority": priority, "location": {"lat": 32.78, "lon": -96.8},
        "description": "Gas smell in the basement"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def alert_event(name: str, work_order_id: str) -> Any:
    def match(m: dict[str, Any]) -> bool:
        return (m["type"] == "event" and m["event"] == name
                and m["data"]["alert"]["work_order_id"] == work_order_id)
    return match


def test_an_emergency_order_raises_an_alert_a_subscriber_receives_at_once(
        database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        ws = stack.enter_context(connect(client, "dispatcher", ["alerts"]))
        snapshot = receive_until(ws, lambda m: m["type"] == "snapshot")[-1]
        assert snapshot["alerts"] == []  # no pass has run yet
        started = time.monotonic()
        order_id = emergency(client, MINE)
        seen = receive_until(ws, alert_event("AlertRaised", order_id))
        assert time.monotonic() - started < 5
        alert = seen[-1]["data"]["alert"]
        assert alert["kind"] == "emergency_order" and alert["severity"] == "critical"
        assert alert["status"] == "open" and alert["escalation_level"] == 1
        # only alert events on the alerts topic (the work order itself is not an alert)
        assert all(m["event"].startswith("Alert") for m in seen if m["type"] == "event")
        other = stack.enter_context(connect(client, "operations", ["board"]))
        snap = receive_until(other, lambda m: m["type"] == "snapshot")[-1]
        assert alert["id"] in {a["id"] for a in snap["alerts"]}
        response = client.post(f"/api/alerts/{alert['id']}/acknowledge",
                               headers=auth(client, "operations"), json={})
        assert response.status_code == 200, response.text
        for socket in (ws, other):
            acked = receive_until(socket, alert_event("AlertAcknowledged", order_id))[-1]
            assert acked["data"]["alert"]["status"] == "acknowledged"


def test_a_store_manager_never_receives_another_stores_alert(database_url: str) -> None:
    with app_client(database_url) as client, ExitStack() as stack:
        manager = stack.enter_context(connect(client, "manager", ["board", "alerts"]))
        receive_until(manager, lambda m: m["type"] == "snapshot")
        everyone = stack.enter_context(connect(client, "dispatcher", ["board", "alerts"]))
        receive_until(everyone, lambda m: m["type"] == "snapshot")
        theirs = emergency(client, OTHER)
        mine = emergency(client, MINE)
        receive_until(everyone, alert_event("AlertRaised", theirs))
        receive_until(everyone, alert_event("AlertRaised", mine))
        marker = emergency(client, MINE, priority="low")  # a later event the manager may see
        got = receive_until(manager, lambda m: m["type"] == "event"
                            and m["data"].get("work_order", {}).get("id") == marker)
        alerts = [m["data"]["alert"] for m in got if m["type"] == "event" and "alert" in m["data"]]
        assert mine in {a["work_order_id"] for a in alerts}
        assert {a["store_id"] for a in alerts} <= {MINE, "store-0002"}
        assert theirs not in {a["work_order_id"] for a in alerts}
        fresh = stack.enter_context(connect(client, "manager", ["alerts"]))
        snapshot = receive_until(fresh, lambda m: m["type"] == "snapshot")[-1]
        assert snapshot["alerts"]
        assert {a["store_id"] for a in snapshot["alerts"]} <= {MINE, "store-0002"}


def _event(store_id: str | None, technician_id: str | None = None) -> LogEvent:
    return LogEvent(seq=1, name="AlertRaised", at=dt.datetime.now(dt.UTC), aggregate_type="alert",
                    aggregate_id="a-1", store_id=store_id, technician_id=technician_id,
                    data={"alert": {}})


def test_alert_events_follow_store_scope_view_permission_and_system_rule() -> None:
    admin = Principal("u1", "admin", frozenset({Role.ADMIN}))
    dispatcher = Principal("u2", "dispatcher", frozenset({Role.DISPATCHER}))
    manager = Principal("u3", "manager", frozenset({Role.STORE_MANAGER}),
                        store_ids=frozenset({MINE}))
    tech = Principal("u4", "tech1", frozenset({Role.TECHNICIAN}), technician_id="tech-1")
    board = frozenset({"board"})
    alerts = frozenset({"alerts"})
    assert event_matches(manager, alerts, _event(MINE))
    assert not event_matches(manager, board | alerts, _event(OTHER))
    assert not event_matches(manager, alerts, _event(None))
    assert event_matches(admin, alerts, _event(None))
    assert not event_matches(dispatcher, board | alerts, _event(None))
    assert event_matches(dispatcher, alerts, _event(OTHER))
    assert not event_matches(tech, frozenset({"technician:tech-1"}), _event(MINE, "tech-1"))
    assert event_matches(manager, frozenset({f"store:{MINE}"}), _event(MINE))
