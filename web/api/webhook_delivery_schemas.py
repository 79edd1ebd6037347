"""Request and response models of the webhook-delivery endpoints (``webhook_deliveries.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from web.api.schemas import Out, Page, PageQuery, split_commas

DeliveryStatus = Literal["pending", "delivered", "dead"]


class DeliveryQuery(PageQuery):
    """``status`` may repeat or hold a comma list; none: every delivery."""

    status: Annotated[list[DeliveryStatus], BeforeValidator(split_commas)] = Field(
        default_factory=list, max_length=3)


class DeliveryOut(Out):
    id: int
    message_id: str = Field(description="the webhook-id the partner sees, the same on each try")
    partner: str
    event_type: str
    external_id: str
    work_order_id: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status: int | None
    last_error: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    replays: int
    replayed_at: dt.datetime | None
    replayed_by: str | None


class DeliveryPage(Page[DeliveryOut]):
    pass
