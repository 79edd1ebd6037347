"""Wiring of alert delivery: the channels (Genesys Cloud SMS and voice, or the log; SMTP e-mail;
each configured webhook), each behind its circuit breaker; the escalations that queue each
critical alert's level for the people on call; the delivery worker.

``Escalations`` runs after each pass of the alert rules committed, and when the bus says someone
passed an alert on (a key 2 answered in a web process): it reads what to queue from the database
(the open critical alerts whose current level has nothing queued), not from the pass's result,
so a crash in between delays that level's messages to the next pass instead of losing them. Who
is reached follows the on-call rota at that instant (``domain/oncall.py``), else the fallback
(the level's roles and ``ALERT_ONCALL_PHONES``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from domain.alert_channels import AlertWebhook, more_recipients, parse_emails, parse_webhooks
from domain.alert_delivery import EMAIL, SMS, VOICE, OnCall, Person, recipients
from domain.alert_fatigue import GROUP_WINDOW, held
from domain.alert_rules import IntegrationHealth
from domain.oncall import Rota, Zones
from realtime.notify import (
    Channel,
    CircuitBreaker,
    DeliveryWorker,
    GenesysApi,
    GenesysConfig,
    GenesysSmsNotifier,
    GenesysVoiceCaller,
    LoggingNotifier,
    Notifier,
    TextChannel,
)
from realtime.notify.alert_webhooks import WebhookChannel
from storage.alert_notifications import SqlNotificationStore
from storage.oncall import SqlRotaReader
from web.alert_email import EmailChannel, SmtpConfig
from web.settings import Settings

if TYPE_CHECKING:
    from web.runtime import Runtime

log = logging.getLogger("dispatch.alerts")


def genesys_config(settings: Settings) -> GenesysConfig | None:
    base, login = settings.genesys_base_url, settings.genesys_login_url
    if not base or not login or not settings.genesys_client_id:
        return None
    return GenesysConfig(
        base_url=base, login_url=login, client_id=settings.genesys_client_id,
        client_secret=settings.genesys_client_secret.get_secret_value(),
        from_number=settings.genesys_from_number)


def build_notifier(settings: Settings) -> Notifier:
    """Genesys Cloud SMS when configured, else a notifier that only logs (customer texts)."""
    config = genesys_config(settings)
    return GenesysSmsNotifier(config) if config is not None else LoggingNotifier()


def build_channels(settings: Settings, clock: Callable[[], dt.datetime]) -> dict[str, CircuitBreaker]:
    """Each channel of escalations behind its circuit breaker: texts (Genesys or the log), calls
    when the campaign's contact list is set (one Genesys token for both), mail when a mail server
    is set, and one channel per webhook (``webhook:<name>``)."""
    config = genesys_config(settings)
    channels: list[tuple[Channel, str]] = []
    if config is None:
        channels.append((TextChannel(LoggingNotifier()), "log"))
    else:
        api = GenesysApi(config)
        channels.append((TextChannel(GenesysSmsNotifier(config, api=api)), "genesys-sms"))
        if settings.genesys_contact_list_id:
            channels.append((GenesysVoiceCaller(api, settings.genesys_contact_list_id),
                             "genesys-voice"))
    if settings.smtp_host:
        security = settings.smtp_security
        channels.append((EmailChannel(SmtpConfig(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.alert_email_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(), tls=security == "tls",
            starttls={"auto": None, "starttls": True}.get(security, False),
            board_url=public_board_url(settings))), "smtp"))
    for hook in parse_webhooks(settings.alert_webhooks):
        channels.append((WebhookChannel(hook, clock=clock), f"webhook-{hook.name}"))
    return {channel.name: CircuitBreaker(channel, provider=provider, clock=clock)
            for channel, provider in channels}


def public_board_url(settings: Settings) -> str:
    return str(settings.public_url or "").rstrip("/") + "/" if settings.public_url else ""


class Escalations:
    """Queues each critical alert's level for the people it reaches and wakes the delivery."""

    def __init__(self, store: SqlNotificationStore, worker: DeliveryWorker, oncall: OnCall,
                 clock: Callable[[], dt.datetime], *, rota: SqlRotaReader | None = None,
                 channels: frozenset[str] = frozenset({SMS}),
                 emails: Mapping[int, tuple[str, ...]] | None = None,
                 webhooks: tuple[AlertWebhook, ...] = (), warnings: bool = False,
                 group_window: dt.timedelta = GROUP_WINDOW) -> None:
        self.store = store
        self.worker = worker
        self.oncall = oncall
        self.clock = clock
        self.rota = rota
        self.channels = channels
        self.emails = emails or {}
        #: Only the endpoints whose channel is built (a webhook is its own channel).
        self.webhooks = tuple(h for h in webhooks if f"webhook:{h.name}" in channels)
        self.warnings = warnings
        self.group_window = group_window
        #: Set when someone passed an alert on elsewhere: queue its next level now.
        self.woken = asyncio.Event()
        self._lock = asyncio.Lock()

    async def __call__(self, result: object = None) -> None:
        """After a pass (``result`` is not read: the tables are the truth), or when woken."""
        await self.queue()

    async def queue(self) -> int:
        """Queue the levels that have nothing queued yet; how many deliveries were queued.
        Critical alerts: their current level, by every channel. Warnings (``warnings``): once,
        to level 1 by text and mail, held during each person's quiet hours."""
        async with self._lock:
            critical = await self.store.unnotified()
            warnings = await self.store.unnotified_warnings() if self.warnings else []
            if not critical and not warnings:
                return 0
            now = self.clock()
            people = await self.store.people()
            rota, zones = (Rota(), Zones())
            if self.rota is not None:
                rota, zones = await self.rota.rota(now), await self.rota.zones()
            queued = 0
            for alert in critical:
                queued += await self._queue(alert, int(alert["escalation_level"]), now, people,
                                            rota, zones, critical=True)
            for alert in warnings:
                queued += await self._queue(alert, 1, now, people, rota, zones, critical=False)
            if queued:
                self.worker.wake()
            return queued

    async def _queue(self, alert: dict[str, Any], level: int, now: dt.datetime,
                     people: list[Person], rota: Rota, zones: Zones, *, critical: bool) -> int:
        store_id = alert.get("store_id")
        on_call = rota.on_call(level, store_id, now, zones.of(store_id)).user_ids
        phone = await self.store.technician_phone(alert.get("technician_id"))
        to = recipients(alert, level, self.oncall, phone, people, on_call=on_call,
                        voice=critical and VOICE in self.channels)
        to += more_recipients(level, to, people, emails=self.emails,
                              webhooks=self.webhooks if critical else (),
                              email=EMAIL in self.channels)
        if not critical:
            to = held(to, people, zones.of(store_id), now)
        group = (str(alert["kind"]), store_id) if self.group_window > dt.timedelta(0) else None
        return await self.store.enqueue(alert["id"], level, to, now, group_by=group,
                                        window=self.group_window)

    async def on_bus_message(self, raw: str) -> None:
        """An alert escalated by a person (a key 2 on a call) queues its next level at once."""
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if isinstance(message, dict) and message.get("kind") == "event" \
                and message.get("name") == "AlertEscalated":
            self.woken.set()


