"""Oversized bodies are refused before they are read: by their declared ``Content-Length`` at once,
and otherwise as soon as the streamed bytes pass the 1 MB limit. Each attack streams an endless body
and counts what the app pulled from it, so a limit checked after reading everything fails here."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import httpx
from pydantic import SecretStr

from tests.web.api_helpers import seed_small
from web.api.bodies import MAX_BODY
from web.app import create_app
from web.settings import Settings

CHUNK = 64 * 1024
#: The endless body ends here (12.8 MB), so that today's reading of everything stays cheap.
MOST_CHUNKS = 200
SECRET = "whsec_" + base64.b64encode(b"body-limit-test-secret-0123456789").decode()


class IntakeSettings(Settings):
    """The webhook's secret, declared here too until (and harmlessly after) settings have it."""

    intake_webhook_secret: SecretStr | None = None


class Endless:
    """A streamed body of up to `MOST_CHUNKS` chunks that counts how many the app pulled."""

    def __init__(self) -> None:
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(MOST_CHUNKS):
            self.pulled += 1
            yield b"x" * CHUNK

    @property
    def read_at_most_the_limit(self) -> bool:
        return self.pulled * CHUNK <= MAX_BODY + CHUNK


async def attack(database_url: str, path: str, *, login: bool = False,
                 headers: dict[str, str] | None = None) -> list[tuple[int, Endless]]:
    """Post an endless streamed body to ``path`` three ways: without a length, with a huge
    declared length, and with a small declared length that lies; answers (status, body) each."""
    app = create_app(IntakeSettings(database_url=database_url,
                                    intake_webhook_secret=SecretStr(SECRET)))
    results = []
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        sent = dict(headers or {})
        if login:
            response = await client.post("/api/auth/login",
                                         json={"username": "dispatcher", "password": "demo"})
            sent["Authorization"] = f"Bearer {response.json()['access_token']}"
        for declared in (None, str(10**12), "10"):
            body = Endless()
            request = client.build_request("POST", path, content=body, headers={
                "Content-Type": "application/json", **sent})
            if declared is None:
                assert "content-length" not in request.headers  # sent chunked
            else:
                request.headers["Content-Length"] = declared
            response = await client.send(request)
            results.append((response.status_code, body))
    return results


def assert_refused_unread(results: list[tuple[int, Endless]]) -> None:
    (chunked, streamed), (huge, declared), (lying, lied) = results
    assert chunked == 413 and streamed.read_at_most_the_limit, streamed.pulled
    assert huge == 413 and declared.pulled == 0, declared.pulled  # refused before reading
    assert lying == 413 and lied.read_at_most_the_limit, lied.pulled


def test_login_refuses_an_endless_body_before_reading_it_all(database_url: str) -> None:
    assert_refused_unread(asyncio.run(attack(database_url, "/api/auth/login")))


def test_the_intake_webhook_refuses_an_endless_body_before_reading_it_all(
        database_url: str) -> None:
    signed = {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
    results = asyncio.run(attack(database_url, "/api/intake/webhooks/orders", headers=signed))
    assert_refused_unread(results)


def test_an_authenticated_endpoint_refuses_an_endless_body_before_reading_it_all(
        database_url: str) -> None:
    seed_small(database_url)
    results = asyncio.run(attack(database_url, "/api/work-orders", login=True,
                                 headers={"Idempotency-Key": "big-1"}))
    assert_refused_unread(results)


def test_a_body_within_the_limit_is_still_read_whole(database_url: str) -> None:
    seed_small(database_url)

    async def run() -> httpx.Response:
        app = create_app(Settings(database_url=database_url))
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test") as client:

            async def pieces() -> AsyncIterator[bytes]:
                yield b'{"username": "dispatcher", '
                yield b'"password": "demo"}'

            return await client.post("/api/auth/login", content=pieces(),
                                     headers={"Content-Type": "application/json"})

    response = asyncio.run(run())
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


def test_a_content_length_too_long_to_parse_is_refused_as_too_large(database_url: str) -> None:
    async def run() -> httpx.Response:
        app = create_app(Settings(database_url=database_url))
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            request = client.build_request("POST", "/api/auth/login", content=b"{}",
                                           headers={"Content-Type": "application/json"})
            request.headers["Content-Length"] = "9" * 5000  # more digits than int() converts
            return await client.send(request)

    response = asyncio.run(run())
    assert response.status_code == 413, response.text
