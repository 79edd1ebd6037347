"""The ``email`` channel: an escalation as a plain text mail over SMTP (``aiosmtplib``). It lives
beside the composition root rather than in ``realtime/``, whose allowed libraries do not include
an SMTP client.

One connection per message (escalations are few): STARTTLS when the server offers it (or always,
``starttls=True``; implicit TLS on 465 with ``tls=True``), login when a user is set. A 5xx answer
(a refused address, a refused message) is permanent; 4xx answers, timeouts and connection errors
are transient (retried, and they count towards the provider's circuit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from domain.alert_channels import email_body, email_subject
from domain.alert_delivery import PendingNotification, group_head
from domain.alert_fatigue import group_lines
from realtime.notify.base import DeliveryFailed, SendReceipt


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    sender: str = "dispatch-board@localhost"
    username: str = ""
    password: str = ""
    starttls: bool | None = None  # None: when the server offers it
    tls: bool = False
    timeout: float = 15.0
    board_url: str = ""


class EmailChannel:
    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def message(self, item: PendingNotification) -> EmailMessage:
        c = self.config
        message = EmailMessage()
        message["From"] = c.sender
        message["To"] = item.recipient
        message["Subject"] = (group_head(item.alerts, item.level, item.store_name)[:200]
                              if item.group else
                              email_subject(item.alert, item.level, item.store_name))
        message["Message-ID"] = make_msgid(idstring=item.id, domain=c.sender.rpartition("@")[2]
                                           or "localhost")
        message["X-Dispatch-Alert"] = str(item.alert.get("id", ""))
        raised = item.alert.get("raised_at")
        if isinstance(raised, str) and raised:
            message["Date"] = format_datetime(datetime.fromisoformat(raised))
        body = email_body(item.alert, item.level, item.store_name, c.board_url)
        if item.group:  # the others of the group, one line each
            body += "\nWith it, of the same kind and store:\n" + "\n".join(
                group_lines(item.group)) + "\n"
        message.set_content(body)
        return message

    async def deliver(self, item: PendingNotification) -> SendReceipt:
        c = self.config
        message = self.message(item)
        try:
            await aiosmtplib.send(
                message, hostname=c.host, port=c.port, username=c.username or None,
                password=c.password or None, use_tls=c.tls,
                start_tls=False if c.tls else c.starttls, timeout=c.timeout)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            raise DeliveryFailed(f"smtp: recipient refused {codes}",
                                 permanent=all(code >= 500 for code in codes)) from error
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryFailed(f"smtp: {error.code} {error.message}"[:300],
                                 permanent=error.code >= 500) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"smtp: {type(error).__name__}: {error}"[:300]) from error
        return SendReceipt(provider_id=str(message["Message-ID"]), channel=self.name)

    async def aclose(self) -> None:
        return None
