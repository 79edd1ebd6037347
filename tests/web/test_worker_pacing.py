"""A running app's background workers rest between their steps: with nothing to do, none of them
runs faster than its interval. (Two once answered how many messages they had sent, which the
supervisor took for the wait: a quiet one, 0, ran its database statements again at once, dozens of
passes a second in every process, for as long as it ran.)"""

from __future__ import annotations

import time

from pydantic import SecretStr
from starlette.testclient import TestClient

from web.app import create_app
from web.settings import Settings

#: Real time the app runs before its workers are counted (a bound on a loop, not a timing).
WATCH_S = 1.5


def test_quiet_workers_wait_their_interval_between_steps(database_url: str) -> None:
    settings = Settings(database_url=database_url, run_feeds=True, alerts_enabled=True,
                        partner_webhook_url="http://127.0.0.1:9/hooks",
                        partner_webhook_secret=SecretStr("s" * 32))
    app = create_app(settings)
    with TestClient(app):
        supervisor = app.state.runtime.live.supervisor
        started = time.monotonic()
        time.sleep(WATCH_S)
        elapsed = time.monotonic() - started
        runs = {name: (w.health.runs, w.interval) for name, w in supervisor.workers.items()
                if w.interval}
    assert {"alert-delivery", "partner-webhooks", "relay"} <= set(runs)
    too_busy = {name: (count, interval) for name, (count, interval) in runs.items()
                # one step at the start, one per interval, and a few a wake-up may add
                if count > 3 + elapsed / interval}
    assert too_busy == {}
