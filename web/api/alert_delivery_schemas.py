"""Request and response models of the alert-delivery endpoints (``alert_deliveries.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from web.api.schemas import Out, Page, PageQuery, split_commas

Status = Literal["pending", "sending", "sent", "logged", "failed", "cancelled", "grouped"]


class DeliveryOut(Out):
    id: str
    alert_id: str
    level: int
    channel: str = Field(description="sms, voice, email or webhook")
    recipient: str
    status: Status
    attempts: int
    error: str
    provider_id: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    response: str | None = Field(description='a key ("1", "2"), "none" or "reply"')
    responded_at: dt.datetime | None
    group_id: str | None


class DeliveryList(Out):
    items: list[DeliveryOut]


class DeliveryPage(Page[DeliveryOut]):
    pass


class DeliveryQuery(PageQuery):
    """``status`` may repeat or hold a comma list; none: every delivery."""

    status: Annotated[list[Status], BeforeValidator(split_commas)] = Field(
        default_factory=list, max_length=7)
