"""The demo's embedded GeoTab feed is read as production reads MyGeotab: with the pacing of
``GEOTAB_POLL_FAST_SECONDS`` / ``GEOTAB_POLL_SECONDS`` and on the app's clock (its simulated vans
log on that clock too, so a demo run on a shifted clock shows them fresh)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from realtime.geotab import LOG_RECORD
from tests.realtime.ws_helpers import connect, receive_until
from tests.web.api_helpers import seed_small
from web.app import create_app
from web.clock import ShiftedClock
from web.settings import Settings


def test_the_demo_feed_polls_as_configured_on_the_apps_clock(database_url: str,
                                                             tmp_path: Path) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    clock = ShiftedClock(start)
    seed_small(database_url, now=start)  # units b1..b6, with GeoTab device ids
    settings = Settings(database_url=database_url, demo=True,
                        demo_secret_file=str(tmp_path / "demo-key"),
                        geotab_poll_fast_seconds=1.5, geotab_poll_seconds=7.0,
                        geotab_backoff_cap_seconds=40.0)
    with TestClient(create_app(settings, clock=clock)) as client, \
            connect(client, "dispatcher", ["board"]) as board:
        feed: Any = client.app.state.runtime.live.feeds["geotab"]  # type: ignore[attr-defined]
        assert (feed.fast_interval, feed.poll_interval) == (1.5, 7.0)
        assert feed.catch_up_interval <= 1.5

        frame = receive_until(board, lambda m: m["type"] == "positions" and m["items"],
                              limit=2000)[-1]
        for van in frame["items"]:  # logged on the app's clock, so fresh on it
            assert dt.datetime.fromisoformat(van["at"]) >= start
            assert van["freshness"] in {"moving", "stopped"}, van

        deadline = time.monotonic() + 20  # bounded: vans roam, so pages keep bringing records
        while feed.stats[LOG_RECORD].interval != 1.5:
            assert time.monotonic() < deadline, feed.stats[LOG_RECORD]
            time.sleep(0.1)
        assert feed.stats[LOG_RECORD].calls >= 2
