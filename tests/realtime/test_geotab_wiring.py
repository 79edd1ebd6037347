"""The app reading a MyGeotab server (the simulator): vans appear on a dispatcher's board and
the feed's version token is kept in the database, so a restart continues where it stopped."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack

from sqlalchemy import select
from starlette.testclient import TestClient

from realtime.geotab import Fleet, GeotabSimulator, WallClock
from storage import tables as t
from storage.engine import create_engine
from tests.realtime.ws_helpers import connect, receive_until
from tests.web.api_helpers import seed_small
from tests.web.test_intake_api import served_in_thread
from web.app import create_app
from web.settings import Settings


async def _tokens(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(t.feed_cursors))).all()
        return {name: token for name, token, _ in rows}
    finally:
        await engine.dispose()


def test_vans_from_the_geotab_feed_reach_the_board_and_the_token_is_kept(
    database_url: str,
) -> None:
    seed_small(database_url)  # units b1..b6 belong to the seeded technicians
    fleet = Fleet(vans=6, seed=2, clock=WallClock(), center=(32.8, -96.9), radius_km=10)
    for device in list(fleet.vans):
        fleet.resume(device)
    sim = GeotabSimulator(fleet, database="acme", users={"svc": "pw"})
    with served_in_thread(sim) as url:
        settings = Settings(database_url=database_url, geotab_server=url,
                            geotab_database="acme", geotab_username="svc",
                            geotab_password="pw")  # type: ignore[arg-type]
        with TestClient(create_app(settings)) as client, ExitStack() as stack:
            ws = stack.enter_context(connect(client, "dispatcher", ["board"]))
            frames = receive_until(ws, lambda m: m["type"] == "positions", limit=2000)
            items = frames[-1]["items"]
            assert items and all(i["unit_id"].startswith("unit-") for i in items)
            assert {i["technician_id"] for i in items} <= {f"tech-{n:04d}" for n in range(1, 7)}
            deadline = time.monotonic() + 10
            tokens: dict[str, str] = {}
            while time.monotonic() < deadline and len(tokens) < 2:
                tokens = asyncio.run(_tokens(database_url))
                time.sleep(0.2)
            assert {"geotab:acme:LogRecord", "geotab:acme:DeviceStatusInfo"} <= set(tokens)
