"""The positions fast lane reads the app's one clock: what is "from the future" and how fresh a
van is (moving, stale, offline) follow it, not the wall clock. The app here runs two days
behind the wall clock, so a rule read on the wall clock would see every fix as two days old and
accept a device time an hour ahead of the app."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from domain.positions import PositionFix
from realtime.bus import MemoryBus
from realtime.events import StoredFix
from realtime.positions import PositionPipeline, UnitInfo
from tests.realtime.ws_helpers import connect, receive_until
from tests.web.api_helpers import app_now, seeded_client, token
from web.clock import ShiftedClock

TWO_DAYS_AGO = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)


def test_a_phone_fix_is_checked_and_shown_on_the_apps_clock(database_url: str) -> None:
    with seeded_client(database_url, now=TWO_DAYS_AGO) as client, \
            connect(client, "dispatcher", ["board"]) as board, \
            client.websocket_connect("/ws") as phone:
        phone.send_json({"type": "auth", "token": token(client, "tech1")})
        assert phone.receive_json()["type"] == "ready"
        now = app_now(client)
        ahead = {"type": "position", "lat": 32.90, "lon": -96.90, "speed_kmh": 40.0,
                 "device_time": (now + dt.timedelta(hours=1)).isoformat()}
        phone.send_json(ahead)  # an hour ahead of the app (two days behind the wall clock)
        phone.send_json({**ahead, "lat": "north"})  # always refused: the answers' order is known
        refused = phone.receive_json()
        assert refused["type"] == "error" and "in the future" in refused["message"], refused
        assert "numeric" in phone.receive_json()["message"]

        phone.send_json({"type": "position", "lat": 32.80, "lon": -96.80, "speed_kmh": 40.0,
                         "device_time": (now - dt.timedelta(seconds=5)).isoformat()})
        frame = receive_until(board, lambda m: m["type"] == "positions" and m["items"])[-1]
        [van] = frame["items"]
        assert (van["lat"], van["lon"]) == (32.80, -96.80)  # not the refused fix
        assert van["freshness"] == "moving"  # five seconds old on the app's clock


class OneVan:
    async def units(self) -> dict[str, UnitInfo]:
        info = UnitInfo("unit-0001", "tech-0001", "store-0001")
        return {"b1": info, "unit-0001": info}


class Kept:
    async def save(self, batch: list[StoredFix]) -> None:
        pass

    async def prune(self, older_than: dt.datetime) -> int:
        return 0


async def test_a_van_goes_stale_when_the_apps_clock_says_so() -> None:
    clock = ShiftedClock(TWO_DAYS_AGO)
    events: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()

    async def on_freshness(changes: list[dict[str, Any]]) -> None:
        await events.put(changes)

    bus = MemoryBus()
    await bus.start()
    pipeline = PositionPipeline(bus, Kept(), OneVan(), channel="positions", store_interval=0.01,
                                freshness_interval=0.01, on_freshness=on_freshness, clock=clock)
    await pipeline.start()
    try:
        assert await pipeline.ingest([PositionFix(
            unit_id="b1", lat=32.7, lon=-96.8, speed_kmh=40.0, bearing=None,
            device_time=clock() - dt.timedelta(seconds=10), record_id="r1")]) == 1
        for _ in range(500):  # bounded: the store loop's first look at the van
            if "unit-0001" in pipeline.freshness_state:
                break
            await asyncio.sleep(0.01)
        assert pipeline.freshness_state == {"unit-0001": "moving"}
        assert events.empty()

        clock.advance(dt.timedelta(minutes=10))  # no fix for ten minutes, on the app's clock
        changes = await asyncio.wait_for(events.get(), 5)
        assert [(c["aggregate_id"], c["data"]["previous"], c["data"]["freshness"])
                for c in changes] == [("unit-0001", "moving", "stale")]
    finally:
        await pipeline.stop()
        await bus.stop()
