"""The ports of alert delivery: a ``Notifier`` sends one text to one address; a ``Channel``
delivers one queued alert notification (a text, a call, a mail, a webhook post). Each says why it
could not (``DeliveryFailed``)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from domain.alert_delivery import PendingNotification

log = logging.getLogger("dispatch.notify")


@dataclass(frozen=True, slots=True)
class SendReceipt:
    provider_id: str
    channel: str = "sms"


class DeliveryFailed(Exception):
    """The provider did not take the message.

    ``permanent``: trying again will not help (a refused number, a bad request). ``retry_after``:
    the provider asked us to wait (HTTP 429 ``Retry-After``), in seconds.
    """

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None, attempted: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        #: False: nothing reached the provider (its circuit is open); no attempt is counted.
        self.attempted = attempted


class Notifier(Protocol):
    channel: str

    async def send(self, to: str, text: str) -> SendReceipt:
        """Deliver ``text`` to ``to`` (E.164); raise ``DeliveryFailed`` when the provider refuses."""
        ...

    async def aclose(self) -> None: ...


class LoggingNotifier:
    """No provider configured: the message is logged (and recorded as ``logged``), nothing sent."""

    channel = "log"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, text: str) -> SendReceipt:
        self.sent.append((to, text))
        # Only the head (severity, level, title): the rest names the job's customer address.
        log.warning("alert SMS (no Genesys configured) to %s: %s", to, text.split(". ", 1)[0])
        return SendReceipt(provider_id=f"log-{uuid.uuid4().hex[:12]}", channel=self.channel)

    async def aclose(self) -> None:
        return None


class Channel(Protocol):
    """Delivers queued alert notifications of one channel (``sms``, ``voice``, ``email``,
    ``webhook``)."""

    name: str

    async def deliver(self, item: PendingNotification) -> SendReceipt:
        """Deliver it (raise ``DeliveryFailed`` when the provider refuses)."""
        ...

    async def aclose(self) -> None: ...


class TextChannel:
    """The ``sms`` channel over a ``Notifier`` (Genesys Cloud, or the log)."""

    name = "sms"

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def deliver(self, item: PendingNotification) -> SendReceipt:
        return await self.notifier.send(item.recipient, item.text())

    async def aclose(self) -> None:
        await self.notifier.aclose()
