"""/metrics in the Prometheus text format after real traffic through the app: requests, a
websocket session with a snapshot and a replay, work orders whose events flow, the GeoTab feed,
a failing partner feed, a plan, alerts raised, escalated and acknowledged, texts sent, and the
supervisor's workers. Off unless enabled."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from realtime.geotab import Fleet, GeotabSimulator, WallClock
from tests.realtime.ws_helpers import connect, receive_until
from tests.web.api_helpers import auth, seeded_client
from tests.web.test_health import NO_DATABASE, closed_port
from tests.web.test_intake_api import served_in_thread
from web.app import create_app
from web.settings import Settings

#: Every family the issue asks for, as a sample line (or HELP line) that must be there.
EXPECTED = (
    'dispatch_http_request_duration_seconds_count{method="POST",route="/api/work-orders",'
    'status="201"}',
    'dispatch_http_request_duration_seconds_count{method="GET",route="/api/alerts",'
    'status="200"}',
    "dispatch_websocket_sessions ",
    "dispatch_websocket_queued_messages ",
    "dispatch_websocket_queue_depth_max ",
    'dispatch_events_published_total{event="WorkOrderCreated"}',
    "dispatch_events_delivered_total ",
    "dispatch_event_fanout_delay_seconds_count ",
    "dispatch_websocket_snapshots_total ",
    "dispatch_websocket_replays_total ",
    "dispatch_websocket_replayed_events_total ",
    'dispatch_feed_position_lag_seconds{feed="geotab"}',
    'dispatch_feed_errors_total{feed="intake:partner",kind="other"}',
    'dispatch_feed_backoffs_total{feed="intake:partner"}',
    "dispatch_solver_runs_total{status=",
    "dispatch_solver_duration_seconds_count ",
    'dispatch_alerts_total{action="raised"}',
    'dispatch_alerts_total{action="escalated"}',
    'dispatch_alerts_total{action="acknowledged"}',
    'dispatch_sms_total{outcome="sent"}',
    'dispatch_worker_runs_total{outcome="ok",worker="relay"}',
    'dispatch_worker_runs_total{outcome="ok",worker="retention"}',
    'dispatch_worker_step_seconds_count{worker="alerts"}',
    'dispatch_worker_state{state="running",worker="feed:geotab"} 1.0',
    'dispatch_worker_last_success_timestamp_seconds{worker="alert-delivery"}',
    "# HELP dispatch_worker_restarts_total ",
)


def value(text: str, prefix: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


def until(check: Callable[[], Any], what: str, tries: int = 300) -> Any:
    for _ in range(tries):  # bounded
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def test_metrics_show_every_family_after_real_traffic(database_url: str) -> None:
    fleet = Fleet(vans=3, seed=2, clock=WallClock(), center=(32.8, -96.9), radius_km=10)
    for device in list(fleet.vans):
        fleet.resume(device)
    sim = GeotabSimulator(fleet, database="acme", users={"svc": "pw"})
    with served_in_thread(sim) as url, seeded_client(
            database_url, metrics_enabled=True, geotab_server=url, geotab_database="acme",
            geotab_username="svc", geotab_password="pw",
            partner_feed_url=f"http://127.0.0.1:{closed_port()}",
            alerts_interval_seconds=0.2, alert_escalation_minutes=0.005,
            alert_oncall_phones="+13175550111") as client:
        headers = auth(client, "dispatcher")
        with connect(client, "dispatcher", ["board", "alerts"]) as ws:
            receive_until(ws, lambda m: m["type"] == "snapshot")
            created = client.post("/api/work-orders", headers=headers, json={
                "store_id": "store-0001", "priority": "emergency",
                "location": {"lat": 32.78, "lon": -96.8}, "description": "Gas smell"})
            assert created.status_code == 201, created.text
            [event] = [m for m in receive_until(ws, lambda m: m.get("event") == "WorkOrderCreated",
                                                limit=5000) if m.get("event") == "WorkOrderCreated"]
        with connect(client, "dispatcher", ["board"], since=event["seq"] - 1) as ws:
            receive_until(ws, lambda m: m.get("seq") == event["seq"], limit=5000)  # a replay

        def escalated() -> dict[str, Any] | None:
            items = client.get("/api/alerts", headers=headers,
                               params={"kind": "emergency_order"}).json()["items"]
            mine = [a for a in items if a["work_order_id"] == created.json()["id"]]
            # at the top rung (no next escalation) nothing changes it while it is acknowledged
            return (mine[0] if mine and mine[0]["escalation_level"] >= 2
                    and mine[0]["next_escalation_at"] is None else None)

        alert = until(escalated, "the emergency alert raised and escalated to the top")
        acked = client.post(f"/api/alerts/{alert['id']}/acknowledge", json={},
                            headers={**headers, "If-Match": f'"{alert["version"]}"'})
        assert acked.status_code == 200, acked.text
        plan = client.post("/api/proposals", headers=headers,
                           json={"scope": {"all": True}, "time_limit_seconds": 1})
        assert plan.status_code == 201, plan.text

        last: dict[str, Any] = {}

        def scraped() -> str | None:
            response = client.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            missing = [line for line in EXPECTED if line not in response.text]
            last["missing"] = missing
            return None if missing else response.text

        try:
            text = until(scraped, "every family on /metrics")
        except AssertionError as error:
            raise AssertionError(f"missing on /metrics: {last.get('missing')}") from error
    assert value(text, 'dispatch_events_published_total{event="WorkOrderCreated"}') >= 1
    assert value(text, "dispatch_websocket_snapshots_total ") >= 1
    assert value(text, "dispatch_websocket_replays_total ") >= 1
    assert value(text, 'dispatch_alerts_total{action="acknowledged"}') == 1
    assert value(text, 'dispatch_sms_total{outcome="sent"}') >= 1
    assert value(text, 'dispatch_feed_errors_total{feed="intake:partner",kind="other"}') >= 1
    assert value(text, 'dispatch_feed_position_lag_seconds{feed="geotab"}') >= 0


def test_metrics_are_off_unless_enabled() -> None:
    with TestClient(create_app(Settings(database_url=NO_DATABASE))) as client:
        assert client.get("/metrics").status_code == 404
    with TestClient(create_app(Settings(database_url=NO_DATABASE, metrics_enabled=True))) as c:
        response = c.get("/metrics")
        assert response.status_code == 200
        assert 'dispatch_http_request_duration_seconds_count{method="GET",route="/metrics"' \
            not in response.text  # this scrape is observed after it answered
        assert "dispatch_worker_state" in response.text
