"""The Redis bus against a real Redis: a batch published in one round trip arrives whole and in
order, after what was published before it."""

from __future__ import annotations

import asyncio

import pytest

from realtime.bus import RedisBus
from tests.conftest import REDIS_URL, RUN_ID, require_service

pytestmark = [pytest.mark.redis]


async def test_a_batch_arrives_in_order_after_what_came_before() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    channel = f"dispatch-test-{RUN_ID}:bus"
    got: list[str] = []
    done = asyncio.Event()

    async def handler(message: str) -> None:
        got.append(message)
        if len(got) == 302:
            done.set()

    bus = RedisBus(REDIS_URL, client_name="bus-test")
    bus.subscribe(channel, handler)
    await bus.start()
    try:
        await bus.publish(channel, "first")
        await bus.publish_many(channel, [f"m{n}" for n in range(300)])
        await bus.publish_many(channel, [])
        await bus.publish(channel, "last")
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await bus.stop()
    assert got == ["first", *(f"m{n}" for n in range(300)), "last"]
