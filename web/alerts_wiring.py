"""Wiring of alerts into the app: the rules' loop and the escalations' delivery.

The loop (``web/alerts_runner.py``: a worker of the process's supervisor, like the SMS delivery)
runs in the processes that run the background feeds (``RUN_FEEDS``), on the one holding the
alerts' leader lock: every ``ALERTS_INTERVAL_SECONDS`` (15 s), and at once when the bus brings an
event that matters now, it evaluates every rule of the catalogue against the database in units of
work (``domain.services.alerts.evaluate_alerts``).

Critical alerts' levels are delivered by text and call (``web/alert_delivery_wiring.py``,
``realtime/notify``): Genesys Cloud when ``GENESYS_*`` is set, else only logged; every delivery
is a row of ``alert_notifications``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.alerts import AlertPolicy
from realtime.notify import DeliveryWorker
from web.alert_delivery_wiring import Escalations, build_notifier, start_delivery, watch_providers
from web.alerts_runner import AlertsRunner, build_alerts_runner

if TYPE_CHECKING:
    from web.runtime import Runtime

__all__ = ["AlertServices", "Escalations", "build_notifier", "start_alerts"]
log = logging.getLogger("dispatch.alerts")


@dataclass
class AlertServices:
    runner: AlertsRunner
    delivery: DeliveryWorker

    async def stop(self) -> None:
        """After the supervisor stopped their workers: close the SMS provider's client."""
        await self.delivery.stop()


async def start_alerts(runtime: Runtime) -> AlertServices | None:
    """Start the alert loop and the delivery worker where the feeds run; None when off."""
    settings = runtime.settings
    if not getattr(settings, "alerts_enabled", True) or not settings.run_feeds:
        return None
    policy = AlertPolicy(escalation_interval=dt.timedelta(
        minutes=float(getattr(settings, "alert_escalation_minutes", 5.0))))
    delivery, escalations = start_delivery(runtime)
    runner = build_alerts_runner(runtime, policy=policy, on_result=escalations)
    watch_providers(runner.facts, delivery.channels)
    log.info("alert rules every %.0fs", runner.interval)
    return AlertServices(runner, delivery)
