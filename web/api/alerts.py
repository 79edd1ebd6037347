"""Alert endpoints: list and detail in the caller's scope, acknowledge, resolve by hand.

Every answer that is an alert has the shape of ``AlertOut`` (the domain snapshot). Acknowledge and
resolve take the version the client saw (``If-Match: "<version>"`` or ``version`` in the body); a
stale version, or acknowledging an alert someone already acknowledged, answers 409 with the
current alert in ``current``.
"""

from __future__ import annotations

from typing import Any

from domain.roles import Permission
from domain.services import alerts as uc
from storage.engine import read_connection
from storage.queries.alerts import alert_detail, list_alerts
from web.api.alert_schemas import (
    AcknowledgedManyOut,
    AcknowledgeIn,
    AcknowledgeManyIn,
    AlertOut,
    AlertPage,
    AlertQuery,
    ResolveIn,
)
from web.api.framework import Api, Call, Empty, NoInput, detail_or_404

api = Api()
TAG = "alerts"
CHANGE_ERRORS = (400, 403, 404, 409, 422)


@api.route("GET", "/api/alerts", summary="List alerts, newest first", tag=TAG, query=AlertQuery,
           response=AlertPage, errors=(403, 422), permissions=(Permission.ALERT_VIEW,))
async def list_(call: Call[Empty, AlertQuery]) -> dict[str, Any]:
    """Filters: ``status`` (open, acknowledged, resolved), ``severity``, ``kind``, ``store_id``.
    A store manager sees their stores' alerts; system alerts (no store) only admins."""
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total = await list_alerts(
            conn, call.principal, statuses=[s.value for s in q.status],
            severities=[s.value for s in q.severity], kinds=[k.value for k in q.kind],
            store_id=q.store_id, limit=q.limit, offset=q.offset)
    return {"items": items, "total": total, "limit": q.limit, "offset": q.offset}


@api.route("GET", "/api/alerts/{id}", summary="An alert", tag=TAG, response=AlertOut,
           errors=(403, 404), permissions=(Permission.ALERT_VIEW,))
async def get_alert(call: NoInput) -> dict[str, Any]:
    return await detail_or_404(call, "alert", alert_detail, call.path_id("alert"))


@api.route("POST", "/api/alerts/acknowledge", summary="Acknowledge many alerts at once", tag=TAG,
           body=AcknowledgeManyIn, response=AcknowledgedManyOut, errors=(400, 403, 422),
           permissions=(Permission.ALERT_ACK,))
async def acknowledge_many(call: Call[AcknowledgeManyIn, Empty]) -> dict[str, Any]:
    """Up to 500 ``{id, version?}`` in one transaction. Alerts already acknowledged or resolved,
    changed since ``version``, or not visible to the caller are listed in ``skipped`` with their
    code (``already_acknowledged``, ``invalid_transition``, ``stale_version``, ``not_found``)."""
    return await uc.acknowledge_alerts(call.uow(), call.context(),
                                       items=[(i.id, i.version) for i in call.body.items])


@api.route("POST", "/api/alerts/{id}/acknowledge", summary="Acknowledge an alert", tag=TAG,
           body=AcknowledgeIn, response=AlertOut, errors=CHANGE_ERRORS,
           permissions=(Permission.ALERT_ACK,))
async def acknowledge(call: Call[AcknowledgeIn, Empty]) -> dict[str, Any]:
    """Stops the escalation. Acknowledging an acknowledged alert is 409 (``already_acknowledged``)
    with the current alert; a resolved one is 409 (``invalid_transition``)."""
    return await uc.acknowledge_alert(call.uow(), call.context(), alert_id=call.path_id("alert"),
                                      expected_version=call.expected_version(call.body.version))


@api.route("POST", "/api/alerts/{id}/resolve", summary="Resolve (close) an alert by hand", tag=TAG,
           body=ResolveIn, response=AlertOut, errors=CHANGE_ERRORS,
           permissions=(Permission.ALERT_ACK,))
async def resolve(call: Call[ResolveIn, Empty]) -> dict[str, Any]:
    """The rule does not raise the same alert again for an hour, even if its condition holds."""
    return await uc.resolve_alert(call.uow(), call.context(), alert_id=call.path_id("alert"),
                                  expected_version=call.expected_version(call.body.version),
                                  note=call.body.note)
