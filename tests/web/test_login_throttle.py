"""Login throttling under real concurrent clients: uvicorn servers on loopback ports, httpx
clients sending at once. The attempt is reserved before the password is checked, per username
and per client address, shared through Redis between app instances, and password checks are
bounded per process."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from starlette.applications import Starlette

from tests.conftest import REDIS_URL, RUN_ID, free_port, require_service
from tests.web.api_helpers import seed_small
from web.app import create_app
from web.clock import ShiftedClock
from web.security import verify_password
from web.settings import Settings

SECRET = secrets.token_hex(32)


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """The app on a free 127.0.0.1 port (lifespan included) for the duration."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def servers(database_url: str, count: int = 1, **settings: Any) -> Iterator[list[tuple[str, Starlette]]]:
    """``count`` app instances over one seeded database (as separate web processes would be)."""
    start = dt.datetime.now(dt.UTC)
    clock = ShiftedClock(start)
    seed_small(database_url, now=start)
    with ExitStack() as stack:
        out = []
        for _ in range(count):
            app = create_app(Settings(database_url=database_url, secret_key=SECRET, **settings),
                             clock=clock)
            out.append((stack.enter_context(serve(app)), app))
        yield out


async def _logins(bases: list[str], credentials: list[tuple[str, str]],
                  source: str = "127.0.0.1") -> list[httpx.Response]:
    """Every login at once, round robin over ``bases``, each from its own connection."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, timeout=60,
                                 limits=httpx.Limits(max_connections=100)) as http:
        return list(await asyncio.gather(*(
            http.post(f"{bases[i % len(bases)]}/api/auth/login",
                      json={"username": user, "password": password})
            for i, (user, password) in enumerate(credentials))))


def _statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def _assert_throttled(responses: list[httpx.Response], allowed: int) -> None:
    statuses = _statuses(responses)
    assert statuses[401] <= allowed, statuses
    assert statuses[401] + statuses[429] == len(responses), statuses
    assert statuses[429] >= len(responses) - allowed, statuses
    for r in responses:
        if r.status_code == 429:
            assert r.json()["code"] == "too_many_attempts"
            assert int(r.headers["Retry-After"]) > 0


def test_25_concurrent_wrong_passwords_for_one_user_get_at_most_the_limit_of_401s(
        database_url: str) -> None:
    with servers(database_url) as [(base, _)]:
        responses = asyncio.run(_logins([base], [("dispatcher", "wrong")] * 25))
        _assert_throttled(responses, allowed=5)
        after = asyncio.run(_logins([base], [("dispatcher", "demo")]))
    assert after[0].status_code == 429  # even the right password waits out the window


def test_the_limit_is_per_client_address_too(database_url: str) -> None:
    with servers(database_url, login_max_failures=3, login_max_failures_per_address=6) as [
            (base, _)]:
        # one address, a different username each time: the username limit never bites
        guesses = [(f"user{i}", "wrong") for i in range(16)]
        responses = asyncio.run(_logins([base], guesses, source="127.0.0.2"))
        _assert_throttled(responses, allowed=6)
        locked = asyncio.run(_logins([base], [("fleet", "demo")], source="127.0.0.2"))
        other = asyncio.run(_logins([base], [("fleet", "demo")], source="127.0.0.3"))
    assert locked[0].status_code == 429
    assert other[0].status_code == 200  # another address is not affected


@pytest.mark.redis
def test_two_app_instances_share_the_limit_through_redis(database_url: str) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"dispatch-test-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    try:
        with servers(database_url, count=2, redis_url=REDIS_URL, redis_prefix=prefix) as apps:
            bases = [base for base, _ in apps]
            responses = asyncio.run(_logins(bases, [("dispatcher", "wrong")] * 25))
            _assert_throttled(responses, allowed=5)
            # either instance now refuses the user, and a success elsewhere is unaffected
            again = asyncio.run(_logins(bases, [("dispatcher", "demo")] * 2))
            fine = asyncio.run(_logins(bases, [("billing", "demo")] * 2))
        assert [r.status_code for r in again] == [429, 429]
        assert [r.status_code for r in fine] == [200, 200]
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


class CountingVerifier:
    """Wraps the real argon2 check and records how many run at once. Each call lingers until
    more than ``bound`` are inside or ``linger`` seconds pass, so an unbounded server shows its
    overlap whatever the machine's speed."""

    def __init__(self, bound: int, linger: float = 0.3,
                 verify: Callable[[str | None, str], bool] = verify_password) -> None:
        self.bound = bound
        self.linger = linger
        self.verify = verify
        self.inside = 0
        self.peak = 0
        self.calls = 0
        self._cond = threading.Condition()

    def __call__(self, password_hash: str | None, password: str) -> bool:
        with self._cond:
            self.inside += 1
            self.calls += 1
            self.peak = max(self.peak, self.inside)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.inside > self.bound, timeout=self.linger)
        try:
            return self.verify(password_hash, password)
        finally:
            with self._cond:
                self.inside -= 1


def _throttle(app: Starlette) -> Any:
    return app.state.runtime.login_throttle


def test_concurrent_password_checks_are_bounded(database_url: str) -> None:
    with servers(database_url, login_max_concurrent_verifications=2,
                 login_verification_wait_seconds=60) as [(base, app)]:
        counting = CountingVerifier(bound=2)
        _throttle(app).verifier = counting
        unknown = [(f"ghost{i}", "wrong") for i in range(16)]
        responses = asyncio.run(_logins([base], unknown))
    assert _statuses(responses) == {401: 16}
    assert counting.calls == 16
    assert counting.peak == 2


def test_a_login_that_gets_no_turn_in_time_is_503_and_does_not_count(database_url: str) -> None:
    entered, release = threading.Event(), threading.Event()

    def held(password_hash: str | None, password: str) -> bool:
        entered.set()
        release.wait(timeout=30)
        return verify_password(password_hash, password)

    with servers(database_url, login_max_concurrent_verifications=1,
                 login_verification_wait_seconds=0.2, login_max_failures=1) as [(base, app)]:
        _throttle(app).verifier = held

        async def scenario() -> tuple[httpx.Response, httpx.Response]:
            first = asyncio.ensure_future(_logins([base], [("billing", "demo")]))
            for _ in range(300):  # bounded: until the first login holds the only turn
                if entered.is_set():
                    break
                await asyncio.sleep(0.01)
            busy = (await _logins([base], [("fleet", "wrong")]))[0]
            release.set()
            return (await first)[0], busy

        ok, busy = asyncio.run(scenario())
        _throttle(app).verifier = verify_password
        # the refused attempt was never checked, so it did not use fleet's one failure
        after = asyncio.run(_logins([base], [("fleet", "demo")]))
    assert ok.status_code == 200
    assert busy.status_code == 503 and busy.json()["code"] == "login_busy"
    assert int(busy.headers["Retry-After"]) > 0
    assert after[0].status_code == 200
