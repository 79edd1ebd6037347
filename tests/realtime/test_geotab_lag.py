"""The position lag is measured on the real path and exported: the app reads the MyGeotab
simulator, a dispatcher's board receives the vans, and ``/metrics`` shows the lag from each fix's
device time to its ingestion and to the hub handing the board its frame, read on the app's clock.

The vans' devices run on the app's clock too, shifted two days back: a lag read on the wall
clock instead would be two days long."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from realtime.geotab import LOG_RECORD, Fleet, GeotabSimulator
from realtime.geotab.protocol import GETFEED_MIN_SECONDS
from tests.realtime.ws_helpers import connect, receive_until
from tests.web.api_helpers import seed_small
from tests.web.test_intake_api import served_in_thread
from web.app import create_app
from web.clock import ShiftedClock
from web.settings import Settings


class DevicesOnTheAppClock:
    """The simulated vans' clock: the app's, in whole seconds as devices log them."""

    def __init__(self, clock: ShiftedClock) -> None:
        self.clock = clock

    def now(self) -> dt.datetime:
        return self.clock().replace(microsecond=0)


def sample(text: str, name: str) -> float:
    """One sample of the Prometheus text, by its name and labels as written."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"no {name} on /metrics"
    return float(match.group(1))


def until(check: Callable[[], Any], what: str, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # bounded
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"never: {what}")


def test_the_lag_from_device_to_board_is_observed_on_the_apps_clock(database_url: str) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    clock = ShiftedClock(start)
    seed_small(database_url, now=start)  # units b1..b6 belong to the seeded technicians
    fleet = Fleet(vans=6, seed=2, clock=DevicesOnTheAppClock(clock), center=(32.8, -96.9),
                  radius_km=10)
    for device in list(fleet.vans):
        fleet.resume(device)
    sim = GeotabSimulator(fleet, database="acme", users={"svc": "pw"})
    with served_in_thread(sim) as url:
        settings = Settings(database_url=database_url, metrics_enabled=True, geotab_server=url,
                            geotab_database="acme", geotab_username="svc",
                            geotab_password="pw")  # type: ignore[arg-type]
        with TestClient(create_app(settings, clock=clock)) as client, \
                connect(client, "dispatcher", ["board"]) as ws:
            frames = receive_until(ws, lambda m: m["type"] == "positions" and m["items"],
                                   limit=2000)
            shown = frames[-1]["items"]
            assert all(dt.datetime.fromisoformat(i["at"]) >= start for i in shown)

            text = client.get("/metrics").text  # the hub counted the frame before handing it out
            board = "dispatch_position_board_lag_seconds"
            assert sample(text, f"{board}_count") >= len(shown)
            assert sample(text, f'{board}_bucket{{le="300.0"}}') == sample(text, f"{board}_count")
            ingest = "dispatch_position_ingest_lag_seconds"
            assert sample(text, f'{ingest}_count{{feed="geotab"}}') >= len(shown)
            assert sample(text, f'{ingest}_bucket{{feed="geotab",le="300.0"}}') == \
                sample(text, f'{ingest}_count{{feed="geotab"}}')

            feed = client.app.state.runtime.live.feeds["geotab"]  # type: ignore[attr-defined]
            assert feed.fast_interval == settings.geotab_poll_fast_seconds
            assert feed.catch_up_interval >= GETFEED_MIN_SECONDS
            # Vans driving: every page brings records, so the feed keeps the fast interval.
            until(lambda: feed.stats[LOG_RECORD].interval == feed.fast_interval,
                  "the positions feed polling at its fast interval")
