"""Tokens end before their expiry when they must: deactivation, a change of roles or stores, and
signing out take effect within seconds on every web process, over REST and on open websockets.

Two apps on one database stand for two web processes; ``dispatch users ...`` runs as a third.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from starlette.testclient import TestClient

from tests.realtime.ws_helpers import close_code, receive_until, wait_for
from tests.web.api_helpers import assert_problem, seeded_client, token
from web.admin import run_users_command
from web.app import create_app
from web.cli import build_parser
from web.settings import Settings

FAST = {"delegation_refresh_seconds": 0.2, "alerts_enabled": False}


@contextmanager
def two_processes(database_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    with seeded_client(database_url, **FAST) as first, TestClient(
            create_app(Settings(database_url=database_url, **FAST)),  # type: ignore[arg-type]
            raise_server_exceptions=False) as second:
        yield first, second


def users_command(database_url: str, *argv: str) -> None:
    """``dispatch users ...`` (another process: its own engine)."""
    args = build_parser().parse_args(["users", *argv])
    assert asyncio.run(run_users_command(Settings(database_url=database_url), args)) == 0


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@contextmanager
def board(client: TestClient, value: str) -> Iterator[Any]:
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": value})
        assert ws.receive_json()["type"] == "ready"
        ws.send_json({"type": "subscribe", "topics": ["board"], "since": None})
        receive_until(ws, lambda m: m["type"] == "snapshot")
        yield ws


def refused(client: TestClient, value: str) -> bool:
    return client.get("/api/work-orders", headers=bearer(value)).status_code == 401


def test_a_deactivated_account_is_refused_everywhere_within_seconds(database_url: str) -> None:
    with two_processes(database_url) as (first, second), ExitStack() as stack:
        held = token(first, "dispatcher")
        assert second.get("/api/work-orders", headers=bearer(held)).status_code == 200
        ws = stack.enter_context(board(second, held))
        started = time.monotonic()
        users_command(database_url, "deactivate", "dispatcher")
        wait_for(lambda: refused(first, held) and refused(second, held), timeout=10)
        refused_after = time.monotonic() - started
        assert close_code(ws) == 4005
        closed_after = time.monotonic() - started
        print(f"deactivation: token refused after {refused_after:.2f} s, "
              f"socket closed after {closed_after:.2f} s")
        assert_problem(first.post("/api/auth/login", json={
            "username": "dispatcher", "password": "demo"}), 401)
        users_command(database_url, "activate", "dispatcher")
        again = token(first, "dispatcher")  # a new login works; the old token stays ended
        assert not refused(first, again) and refused(first, held)


def test_a_change_of_roles_or_stores_ends_the_tokens_that_name_the_old_ones(
        database_url: str) -> None:
    with two_processes(database_url) as (first, second):
        held = token(first, "manager")
        assert second.get("/api/stores/store-0001/today", headers=bearer(held)).status_code == 200
        users_command(database_url, "set-roles", "manager", "--role", "store_manager",
                      "--store", "store-0003")
        wait_for(lambda: refused(first, held) and refused(second, held), timeout=10)
        fresh = token(second, "manager")
        assert second.get("/api/stores/store-0001/today", headers=bearer(fresh)).status_code == 404
        assert second.get("/api/stores/store-0003/today", headers=bearer(fresh)).status_code == 200


def test_signing_out_ends_the_token_at_once_here_and_within_seconds_elsewhere(
        database_url: str) -> None:
    with two_processes(database_url) as (first, second), ExitStack() as stack:
        held, other_device = token(first, "dispatcher"), token(first, "dispatcher")
        ws = stack.enter_context(board(second, held))
        assert first.post("/api/auth/logout", headers=bearer(held)).status_code == 204
        assert refused(first, held)  # at once where the request was made
        assert not refused(first, other_device)  # only that token
        wait_for(lambda: refused(second, held), timeout=10)
        assert close_code(ws) == 4005
        assert_problem(first.post("/api/auth/logout", headers=bearer(held)), 401)
        everywhere = first.post("/api/auth/logout", headers=bearer(other_device),
                                json={"everywhere": True})
        assert everywhere.status_code == 204
        wait_for(lambda: refused(second, other_device), timeout=10)
        assert not refused(second, token(second, "dispatcher"))  # a new login works


def test_a_bad_sign_out_request_changes_nothing(database_url: str) -> None:
    with seeded_client(database_url, **FAST) as client:
        mine = token(client, "tech1")
        theirs = token(client, "dispatcher")
        r = client.post("/api/auth/logout", headers=bearer(mine), json={"everywhere": "yes"})
        assert_problem(r, 422)
        assert not refused(client, theirs) and not refused(client, mine)
