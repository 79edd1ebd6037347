"""What was sent about alerts: an alert's deliveries (texts, calls, mails, posts, with every
outcome and answer), and for admins the dead letters (given up) and their retry."""

from __future__ import annotations

from typing import Any

from domain.errors import Conflict, NotFound
from domain.roles import Permission
from domain.services.alerts import may_see_alert
from storage import tables as t
from storage.alert_notifications import SqlDeliveryLog, SqlNotificationStore
from storage.engine import read_connection
from web.api.alert_delivery_schemas import DeliveryList, DeliveryOut, DeliveryPage, DeliveryQuery
from web.api.framework import Api, Call, Empty, NoInput
from web.api.schemas import page

api = Api()
TAG = "alerts"


@api.route("GET", "/api/alerts/{id}/deliveries", summary="What was sent about an alert", tag=TAG,
           response=DeliveryList, errors=(403, 404), permissions=(Permission.ALERT_VIEW,))
async def alert_deliveries(call: NoInput) -> dict[str, Any]:
    """Every text, call, mail and post of the alert, by level, with outcomes and answers."""
    alert_id = call.path_id("alert")
    a = t.alerts
    async with read_connection(call.runtime.engine) as conn:
        found = (await conn.execute(a.select().with_only_columns(a.c.store_id)
                                    .where(a.c.id == alert_id))).first()
    if found is None or not may_see_alert(call.principal, found[0]):
        raise NotFound("alert", alert_id)
    return {"items": await SqlNotificationStore(call.runtime.engine).for_alert(alert_id)}


@api.route("GET", "/api/alert-deliveries", summary="Alert deliveries (dead letters: failed)",
           tag=TAG, query=DeliveryQuery, response=DeliveryPage, errors=(403, 422),
           permissions=(Permission.ALERT_SYSTEM,))
async def list_alert_deliveries(call: Call[Empty, DeliveryQuery]) -> dict[str, Any]:
    """Newest first. ``status=failed``: those given up after their last attempt."""
    q = call.query
    items, total = await SqlDeliveryLog(call.runtime.engine).page(
        statuses=q.status, limit=q.limit, offset=q.offset)
    return page(items, total, q)


@api.route("POST", "/api/alert-deliveries/{id}/retry", summary="Send a dead alert delivery again",
           tag=TAG, response=DeliveryOut, errors=(403, 404, 409),
           permissions=(Permission.ALERT_SYSTEM,))
async def retry_delivery(call: NoInput) -> dict[str, Any]:
    """Pending again from its first attempt (a call is placed again). 409 ``not_failed`` unless
    it was given up; 409 ``alert_closed`` when its alert is no longer open."""
    log = SqlDeliveryLog(call.runtime.engine)
    delivery_id = call.path_id("alert delivery")
    row = await log.get(delivery_id)
    if row is None:
        raise NotFound("alert delivery", delivery_id)
    current = DeliveryOut.model_validate(row).model_dump(mode="json")
    if row["alert_status"] != "open":
        raise Conflict("its alert is no longer open", code="alert_closed", current=current)
    if not await log.retry(delivery_id, call.runtime.now()):
        raise Conflict("only a delivery that was given up is sent again", code="not_failed",
                       current=current)
    if call.runtime.alerts is not None:  # this process delivers: at once
        call.runtime.alerts.delivery.wake()
    return await log.get(delivery_id) or current
