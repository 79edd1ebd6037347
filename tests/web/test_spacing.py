"""Calls spaced apart through Redis: callers in different processes (here: separate clients)
take turns one interval apart, and a line longer than the longest wait reserves nothing."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from tests.conftest import REDIS_URL, RUN_ID, require_service
from web.spacing import reserve_turn

pytestmark = pytest.mark.redis
KEY = f"dispatch-test-{RUN_ID}:spacing"


def test_turns_are_one_interval_apart_whoever_asks_and_a_long_line_is_refused() -> None:
    require_service("Redis", "127.0.0.1", 6379)

    async def scenario() -> list[float | None]:
        clients = [redis.from_url(REDIS_URL) for _ in range(2)]  # as two processes would
        try:
            await clients[0].delete(KEY)
            waits = []
            for n in range(3):
                waits.append(await reserve_turn(REDIS_URL, KEY, interval=5.0, longest_wait=8.0,
                                                client=clients[n % 2]))
            waits.append(await reserve_turn(REDIS_URL, KEY, interval=5.0, longest_wait=8.0))
            await clients[0].delete(KEY)
            return waits
        finally:
            for client in clients:
                await client.aclose()

    first, second, third, fourth = asyncio.run(scenario())
    assert first == 0.0
    assert second is not None and 4.0 < second <= 5.0  # the turn after the first one's
    assert third is None and fourth is None  # ten seconds away: longer than the longest wait
