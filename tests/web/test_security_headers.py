"""Security headers on every answer; a client's X-Request-ID kept only when safe; /status keeps the
business's figures to itself."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from tests.web.api_helpers import auth, seeded_client
from web.app import create_app
from web.middleware import SecurityHeaders, content_security_policy, tile_source
from web.settings import Settings

TILES = "https://{s}.tiles.example.org/osm/{z}/{x}/{y}.png"
#: One of each kind of answer: pages, page assets, vendored scripts, the API (JSON, problem,
#: OpenAPI, docs), the status page and an unknown path.
ANSWERS = ["/", "/login", "/tech", "/config.js", "/sw.js", "/manifest.webmanifest",
           "/static/css/app.css", "/static/js/board/board.js", "/vendor/leaflet/leaflet.js",
           "/api/auth/me", "/api/openapi.json", "/api/docs", "/status", "/healthz",
           "/no-such-page"]


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=database_url, tile_url=TILES))) as client:
        yield client


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";"))}


def test_every_answer_carries_the_security_headers_and_no_hsts_over_http(
        client: TestClient) -> None:
    for path in ANSWERS:
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        policy = directives(response.headers["content-security-policy"])
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["script-src"] == ["'self'"], path  # no inline script, no eval
        assert "'unsafe-inline'" not in response.headers["content-security-policy"], path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert "strict-transport-security" not in response.headers, path


def test_hsts_only_over_https(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url))
    with TestClient(app, base_url="https://testserver") as client:
        for path in ("/", "/api/auth/me", "/static/css/app.css"):
            hsts = client.get(path).headers["strict-transport-security"]
            assert re.fullmatch(r"max-age=\d{7,}", hsts), hsts


def test_images_may_come_from_the_tile_server_and_nowhere_else(client: TestClient) -> None:
    policy = directives(client.get("/").headers["content-security-policy"])
    assert policy["img-src"] == ["'self'", "data:", "blob:", "https://*.tiles.example.org"]
    assert policy["connect-src"] == ["'self'"]


def test_a_tile_url_that_is_not_a_plain_host_never_reaches_the_header() -> None:
    assert tile_source("https://tile.example.org/{z}/{x}/{y}.png") == "https://tile.example.org"
    assert tile_source("http://127.0.0.1:9000/t/{z}/{x}/{y}.png") == "http://127.0.0.1:9000"
    assert tile_source("/tiles/{z}/{x}/{y}.png") is None  # same origin: 'self'
    assert tile_source("") is None
    assert tile_source("javascript:alert(1)") is None
    injected = "https://tile.example.org; script-src *;/{z}/{x}/{y}.png"
    assert "script-src *" not in content_security_policy(injected)


def test_an_answer_with_its_own_policy_keeps_it_and_gets_the_common_one_too() -> None:
    sent: list[Message] = []

    async def attachment(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-security-policy", b"sandbox")]})

    async def record(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    asyncio.run(SecurityHeaders(attachment)({"type": "http", "scheme": "http"}, receive, record))
    policies = [v.decode() for k, v in sent[0]["headers"] if k == b"content-security-policy"]
    assert policies[0] == "sandbox" and "frame-ancestors 'none'" in policies[1]


@pytest.mark.parametrize("sent", ["x" * 65, "x" * 5000, "abc def", "<script>", "a/../b", "a;b"])
def test_an_unsafe_or_long_request_id_is_replaced_with_a_fresh_one(
        database_url: str, sent: str) -> None:
    with seeded_client(database_url) as client:
        headers = {**auth(client, "dispatcher"), "X-Request-ID": sent}
        response = client.post("/api/work-orders", headers=headers, json={
            "store_id": "store-0001", "priority": "normal", "description": "Ice machine leaks",
            "location": {"lat": 32.78, "lon": -96.8}})
        assert response.status_code == 201, response.text  # PostgreSQL: no 64-char overflow
        echoed = response.headers["x-request-id"]
        assert echoed != sent and re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_a_safe_request_id_is_kept(database_url: str) -> None:
    with seeded_client(database_url) as client:
        sent = "req-2024.06.01:7f3a_" + "9" * 44  # 64 characters
        response = client.get("/api/auth/me",
                              headers={**auth(client, "dispatcher"), "X-Request-ID": sent})
        assert response.status_code == 200 and response.headers["x-request-id"] == sent


def test_the_status_page_says_the_service_runs_and_shows_no_counts(database_url: str) -> None:
    with seeded_client(database_url) as client:
        page = client.get("/status")
    assert page.status_code == 200 and "running" in page.text
    words = re.sub(r"<[^>]*>", " ", page.text)
    assert "<table" not in page.text and not re.search(r"\d", words), words
