"""What a websocket client may not do: send a huge first frame, re-read snapshots in a loop, open
sockets without end, or connect from another site's page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.realtime.ws_helpers import close_code, connect, receive_until
from tests.web.api_helpers import seeded_client, token


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url, alerts_enabled=False, ws_subscribes_per_minute=3,
                       ws_max_sessions_per_user=2,
                       allowed_origins="https://board.example.com") as c:
        yield c


def test_a_huge_first_frame_is_refused_before_it_is_parsed(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text('{"type": "auth", "token": "' + "x" * 200_000 + '"}')
        assert close_code(ws) == 1009


def test_subscribes_are_limited_per_minute_and_refused_ones_change_nothing(
        client: TestClient) -> None:
    with connect(client, "dispatcher", ["board"]) as ws:
        receive_until(ws, lambda m: m["type"] == "snapshot")
        for _ in range(2):
            ws.send_json({"type": "subscribe", "topics": ["alerts"], "since": None})
            receive_until(ws, lambda m: m["type"] == "snapshot")
        ws.send_json({"type": "subscribe", "topics": ["store:store-0001"], "since": None})
        refused = receive_until(ws, lambda m: m["type"] in {"error", "snapshot"})[-1]
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
        ws.send_json({"type": "unsubscribe", "topics": []})
        topics = receive_until(ws, lambda m: m["type"] == "subscribed")[-1]["topics"]
        assert topics == ["alerts", "board"]  # the refused topic was not added


def test_connections_per_user_are_capped(client: TestClient) -> None:
    with ExitStack() as stack:
        for _ in range(2):
            stack.enter_context(connect(client, "dispatcher", ["board"]))
        with client.websocket_connect("/ws") as third:
            third.send_json({"type": "auth", "token": token(client, "dispatcher")})
            assert close_code(third) == 4009
        with connect(client, "manager", ["store:store-0001"]) as other:  # others unaffected
            assert receive_until(other, lambda m: m["type"] == "snapshot")


@pytest.mark.parametrize(("origin", "allowed"), [
    (None, True), ("http://testserver", True), ("https://board.example.com", True),
    ("https://evil.example", False), ("http://testserver.evil.example", False),
    ("null", False),
])
def test_only_the_servers_own_and_configured_origins_may_connect(
        client: TestClient, origin: str | None, allowed: bool) -> None:
    headers = {"origin": origin} if origin else {}
    if allowed:
        with client.websocket_connect("/ws", headers=headers) as ws:
            ws.send_json({"type": "auth", "token": token(client, "dispatcher")})
            assert ws.receive_json()["type"] == "ready"
    else:
        with pytest.raises(WebSocketDisconnect) as refused, \
                client.websocket_connect("/ws", headers=headers):
            pass
        assert refused.value.code == 1008