def watch_providers(facts: Any, channels: dict[str, CircuitBreaker]) -> None:
    """Report each provider's failures in a row to the alert rules' integration health (beside
    the feeds'): a provider whose circuit opens raises one ``integration_failing`` system alert
    (``notify:<provider>``), resolved by its first success."""
    feeds = facts.integrations
    facts.integrations = lambda: [
        *feeds(), *(IntegrationHealth(f"notify:{b.provider}", b.in_a_row, b.stats.last_error)
                    for b in channels.values())]


def start_delivery(runtime: Runtime) -> tuple[DeliveryWorker, Escalations]:
    """The delivery worker and the escalations of this process (where the alert rules run)."""
    settings, live = runtime.settings, runtime.live
    channels = build_channels(settings, runtime.now)
    store = SqlNotificationStore(runtime.engine)
    delivery = DeliveryWorker(
        channels, store, max_attempts=settings.alert_notify_max_attempts, clock=runtime.now,
        call_timeout=dt.timedelta(seconds=settings.alert_call_timeout_seconds))
    escalations = Escalations(
        store, delivery, OnCall.parse(settings.alert_oncall_phones), runtime.now,
        rota=SqlRotaReader(runtime.engine, company_zone=settings.report_timezone),
        channels=frozenset(channels), emails=parse_emails(settings.alert_emails),
        webhooks=parse_webhooks(settings.alert_webhooks),
        warnings=settings.alert_notify_warnings,
        group_window=dt.timedelta(seconds=settings.alert_group_seconds))
    live.bus.subscribe(f"{settings.redis_prefix}:events", escalations.on_bus_message)
    live.supervisor.periodic("alert-delivery", delivery.run_once,
                             interval=delivery.poll_interval, wake=delivery.woken)
    live.supervisor.periodic("alert-escalations", escalations,
                             interval=float(settings.alerts_interval_seconds),
                             wake=escalations.woken,
                             initial_delay=float(settings.alerts_interval_seconds))
    log.info("escalations by %s", ", ".join(
        f"{name} ({breaker.provider})" for name, breaker in channels.items()))
    return delivery, escalations
