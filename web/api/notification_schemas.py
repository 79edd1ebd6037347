"""Request and response models of the customer-notification and consent endpoints
(``notifications.py``)."""

from __future__ import annotations

from pydantic import Field, StrictBool

from domain.notifications import ConsentSource
from web.api.schemas import Out, Strict


class NotificationOut(Out):
    id: str
    kind: str
    channel: str
    recipient: str
    text: str
    status: str = Field(description="web: posted; sms: pending, sending, sent, logged (no "
                                    "provider configured), failed or cancelled")
    attempts: int
    error: str
    provider_id: str | None
    created_at: str
    sent_at: str | None


class NotificationList(Out):
    items: list[NotificationOut]
    tracking_url: str


class ConsentIn(Strict):
    granted: StrictBool
    source: ConsentSource = Field(description="How the customer said it (not sms_reply: replies "
                                              "record themselves)")
    note: str = Field(default="", max_length=500)


class ConsentOut(Out):
    channel: str
    granted: bool
    source: str
    recorded_by: str
    at: str
    note: str


class ConsentList(Out):
    sms_opt_in: bool
    items: list[ConsentOut]
