"""Measure the board in Chromium against a running demo (not collected by pytest).

    .venv/bin/dispatch demo --database-url sqlite+aiosqlite:///./var/bench-board.db --port 8765 &
    .venv/bin/python bench/board.py http://127.0.0.1:8765 [seconds] [--profile FILE] [--trace FILE] \
        [--static-from DIR]

Reports the first paint / first contentful paint, when the board is ready (queue rows and map
pins drawn, load finished), every main-thread long task (> 50 ms, PerformanceObserver
'longtask') during the load, and for the `seconds` of streaming positions: long tasks, long
animation frames (> 50 ms, rendering included, where Chromium reports them; those of the load
with the scripts that ran in them and their rendering time), frames per second
(requestAnimationFrame callbacks), the positions received (items, distinct vans, moving vans)
and the time to apply one positions batch (the model's listeners: map, queue, panels; plus the
van canvas redraw when the board draws vans on a canvas). `--profile FILE` writes a CDP CPU
profile of the whole run, load and streaming (open it in Chromium's DevTools, Performance panel);
`--trace FILE` a Chromium trace of the load (tasks with their scripts, style, layout and paint).
`--static-from DIR` serves the page's /static/ files from DIR instead (e.g. an earlier version of
web/static exported with `git archive`), to compare two versions against the same running demo.
"""

from __future__ import annotations

import json
import mimetypes
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"  # as in conftest.py
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

OBSERVE = """
window.__perf = { longtasks: [], loafs: [], paints: {} };
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    window.__perf.longtasks.push({ start: Math.round(e.startTime), ms: Math.round(e.duration) });
}).observe({ type: "longtask", buffered: true });
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__perf.paints[e.name] = Math.round(e.startTime);
}).observe({ type: "paint", buffered: true });
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      window.__perf.loafs.push({ start: Math.round(e.startTime), ms: Math.round(e.duration),
        render_ms: e.renderStart ? Math.round(e.startTime + e.duration - e.renderStart) : 0,
        layout_ms: e.styleAndLayoutStart
          ? Math.round(e.startTime + e.duration - e.styleAndLayoutStart) : 0,
        scripts: (e.scripts || []).filter((x) => x.duration >= 5).map((x) =>
          `${x.invoker} ${(x.sourceURL || "").split("/").pop()}:${x.sourceFunctionName || ""}`
          + ` ${Math.round(x.duration)} ms`
          + (x.forcedStyleAndLayoutDuration >= 1
            ? ` (forced layout ${Math.round(x.forcedStyleAndLayoutDuration)} ms)` : "")) });
  }).observe({ type: "long-animation-frame", buffered: true });
} catch (e) { /* not supported */ }
"""

# Installed once the board is live: counts frames and positions, times each positions batch.
STREAM = """
() => {
  const board = window.dispatchBoard;
  const s = window.__stream = { frames: 0, gaps: [], batches: [], redraws: [], items: 0,
    vans: new Set(), moving: new Set(), t0: performance.now(), stop: false };
  let last = performance.now();
  const tick = (t) => {
    if (s.stop) return;
    s.frames += 1;
    s.gaps.push(t - last);
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const model = board.model;
  const fns = [...model.listeners];
  model.listeners.clear();
  model.listeners.add((changed) => {
    const t0 = performance.now();
    for (const fn of fns) fn(changed);
    if (changed.positions.size)
      s.batches.push({ n: changed.positions.size, ms: performance.now() - t0 });
  });
  const onPositions = board.live.h.onPositions;
  board.live.h.onPositions = (items) => {
    s.items += items.length;
    for (const p of items) {
      s.vans.add(p.unit_id || p.technician_id);
      if ((p.speed_kmh || 0) > 3) s.moving.add(p.unit_id || p.technician_id);
    }
    return onPositions(items);
  };
  const canvas = board.map && board.map.vanCanvas;
  if (canvas && canvas._redraw) {
    const redraw = canvas._redraw;
    canvas._redraw = function () {
      const t0 = performance.now();
      const out = redraw.apply(this, arguments);
      s.redraws.push(performance.now() - t0);
      return out;
    };
  }
}
"""

REPORT = """
() => {
  const s = window.__stream;
  s.stop = true;
  const secs = (performance.now() - s.t0) / 1000;
  const ms = (xs) => xs.slice().sort((a, b) => a - b);
  const pct = (xs, p) => { const v = ms(xs); return v.length ? +v[Math.min(v.length - 1,
    Math.floor(v.length * p))].toFixed(1) : 0; };
  const applied = s.batches.map((b) => b.ms);
  return {
    seconds: +secs.toFixed(1),
    fps: +(s.frames / secs).toFixed(1),
    frame_gap_p95_ms: pct(s.gaps, 0.95),
    frame_gap_max_ms: pct(s.gaps, 1),
    frames_over_50ms: s.gaps.filter((g) => g > 50).length,
    positions_received: s.items,
    positions_per_second: Math.round(s.items / secs),
    distinct_vans: s.vans.size,
    moving_vans: s.moving.size,
    batches: s.batches.length,
    batch_size_median: pct(s.batches.map((b) => b.n), 0.5),
    batch_apply_median_ms: pct(applied, 0.5),
    batch_apply_p95_ms: pct(applied, 0.95),
    batch_apply_max_ms: pct(applied, 1),
    canvas_redraw_median_ms: pct(s.redraws, 0.5),
    canvas_redraw_p95_ms: pct(s.redraws, 0.95),
  };
}
"""


