"""The alert rules' loop: one leader runs the catalogue's rules, woken early by the events that
matter now, fed with the health of the feeds and of the system this process sees.

It runs in the processes that run the background feeds (``RUN_FEEDS``), and of those only the
one holding the alerts' leader lock acts (a PostgreSQL advisory lock of its own; embedded, the
one process always leads), so each happening is raised once and passes never race. Every
``ALERTS_INTERVAL_SECONDS`` (15 s), and at once (at most once a second) when the bus brings an
order booked, declined, commented, changed or cancelled, or a technician's status change, it
evaluates every rule (``domain.services.alerts.evaluate_alerts``). A pass that could not reach the
database is remembered; once it answers again, that outage is raised as a system error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from domain.alert_facts import Happening, IntegrationHealth, SystemFacts
from domain.alert_happenings import database_outage
from domain.alerts import AlertPolicy
from domain.services.alerts import PassResult, evaluate_alerts
from storage.alert_world import SqlAlertFacts, relay_lag_seconds
from storage.engine import is_unavailable
from storage.eventlog import LocalLeaderLock, PostgresLeaderLock
from storage.feed_cursors import SqlFeedCursorStore

if TYPE_CHECKING:
    from web.runtime import Runtime

log = logging.getLogger("dispatch.alerts")

#: The alerts leader's advisory lock (the relay's is RELAY_LOCK_KEY).
ALERTS_LOCK_KEY = 0x44534152
#: Events that call for a pass now rather than at the next tick.
WAKE_EVENTS = frozenset({"WorkOrderCreated", "WorkOrderDeclined", "WorkOrderCommented",
                         "WorkOrderUpdated", "WorkOrderCancelled", "TechnicianStatusChanged"})
#: How long a Redis check may take before Redis counts as unreachable.
PING_TIMEOUT = 2.0


def wakes_alerts(message: dict[str, Any]) -> bool:
    return message.get("kind") == "event" and message.get("name") in WAKE_EVENTS


class FeedHealth:
    """Consecutive failures of a feed, from the cumulative counters its client keeps.

    ``read`` answers (successful calls, failed calls, last error) so far. A tick that saw a
    success resets the streak; otherwise the new failures add to it.
    """

    def __init__(self, name: str, read: Callable[[], tuple[int, int, str]]) -> None:
        self.name = name
        self.read = read
        self.streak = 0
        self._last = (0, 0)

    def sample(self) -> IntegrationHealth:
        ok, failed, error = self.read()
        last_ok, last_failed = self._last
        if ok > last_ok:
            self.streak = 0
        else:
            self.streak += max(0, failed - last_failed)
        self._last = (ok, failed)
        return IntegrationHealth(self.name, self.streak, error if self.streak else "")


def geotab_counters(client: Any) -> Callable[[], tuple[int, int, str]]:
    def read() -> tuple[int, int, str]:
        stats = list(client.stats.values())
        failed = sum(s.rate_limited + s.transient_errors + s.auth_failures + s.handoff_failures
                     for s in stats)
        calls = sum(s.calls for s in stats)
        errors = [s.last_error for s in stats if s.last_error]
        return max(0, calls - failed), failed, errors[-1] if errors else ""
    return read


def poller_counters(poller: Any) -> Callable[[], tuple[int, int, str]]:
    def read() -> tuple[int, int, str]:
        s = poller.stats
        return max(0, s.calls - s.failures), s.failures, s.last_error or ""
    return read


def probes_for(feeds: dict[str, Any]) -> list[FeedHealth]:
    """Health probes for the feed clients this process runs (``Live.feeds``)."""
    out = []
    for name, client in feeds.items():
        if hasattr(client, "stats") and isinstance(client.stats, dict):
            out.append(FeedHealth(name, geotab_counters(client)))
        elif hasattr(client, "stats"):
            out.append(FeedHealth(name, poller_counters(client)))
    return out


class DatabaseOutages:
    """The passes that could not reach the database: from the first such pass to the next one
    that could, raised as one ``system_error`` happening once it can be written."""

    def __init__(self) -> None:
        self.down_since: dt.datetime | None = None
        self.error = ""
        self.pending: list[Happening] = []

    def down(self, now: dt.datetime, error: BaseException) -> None:
        if self.down_since is None:
            self.down_since = now
        self.error = f"{type(error).__name__}"

    def up(self, now: dt.datetime) -> None:
        if self.down_since is not None:
            self.pending.append(database_outage(self.down_since, now, self.error))
            self.down_since = None

    def happenings(self) -> tuple[Happening, ...]:
        return tuple(self.pending)

    def raised(self, happenings: tuple[Happening, ...]) -> None:
        self.pending = [h for h in self.pending if h not in happenings]


class AlertsRunner:
    def __init__(self, new_uow: Callable[[], Any], facts: SqlAlertFacts, *, interval: float,
                 policy: AlertPolicy | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 on_result: Callable[[PassResult], Any] | None = None,
                 min_spacing: float = 1.0, lock: Any = None,
                 outages: DatabaseOutages | None = None) -> None:
        self.new_uow = new_uow
        self.facts = facts
        self.interval = interval
        self.policy = policy or AlertPolicy()
        self.clock = clock
        self.on_result = on_result
        self.min_spacing = min_spacing
        #: The leader lock (``acquire`` answers whether this process leads); None: it leads.
        self.lock = lock
        self.leading = lock is None
        self.outages = outages or DatabaseOutages()
        self.passes = 0
        #: Set for events that matter now: the supervised worker's wait for the next pass ends.
        self.woken = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self.woken.set()

    async def on_bus_message(self, raw: str) -> None:
        """A handler for the bus's events channel: wake up for the events that matter now."""
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if isinstance(message, dict) and wakes_alerts(message):
            self.wake()

    async def run_once(self) -> PassResult:
        async with self._lock:
            now = self.clock()
            try:
                if self.lock is not None:
                    self.leading = await self.lock.acquire()
                if not self.leading:
                    return PassResult()
                included = self.outages.happenings()
                result = await evaluate_alerts(self.new_uow, self.facts, now, self.policy)
            except Exception as error:
                if is_unavailable(error):
                    self.outages.down(now, error)
                raise
            self.outages.raised(included)
            self.outages.up(now)
            self.passes += 1
            if result.changed:
                log.info("alerts: %s raised, %s resolved, %s escalated", len(result.raised),
                         len(result.resolved), len(result.escalated))
            if self.on_result is not None:
                outcome = self.on_result(result)
                if asyncio.iscoroutine(outcome):
                    await outcome
            return result

    async def stop(self) -> None:
        """Give the leader lock up (after the supervisor stopped the passes)."""
        if self.lock is not None and self.leading:
            await self.lock.release()
            self.leading = False


