"""Outbound webhooks to partners, for admins: the deliveries (``?status=dead``: the dead letters)
and the replay of a dead one. See docs/intake.md, "Back to the partner"."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from domain.errors import NotFound
from domain.roles import Permission
from domain.services.partner_orders import replay_webhook
from storage.webhook_deliveries import SqlWebhookDeliveries
from web.api.framework import AnyCall, Api, Call, Empty, NoInput
from web.api.schemas import Out, Page, PageQuery, page, split_commas

api = Api()
TAG = "partner webhooks"
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


def _delivery_id(call: AnyCall) -> int:
    value = call.path["id"]
    if not value.isdigit() or len(value) > 18:
        raise NotFound("webhook delivery", value[:64])
    return int(value)


@api.route("GET", "/api/webhook-deliveries", summary="Webhooks to partners (dead letters)",
           tag=TAG, query=DeliveryQuery, response=DeliveryPage, errors=(403, 422),
           permissions=(Permission.WEBHOOK_VIEW,))
async def list_webhook_deliveries(call: Call[Empty, DeliveryQuery]) -> dict[str, Any]:
    """Newest first. ``status=dead``: the deliveries given up after every attempt."""
    call.principal.require(Permission.WEBHOOK_VIEW)
    q = call.query
    items, total = await SqlWebhookDeliveries(call.runtime.engine).page(
        statuses=q.status, limit=q.limit, offset=q.offset)
    return page(items, total, q)


@api.route("POST", "/api/webhook-deliveries/{id}/replay", summary="Send a dead webhook again",
           tag=TAG, response=DeliveryOut, errors=(403, 404, 409),
           permissions=(Permission.WEBHOOK_REPLAY,))
async def replay(call: NoInput) -> dict[str, Any]:
    """The same message (id and body), pending again with its attempts from zero; the sender
    takes it at its next pass. 409 ``not_dead`` (with ``current``) unless it is dead."""
    return await replay_webhook(SqlWebhookDeliveries(call.runtime.engine), call.context(),
                                delivery_id=_delivery_id(call),
                                correlation_id=call.correlation_id)
