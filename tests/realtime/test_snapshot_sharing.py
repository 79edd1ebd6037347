"""Snapshots built once and sent many times: concurrent subscribers of one scope share one read
and one message, different scopes never share, a subscriber whose read must queue is told it is
loading, and a failed read is tried again instead of closing the board. Real sessions, hub, event
log and snapshot source on a seeded database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.roles import Principal, Role
from realtime.bus import MemoryBus
from realtime.events import LogEvent
from realtime.hub import Hub
from realtime.session import Session, SessionConfig
from realtime.snapshots import SharedSnapshots, scope_key
from storage.eventlog import SqlEventLog
from storage.queries.board import DETAIL_ONLY, SqlSnapshotSource
from tests.realtime.test_event_path import ReadingTransport, eventually
from web.demo.seed import seed

DISPATCHER = frozenset({Role.DISPATCHER})
MANAGER = frozenset({Role.STORE_MANAGER})
TECHNICIAN = frozenset({Role.TECHNICIAN})


def person(name: str, roles: frozenset[Role], stores: frozenset[str] | None = None,
           technician: str | None = None) -> Principal:
    return Principal(user_id=f"user-{name}", username=name, roles=roles, store_ids=stores,
                     technician_id=technician)


PEOPLE = {
    "d1": person("d1", DISPATCHER), "d2": person("d2", DISPATCHER),
    "d3": person("d3", DISPATCHER),
    "m1": person("m1", MANAGER, frozenset({"store-0001"})),
    "m1b": person("m1b", MANAGER, frozenset({"store-0001"})),
    "m3": person("m3", MANAGER, frozenset({"store-0003"})),
    "t1": person("t1", TECHNICIAN, technician="tech-0001"),
    "t2": person("t2", TECHNICIAN, technician="tech-0002"),
}


def authenticate(token: str) -> tuple[Principal, dt.datetime]:
    return PEOPLE[token], dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


class World:
    """A hub with its event log and the shared snapshots of one worker, and its sessions."""

    def __init__(self, engine: AsyncEngine, shared: SharedSnapshots) -> None:
        self.log = SqlEventLog(engine, LogEvent)
        self.hub = Hub(self.log, MemoryBus(), events_channel="t:events",
                       positions_channel="t:positions")
        self.shared = shared
        self.tasks: list[asyncio.Task[None]] = []

    async def board(self, who: str, topics: list[str]) -> ReadingTransport:
        """A session that authenticates and subscribes with no ``since``."""
        transport = ReadingTransport()
        session = Session(transport, hub=self.hub, event_log=self.log, snapshots=self.shared,
                          authenticate=authenticate,
                          config=SessionConfig(subscribes_per_minute=100))
        self.tasks.append(asyncio.create_task(session.run()))
        await transport.inbox.put(json.dumps({"type": "auth", "token": who}))
        await transport.inbox.put(json.dumps({"type": "subscribe", "topics": topics,
                                              "since": None}))
        return transport

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.shared.close()


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    await seed(engine, stores=4, technicians=6, orders=40, seed=1, progress=False)
    return engine


@pytest.fixture
async def world(seeded: AsyncEngine) -> AsyncIterator[World]:
    w = World(seeded, SharedSnapshots(SqlSnapshotSource(seeded), slots=1, reuse_seconds=0.0))
    await w.hub.start()
    try:
        yield w
    finally:
        await w.close()
        await w.hub.stop()


def of_type(transport: ReadingTransport, kind: str) -> list[dict[str, Any]]:
    return [m for m in transport.sent if m.get("type") == kind]


async def snapshot_of(transport: ReadingTransport) -> dict[str, Any]:
    await eventually(lambda: bool(of_type(transport, "snapshot")), 20.0)
    snapshots = of_type(transport, "snapshot")
    assert snapshots, transport.sent
    return snapshots[0]


async def queued(world: World, count: int) -> None:
    """Wait until ``count`` reads wait for the slot the test holds."""
    await eventually(lambda: world.shared.queued >= count, 20.0)
    assert world.shared.queued == count


async def test_subscribers_of_one_scope_share_one_read_and_are_told_while_they_wait(
        world: World) -> None:
    async with world.shared.slot():  # every read slot busy: the boards queue
        boards = [await world.board(who, ["board"]) for who in ("d1", "d2", "d3")]
        await queued(world, 1)
        await eventually(lambda: all(of_type(b, "loading") for b in boards), 20.0)
        assert all(not of_type(b, "snapshot") for b in boards)
        assert world.shared.computed == 0
    snapshots = [await snapshot_of(b) for b in boards]
    assert world.shared.computed == 1
    assert world.shared.served == 3
    assert snapshots[0] == snapshots[1] == snapshots[2]
    assert snapshots[0]["work_orders"] and len(snapshots[0]["stores"]) == 4
    for board in boards:  # loading first, then the snapshot, in that order
        kinds = [m["type"] for m in board.sent]
        assert kinds.index("loading") < kinds.index("snapshot")
        assert of_type(board, "loading")[0]["seq"] == snapshots[0]["seq"]


async def test_different_scopes_never_share_a_snapshot(world: World) -> None:
    async with world.shared.slot():
        boards = {who: await world.board(who, topics) for who, topics in (
            ("d1", ["board"]), ("m1", ["board"]), ("m1b", ["board"]), ("m3", ["board"]),
            ("t1", ["technician:tech-0001"]), ("t2", ["technician:tech-0002"]),
            ("d2", ["board", "alerts"]))}
        # the dispatchers' two topic sets, the two stores, the two technicians; the two
        # managers of store-0001 share
        await queued(world, 6)
    got = {who: await snapshot_of(board) for who, board in boards.items()}
    assert world.shared.computed == 6 and world.shared.served == 7
    assert got["m1"] == got["m1b"]
    for manager, store in (("m1", "store-0001"), ("m3", "store-0003")):
        assert {s["id"] for s in got[manager]["stores"]} == {store}
        assert got[manager]["work_orders"]
        assert {w["store_id"] for w in got[manager]["work_orders"]} == {store}
    assert {w["store_id"] for w in got["d1"]["work_orders"]} > {"store-0001", "store-0003"}
    for tech in ("tech-0001", "tech-0002"):
        snap = got[f"t{tech[-1]}"]
        assert [t["id"] for t in snap["technicians"]] == [tech]
        assert all(w["technician_id"] == tech for w in snap["work_orders"])
        assert snap["stores"] == []
    assert got["d2"]["topics"] == ["alerts", "board"] and got["d1"]["topics"] == ["board"]


class Recording:
    """The real source, noting whose scope each read was for, in order."""

    def __init__(self, source: SqlSnapshotSource) -> None:
        self.source = source
        self.reads: list[str] = []

    async def snapshot(self, principal: Principal, topics: frozenset[str]) -> dict[str, Any]:
        self.reads.append(principal.username)
        return await self.source.snapshot(principal, topics)


async def test_a_freed_slot_goes_to_the_read_most_boards_wait_for(seeded: AsyncEngine) -> None:
    source = Recording(SqlSnapshotSource(seeded))
    w = World(seeded, SharedSnapshots(source, slots=1))
    await w.hub.start()
    try:
        async with w.shared.slot():
            boards = [await w.board("m1", ["board"]), await w.board("m3", ["board"])]
            await queued(w, 2)  # the two managers' reads queue first
            boards += [await w.board(who, ["board"]) for who in ("d1", "d2", "d3")]
            await eventually(lambda: sum(1 for b in boards if of_type(b, "loading")) == 5, 20.0)
        for board in boards:
            await snapshot_of(board)
        assert source.reads == ["d1", "m1", "m3"]  # three dispatchers wait for it: first
    finally:
        await w.close()
        await w.hub.stop()


def test_the_scope_key_holds_what_a_snapshot_depends_on() -> None:
    board = frozenset({"board"})
    assert scope_key(PEOPLE["d1"], board) == scope_key(PEOPLE["d2"], board)  # not the user
    assert scope_key(PEOPLE["m1"], board) == scope_key(PEOPLE["m1b"], board)
    distinct = [scope_key(PEOPLE[w], board) for w in ("d1", "m1", "m3", "t1", "t2")]
    distinct += [scope_key(PEOPLE["d1"], frozenset({"board", "alerts"})),
                 scope_key(person("c", frozenset({Role.EMERGENCY_COORDINATOR})), board),
                 scope_key(person("a", frozenset({Role.ADMIN})), board),
                 scope_key(person("m13", MANAGER, frozenset({"store-0001", "store-0003"})),
                           board)]
    assert len(set(distinct)) == len(distinct)


async def test_live_events_wait_behind_a_shared_snapshot_and_follow_it_in_order(
        world: World) -> None:
    seq = world.hub.last_seq
    async with world.shared.slot():
        boards = [await world.board(who, ["board"]) for who in ("d1", "d2")]
        await queued(world, 1)
        # events published while the boards wait for their snapshot are held back
        for n in range(1, 4):
            world.hub._deliver(LogEvent(seq=seq + n, name="WorkOrderUpdated",
                                        at=dt.datetime.now(dt.UTC), aggregate_type="work_order",
                                        aggregate_id=f"wo-{n}", store_id="store-0001",
                                        technician_id=None, data={"n": n}))
        assert all(not of_type(b, "event") for b in boards)
    for board in boards:
        snap = await snapshot_of(board)
        assert snap["seq"] == seq
        await eventually(lambda b=board: len(of_type(b, "event")) == 3)
        kinds = [m["type"] for m in board.sent if m["type"] in {"snapshot", "event"}]
        assert kinds == ["snapshot", "event", "event", "event"]
        assert [e["seq"] for e in of_type(board, "event")] == [seq + 1, seq + 2, seq + 3]
    assert world.shared.computed == 1


async def test_the_snapshot_holds_open_jobs_as_the_board_draws_them(world: World) -> None:
    snap = await snapshot_of(await world.board("d1", ["board"]))
    assert snap["work_orders"]
    for item in snap["work_orders"]:
        assert item["status"] in {"new", "assigned", "accepted", "en_route", "on_site"}
        assert not set(DETAIL_ONLY) & set(item)
        assert {"id", "store_id", "priority", "location", "address", "description", "status",
                "technician_id", "time_window", "planned_arrival", "version"} <= set(item)


class FailingOnce:
    """The real source behind a database that fails the first read (a pool timeout)."""

    def __init__(self, source: SqlSnapshotSource) -> None:
        self.source = source
        self.calls = 0

    async def snapshot(self, principal: Principal, topics: frozenset[str]) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 1:
            raise TimeoutError("QueuePool limit reached, connection timed out")
        return await self.source.snapshot(principal, topics)


async def test_a_failed_read_is_tried_again_and_the_board_told_it_is_loading(
        seeded: AsyncEngine) -> None:
    source = FailingOnce(SqlSnapshotSource(seeded))
    w = World(seeded, SharedSnapshots(source, slots=2, retry_after=0.05))
    await w.hub.start()
    try:
        board = await w.board("d1", ["board"])
        snap = await snapshot_of(board)
        assert snap["work_orders"] and source.calls == 2
        kinds = [m["type"] for m in board.sent]
        assert kinds.index("loading") < kinds.index("snapshot")
        assert w.shared.failed == 1 and w.shared.computed == 2
        assert not w.tasks[0].done()  # the session stays open
    finally:
        await w.close()
        await w.hub.stop()
