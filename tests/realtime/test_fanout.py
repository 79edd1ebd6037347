"""Fan-out to many boards: scope decided once per audience, positions lanes, heartbeats, and the
relay's leader woken by commits made in other processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.roles import Principal, Role
from realtime.bus import MemoryBus
from realtime.events import LogEvent, PositionUpdate
from realtime.hub import Hub
from realtime.lanes import POSITIONS_PER_MESSAGE, positions_messages
from realtime.relay import OutboxRelay
from realtime.session import Session, SessionConfig
from realtime.supervisor import After, Supervisor
from storage import tables as t
from storage.engine import create_engine
from storage.eventlog import PostgresLeaderLock, SqlEventLog

NOW = dt.datetime(2026, 7, 14, 15, 0, tzinfo=dt.UTC)
PRINCIPALS = {
    "dispatcher-1": Principal("u1", "dispatcher-1", frozenset({Role.DISPATCHER})),
    "dispatcher-2": Principal("u2", "dispatcher-2", frozenset({Role.DISPATCHER})),
    "manager-a": Principal("u3", "manager-a", frozenset({Role.STORE_MANAGER}),
                           store_ids=frozenset({"store-a"})),
    "manager-b": Principal("u4", "manager-b", frozenset({Role.STORE_MANAGER}),
                           store_ids=frozenset({"store-b"})),
    "tech-1": Principal("u5", "tech-1", frozenset({Role.TECHNICIAN}), technician_id="tech-1"),
}


async def eventually(condition: Any, within_s: float = 10.0) -> None:
    for _ in range(int(within_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)


class Board:
    """A websocket peer that reads everything; ``gate`` cleared holds its sends (a slow link)."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        #: When each message of ``sent`` was sent (the loop's clock).
        self.times: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def receive_text(self) -> str:
        return await self.inbox.get()

    async def send_text(self, data: str) -> None:
        await self.gate.wait()
        self.sent.append(json.loads(data))
        self.times.append(asyncio.get_running_loop().time())

    async def close(self, code: int, reason: str = "") -> None:
        pass

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == kind]


class NoSnapshots:
    async def snapshot(self, principal: Principal, topics: frozenset[str]) -> dict[str, Any]:
        return {"technicians": [], "work_orders": [], "stores": [], "proposals": [], "alerts": []}


def authenticate(token: str) -> tuple[Principal, dt.datetime]:
    return PRINCIPALS[token], dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


async def connect(hub: Hub, log: SqlEventLog, who: str, topics: list[str],
                  config: SessionConfig | None = None, *,
                  batch: bool = False) -> tuple[Session, Board, asyncio.Task[None]]:
    board = Board()
    session = Session(board, hub=hub, event_log=log, snapshots=NoSnapshots(),
                      authenticate=authenticate, config=config)
    task = asyncio.create_task(session.run())
    await board.inbox.put(json.dumps({"type": "auth", "token": who}))
    await board.inbox.put(json.dumps({"type": "subscribe", "topics": topics, "since": 0,
                                      "batch": batch}))
    await eventually(lambda: session.topics and not session._syncing)
    return session, board, task


def work_order_event(seq: int, store_id: str, technician_id: str | None = None) -> LogEvent:
    return LogEvent(seq=seq, name="WorkOrderUpdated", at=NOW, aggregate_type="work_order",
                    aggregate_id=f"wo-{seq}", store_id=store_id, technician_id=technician_id,
                    data={"work_order": {"id": f"wo-{seq}", "store_id": store_id}})


def van(n: int, lat: float = 32.7, at: dt.datetime = NOW) -> PositionUpdate:
    return PositionUpdate(unit_id=f"veh-{n:05d}", technician_id=None, store_id="store-a",
                          lat=lat, lon=-97.1, speed_kmh=40.0, bearing=90.0, at=at,
                          freshness="moving")


@pytest.fixture
async def hub(engine: AsyncEngine) -> Any:
    bus = MemoryBus()
    hub = Hub(SqlEventLog(engine, LogEvent), bus, events_channel="t:events",
              positions_channel="t:positions", flush_interval=3600)
    await hub.start()
    yield hub
    await hub.stop()


async def test_boards_of_one_scope_share_an_audience_and_each_gets_only_its_own_events(
    hub: Hub, engine: AsyncEngine,
) -> None:
    log = SqlEventLog(engine, LogEvent)
    boards = {who: await connect(hub, log, who, topics) for who, topics in [
        ("dispatcher-1", ["board"]), ("dispatcher-2", ["board"]), ("manager-a", ["board"]),
        ("manager-b", ["board"]), ("tech-1", ["technician:tech-1"])]}
    audiences = {who: s.audience for who, (s, _, _) in boards.items()}
    assert audiences["dispatcher-1"] == audiences["dispatcher-2"]
    assert len({audiences[w] for w in ("dispatcher-1", "manager-a", "manager-b", "tech-1")}) == 4

    for event in (work_order_event(1, "store-a"), work_order_event(2, "store-b", "tech-1"),
                  work_order_event(3, "store-a"), work_order_event(4, "store-b")):
        hub._deliver(event)
    for _, board, _ in boards.values():
        await eventually(lambda b=board: len(b.of("event")) >= 1)
    await asyncio.sleep(0.05)  # anything wrongly sent would have arrived by now
    seen = {who: [m["seq"] for m in b.of("event")] for who, (_, b, _) in boards.items()}
    assert seen == {"dispatcher-1": [1, 2, 3, 4], "dispatcher-2": [1, 2, 3, 4],
                    "manager-a": [1, 3], "manager-b": [2, 4], "tech-1": [2]}
    for _, _, task in boards.values():
        task.cancel()
    await asyncio.gather(*(task for _, _, task in boards.values()), return_exceptions=True)


