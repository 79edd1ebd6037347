"""Measure the board in Chromium against a running demo (not collected by pytest).

    .venv/bin/dispatch demo --database-url sqlite+aiosqlite:///./var/bench-board.db --port 8765 &
    .venv/bin/python bench/board.py http://127.0.0.1:8765 [seconds]

Reports the first paint / first contentful paint, when the board is ready (queue rows and map
pins drawn, load finished), and every main-thread long task (> 50 ms, PerformanceObserver
'longtask') during the load and while positions stream for `seconds`.
"""

from __future__ import annotations

import json
import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"  # as in conftest.py
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

OBSERVE = """
window.__perf = { longtasks: [], paints: {} };
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    window.__perf.longtasks.push({ start: Math.round(e.startTime), ms: Math.round(e.duration) });
}).observe({ type: "longtask", buffered: true });
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__perf.paints[e.name] = Math.round(e.startTime);
}).observe({ type: "paint", buffered: true });
"""


def main(url: str, seconds: int) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "dispatcher")
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/")
        # The board page itself, measured from its own navigation.
        page.add_init_script(OBSERVE)
        page.reload()
        page.wait_for_function("() => document.querySelector('.queue-list li.job')"
                               " && document.querySelector('.wo-pin, .wo-cluster')"
                               " && document.getElementById('load-status').textContent === ''",
                               timeout=60_000)
        ready = page.evaluate("() => Math.round(performance.now())")
        load_tasks = page.evaluate("() => window.__perf.longtasks.slice()")
        page.wait_for_selector("#connection[data-state=live]", timeout=30_000)
        page.evaluate("() => { window.__perf.longtasks = []; }")
        before = page.evaluate("() => window.dispatchBoard.model.positions.size")
        page.wait_for_timeout(seconds * 1000)
        stream_tasks = page.evaluate("() => window.__perf.longtasks.slice()")
        out = {
            "paints_ms": page.evaluate("() => window.__perf.paints"),
            "board_ready_ms": ready,
            "stores": page.evaluate("() => window.dispatchBoard.model.stores.size"),
            "work_orders": page.evaluate("() => window.dispatchBoard.model.workOrders.size"),
            "technicians": page.evaluate("() => window.dispatchBoard.model.technicians.size"),
            "vans_with_position": [before, page.evaluate("() => window.dispatchBoard.model.positions.size")],
            "load_longtasks": load_tasks,
            "stream_seconds": seconds,
            "stream_longtasks": stream_tasks,
            "stream_max_ms": max([t["ms"] for t in stream_tasks], default=0),
        }
        print(json.dumps(out, indent=1))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30)
