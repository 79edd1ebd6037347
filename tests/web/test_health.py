"""/livez answers whatever the database does; /readyz says what is not ready, and why."""

from __future__ import annotations

import socket
import time
from typing import Any

from starlette.testclient import TestClient

from web.app import create_app
from web.settings import Settings

NO_DATABASE = "postgresql://nobody@127.0.0.1:1/none"


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def readyz_until(client: TestClient, done: Any, tries: int = 200) -> dict[str, Any]:
    for _ in range(tries):  # bounded
        response = client.get("/readyz")
        body: dict[str, Any] = {"status_code": response.status_code, **response.json()}
        if done(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"/readyz never got there: {body}")


def test_livez_answers_while_readyz_says_the_database_is_unreachable() -> None:
    app = create_app(Settings(database_url=NO_DATABASE))
    with TestClient(app) as client:
        live = client.get("/livez")
        ready = client.get("/readyz")
    assert live.status_code == 200 and live.json() == {"status": "alive"}
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["failing"]["database"].startswith("database unreachable")
    assert body["failing"]["relay"] == "outbox unreadable: the database is down"
    assert body["checks"]["database"]["ok"] is False


def test_readyz_is_ready_with_every_check_listed(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url))
    with TestClient(app) as client:
        body = readyz_until(client, lambda b: "worker:relay" in b["checks"])
    assert body["status_code"] == 200 and body["status"] == "ready" and body["failing"] == {}
    checks = body["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["relay"]["ok"] and checks["relay"]["unpublished"] >= 0
    assert {"worker:relay", "worker:retention", "worker:revocations"} <= set(checks)


def test_readyz_names_a_failing_feed(database_url: str) -> None:
    port = closed_port()  # nothing listens: every call of the partner feed fails
    app = create_app(Settings(database_url=database_url, run_feeds=True, alerts_enabled=False,
                              partner_feed_url=f"http://127.0.0.1:{port}",
                              partner_feed_interval_seconds=0.01,
                              ready_feed_stale_seconds=0.01))
    with TestClient(app) as client:
        body = readyz_until(client, lambda b: b["status_code"] == 503)
    reason = body["failing"]["feed:intake:partner"]
    assert reason.startswith("feed intake:partner: no successful call since the start")
    assert "ConnectError" in reason
    assert body["checks"]["database"]["ok"] is True
    assert list(body["failing"]) == ["feed:intake:partner"]