async def test_a_board_that_falls_behind_gets_every_van_newest_fix_and_loses_none(
    hub: Hub, engine: AsyncEngine,
) -> None:
    _, board, task = await connect(hub, SqlEventLog(engine, LogEvent), "dispatcher-1", ["board"])
    board.gate.clear()  # the link stalls: the event below is being sent, nothing else goes
    hub._deliver(work_order_event(1, "store-a"))
    await asyncio.sleep(0.05)
    later = NOW + dt.timedelta(seconds=1)
    for update in (van(1), van(2)):  # one flush that cannot be sent yet ...
        hub._pending[update.unit_id] = update
    hub.flush_positions()
    for update in (van(2, lat=33.0, at=later), van(3, at=later)):  # ... and the next one
        hub._pending[update.unit_id] = update
    hub.flush_positions()
    board.gate.set()
    await eventually(lambda: len(board.of("positions")) >= 1)
    await asyncio.sleep(0.05)
    items = {i["unit_id"]: i for m in board.of("positions") for i in m["items"]}
    assert set(items) == {"veh-00001", "veh-00002", "veh-00003"}
    assert items["veh-00002"]["lat"] == 33.0  # the newest fix, not the one it superseded
    assert [m["type"] for m in board.sent][-2:] == ["event", "positions"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_a_large_flush_goes_out_as_messages_below_the_size_that_would_be_compressed() -> None:
    vans = [van(n, at=NOW + dt.timedelta(microseconds=n)) for n in range(2 * POSITIONS_PER_MESSAGE
                                                                         + 10)]
    messages = positions_messages(vans)
    assert len(messages) == 3
    assert all(len(m.encode()) < 64 * 1024 for m in messages)
    assert [i["unit_id"] for m in messages for i in json.loads(m)["items"]] == [
        v.unit_id for v in vans]


async def test_a_quiet_board_still_gets_a_heartbeat_every_interval(
    hub: Hub, engine: AsyncEngine,
) -> None:
    _, board, task = await connect(hub, SqlEventLog(engine, LogEvent), "dispatcher-1", ["board"],
                                   SessionConfig(heartbeat_interval=0.05))
    await eventually(lambda: len(board.of("heartbeat")) >= 3)
    assert len(board.of("heartbeat")) >= 3
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.postgres
async def test_a_commit_where_the_relay_does_not_lead_wakes_the_leader_at_once(
    postgres_url: str,
) -> None:
    """Two processes share the bus (Redis in production); the one that commits does not lead.
    Both poll only every minute, so the event goes out at once only if the leader is woken."""
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    async with engines[0].begin() as conn:
        await conn.execute(t.outbox.delete())
    bus = MemoryBus()
    published: list[int] = []

    async def record(raw: str) -> None:
        message = json.loads(raw)
        if message.get("kind") == "event":
            published.append(message["seq"])

    bus.subscribe("t:events", record)
    leader, follower = (OutboxRelay(SqlEventLog(e, LogEvent), bus, PostgresLeaderLock(e),
                                    channel="t:events", poll_interval=60, follower_interval=60)
                        for e in engines)
    await bus.start()
    supervisor = Supervisor()
    supervisor.periodic("relay", leader.run_pass, interval=60, wake=leader.wake)
    supervisor.start()
    try:
        await eventually(lambda: leader.is_leader)
        assert await follower.run_pass() == After(60) and not follower.is_leader
        async with engines[1].begin() as conn:  # a request served by the other process
            await conn.execute(insert(t.outbox).values(
                event_id=str(uuid.uuid4()), name="WorkOrderCreated", aggregate_type="work_order",
                aggregate_id="wo-1", store_id="store-a", technician_id=None, payload={},
                occurred_at=NOW))
        follower.notify()
        await eventually(lambda: published == [1])
        assert published == [1]
    finally:
        await supervisor.stop()
        await leader.stop()
        await follower.stop()
        await bus.stop()
        for e in engines:
            await e.dispose()


async def test_positions_that_come_while_events_stream_wait_for_the_linger_and_go_with_them(
    hub: Hub, engine: AsyncEngine,
) -> None:
    """A board that batches gets at most one pass per linger while traffic streams: positions
    flushed within the linger of its last pass wait for it and go right after the events that
    came meanwhile (one socket write on the server); a board that does not batch gets them at
    once."""
    log = SqlEventLog(engine, LogEvent)
    config = SessionConfig(event_linger=1.0)
    _, batching, task_b = await connect(hub, log, "dispatcher-1", ["board"], config, batch=True)
    _, single, task_s = await connect(hub, log, "dispatcher-2", ["board"], config)
    hub._deliver(work_order_event(1, "store-a"))
    await eventually(lambda: batching.of("event") and single.of("event"))
    first = batching.times[-1]
    hub._pending["veh-00001"] = van(1)
    hub.flush_positions()
    await eventually(lambda: single.of("positions"))
    hub._deliver(work_order_event(2, "store-a"))
    await eventually(lambda: len(single.of("event")) == 2)
    assert not batching.of("positions") and len(batching.of("event")) == 1  # held: linger
    await eventually(lambda: batching.of("positions"))
    kinds = [m["type"] for m in batching.sent]
    assert kinds[-3:] == ["event", "event", "positions"]
    assert batching.sent[-2]["seq"] == 2
    assert batching.times[-1] - batching.times[-2] < 0.1  # one pass
    assert batching.times[-2] - first >= 0.9  # after the linger
    assert single.times[single.sent.index(single.of("positions")[0])] - first < 0.5
    for task in (task_b, task_s):
        task.cancel()
    await asyncio.gather(task_b, task_s, return_exceptions=True)