def serve_static_from(context: Any, root: Path) -> None:
    """Answer /static/* from files under root (a bounded read of one file per request)."""
    def handle(route: Any) -> None:
        rel = route.request.url.split("/static/", 1)[1].split("?", 1)[0]
        path = (root / rel).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            route.fulfill(status=404, body="")
            return
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".js":
            kind = "text/javascript"
        route.fulfill(status=200, body=path.read_bytes(), content_type=kind)

    context.route("**/static/**", handle)


def main(url: str, seconds: int, profile: str | None = None, static: str | None = None,
         trace: str | None = None) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        if static:
            serve_static_from(context, Path(static))
        page = context.new_page()
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "dispatcher")
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/")
        # The board page itself, measured from its own navigation.
        page.add_init_script(OBSERVE)
        cdp: Any = None
        if profile:
            cdp = context.new_cdp_session(page)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
        if trace:
            browser.start_tracing(page=page, path=trace, categories=[
                "devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute",
                "toplevel", "blink.user_timing"])
        page.reload()
        page.wait_for_function("() => document.querySelector('.queue-list li.job')"
                               " && document.querySelector('.wo-pin, .wo-cluster')"
                               " && document.getElementById('load-status').textContent === ''",
                               timeout=60_000)
        ready = page.evaluate("() => Math.round(performance.now())")
        rest = page.evaluate("""() => performance.getEntriesByType("resource")
            .filter((e) => e.name.includes("/api/"))
            .map((e) => [e.name.replace(location.origin, "").slice(0, 60),
                         Math.round(e.startTime), Math.round(e.responseEnd)])""")
        page.wait_for_selector("#connection[data-state=live]", timeout=30_000)
        # Let the first snapshot and the chunked first render settle (bounded: 10 s at most).
        page.wait_for_function("() => !window.dispatchBoard.map?.busy"
                               " && !window.dispatchBoard.model.draining", timeout=10_000)
        page.wait_for_timeout(1500)
        if trace:
            browser.stop_tracing()
        load_tasks = page.evaluate("() => window.__perf.longtasks.slice()")
        load_loafs = page.evaluate("() => window.__perf.loafs.slice()")
        page.evaluate("() => { window.__perf.longtasks = []; window.__perf.loafs = []; }")
        before = page.evaluate("() => window.dispatchBoard.model.positions.size")
        page.evaluate(STREAM)
        page.wait_for_timeout(seconds * 1000)
        stream = page.evaluate(REPORT)
        if cdp is not None and profile:
            result = cdp.send("Profiler.stop")
            with open(profile, "w") as f:
                json.dump(result["profile"], f)
        stream_tasks = page.evaluate("() => window.__perf.longtasks.slice()")
        stream_loafs = page.evaluate("() => window.__perf.loafs.slice()")
        out = {
            "paints_ms": page.evaluate("() => window.__perf.paints"),
            "board_ready_ms": ready,
            "rest_calls": rest,
            "stores": page.evaluate("() => window.dispatchBoard.model.stores.size"),
            "work_orders": page.evaluate("() => window.dispatchBoard.model.workOrders.size"),
            "technicians": page.evaluate("() => window.dispatchBoard.model.technicians.size"),
            "vans_with_position": [before, page.evaluate("() => window.dispatchBoard.model.positions.size")],
            "load_longtasks": load_tasks,
            "load_long_animation_frames": load_loafs,
            "stream": stream,
            "stream_longtasks": stream_tasks,
            "stream_longtask_max_ms": max([t["ms"] for t in stream_tasks], default=0),
            "stream_long_animation_frames": len(stream_loafs),
            "stream_long_animation_frame_max_ms": max([t["ms"] for t in stream_loafs], default=0),
        }
        print(json.dumps(out, indent=1))
        browser.close()


def option(args: list[str], name: str) -> str | None:
    if name not in args:
        return None
    i = args.index(name)
    value = args[i + 1]
    del args[i:i + 2]
    return value


if __name__ == "__main__":
    argv = sys.argv[1:]
    prof = option(argv, "--profile")
    static_dir = option(argv, "--static-from")
    trace_file = option(argv, "--trace")
    main(argv[0], int(argv[1]) if len(argv) > 1 else 30, prof, static_dir, trace_file)