def system_probe(runtime: Runtime) -> Callable[[], Any]:
    """What the ``system_error`` rule sees from here: everyone's unhandled errors (as far as
    the bus carried them), the relay's lag and whether Redis answers."""
    settings, live = runtime.settings, runtime.live

    async def probe() -> SystemFacts:
        now = runtime.now()
        reports = runtime.error_reports
        redis_error: str | None = None
        if settings.redis_url:
            try:
                await asyncio.wait_for(live.bus.ping(), PING_TIMEOUT)
                redis_error = ""
            except Exception as error:  # unreachable, for whatever reason: that is the alert
                redis_error = f"{type(error).__name__}"
        return SystemFacts(exceptions=reports.recent(now) if reports is not None else None,
                           relay_lag_seconds=await relay_lag_seconds(runtime.engine, now),
                           redis_error=redis_error)

    return probe


def build_alerts_runner(runtime: Runtime, *, policy: AlertPolicy,
                        on_result: Callable[[PassResult], Any] | None = None) -> AlertsRunner:
    """The loop of this process (a worker of its supervisor, leader only in effect), subscribed
    to the bus's events; its facts read the tables, this process's feeds and the system."""
    settings, live, engine = runtime.settings, runtime.live, runtime.engine
    probes = probes_for(getattr(live, "feeds", {}))
    outages = DatabaseOutages()
    facts = SqlAlertFacts(engine, lambda: [p.sample() for p in probes],
                          system=system_probe(runtime), outages=outages.happenings,
                          cursors=SqlFeedCursorStore(engine, runtime.now))
    lock = (PostgresLeaderLock(engine, key=ALERTS_LOCK_KEY)
            if engine.dialect.name == "postgresql" else LocalLeaderLock())
    runner = AlertsRunner(runtime.uow, facts,
                          interval=float(getattr(settings, "alerts_interval_seconds", 15.0)),
                          policy=policy, clock=runtime.now, on_result=on_result, lock=lock,
                          outages=outages)
    live.bus.subscribe(f"{settings.redis_prefix}:events", runner.on_bus_message)
    live.supervisor.periodic("alerts", runner.run_once, interval=runner.interval,
                             wake=runner.woken, min_spacing=runner.min_spacing,
                             initial_delay=runner.interval)
    live.demo_tasks.append(runner.stop)
    return runner
