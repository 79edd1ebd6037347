"""The planning queue shared by every web process through Redis: one set of solver slots, one
waiting line, one plan per user, whichever process a request reaches.

* **Slots** are leases in a sorted set (member -> expiry, Redis's own clock): at most ``slots``
  at once in the cluster. A holder renews its lease (every third of it) while it solves, so a
  process that dies frees its slot when the lease runs out (``LEASE_S``).
* **The waiting line** is a sorted set by ticket (an ``INCR``): the first ``free`` waiters in
  ticket order take the free slots, so plans are served in arrival order across processes. A
  waiter polls (every ``POLL_S``) and its poll renews its place; a waiter that vanished drops out
  when its lease runs out. At most ``max_waiting`` wait; more are refused at once.
* **One plan per user**: a key per user, set if absent with a lease, renewed while the plan runs,
  deleted only by its holder.

Each step is one Lua script, so two processes can never both take the last slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

#: How long a slot, a place in line or a user's turn lasts unless renewed.
LEASE_S = 15.0
#: How often a waiter asks for a slot (and renews its place).
POLL_S = 0.05

#: KEYS: holders, waiting (by ticket), waiting leases, ticket counter.
#: ARGV: member, slots, max waiting, lease (ms).
#: Answers {1, waiting}: a slot is held; {0, waiting}: in line; {-1, waiting}: the line is full.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = now + tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  redis.call('ZREM', KEYS[2], gone)
  redis.call('ZREM', KEYS[3], gone)
end
local member = ARGV[1]
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
local waiting = redis.call('ZCARD', KEYS[2])
local rank = redis.call('ZRANK', KEYS[2], member)
if redis.call('ZSCORE', KEYS[1], member) then
  redis.call('ZADD', KEYS[1], lease, member)
  return {1, waiting}
end
if rank == false then
  if free > waiting then
    redis.call('ZADD', KEYS[1], lease, member)
    return {1, waiting}
  end
  if waiting >= tonumber(ARGV[3]) then return {-1, waiting} end
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), member)
  redis.call('ZADD', KEYS[3], lease, member)
  return {0, waiting + 1}
end
if rank < free then
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZREM', KEYS[3], member)
  redis.call('ZADD', KEYS[1], lease, member)
  return {1, waiting - 1}
end
redis.call('ZADD', KEYS[3], lease, member)
return {0, waiting}
"""
#: KEYS: holders; ARGV: member, lease (ms). Renews a held slot; 0 when it was lost.
_RENEW_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
"""
#: KEYS: holders, waiting, waiting leases; ARGV: member. Leaves the slot or the line.
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 0
"""
#: KEYS: the user's key; ARGV: holder, lease (ms). Renews (1) or deletes (lease 0) if held.
_USER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2])
else redis.call('DEL', KEYS[1]) end
return 1
"""


class Unreachable(Exception):
    """Redis did not answer while taking a slot or a turn."""


class LineFull(Exception):
    """Every slot is taken and ``max_waiting`` plans already wait."""

    def __init__(self, waiting: int) -> None:
        super().__init__("the planning queue is full")
        self.waiting = waiting


class SharedPlanning:
    """Solver slots, the waiting line and users' turns in Redis, under ``<prefix>:planning``."""

    def __init__(self, url: str, prefix: str, *, slots: int, max_waiting: int,
                 lease: float = LEASE_S, client: Any = None) -> None:
        self.url = url
        self.slots = slots
        self.max_waiting = max_waiting
        self.lease = lease
        base = f"{prefix}:planning"
        self.keys = [f"{base}:holders", f"{base}:waiting", f"{base}:waiting-leases",
                     f"{base}:tickets"]
        self.user_key = f"{base}:user:"
        self._client = client
        self._me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as redis

            self._client = redis.from_url(self.url, client_name=f"{self.keys[0]}-client")
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _member(self) -> str:
        return f"{self._me}:{uuid.uuid4().hex}"

    @contextlib.asynccontextmanager
    async def user_turn(self, user_id: str) -> AsyncIterator[bool]:
        """Yields True while this call holds the user's one plan; False when another holds it
        (in any process)."""
        key, holder = self.user_key + user_id, self._member()
        lease = int(self.lease * 1000)
        redis = self._redis()
        async with _reaching():
            held = await redis.set(key, holder, nx=True, px=lease)
        if not held:
            yield False
            return
        async with _renewing(lambda: redis.eval(_USER, 1, key, holder, lease), self.lease / 3):
            try:
                yield True
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(redis.eval(_USER, 1, key, holder, 0))

    @contextlib.asynccontextmanager
    async def slot(self, on_waiting: Callable[[int], None] | None = None
                   ) -> AsyncIterator[None]:
        """Hold one of the cluster's slots, waiting in line for it (cancel to give up: the place
        is left). Raises ``LineFull`` at once when the line is full."""
        member, redis = self._member(), self._redis()
        lease = int(self.lease * 1000)
        try:
            while True:
                async with _reaching():
                    state, waiting = await redis.eval(_TAKE, 4, *self.keys, member, self.slots,
                                                      self.max_waiting, lease)
                if int(state) == 1:
                    break
                if int(state) == -1:
                    raise LineFull(int(waiting))
                if on_waiting is not None:
                    on_waiting(int(waiting))
                    on_waiting = None
                await asyncio.sleep(POLL_S)
            async with _renewing(lambda: redis.eval(_RENEW_SLOT, 1, self.keys[0], member, lease),
                                 self.lease / 3):
                yield
        finally:  # a lost answer here only leaves the lease to run out
            with contextlib.suppress(Exception):
                await asyncio.shield(redis.eval(_LEAVE, 3, *self.keys[:3], member))

    async def snapshot(self) -> dict[str, int]:
        """Slots held and plans waiting now, cluster-wide (leases not yet expired included)."""
        redis = self._redis()
        return {"held": int(await redis.zcard(self.keys[0])),
                "waiting": int(await redis.zcard(self.keys[1]))}


@contextlib.asynccontextmanager
async def _reaching() -> AsyncIterator[None]:
    """Redis's connection and timeout errors as ``Unreachable``."""
    from redis.exceptions import ConnectionError as Lost
    from redis.exceptions import TimeoutError as Late

    try:
        yield
    except (Lost, Late, OSError) as error:
        raise Unreachable(str(error)) from error


@contextlib.asynccontextmanager
async def _renewing(renew: Callable[[], Any], every: float) -> AsyncIterator[None]:
    """Renew a lease ``every`` seconds (a third of it) while the block runs (a failed renewal is
    retried at the next tick: the lease outlasts two of them)."""
    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):
                await renew()

    task = asyncio.get_running_loop().create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
