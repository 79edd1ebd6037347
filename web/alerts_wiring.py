"""Wiring of alerts into the app: the rules' loop and the escalations' delivery.

The loop (``web/alerts_runner.py``: a worker of the process's supervisor, like the SMS delivery)
runs in the processes that run the background feeds (``RUN_FEEDS``), on the one holding the
alerts' leader lock: every ``ALERTS_INTERVAL_SECONDS`` (15 s), and at once when the bus brings an
event that matters now, it evaluates every rule of the catalogue against the database in units of
work (``domain.services.alerts.evaluate_alerts``).

Critical alerts' levels are delivered by SMS (``realtime/notify``): Genesys Cloud when
``GENESYS_*`` is set, else only logged; every delivery is a row of ``alert_notifications``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.alert_delivery import OnCall, Person, recipients
from domain.alerts import AlertPolicy
from domain.services.alerts import PassResult
from realtime.notify import (
    DeliveryWorker,
    GenesysConfig,
    GenesysSmsNotifier,
    LoggingNotifier,
    Notifier,
)
from storage.alert_notifications import SqlNotificationStore
from web.alerts_runner import AlertsRunner, build_alerts_runner

log = logging.getLogger("dispatch.alerts")

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
    policy = AlertPolicy(escalation_interval=dt.timedelta(
        minutes=float(getattr(settings, "alert_escalation_minutes", 5.0))))
    notifier = build_notifier(settings)
    store = SqlNotificationStore(services.engine)
    delivery = DeliveryWorker(notifier, store, max_attempts=settings.alert_notify_max_attempts,
                              clock=services.now)
    escalations = Escalations(store, delivery, OnCall.parse(settings.alert_oncall_phones),
                              notifier.channel, services.now)
    runner = build_alerts_runner(services, policy=policy, on_result=escalations)
    live.supervisor.periodic("sms-delivery", delivery.run_once,
                             interval=delivery.poll_interval, wake=delivery.woken)
    log.info("alert rules every %.0fs; escalations by %s", runner.interval, notifier.channel)
    return AlertServices(runner, delivery)
