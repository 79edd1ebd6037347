"""Outbound webhooks to partners, for admins: the deliveries (``?status=dead``: the dead letters)
and the replay of a dead one. See docs/intake.md, "Back to the partner"."""

from __future__ import annotations

from typing import Any

from domain.errors import NotFound
from domain.roles import Permission
from domain.services.partner_orders import replay_webhook
from storage.webhook_deliveries import SqlWebhookDeliveries
from web.api.framework import AnyCall, Api, Call, Empty, NoInput
from web.api.schemas import page
from web.api.webhook_delivery_schemas import DeliveryOut, DeliveryPage, DeliveryQuery

api = Api()
TAG = "partner webhooks"


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
