"""Order intake from partners: the signed webhook ``POST /api/intake/webhooks/orders``, a thin
adapter: it verifies the signature, parses the message (``web/intake_messages.py``) and hands it
to `OrderIntake` (``web/intake_wiring.py``), which the feed poller uses too.

The webhook is not Bearer-authenticated: it is signed as Standard Webhooks do
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; see ``realtime/intake/webhooks.py``)
with the secret ``INTAKE_WEBHOOK_SECRET``. Answers:

- 201 with the work order: created (through the same use case as ``POST /api/work-orders``, so the
  same rules, audit row and events apply), acting as the system principal ``intake:<partner>``;
- 200 with the work order and ``Intake-Outcome: duplicate``: that ``external_id`` was taken before;
- 200 with the work order and ``Intake-Outcome: replayed``: this ``webhook-id`` was handled before
  (a redelivery, or a replay within the timestamp tolerance): nothing changes, and the sender
  stops retrying; 409 ``webhook_id_reused`` when that id came with another order;
- 200 with the work order and ``Intake-Outcome: updated | cancelled | blocked | closed | duplicate
  | stale``: a change of an order taken before (``order.updated``, ``order.priority_changed``,
  ``order.cancelled``; ``domain/services/intake.py``); 404 for an order never taken;
- 401 missing or bad signature, or a timestamp outside the tolerance; 400 malformed headers or
  JSON; 415 not JSON; 422 an invalid order (nothing is created); 404 when no secret is
  configured (the webhook is off).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response

from realtime.intake.webhooks import MalformedHeader, Webhook, WebhookVerificationError
from web.api.bodies import MAX_BODY, read_capped
from web.api.framework import Api, NoInput
from web.api.problems import ApiError, from_validation
from web.api.work_order_schemas import WorkOrderOut
from web.intake_messages import is_change, parse_change, parse_order
from web.intake_wiring import order_intake, secret

if TYPE_CHECKING:
    from web.runtime import Runtime

log = logging.getLogger("dispatch.intake")
api = Api()
TAG = "intake"


def _verifier(runtime: Runtime) -> Webhook:
    settings = runtime.settings
    secrets = secret(settings.intake_webhook_secret).split()
    if not secrets:
        raise ApiError(404, "the order-intake webhook is not enabled (INTAKE_WEBHOOK_SECRET)",
                       code="intake_not_configured")
    tolerance = settings.intake_webhook_tolerance_seconds
    try:
        return Webhook(secrets, tolerance=tolerance, clock=lambda: runtime.now().timestamp())
    except ValueError as error:
        log.error("INTAKE_WEBHOOK_SECRET is unusable: %s", error)
        raise ApiError(404, "the order-intake webhook is not enabled (its secret is unusable)",
                       code="intake_not_configured") from error


@api.route("POST", "/api/intake/webhooks/orders", summary="Receive a partner order (signed webhook)",
           tag=TAG, response=WorkOrderOut, status=201, auth=False,
           errors=(400, 401, 404, 409, 413, 415, 422))
async def receive_order(call: NoInput) -> Response:
    """Signed as Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature: v1,<base64>``), not Bearer-authenticated. The body is an order
    (``external_id``, ``store_id`` or ``store_code``, ``priority``, ``location``, ``description``,
    optional walk-in ``customer_name``/``customer_phone``/``customer_email``, ``address``,
    ``time_window``, ``required_skills``, ``estimated_minutes``), bare or as ``data`` of an
    ``{"type": "order.created", "data": ...}`` envelope. 201: created; 200 with
    ``Intake-Outcome: duplicate`` (external id taken before) or ``replayed`` (webhook-id handled
    before). See docs/intake.md."""
    request = call.request
    verifier = _verifier(call.runtime)
    raw = await read_capped(request, MAX_BODY)
    try:
        message = verifier.verify(request.headers, raw)
    except MalformedHeader as error:
        raise ApiError(400, str(error), code=error.code) from error
    except WebhookVerificationError as error:
        raise ApiError(401, str(error), code=error.code) from error
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if content_type != "application/json":
        raise ApiError(415, "send the body as application/json", code="unsupported_media_type")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(400, f"the body is not valid JSON: {error}", code="malformed_json") from error
    if is_change(data):
        try:
            change = parse_change(data)
        except ValidationError as error:
            return from_validation(error, "body", request.url.path)
        changed = await order_intake(call.runtime).change(
            change, webhook_id=message.id, correlation_id=call.correlation_id)
        body = WorkOrderOut.model_validate(changed.work_order).model_dump(mode="json")
        return JSONResponse(body, headers={"Intake-Outcome": changed.outcome})
    try:
        order = parse_order(data)
    except ValidationError as error:
        return from_validation(error, "body", request.url.path)
    taken = await order_intake(call.runtime).take(order, webhook_id=message.id,
                                                   correlation_id=call.correlation_id)
    body = WorkOrderOut.model_validate(taken.work_order).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if taken.outcome == "created" else 200,
                        headers={"Intake-Outcome": taken.outcome})
