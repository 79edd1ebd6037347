"""The one logging set-up, read from the real output: readable lines, JSON lines, correlation ids
from a request through its event to the websocket delivery, masked personal data."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from domain.alert_delivery import sms_text
from realtime.notify.base import LoggingNotifier
from tests.conftest import REDIS_URL, RUN_ID, free_port, require_service
from tests.realtime.ws_helpers import connect, receive_until, wait_for
from tests.web.api_helpers import auth, seeded_client
from web.logging_setup import configure_from_settings, configure_logging
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
READABLE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z) (?P<level>[A-Z]+) +(?P<logger>\S+) "
    r"(?P<rest>.*)$")
PHONE, EMAIL = "+12145550123", "carol.diaz@example.com"


@pytest.fixture
def configure() -> Iterator[Callable[..., None]]:
    """Configure logging for real inside the test (so the handler writes to the captured
    stderr), and put the test run's logging back afterwards."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"]
    saved = [(logging.getLogger(n), logging.getLogger(n).handlers[:],
              logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names]
    yield lambda **kw: configure_logging(**kw)
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_lines_are_readable_by_default_and_info_of_dispatch_loggers_shows(
        configure: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings()
    assert settings.log_json is False and settings.log_level == "info"
    configure_from_settings(settings)  # what every entry point calls
    with structlog.contextvars.bound_contextvars(correlation_id="req-7"):
        logging.getLogger("dispatch.relay").info("event published", extra={"seq": 4})
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("dispatch.hub").debug("event delivered")  # below LOG_LEVEL=info
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    first, second = (READABLE.match(line) for line in lines)
    assert first and second, lines
    assert (first["level"], first["logger"]) == ("INFO", "dispatch.relay")
    assert first["rest"] == "event published correlation_id=req-7 seq=4"
    assert (second["logger"], second["rest"]) == ("uvicorn.error", "Started server process [42]")


def test_log_json_gives_one_json_object_per_line(
        configure: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    configure_from_settings(Settings(log_json=True, log_level="debug"))
    log = logging.getLogger("dispatch.api")
    with structlog.contextvars.bound_contextvars(correlation_id="req-8"):
        log.debug("a \"quoted\"\nmultiline message", extra={"status": 201})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("it failed")
    structlog.get_logger("dispatch.demo").info("native structlog", vans=3)
    # a driver that logs every statement with its parameters stays quiet even at debug
    logging.getLogger("aiosqlite").debug("executing INSERT INTO customers VALUES ('Carol')")
    lines = json_lines(capsys.readouterr().err)
    assert len(lines) == 3, lines
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
    assert lines[0] == {**lines[0], "level": "debug", "logger": "dispatch.api",
                        "message": "a \"quoted\"\nmultiline message", "status": 201,
                        "correlation_id": "req-8"}
    assert lines[1]["level"] == "error" and "RuntimeError: boom" in lines[1]["exception"]
    assert (lines[2]["logger"], lines[2]["message"], lines[2]["vans"]) == (
        "dispatch.demo", "native structlog", 3)
    assert "correlation_id" not in lines[2]


def test_phones_emails_names_and_addresses_are_masked_in_the_output(
        configure: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    configure(json_lines=False, level="info")
    alert = {"id": "a1b2c3d4e5", "severity": "critical", "title": "Emergency job waiting",
             "message": "Water heater leaking (1200 Elm Street, Dallas)."}
    asyncio.run(LoggingNotifier().send(PHONE, sms_text(alert, 1, "Store 12")))
    logging.getLogger("dispatch.notify").warning(
        "alert notification %s to %s failed (attempt %s): %s", "n1", PHONE, 2,
        f"provider refused {PHONE}; reply to {EMAIL} or call (214) 555-0199")
    structlog.get_logger("dispatch.intake").info(
        "walk-in customer", customer_name="Carol Diaz", phone=PHONE, email=EMAIL,
        address="1200 Elm Street, Dallas")
    err = capsys.readouterr().err
    assert PHONE not in err and "214) 555-0199" not in err and EMAIL not in err
    assert "Elm Street" not in err and "Carol Diaz" not in err
    assert err.count("+1214*****23") == 4
    assert "c***@example.com" in err and 'customer_name="C*** D***"' in err
    assert "Emergency job waiting" in err  # what the alert is about still shows


def test_a_request_its_event_and_the_websocket_delivery_share_one_correlation_id(
        database_url: str, configure: Callable[..., None],
        capsys: pytest.CaptureFixture[str]) -> None:
    configure(json_lines=True, level="debug")
    seen: list[dict[str, Any]] = []

    def lines_of(correlation_id: str) -> list[dict[str, Any]]:
        seen.extend(json_lines(capsys.readouterr().err))
        return [line for line in seen if line.get("correlation_id") == correlation_id]

    with seeded_client(database_url) as client:
        headers = auth(client, "dispatcher")
        with connect(client, "dispatcher", ["board"]) as ws:
            receive_until(ws, lambda m: m["type"] == "snapshot")
            response = client.post("/api/work-orders", headers=headers, json={
                "store_id": "store-0001", "priority": "normal",
                "location": {"lat": 32.78, "lon": -96.8}, "description": "Water heater leaking"})
            assert response.status_code == 201, response.text
            correlation_id = response.headers["X-Request-ID"]  # assigned: the client sent none
            event = receive_until(ws, lambda m: m["type"] == "event"
                                  and m["event"] == "WorkOrderCreated")[-1]
            wait_for(lambda: {"event published", "event delivered"}
                     <= {line["message"] for line in lines_of(correlation_id)})
    mine = lines_of(correlation_id)
    by_message = {line["message"]: line for line in mine}
    request = by_message["request finished"]
    assert (request["logger"], request["method"], request["route"], request["status"]) == (
        "dispatch.api", "POST", "/api/work-orders", 201)
    published, delivered = by_message["event published"], by_message["event delivered"]
    assert published["logger"] == "dispatch.relay" and delivered["logger"] == "dispatch.hub"
    assert published["seq"] == delivered["seq"] == event["seq"]
    assert published["event_name"] == "WorkOrderCreated" and delivered["sessions"] >= 1
    others = {line["correlation_id"] for line in seen
              if line.get("message") == "request finished"} - {correlation_id}
    assert others, "the log-ins are requests of their own, with ids of their own"


@pytest.mark.postgres
@pytest.mark.redis
def test_dispatch_serve_with_two_workers_logs_json_from_each_worker(
        postgres_url: str, tmp_path: Path) -> None:
    """The real entry point: each uvicorn worker process configures itself from LOG_JSON.
    (Several workers need PostgreSQL and Redis: ``web/cluster.py``.)"""
    require_service("Redis", "127.0.0.1", 6379)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL,
           "REDIS_PREFIX": f"dispatch-test-{RUN_ID}-logging", "LOG_JSON": "true",
           "LOG_LEVEL": "info", "RUN_FEEDS": "false", "DEMO": "false"}
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=stderr)
        try:
            deadline = time.monotonic() + 60
            while _started(stderr_path) < 2:
                assert proc.poll() is None and time.monotonic() < deadline, \
                    stderr_path.read_text()
                time.sleep(0.1)
            answer = httpx.post(f"http://127.0.0.1:{port}/api/auth/login", timeout=10,
                                json={"username": "nobody", "password": "wrong"},
                                headers={"X-Request-ID": "login-check-1"})
            assert answer.headers["X-Request-ID"] == "login-check-1"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    text = stderr_path.read_text()
    banner = [line for line in text.splitlines() if line.strip() and not line.startswith("{")]
    assert all("Dispatch Board is starting" in line for line in banner), banner
    lines = json_lines("\n".join(line for line in text.splitlines() if line.startswith("{")))
    started = {line["message"] for line in lines if line["logger"] == "uvicorn.error"
               and line["message"].startswith("Started server process")}
    assert len(started) == 2, started  # two worker processes, each with its own pid
    request = [line for line in lines if line.get("correlation_id") == "login-check-1"]
    assert [(r["logger"], r["level"], r["route"], r["status"]) for r in request] == [
        ("dispatch.api", "info", "/api/auth/login", 401)]


def _started(path: Path) -> int:
    """Worker processes that listen: each logs this once the app's start-up is done (its
    "Started server process" comes before, while the port is bound but not yet listening)."""
    return path.read_text().count("Application startup complete")
