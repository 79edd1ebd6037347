"""The planning queue web processes share through Redis (``web/planning/shared.py``), each
process here a ``SharedPlanning`` of its own with its own connection: slots are handed out in
arrival order across them, a full line refuses at once, a user holds one turn in the whole
cluster, and a process that dies while it holds a slot (a real one, killed) frees it when its
lease runs out."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as redis

from tests.conftest import REDIS_URL, RUN_ID, require_service
from web.planning.shared import LineFull, SharedPlanning

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    require_service("Redis", "127.0.0.1", 6379)
    name = f"dispatch-test-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    yield name
    client = redis.from_url(REDIS_URL)
    async for key in client.scan_iter(f"{name}*"):
        await client.delete(key)
    await client.aclose()


def process(prefix: str, *, lease: float = 15.0) -> SharedPlanning:
    return SharedPlanning(REDIS_URL, prefix, slots=1, max_waiting=2, lease=lease)


async def until(check: asyncio.Event | asyncio.Task[object], what: str) -> None:
    waiter = check.wait() if isinstance(check, asyncio.Event) else check
    try:
        await asyncio.wait_for(waiter, 20)  # bounded
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def test_slots_go_in_arrival_order_across_processes_and_a_full_line_refuses(
        prefix: str) -> None:
    a, b, c, d = (process(prefix) for _ in range(4))
    order: list[str] = []
    release = asyncio.Event()

    async def plan(queue: SharedPlanning, name: str, queued: asyncio.Event) -> None:
        async with queue.slot(on_waiting=lambda _: queued.set()):
            order.append(name)
            await release.wait()

    try:
        async with a.slot():
            b_queued, c_queued = asyncio.Event(), asyncio.Event()
            first = asyncio.create_task(plan(b, "b", b_queued))
            await until(b_queued, "b in line")
            second = asyncio.create_task(plan(c, "c", c_queued))
            await until(c_queued, "c in line")
            with pytest.raises(LineFull) as full:  # two wait already: d is refused at once
                async with d.slot():
                    pass
            assert full.value.waiting == 2
            assert (await a.snapshot()) == {"held": 1, "waiting": 2}
        release.set()
        await until(first, "b's plan")
        await until(second, "c's plan")
        assert order == ["b", "c"]
        assert (await a.snapshot()) == {"held": 0, "waiting": 0}
    finally:
        for queue in (a, b, c, d):
            await queue.close()


async def test_a_user_holds_one_turn_in_the_whole_cluster(prefix: str) -> None:
    a, b = process(prefix), process(prefix)
    try:
        async with a.user_turn("user-anna") as held:
            assert held
            async with b.user_turn("user-anna") as again:
                assert not again  # another process: refused
            async with b.user_turn("user-ben") as other:
                assert other
        async with b.user_turn("user-anna") as later:
            assert later  # given back when the first plan ended
    finally:
        await a.close()
        await b.close()


HOLDER = """
import asyncio, sys
from web.planning.shared import SharedPlanning

async def main() -> None:
    queue = SharedPlanning(sys.argv[1], sys.argv[2], slots=1, max_waiting=2, lease=1.5)
    async with queue.slot():
        print("held", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_slot_is_kept_while_its_process_lives_and_freed_when_it_dies(
        prefix: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, REDIS_URL, prefix, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE)
    alive = process(prefix, lease=1.5)  # leases long enough for a loaded machine's stalls
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"held\n"

        async def plan() -> None:
            async with alive.slot():
                pass

        with pytest.raises(TimeoutError):  # two leases long: the holder renews its own
            await asyncio.wait_for(plan(), 3.0)
        holder.kill()  # no goodbye: its lease runs out
        await holder.wait()
        await until(asyncio.create_task(plan()), "the slot came free")
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await alive.close()
