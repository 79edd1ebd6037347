"""Login throttling: failed-attempt counters per username and per client address, and a bound
on concurrent password verifications.

An attempt is *reserved* on both counters before the password is checked, all or nothing, in
one atomic step (a Lua script on Redis, a section without awaits in memory); so concurrent
attempts count, and the 6th of 25 concurrent wrong passwords is refused before argon2 runs.
A successful login gives its reservation back; a failure keeps it until the window ends.
Counters are fixed windows: the first failure starts ``window`` seconds; at the limit the key
answers 429 with ``Retry-After`` = what is left of the window.

With ``REDIS_URL`` the counters live in Redis and every process shares them; without it, in
this process's memory. Password verification (argon2, 64 MiB each) runs in threads, at most
``concurrency`` at once per process; a login that waits longer than ``wait`` seconds for a turn
gets 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from web.security import verify_password
from web.settings import Settings

Verifier = Callable[[str | None, str], bool]

#: KEYS: the username's and the address's counter; ARGV: their limits and the window (ms).
#: Answers 0 when the attempt is reserved on both, else the milliseconds left to wait.
_RESERVE = """
local wait = 0
for i = 1, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[i]) then
    local left = redis.call('PTTL', KEYS[i])
    if left < 0 then
      redis.call('PEXPIRE', KEYS[i], ARGV[3])
      left = tonumber(ARGV[3])
    end
    wait = math.max(wait, left, 1)
  end
end
if wait > 0 then return wait end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 0
"""
#: Gives a reservation back (a successful login): never below zero, the window unchanged.
_RELEASE = """
for i = 1, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count > 1 then redis.call('DECR', KEYS[i])
  elseif count == 1 then redis.call('DEL', KEYS[i]) end
end
return 0
"""


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class VerifierBusy(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many logins at once; try again shortly")
        self.retry_after = retry_after


class AttemptCounters(Protocol):
    async def reserve(self, username: str, address: str) -> float:
        """Reserve one attempt on both counters; 0 when reserved, else seconds to wait."""

    async def release(self, username: str, address: str) -> None:
        """Give a reservation back."""


@dataclass(frozen=True, slots=True)
class Limits:
    per_username: int
    per_address: int
    window: float


class MemoryCounters:
    """Fixed-window counters in this process (no awaits: each call is atomic on the loop)."""

    def __init__(self, limits: Limits, *, max_keys: int = 100_000) -> None:
        self.limits = limits
        self.max_keys = max_keys
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, window end)

    def _current(self, key: str, now: float) -> tuple[int, float]:
        count, ends = self._counts.get(key, (0, 0.0))
        return (count, ends) if ends > now else (0, 0.0)

    async def reserve(self, username: str, address: str) -> float:
        now = time.monotonic()
        keys = ((f"user:{username}", self.limits.per_username),
                (f"addr:{address}", self.limits.per_address))
        wait = 0.0
        for key, limit in keys:
            count, ends = self._current(key, now)
            if count >= limit:
                wait = max(wait, ends - now, 0.001)
        if wait:
            return wait
        if len(self._counts) >= self.max_keys:  # bounded: drop what expired, else the oldest
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            for stale in list(self._counts)[: max(0, len(self._counts) - self.max_keys // 2)]:
                del self._counts[stale]
        for key, _ in keys:
            count, ends = self._current(key, now)
            self._counts[key] = (count + 1, ends or now + self.limits.window)
        return 0.0

    async def release(self, username: str, address: str) -> None:
        now = time.monotonic()
        for key in (f"user:{username}", f"addr:{address}"):
            count, ends = self._current(key, now)
            if count > 1:
                self._counts[key] = (count - 1, ends)
            else:
                self._counts.pop(key, None)


class RedisCounters:
    """The same counters in Redis, shared by every process using ``prefix``.

    The client is opened on first use and closed again when no login is in flight, so it needs
    no lifecycle of its own: under load one connection pool serves every concurrent login; at
    rest nothing stays open."""

    def __init__(self, url: str, prefix: str, limits: Limits) -> None:
        self.url = url
        self.prefix = prefix
        self.limits = limits
        self._client: Any = None
        self._users = 0

    def _keys(self, username: str, address: str) -> list[str]:
        return [f"{self.prefix}:login:user:{username}", f"{self.prefix}:login:addr:{address}"]

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        import redis.asyncio as redis

        if self._client is None:
            self._client = redis.from_url(self.url, client_name=f"{self.prefix}-login")
        client = self._client
        self._users += 1
        try:
            yield client
        finally:
            self._users -= 1
            if self._users == 0 and self._client is client:
                self._client = None
                await client.aclose()

    async def reserve(self, username: str, address: str) -> float:
        window_ms = max(1, int(self.limits.window * 1000))
        async with self._connection() as client:
            wait_ms = await client.eval(_RESERVE, 2, *self._keys(username, address),
                                        self.limits.per_username, self.limits.per_address,
                                        window_ms)
        return int(wait_ms) / 1000

    async def release(self, username: str, address: str) -> None:
        async with self._connection() as client:
            await client.eval(_RELEASE, 2, *self._keys(username, address))


class LoginThrottle:
    """What ``POST /api/auth/login`` goes through: ``attempt`` reserves, ``verify`` checks the
    password within the bound, ``succeeded`` gives the reservation back."""

    def __init__(self, counters: AttemptCounters, *, concurrency: int = 4, wait: float = 5.0,
                 verifier: Verifier = verify_password) -> None:
        self.counters = counters
        self.concurrency = concurrency
        self.wait = wait
        self.verifier = verifier
        self._slots: asyncio.Semaphore | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        limits = Limits(settings.login_max_failures, settings.login_max_failures_per_address,
                        float(settings.login_lockout_seconds))
        counters: AttemptCounters = (
            RedisCounters(settings.redis_url, settings.redis_prefix, limits)
            if settings.redis_url else MemoryCounters(limits))
        return cls(counters, concurrency=settings.login_max_concurrent_verifications,
                   wait=settings.login_verification_wait_seconds)

    async def attempt(self, username: str, address: str) -> None:
        """Reserve this attempt or raise ``TooManyAttempts``."""
        wait = await self.counters.reserve(username, address)
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))

    async def succeeded(self, username: str, address: str) -> None:
        await self.counters.release(username, address)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """The password check, at most ``concurrency`` at once in this process; raises
        ``VerifierBusy`` when no turn comes within ``wait`` seconds."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        try:
            async with asyncio.timeout(self.wait):
                await self._slots.acquire()
        except TimeoutError:
            raise VerifierBusy(max(1, math.ceil(self.wait))) from None
        # the slot is held until the thread is done, even if this request is cancelled meanwhile
        work = asyncio.ensure_future(asyncio.to_thread(self.verifier, password_hash, password))
        work.add_done_callback(lambda _: self._release())
        return await asyncio.shield(work)

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.release()
