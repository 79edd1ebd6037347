"""Measure the customer's tracking page in Chromium on the embedded default (not collected by
pytest): SQLite, the in-process bus, one process, a small demo company seeded in a temporary file.

    .venv/bin/python -P bench/tracking.py [jobs]

(``-P``: the project's packages, not ``bench/realtime.py``, answer ``import realtime``.)

For each of ``jobs`` (default 5) booked jobs it opens the tracking link without a login and
reports the first contentful paint and the time until the job's status shows (navigation start
to ``#status`` filled), then the update delay: from the answer of each step's API call (assign,
set off, arrive, complete) to the new status on the open page, with no reload. The page polls
``GET /api/track/<token>`` every second, and the notification worker records the posted messages
off the request, so the delay is about the poll interval's wait (0-1 s) plus one answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.sync_api import sync_playwright

from storage.engine import create_engine
from storage.migrate import upgrade
from web.app import create_app
from web.demo.seed import seed
from web.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STEPS = [("assign", "assigned"), ("en_route", "en_route"), ("on_site", "on_site"),
         ("complete", "completed")]


def prepare(url: str) -> None:
    upgrade(url)

    async def run() -> None:
        engine = create_engine(url)
        try:
            await seed(engine, stores=4, technicians=6, orders=20, seed=1,
                       now=dt.datetime.now(dt.UTC), progress=False)
        finally:
            await engine.dispose()

    asyncio.run(run())


def serve(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.tokens: dict[str, str] = {}

    def call(self, method: str, path: str, user: str, **kwargs: Any) -> Any:
        if user not in self.tokens:
            r = httpx.post(f"{self.base}/api/auth/login", json={"username": user,
                                                               "password": "demo"})
            self.tokens[user] = r.json()["access_token"]
        r = httpx.request(method, self.base + path, timeout=10, **kwargs,
                          headers={"Authorization": f"Bearer {self.tokens[user]}"})
        r.raise_for_status()
        return r.json()


def book(client: Client) -> tuple[str, str]:
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    order = client.call("POST", "/api/work-orders", "service", json={
        "store_id": "store-0001", "priority": "normal", "customer_id": "cust-00001",
        "location": {"lat": 32.78, "lon": -96.8}, "description": "Bench: oven will not heat",
        "time_window": {"start": start.isoformat(),
                        "end": (start + dt.timedelta(hours=2)).isoformat()}})
    link = client.call("GET", f"/api/work-orders/{order['id']}", "dispatcher")["tracking_url"]
    return order["id"], link


def step(client: Client, order_id: str, name: str) -> None:
    if name == "assign":
        client.call("POST", f"/api/work-orders/{order_id}/assign", "dispatcher",
                    json={"technician_id": "tech-0001", "allow_missing_skills": True})
        return
    if name == "en_route":
        step(client, order_id, "accept")
    client.call("POST", f"/api/work-orders/{order_id}/status", "dispatcher",
                json={"step": name, "technician_id": "tech-0001"})


def main(jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'tracking.db'}"
        prepare(url)
        app = create_app(Settings(database_url=url, tile_url="",
                                  secret_key=secrets.token_urlsafe(48)))
        port = 8790
        server = serve(app, port)
        client = Client(f"http://127.0.0.1:{port}")
        paints, shown, delays = [], [], []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for _ in range(jobs):
                    order_id, link = book(client)
                    page = browser.new_context(viewport={"width": 412, "height": 860}).new_page()
                    page.goto(link)
                    page.wait_for_selector("#status[data-status=new]")
                    paints.append(page.evaluate(
                        "() => performance.getEntriesByName('first-contentful-paint')[0]"
                        "?.startTime ?? -1"))
                    shown.append(page.evaluate("() => performance.now()"))
                    for name, status in STEPS:
                        step(client, order_id, name)
                        answered = page.evaluate("() => performance.now()")
                        page.wait_for_selector(f"#status[data-status={status}]", timeout=15_000)
                        delays.append(page.evaluate("() => performance.now()") - answered)
                    page.context.close()
                browser.close()
        finally:
            server.should_exit = True
    print(f"tracking page, {jobs} jobs, embedded default (SQLite, in-process bus, one process)")
    print(f"  first contentful paint: median {statistics.median(paints):.0f} ms, "
          f"max {max(paints):.0f} ms")
    print(f"  status shown (navigation start to data): median {statistics.median(shown):.0f} ms, "
          f"max {max(shown):.0f} ms")
    print(f"  update delay after a status change ({len(delays)} changes): median "
          f"{statistics.median(delays):.0f} ms, p90 {sorted(delays)[int(0.9 * len(delays))]:.0f} "
          f"ms, max {max(delays):.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
