"""What a failed browser test says about its server and pages, so that a wait that timed out under
the whole suite (and passes alone) can be explained from the report alone.

Every server ``run_server`` starts gets a ``Probe``: the ASGI app is wrapped to remember the latest
requests and websocket sessions (path without query, status, start, duration), a ticker in the
server's event loop marks each tenth of a second, and a watchdog thread captures the server
thread's stack whenever the loop has not ticked for ``STALL_S`` (where it was stuck). The pages
showing this test's servers are found in the browser. When a test's call fails, ``report()`` adds
all of it as a section of the failure: the loop's stalls, the hub's and the relay's position in the event log,
the pools, the background workers, the requests, and each page's own view (its connection state
and last applied ``seq``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

#: A loop that has not ticked for this long is stalled: its thread's stack is captured.
STALL_S = 1.0
TICK_S = 0.1
#: How many requests each probe remembers, and how many a report shows.
KEEP = 400
SHOW = 120

#: The probes of the test under way (``reset`` at each test's set-up).
_probes: list[Probe] = []


@dataclass
class Request:
    kind: str
    path: str
    start: float
    status: int | None = None
    end: float | None = None


@dataclass
class Stall:
    start: float
    seconds: float
    stack: str


@dataclass
class Probe:
    app: Any
    url: str = ""
    origin: float = field(default_factory=time.monotonic)
    requests: collections.deque[Request] = field(
        default_factory=lambda: collections.deque(maxlen=KEEP))
    stalls: list[Stall] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    thread_id: int | None = None
    last_tick: float = field(default_factory=time.monotonic)
    max_lag: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            self._start_ticking()
            await self.app(scope, receive, send)
            return
        entry = Request(scope["type"], str(scope.get("path", "")), time.monotonic())
        self.requests.append(entry)

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry.status = int(message["status"])
            elif message["type"] == "websocket.accept":
                entry.status = 101
            elif message["type"] == "websocket.close":
                entry.status = int(message.get("code", 1000))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            entry.end = time.monotonic()

    def _start_ticking(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.thread_id = threading.get_ident()
        self.loop.create_task(self._tick(), name="test-probe-tick")
        threading.Thread(target=self._watch, name="test-probe-watchdog", daemon=True).start()

    async def _tick(self) -> None:
        while not self._stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(TICK_S)
            self.last_tick = time.monotonic()
            self.max_lag = max(self.max_lag, self.last_tick - before - TICK_S)

    def _watch(self) -> None:
        captured_for = 0.0
        # Polls with time.sleep: a timed Event.wait never returns under a faked clock (libfaketime
        # and the condition variable's deadline), and the time checks run the suite under one.
        while not self._stop.is_set():
            time.sleep(0.25)
            silent = time.monotonic() - self.last_tick
            if silent < STALL_S or captured_for == self.last_tick:
                continue
            if self.loop is None or not self.loop.is_running():
                continue  # the server has stopped: silence is no stall
            captured_for = self.last_tick
            frame = sys._current_frames().get(self.thread_id or 0)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else "(gone)"
            self.stalls.append(Stall(self.last_tick - self.origin, silent, stack))

    def stop(self) -> None:
        self._stop.set()

    def report(self) -> str:
        now = time.monotonic()
        lines = [f"server probe ({now - self.origin:.1f} s after its start): the loop's largest "
                 f"lag {self.max_lag:.2f} s, {len(self.stalls)} stall(s) over {STALL_S} s"]
        for stall in self.stalls[:5]:
            lines.append(f"-- stalled at +{stall.start:.1f} s for at least {stall.seconds:.1f} s,"
                         f" in:\n{stall.stack[-3000:]}")
        lines += self._runtime_state()
        lines.append(f"the last {SHOW} requests (+start s, duration s, status):")
        for r in list(self.requests)[-SHOW:]:
            took = f"{r.end - r.start:.2f}" if r.end is not None else "open"
            lines.append(f"  +{r.start - self.origin:7.2f} {took:>6} {r.status} {r.kind} {r.path}")
        return "\n".join(lines)

    def _runtime_state(self) -> list[str]:
        runtime = getattr(getattr(self.app, "state", None), "runtime", None)
        if runtime is None or self.loop is None or self.loop.is_closed():
            return []
        live = runtime.live
        lines = [f"hub: last_seq {live.hub.last_seq}, delivered {live.hub.delivered}, repairs "
                 f"{live.hub.repairs}, sessions {len(live.hub.sessions)}; relay: leader "
                 f"{live.relay.is_leader}, published {live.relay.published}",
                 f"pools: main {runtime.engine.pool.status()}; event "
                 f"{runtime.event_engine.pool.status() if runtime.event_engine else '-'}"]
        try:
            latest = asyncio.run_coroutine_threadsafe(live.relay.log.latest_seq(),
                                                      self.loop).result(timeout=5)
            lines.append(f"event log: latest seq {latest}")
        except Exception as error:  # the report must not fail the report
            lines.append(f"event log: latest seq unknown ({type(error).__name__} {error})")
        for name, health in live.supervisor.health().items():
            lines.append(f"worker {name}: {health}")
        return lines


def reset() -> None:
    _probes.clear()


def probe(app: Any) -> Probe:
    made = Probe(app)
    _probes.append(made)
    return made


PAGE_STATE = """() => ({
  url: location.pathname, hidden: document.hidden, visibility: document.visibilityState,
  connection: document.querySelector('#connection')?.dataset.state ?? null,
  seq: window.dispatchBoard?.live?.seq ?? null,
  status: document.querySelector('#status')?.dataset.status ?? null,
})"""


def report(browser: Any) -> str:
    """Every probe's report, then the state of each open page of ``browser`` (if the test had
    one) that shows one of this test's servers."""
    parts = [p.report() for p in _probes]
    origins = tuple(p.url for p in _probes if p.url)
    pages = [page for context in (browser.contexts if browser is not None else [])
             for page in context.pages if origins and page.url.startswith(origins)]
    for i, page in enumerate(pages):
        with contextlib.suppress(Exception):
            page.set_default_timeout(5000)
        try:
            parts.append(f"page {i}: {page.evaluate(PAGE_STATE)}")
        except Exception as error:  # a closed page or a hung one says so
            parts.append(f"page {i}: ({type(error).__name__}: {str(error)[:200]})")
    return "\n\n".join(parts)
