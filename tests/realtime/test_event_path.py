"""The event path without sockets: sequence assignment, gap repair, slow consumers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.roles import Principal, Role
from realtime.bus import MemoryBus
from realtime.events import LogEvent
from realtime.hub import Hub
from realtime.session import CLOSE_TOO_SLOW, Session, SessionConfig
from storage import tables as t
from storage.engine import SQLITE_WRITE, create_engine
from storage.eventlog import SqlEventLog

CHANNEL = "test:events"


async def eventually(condition: Any, within_s: float = 5.0) -> None:
    """Wait until ``condition()`` holds (bounded), so a loaded machine does not fail the test."""
    for _ in range(int(within_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)


def outbox_row(n: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "name": "WorkOrderUpdated",
            "aggregate_type": "work_order", "aggregate_id": f"wo-{n}", "store_id": "store-1",
            "technician_id": None, "payload": {"n": n}, "occurred_at": dt.datetime.now(dt.UTC)}


@pytest.mark.postgres
async def test_insert_order_is_not_commit_order_yet_the_sequence_has_no_holes(
    postgres_url: str,
) -> None:
    """A transaction that inserted first but committed last gets the later sequence number.

    PostgreSQL only: SQLite serializes writers (BEGIN IMMEDIATE), so it cannot interleave so."""
    engine = create_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(t.outbox.delete())
    log = SqlEventLog(engine, LogEvent)
    slow = await engine.connect()
    await slow.begin()
    await slow.execute(insert(t.outbox).values(**outbox_row(1)))  # inserted first, not committed
    async with engine.begin() as fast:
        await fast.execute(insert(t.outbox).values(**outbox_row(2)))
    first = await log.publish_pending(100)
    await slow.commit()
    await slow.close()
    second = await log.publish_pending(100)
    assert [(e.seq, e.data["n"]) for e in first] == [(1, 2)]
    assert [(e.seq, e.data["n"]) for e in second] == [(2, 1)]
    assert [e.seq for e in await log.read_since(0, 10)] == [1, 2]
    await engine.dispose()


async def test_events_are_published_oldest_first_a_batch_at_a_time_and_once(
    engine: AsyncEngine,
) -> None:
    log = SqlEventLog(engine, LogEvent)
    async with engine.begin() as conn:
        await conn.execute(insert(t.outbox), [outbox_row(n) for n in range(7)])
    batches = [await log.publish_pending(3) for _ in range(4)]
    assert [[(e.seq, e.data["n"]) for e in batch] for batch in batches] == [
        [(1, 0), (2, 1), (3, 2)], [(4, 3), (5, 4), (6, 5)], [(7, 6)], []]
    assert await log.latest_seq() == 7
    assert all(e.at is not None and e.aggregate_id == f"wo-{e.data['n']}"
               for batch in batches for e in batch)


async def test_with_nothing_pending_the_relay_leaves_the_write_lock_to_the_app(
    sqlite_template: Path, tmp_path: Path,
) -> None:
    """On SQLite, whose writers share one lock, a pass with nothing to publish does not take it:
    a writer holding it meanwhile (here a whole transaction) delays no empty pass. (PostgreSQL's
    relay locks rows, not the database.)"""
    shutil.copy(sqlite_template, tmp_path / "dispatch.db")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}")
    log = SqlEventLog(engine, LogEvent)
    try:
        async with engine.connect() as holder:
            holder = await holder.execution_options(**{SQLITE_WRITE: True})
            async with holder.begin():  # BEGIN IMMEDIATE: the write lock, held
                assert await asyncio.wait_for(log.publish_pending(10), 5) == []
            async with engine.begin() as conn:
                await conn.execute(insert(t.outbox), [outbox_row(1)])
        assert [e.data["n"] for e in await log.publish_pending(10)] == [1]
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_two_publishers_at_once_never_give_one_number_twice_nor_publish_twice(
    postgres_url: str,
) -> None:
    """Two leaders for a moment (a lock's connection lost unnoticed): whatever each publishes,
    no event is published by both and no sequence number is given twice."""
    engine = create_engine(postgres_url, pool_size=4)
    async with engine.begin() as conn:
        await conn.execute(t.outbox.delete())
    log = SqlEventLog(engine, LogEvent)
    published: list[LogEvent] = []
    for round_ in range(10):
        async with engine.begin() as conn:
            await conn.execute(insert(t.outbox), [outbox_row(round_ * 10 + n) for n in range(10)])
        results = await asyncio.gather(log.publish_pending(4), log.publish_pending(4),
                                       return_exceptions=True)
        published += [e for r in results if isinstance(r, list) for e in r]
        published += await log.publish_pending(1000)
    assert len(published) == 100
    assert sorted(e.seq for e in published) == list(range(1, 101))
    assert len({e.data["n"] for e in published}) == 100
    await engine.dispose()


class Collector:
    """Stands in for a session: records what the hub offers."""

    def __init__(self) -> None:
        self.seqs: list[int] = []

    def offer_event(self, event: LogEvent, text: str | None = None, *_: Any) -> None:
        self.seqs.append(event.seq)

    def offer_positions(self, updates: list[Any], frame: str) -> None:
        pass


async def _published(engine: AsyncEngine, log: SqlEventLog, count: int) -> list[LogEvent]:
    async with engine.begin() as conn:
        await conn.execute(insert(t.outbox), [outbox_row(n) for n in range(count)])
    return await log.publish_pending(1000)


async def test_a_lost_bus_message_is_repaired_from_the_log(engine: AsyncEngine) -> None:
    log = SqlEventLog(engine, LogEvent)
    bus = MemoryBus()
    hub = Hub(log, bus, events_channel=CHANNEL, positions_channel="test:positions")
    await hub.start()
    await bus.start()
    sink = Collector()
    hub.add(sink)  # type: ignore[arg-type]
    try:
        events = await _published(engine, log, 5)
        for event in (events[0], events[2], events[2], events[1]):  # 2 lost, 3 twice, 2 late
            await bus.publish(CHANNEL, event.to_wire())
        await eventually(lambda: len(sink.seqs) >= 3)
        await asyncio.sleep(0.1)  # a wrongly repeated delivery would show up by now
        assert sink.seqs == [1, 2, 3]
        # 4 and 5 never reach the bus: the relay's heartbeat tells the hub they exist
        await bus.publish(CHANNEL, json.dumps({"kind": "heartbeat", "seq": 5}))
        await eventually(lambda: len(sink.seqs) >= 5)
        assert sink.seqs == [1, 2, 3, 4, 5]
        assert hub.repairs >= 2
        recent = hub.recent_since(3)
        assert recent is not None and [e.seq for e in recent] == [4, 5]
        fresh = Hub(log, MemoryBus(), events_channel=CHANNEL, positions_channel="x")
        assert fresh.recent_since(3) is None  # a new worker falls back to the database
    finally:
        await hub.stop()
        await bus.stop()


class StuckTransport:
    """A peer that stopped reading: every send blocks forever."""

    def __init__(self) -> None:
        self.closed: list[int] = []
        self.inbox: asyncio.Queue[str] = asyncio.Queue()

    async def receive_text(self) -> str:
        return await self.inbox.get()

    async def send_text(self, data: str) -> None:
        if '"ready"' in data:
            return
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str = "") -> None:
        self.closed.append(code)


class ReadingTransport(StuckTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    async def send_text(self, data: str) -> None:
        self.sent.append(json.loads(data))


class NoSnapshots:
    async def snapshot(self, principal: Principal, topics: frozenset[str]) -> dict[str, Any]:
        return {"technicians": [], "work_orders": [], "stores": [], "proposals": [], "alerts": []}


def _auth(token: str) -> tuple[Principal, dt.datetime]:
    p = Principal(user_id=token, username=token, roles=frozenset({Role.DISPATCHER}))
    return p, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


async def test_a_client_that_stops_reading_is_dropped_and_delays_no_one(
    engine: AsyncEngine,
) -> None:
    log = SqlEventLog(engine, LogEvent)
    bus = MemoryBus()
    hub = Hub(log, bus, events_channel=CHANNEL, positions_channel="test:positions")
    await hub.start()
    config = SessionConfig(max_pending=20, close_grace=0.2)
    stuck, reading = StuckTransport(), ReadingTransport()
    sessions = [Session(tr, hub=hub, event_log=log, snapshots=NoSnapshots(),
                        authenticate=_auth, config=config) for tr in (stuck, reading)]
    tasks = [asyncio.create_task(s.run()) for s in sessions]
    for tr in (stuck, reading):
        await tr.inbox.put(json.dumps({"type": "auth", "token": "u"}))
        await tr.inbox.put(json.dumps({"type": "subscribe", "topics": ["board"], "since": None}))
    await eventually(lambda: all(s.topics and not s._syncing for s in sessions))
    events = await _published(engine, log, 100)
    for event in events:
        hub._deliver(event)
        await asyncio.sleep(0)

    def delivered() -> list[int]:
        return [m["seq"] for m in reading.sent if m["type"] == "event"]

    await eventually(lambda: len(delivered()) >= 100 and tasks[0].done())
    assert delivered() == list(range(1, 101))
    assert tasks[0].done(), "the stuck session is gone"
    assert len(sessions[0]._out) == 0 and sessions[0]._closing == (CLOSE_TOO_SLOW,
                                                                    "too slow: reconnect with since")
    assert sessions[0] not in hub.sessions and sessions[1] in hub.sessions
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await hub.stop()


class GatedTransport(ReadingTransport):
    """A peer that reads only once the gate opens (a busy server's writer falls behind)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.frames: list[str] = []

    async def send_text(self, data: str) -> None:
        if '"type":"ready"' not in data and '"type": "ready"' not in data:
            await self.gate.wait()
        self.frames.append(data)
        await super().send_text(data)


async def _started_hub(engine: AsyncEngine) -> tuple[SqlEventLog, Hub]:
    log = SqlEventLog(engine, LogEvent)
    hub = Hub(log, MemoryBus(), events_channel=CHANNEL, positions_channel="test:positions")
    await hub.start()
    return log, hub


async def _subscribed_boards(log: SqlEventLog, hub: Hub, batching: ReadingTransport,
                             single: ReadingTransport,
                             config: SessionConfig | None = None) -> list[asyncio.Task[None]]:
    """Two boards on ``hub``, one that asked for batches and one that did not, both subscribed
    and synced; answers their sessions' tasks."""
    sessions = [Session(tr, hub=hub, event_log=log, snapshots=NoSnapshots(), authenticate=_auth,
                        config=config) for tr in (batching, single)]
    tasks = [asyncio.create_task(s.run()) for s in sessions]
    for tr, batch in ((batching, True), (single, False)):
        await tr.inbox.put(json.dumps({"type": "auth", "token": "u"}))
        await tr.inbox.put(json.dumps({"type": "subscribe", "topics": ["board"], "since": None,
                                       "batch": batch}))
    await eventually(lambda: all(s.topics and not s._syncing for s in sessions))
    return tasks


async def _stop(tasks: list[asyncio.Task[None]], hub: Hub) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await hub.stop()


def _event_seqs(messages: list[dict[str, Any]]) -> list[int]:
    """Every event's seq as the board applies them: ``event`` messages and ``events`` items."""
    return [m["seq"] for message in messages
            for m in (message["items"] if message["type"] == "events" else [message])
            if m["type"] == "event"]


async def test_events_that_queued_go_as_one_frame_to_a_client_that_asked_and_singly_otherwise(
    engine: AsyncEngine,
) -> None:
    log, hub = await _started_hub(engine)
    batching, single = GatedTransport(), GatedTransport()
    tasks = await _subscribed_boards(log, hub, batching, single)
    for event in await _published(engine, log, 30):
        hub._deliver(event)
    for tr in (batching, single):
        tr.gate.set()
    await eventually(lambda: all(_event_seqs(tr.sent) == list(range(1, 31))
                                 for tr in (batching, single)))
    assert [_event_seqs(tr.sent) for tr in (batching, single)] == [list(range(1, 31))] * 2
    batched = [m for m in batching.sent if m["type"] == "events"]
    assert batched and len(batched[0]["items"]) > 1
    assert all(item["type"] == "event" and item["data"] for m in batched for item in m["items"])
    assert [m["type"] for m in single.sent].count("event") == 30
    assert "events" not in [m["type"] for m in single.sent]
    await _stop(tasks, hub)


async def test_a_stream_of_events_goes_one_frame_a_linger_and_a_lone_event_alone(
    engine: AsyncEngine,
) -> None:
    """A board that batches gets the first event of a stream by itself, what follows within the
    linger as one frame, and after a quiet spell the next event by itself again; a board that
    does not batch gets every event in a frame of its own."""
    log, hub = await _started_hub(engine)
    batching, single = ReadingTransport(), ReadingTransport()
    tasks = await _subscribed_boards(log, hub, batching, single,
                                     config=SessionConfig(event_linger=1.0))
    events = await _published(engine, log, 21)
    hub._deliver(events[0])
    await eventually(lambda: _event_seqs(batching.sent) == [1])
    for event in events[1:20]:  # one every few milliseconds: each wakes the writers
        hub._deliver(event)
        await asyncio.sleep(0.002)
    await eventually(lambda: _event_seqs(batching.sent) == list(range(1, 21)))
    await asyncio.sleep(1.1)  # longer than the linger: quiet
    hub._deliver(events[20])
    await eventually(lambda: all(_event_seqs(tr.sent) == list(range(1, 22))
                                 for tr in (batching, single)))
    frames = [[item["seq"] for item in m["items"]] if m["type"] == "events" else [m["seq"]]
              for m in batching.sent if m["type"] in {"event", "events"}]
    assert frames == [[1], list(range(2, 21)), [21]]
    assert [m["type"] for m in single.sent].count("event") == 21
    await _stop(tasks, hub)


async def test_a_batch_flag_that_is_not_true_or_false_is_refused_and_subscribes_nothing(
    engine: AsyncEngine,
) -> None:
    log, hub = await _started_hub(engine)
    reading = ReadingTransport()
    session = Session(reading, hub=hub, event_log=log, snapshots=NoSnapshots(),
                      authenticate=_auth)
    task = asyncio.create_task(session.run())
    await reading.inbox.put(json.dumps({"type": "auth", "token": "u"}))
    await reading.inbox.put(json.dumps({"type": "subscribe", "topics": ["board"], "since": None,
                                        "batch": "yes"}))
    await eventually(lambda: any(m["type"] == "error" for m in reading.sent))
    error = next(m for m in reading.sent if m["type"] == "error")
    assert error["code"] == "bad_message" and "batch" in error["message"]
    assert session.topics == frozenset() and not session.batches
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await hub.stop()
