"""Wiring of alerts into the app: the evaluation loop, its early wake-up, feed health probes.

The loop (a worker of the process's supervisor, like the SMS delivery) runs in the process that
runs the background feeds (``RUN_FEEDS``): every
``ALERTS_INTERVAL_SECONDS`` (15 s) it evaluates every rule against the database in units of work
(``domain.services.alerts.evaluate_alerts``). It also listens to the event bus: an emergency work
order created or a job declined wakes it at once, so those alerts are raised within a second of
the commit, whichever process made it. Several processes running it is safe (dedup index,
versions); one is enough.

Critical alerts' levels are delivered by SMS (``realtime/notify``): Genesys Cloud when
``GENESYS_*`` is set, else only logged; every delivery is a row of ``alert_notifications``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.alert_delivery import OnCall, Person, recipients
from domain.alert_rules import IntegrationHealth
from domain.alerts import AlertPolicy
from domain.services.alerts import PassResult, evaluate_alerts
from realtime.notify import (
    DeliveryWorker,
    GenesysConfig,
    GenesysSmsNotifier,
    LoggingNotifier,
    Notifier,
)
from storage.alert_notifications import SqlNotificationStore
from storage.alerts import SqlAlertFacts

log = logging.getLogger("dispatch.alerts")

#: Events that call for a pass now rather than at the next tick.
WAKE_EVENTS = frozenset({"WorkOrderDeclined"})
WAKE_CREATED_PRIORITIES = frozenset({"emergency"})


def wakes_alerts(message: dict[str, Any]) -> bool:
    if message.get("kind") != "event":
        return False
    name = message.get("name")
    if name in WAKE_EVENTS:
        return True
    if name == "WorkOrderCreated":
        order = (message.get("data") or {}).get("work_order") or {}
        return order.get("priority") in WAKE_CREATED_PRIORITIES
    return False


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


class AlertsRunner:
    def __init__(self, new_uow: Callable[[], Any], facts: SqlAlertFacts, *, interval: float,
                 policy: AlertPolicy | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 on_result: Callable[[PassResult], Any] | None = None,
                 min_spacing: float = 0.2) -> None:
        self.new_uow = new_uow
        self.facts = facts
        self.interval = interval
        self.policy = policy or AlertPolicy()
        self.clock = clock
        self.on_result = on_result
        self.min_spacing = min_spacing
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
            result = await evaluate_alerts(self.new_uow, self.facts, self.clock(), self.policy)
            self.passes += 1
            if result.changed:
                log.info("alerts: %s raised, %s resolved, %s escalated", len(result.raised),
                         len(result.resolved), len(result.escalated))
            if self.on_result is not None:
                outcome = self.on_result(result)
                if asyncio.iscoroutine(outcome):
                    await outcome
            return result


def build_notifier(settings: Any) -> Notifier:
    """Genesys Cloud SMS when configured, else a notifier that only logs."""
    base, login = settings.genesys_base_url, settings.genesys_login_url
    if not base or not login or not settings.genesys_client_id:
        return LoggingNotifier()
    return GenesysSmsNotifier(GenesysConfig(
        base_url=base, login_url=login, client_id=settings.genesys_client_id,
        client_secret=settings.genesys_client_secret.get_secret_value(),
        from_number=settings.genesys_from_number))


class Escalations:
    """Queues the SMS of each critical alert's level (raised at it, or escalated to it) and wakes
    the delivery worker. Runs after each pass committed and reads what to text from the database
    (the open critical alerts whose current level has nothing queued), not from the pass's result:
    a crash in between delays that level's texts to the next pass instead of losing them."""

    def __init__(self, store: SqlNotificationStore, worker: DeliveryWorker, oncall: OnCall,
                 channel: str, clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.worker = worker
        self.oncall = oncall
        self.channel = channel
        self.clock = clock

    async def __call__(self, result: PassResult) -> None:
        queued = 0
        people: list[Person] | None = None
        for alert in await self.store.unnotified():
            level = int(alert["escalation_level"])
            if people is None:
                people = await self.store.people()
            phone = await self.store.technician_phone(alert.get("technician_id"))
            to = recipients(alert, level, self.oncall, phone, people)
            queued += await self.store.enqueue(alert["id"], level, to, self.channel, self.clock())
        if queued:
            self.worker.wake()


@dataclass
class AlertServices:
    runner: AlertsRunner
    delivery: DeliveryWorker

    async def stop(self) -> None:
        """After the supervisor stopped their workers: close the SMS provider's client."""
        await self.delivery.stop()


async def start_alerts(services: Any) -> AlertServices | None:
    """Start the alert loop and the delivery worker where the feeds run; None when off."""
    settings = services.settings
    if not getattr(settings, "alerts_enabled", True) or not settings.run_feeds:
        return None
    live = services.live
    probes = probes_for(getattr(live, "feeds", {}))
    facts = SqlAlertFacts(services.engine, lambda: [p.sample() for p in probes])
    policy = AlertPolicy(escalation_interval=dt.timedelta(
        minutes=float(getattr(settings, "alert_escalation_minutes", 5.0))))
    notifier = build_notifier(settings)
    store = SqlNotificationStore(services.engine)
    delivery = DeliveryWorker(notifier, store, max_attempts=settings.alert_notify_max_attempts,
                              clock=services.now)
    escalations = Escalations(store, delivery, OnCall.parse(settings.alert_oncall_phones),
                              notifier.channel, services.now)
    runner = AlertsRunner(services.uow, facts,
                          interval=float(getattr(settings, "alerts_interval_seconds", 15.0)),
                          policy=policy, clock=services.now, on_result=escalations)
    live.bus.subscribe(f"{settings.redis_prefix}:events", runner.on_bus_message)
    live.supervisor.periodic("alerts", runner.run_once, interval=runner.interval,
                             wake=runner.woken, min_spacing=runner.min_spacing,
                             initial_delay=runner.interval)
    live.supervisor.periodic("sms-delivery", delivery.run_once,
                             interval=delivery.poll_interval, wake=delivery.woken)
    log.info("alert rules every %.0fs; escalations by %s", runner.interval, notifier.channel)
    return AlertServices(runner, delivery)
