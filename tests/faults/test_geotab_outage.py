"""MyGeotab answering errors for a long while: the feed backs off, an alert is raised, /readyz
says which feed and why meanwhile; once MyGeotab answers again the feed catches up on what the
vans logged during the outage, the alert resolves and the app is ready again."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from realtime.geotab import Fleet, GeotabSimulator, WallClock
from storage import tables as t
from storage.engine import create_engine
from tests.web.api_helpers import auth, seed_small
from tests.web.test_intake_api import served_in_thread
from web.app import create_app
from web.settings import Settings


def _until(what: str, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def _history_since(url: str, since: dt.datetime, before: dt.datetime | None = None) -> int:
    """Breadcrumbs the vans logged from ``since`` (and before ``before``)."""
    async def run() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                h = t.position_history
                query = select(func.count()).select_from(h).where(h.c.device_time >= since)
                if before is not None:
                    query = query.where(h.c.device_time < before)
                return int((await conn.execute(query)).scalar() or 0)
        finally:
            await engine.dispose()
    return asyncio.run(run())


def _alert(client: TestClient, status: str) -> dict[str, Any] | None:
    items = client.get("/api/alerts", headers=auth(client, "admin"), params={
        "kind": "integration_failing", "status": status, "limit": 50}).json()["items"]
    return next((a for a in items if "geotab" in (a.get("title", "") + a.get("message", ""))),
                None)


def test_a_long_geotab_outage_backs_off_alerts_and_catches_up(database_url: str) -> None:
    seed_small(database_url)  # units b1..b6 belong to the seeded technicians
    fleet = Fleet(vans=6, seed=2, clock=WallClock(), center=(32.8, -96.9), radius_km=10)
    for device in list(fleet.vans):
        fleet.resume(device)
    sim = GeotabSimulator(fleet, database="acme", users={"svc": "pw"})
    with served_in_thread(sim) as url:
        settings = Settings(
            database_url=database_url, geotab_server=url, geotab_database="acme",
            geotab_username="svc", geotab_password="pw", geotab_poll_seconds=1.1,  # type: ignore[arg-type]
            geotab_backoff_cap_seconds=1.0, alerts_interval_seconds=0.2,
            ready_feed_stale_seconds=0.5, delegation_refresh_seconds=0.2)
        with TestClient(create_app(settings)) as client:
            feed = client.app.state.runtime.live.feeds["geotab"]  # type: ignore[attr-defined]
            _until("the feed runs and keeps its place", lambda: all(
                s.last_success for s in feed.stats.values()) and _history_since(
                    database_url, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
            outage_started = dt.datetime.now(dt.UTC)
            sim.faults.unavailable_next(100_000)  # every call: HTTP 503 from the load balancer
            ready = _until("/readyz names the feed", lambda: (
                r := client.get("/readyz")).status_code == 503
                and "feed:geotab" in r.json()["failing"] and r.json())
            assert ready["checks"]["feed:geotab"]["last_error"]  # why, for the operator
            assert ready["checks"]["database"]["ok"] is True
            raised = _until("an integration alert", lambda: _alert(client, "open"))
            assert raised["severity"] == "critical"
            _until("the feed keeps retrying, backed off", lambda: sum(
                s.transient_errors + s.auth_failures for s in feed.stats.values()) >= 3)

            # Vans log every few seconds: let the outage span some of their records.
            time.sleep(max(0.0, 6 - (dt.datetime.now(dt.UTC) - outage_started).total_seconds()))
            recovered = dt.datetime.now(dt.UTC)
            sim.faults.clear()  # MyGeotab answers again
            _until("/readyz ready again", lambda: client.get("/readyz").status_code == 200)
            middle = (outage_started + dt.timedelta(seconds=2), recovered - dt.timedelta(seconds=1))
            _until("what the vans logged in the middle of the outage arrives",
                   lambda: _history_since(database_url, *middle))
            _until("the alert resolves", lambda: _alert(client, "resolved"))
