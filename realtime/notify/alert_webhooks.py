"""The ``webhook`` channel: an escalation POSTed to a chat or incident tool (Teams, PagerDuty,
ServiceNow, or any JSON receiver), one channel per configured endpoint (``webhook:<name>``, each
behind its own circuit breaker).

The body is the endpoint's template filled in (``domain/alert_channels.py``). With a ``secret``
the request is signed as a Standard Webhook (``webhook-id``: the delivery's id, the same on
every retry, so the receiver can drop repeats; ``webhook-timestamp``; ``webhook-signature``
``v1,<base64 HMAC-SHA256 of id.timestamp.body>``), as the partner webhooks are. 2xx is delivered;
408, 409, 425, 429 and 5xx (and network errors) are retried (a 429's ``Retry-After`` holds the
endpoint); other answers (410 included) are permanent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx

from domain.alert_channels import AlertWebhook, render
from domain.alert_delivery import PendingNotification
from realtime.geotab.protocol import parse_retry_after
from realtime.intake.webhooks import Webhook
from realtime.notify.base import DeliveryFailed, SendReceipt

RETRIED = frozenset({408, 409, 425, 429})


class WebhookChannel:
    def __init__(self, hook: AlertWebhook, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 timeout: float = 15.0) -> None:
        self.hook = hook
        self.name = f"webhook:{hook.name}"
        self.signer = Webhook(hook.secret, clock=lambda: clock().timestamp()) \
            if hook.secret else None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owned = client is None

    def request(self, item: PendingNotification) -> tuple[bytes, dict[str, str]]:
        body = render(self.hook, item.alert, item.level, item.store_name, item.group)
        headers = {"content-type": "application/json", "user-agent": "dispatch-board"}
        if self.signer is not None:
            headers.update(self.signer.headers(item.id, body))
        return body, headers

    async def deliver(self, item: PendingNotification) -> SendReceipt:
        body, headers = self.request(item)
        try:
            response = await self._client.post(self.hook.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"{self.name}: {type(error).__name__}: {error}"[:300]) from error
        status = response.status_code
        if 200 <= status < 300:
            return SendReceipt(provider_id=f"{status}:{item.id}", channel="webhook")
        transient = status >= 500 or status in RETRIED
        raise DeliveryFailed(
            f"{self.name}: HTTP {status} {response.text[:200]}".strip(), permanent=not transient,
            retry_after=parse_retry_after(response.headers.get("retry-after"))
            if status == 429 else None)

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
