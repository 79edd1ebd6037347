"""Wiring of the outbound webhooks to the partner: the sender as a supervised worker.

With ``PARTNER_WEBHOOK_URL`` and ``PARTNER_WEBHOOK_SECRET`` (or, in the demo, the local partner
simulator and a secret made for the run), a `WebhookSender` posts the queued deliveries
(``storage/webhook_deliveries.py``) on the relay's leader only, so one process in the cluster
sends; it looks every 5 s, and at once when a work-order event crosses the bus. Delivered
messages are pruned after a week with the hourly retention.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
from typing import TYPE_CHECKING, Any

from realtime.outbound_webhooks import WebhookSender
from storage.webhook_deliveries import SqlWebhookDeliveries

if TYPE_CHECKING:
    from web.runtime import Runtime

log = logging.getLogger("dispatch.partner_webhooks")
DELIVERED_KEEP = dt.timedelta(days=7)


def new_secret() -> str:
    """A fresh ``whsec_`` secret (the demo's, for one run)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _plain(value: Any) -> str | None:
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return str(value) if value else None


def start_partner_webhooks(runtime: Runtime, *, demo: tuple[str, str] | None = None
                           ) -> WebhookSender | None:
    """Run the sender when a partner endpoint is configured (``demo``: the simulator's URL and
    secret); None when there is none."""
    settings = runtime.settings
    url = _plain(getattr(settings, "partner_webhook_url", None))
    secret = _plain(getattr(settings, "partner_webhook_secret", None))
    if (url is None or secret is None) and demo is not None:
        url, secret = demo
    if url is None or secret is None:
        return None
    live = runtime.live
    store = SqlWebhookDeliveries(runtime.engine)
    sender = WebhookSender(store, url, secret, clock=runtime.now,
                           max_attempts=int(getattr(settings, "partner_webhook_max_attempts", 8)))
    live.bus.subscribe(f"{settings.redis_prefix}:events", sender.on_bus_message)
    live.supervisor.periodic("partner-webhooks", sender.run_once, interval=sender.poll_interval,
                             wake=sender.woken, leader=lambda: live.relay.is_leader)
    live.janitors["delivered partner webhooks"] = lambda now: store.prune(now - DELIVERED_KEEP)
    live.demo_tasks.append(sender.aclose)
    log.info("partner webhooks to %s", url)
    return sender
