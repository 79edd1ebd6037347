"""Prometheus metrics of one process, and the ``/metrics`` endpoint.

Each app builds its own ``Metrics`` (its own registry, so tests can run many apps in one
process). With several uvicorn workers, ``PROMETHEUS_MULTIPROC_DIR`` names a directory the
workers share (``dispatch serve --workers N`` makes one): prometheus-client then keeps every
value in files there, and ``/metrics`` on any worker adds up all of them.

Counters are counted where things happen (the relay, the hub, the sessions, the supervisor, the
HTTP middleware); what the feed clients and the SMS worker already count is carried over by
``sample`` (every few seconds by a supervised worker, and at each scrape).
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as mp
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from realtime.events import LogEvent, PositionUpdate
from realtime.telemetry import Telemetry

#: Published events that are alert changes, and the action each counts as.
ALERT_ACTIONS = {"AlertRaised": "raised", "AlertEscalated": "escalated",
                 "AlertAcknowledged": "acknowledged", "AlertResolved": "resolved"}
WORKER_STATES = ("idle", "running", "waiting", "standby", "backoff", "stopped")
FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Position lag, device time -> here: the goal is 5 s at p99; a fixed 30 s poll lands near 30.
LAG = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 120.0,
       300.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def prepare_multiprocess(workers: int | None) -> str | None:
    """Before uvicorn starts several workers: give them one fresh directory for their metrics
    (``PROMETHEUS_MULTIPROC_DIR``, unless set), removed when the server exits. A directory set
    by the operator is used as it is: empty it before each start."""
    if (workers or 1) <= 1 or multiprocess_dir():
        return multiprocess_dir()
    path = tempfile.mkdtemp(prefix="dispatch-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    atexit.register(shutil.rmtree, path, True)
    return path


class Metrics(Telemetry):
    def __init__(self, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
                 ) -> None:
        self.clock = clock
        r = self.registry = CollectorRegistry()
        self.http = Histogram("dispatch_http_request_duration_seconds",
                              "HTTP request latency by route template and status",
                              ["method", "route", "status"], buckets=FAST, registry=r)
        self.ws_sessions = Gauge("dispatch_websocket_sessions", "Open websocket sessions",
                                 multiprocess_mode="livesum", registry=r)
        self.ws_queued = Gauge("dispatch_websocket_queued_messages",
                               "State messages waiting to be sent, all sessions",
                               multiprocess_mode="livesum", registry=r)
        self.ws_queue_max = Gauge("dispatch_websocket_queue_depth_max",
                                  "Deepest websocket session queue", multiprocess_mode="livemax",
                                  registry=r)
        self.published_total = Counter("dispatch_events_published",
                                       "Events the relay published (leader)", ["event"],
                                       registry=r)
        self.delivered_total = Counter("dispatch_events_delivered",
                                       "Events a hub handed to its sessions", registry=r)
        self.publish_delay = Histogram("dispatch_event_publish_delay_seconds",
                                       "From an event's commit to its publication by the relay",
                                       buckets=FAST, registry=r)
        self.fanout = Histogram("dispatch_event_fanout_delay_seconds",
                                "From an event's commit to its hand-off to the sessions",
                                buckets=FAST, registry=r)
        self.snapshots = Counter("dispatch_websocket_snapshots",
                                 "Snapshots sent to websocket sessions", registry=r)
        self.replays = Counter("dispatch_websocket_replays",
                               "Catch-ups by replay of missed events", registry=r)
        self.replayed_events = Counter("dispatch_websocket_replayed_events",
                                       "Events sent in replays", registry=r)
        self.position_lag_seconds = Gauge(
            "dispatch_feed_position_lag_seconds",
            "Age of the newest fix in a feed's latest batch", ["feed"],
            multiprocess_mode="livemax", registry=r)
        self.feed_errors = Counter("dispatch_feed_errors", "Failed feed calls", ["feed", "kind"],
                                   registry=r)
        self.feed_backoffs = Counter("dispatch_feed_backoffs",
                                     "Waits after a failed feed call", ["feed"], registry=r)
        self.solver_runs = Counter("dispatch_solver_runs", "Plans solved", ["status"],
                                   registry=r)
        self.solver_seconds = Histogram(
            "dispatch_solver_duration_seconds", "Plan solve time",
            buckets=(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0), registry=r)
        self.alerts = Counter("dispatch_alerts", "Alert changes (raised, escalated, "
                              "acknowledged, resolved)", ["action"], registry=r)
        self.sms = Counter("dispatch_sms", "Alert texts by outcome", ["outcome"], registry=r)
        self.worker_runs = Counter("dispatch_worker_runs", "Supervised worker steps",
                                   ["worker", "outcome"], registry=r)
        self.worker_restarts = Counter("dispatch_worker_restarts",
                                       "Supervised workers started again after a crash",
                                       ["worker"], registry=r)
        self.worker_seconds = Histogram("dispatch_worker_step_seconds",
                                        "Supervised worker step time", ["worker"],
                                        buckets=FAST, registry=r)
        self.worker_state = Gauge("dispatch_worker_state", "1 for a worker's current state",
                                  ["worker", "state"], multiprocess_mode="livemax", registry=r)
        self.worker_last_success = Gauge(
            "dispatch_worker_last_success_timestamp_seconds",
            "When a supervised worker last succeeded (Unix time)", ["worker"],
            multiprocess_mode="livemax", registry=r)
        self._carried: dict[tuple[str, ...], float] = {}
        self._init_position_lag(r)

    # -- the live stream (realtime.telemetry) -----------------------------------------------------

    def published(self, event: LogEvent) -> None:
        self.published_total.labels(event.name).inc()
        self.publish_delay.observe(max(0.0, (self.clock() - event.at).total_seconds()))
        if action := ALERT_ACTIONS.get(event.name):
            self.alerts.labels(action).inc()

    def delivered(self, event: LogEvent) -> None:
        self.delivered_total.inc()
        self.fanout.observe(max(0.0, (self.clock() - event.at).total_seconds()))

    def snapshot_sent(self) -> None:
        self.snapshots.inc()

    def replayed(self, events: int) -> None:
        self.replays.inc()
        self.replayed_events.inc(events)

    # -- feeds, solver ----------------------------------------------------------------------------

    def position_lag(self, feed: str, newest: dt.datetime) -> None:
        self.position_lag_seconds.labels(feed).set(
            max(0.0, (dt.datetime.now(dt.UTC) - newest).total_seconds()))

    def solved(self, block: dict[str, Any]) -> None:
        self.solver_runs.labels(str(block.get("status", "unknown"))).inc()
        self.solver_seconds.observe(float(block.get("seconds", 0.0)))

    # -- position lag, device -> board (issue 16) -------------------------------------------------

    def _init_position_lag(self, r: CollectorRegistry) -> None:
        self.position_ingest_lag = Histogram(
            "dispatch_position_ingest_lag_seconds",
            "From a fix's device time to its feed handing it to the positions pipeline",
            ["feed"], buckets=LAG, registry=r)
        self.position_board_lag = Histogram(
            "dispatch_position_board_lag_seconds",
            "From a fix's device time to the hub handing its positions frame to the websocket "
            "sessions", buckets=LAG, registry=r)

    def positions_ingested(self, feed: str, fixes: list[Any]) -> None:
        """A feed handed ``fixes`` (with ``device_time``) to the pipeline: the feed-side lag."""
        now, histogram = self.clock(), self.position_ingest_lag.labels(feed)
        for fix in fixes:
            histogram.observe(max(0.0, (now - fix.device_time).total_seconds()))

    def positions_sent(self, updates: list[PositionUpdate]) -> None:
        """The hub handed a positions frame to its sessions: the lag of each fix in it, on the
        app's clock (the frame leaves on each socket's next write)."""
        now, histogram = self.clock(), self.position_board_lag
        for update in updates:
            histogram.observe(max(0.0, (now - update.at).total_seconds()))

    # -- the supervisor (realtime.supervisor.WorkerObserver) --------------------------------------

    def succeeded(self, name: str, seconds: float) -> None:
        self.worker_runs.labels(name, "ok").inc()
        self.worker_seconds.labels(name).observe(seconds)
        self.worker_last_success.labels(name).set(dt.datetime.now(dt.UTC).timestamp())

    def failed(self, name: str, error: BaseException) -> None:
        self.worker_runs.labels(name, "error").inc()

    def restarting(self, name: str, delay: float) -> None:
        self.worker_restarts.labels(name).inc()

    def state_changed(self, name: str, state: str) -> None:
        for each in WORKER_STATES:
            self.worker_state.labels(name, each).set(1.0 if each == state else 0.0)

    # -- sampling ---------------------------------------------------------------------------------

    def _carry(self, counter: Counter, labels: tuple[str, ...], total: float) -> None:
        """Add to ``counter`` what ``total`` (a count kept elsewhere) grew since last time."""
        key = (counter._name, *labels)
        grown = total - self._carried.get(key, 0.0)
        if grown > 0:
            (counter.labels(*labels) if labels else counter).inc(grown)
        self._carried[key] = max(total, self._carried.get(key, 0.0))

    def sample(self, live: Any, delivery: Any | None = None) -> None:
        """Gauges of this process now, and the counts the feed clients and SMS worker keep."""
        depths = [len(getattr(s, "_out", ())) for s in list(live.hub.sessions)]
        self.ws_sessions.set(len(depths))
        self.ws_queued.set(sum(depths))
        self.ws_queue_max.set(max(depths, default=0))
        for name, client in live.feeds.items():
            kinds = feed_errors(client.stats)
            for kind, count in kinds.items():
                self._carry(self.feed_errors, (name, kind), count)
            self._carry(self.feed_backoffs, (name,), sum(kinds.values()))
        if delivery is not None:
            self._carry(self.sms, ("sent",), delivery.sent)
            self._carry(self.sms, ("failed",), delivery.failed)

    def render(self) -> bytes:
        if multiprocess_dir():
            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def feed_errors(stats: Any) -> dict[str, int]:
    """A feed client's failed calls so far by kind (each was followed by a wait)."""
    if isinstance(stats, dict):  # the GeoTab client: counters per feed type
        parts = list(stats.values())
        return {"rate_limited": sum(p.rate_limited for p in parts),
                "transient": sum(p.transient_errors for p in parts),
                "auth": sum(p.auth_failures for p in parts),
                "handoff": sum(p.handoff_failures for p in parts)}
    return {"rate_limited": stats.rate_limited, "other": stats.failures - stats.rate_limited}


class HttpMetrics:
    """Pure ASGI middleware: the latency of each HTTP request by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    """``/metrics``: off unless ``METRICS_ENABLED`` (on by default in the demo only)."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    enabled = settings.metrics_enabled if settings.metrics_enabled is not None else settings.demo
    if not enabled:
        return Response("not found\n", status_code=404, media_type="text/plain")
    metrics: Metrics = runtime.metrics
    metrics.sample(runtime.live, runtime.alerts.delivery if runtime.alerts else None)
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
