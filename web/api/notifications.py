"""What the customer is told, and their consent to texts.

- ``GET /api/work-orders/{id}/notifications``: every notification sent about a job (channel,
  time, delivery outcome), for dispatchers and customer service.
- ``GET /api/customers/{id}/consents`` and ``POST`` (customer service): the consent history;
  a new record changes ``sms_opt_in`` in the same transaction.
- ``POST /api/sms/inbound``: customers' replies forwarded by Genesys Cloud (signed, not
  Bearer-authenticated); STOP opts the sender out, START in again.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from domain.errors import NotFound
from domain.roles import Permission
from domain.services import notifications as uc
from realtime.notify.inbound import SIGNATURE_HEADER, parse, verify
from storage.engine import read_connection
from storage.notifications import SqlConsentHistory, SqlCustomerNotifications
from storage.queries.work_orders import work_order_detail
from web.api.bodies import MAX_BODY, read_capped
from web.api.framework import AnyCall, Api, Call, Empty, NoInput
from web.api.notification_schemas import ConsentIn, ConsentList, ConsentOut, NotificationList
from web.api.problems import ApiError

api = Api()
TAG = "customer notifications"


def store(call: AnyCall) -> SqlCustomerNotifications:
    return SqlCustomerNotifications(call.runtime.engine)


async def tracking_url(call: AnyCall, work_order_id: str, *, new: bool = False) -> str:
    """The job's public tracking link (made on first use), on ``PUBLIC_URL`` or this host;
    ``new``: for a job this request created."""
    token = await store(call).link_for(work_order_id, call.runtime.now(), new=new)
    base = call.runtime.settings.public_url or str(call.request.base_url)
    return f"{base.rstrip('/')}/t/{token}"


@api.route("GET", "/api/work-orders/{id}/notifications",
           summary="What the job's customer was sent (channel, time, outcome)", tag=TAG,
           response=NotificationList, errors=(403, 404),
           permissions=(Permission.CUSTOMER_CONTACT,))
async def list_notifications(call: NoInput) -> dict[str, Any]:
    work_order_id = call.path_id("work order")
    async with read_connection(call.runtime.engine) as conn:
        if await work_order_detail(conn, call.principal, work_order_id) is None:
            raise NotFound("work order", work_order_id)
    return {"items": await store(call).for_order(work_order_id),
            "tracking_url": await tracking_url(call, work_order_id)}


async def _customer_opt_in(call: AnyCall, customer_id: str) -> bool:
    found = await store(call).customer_state(customer_id)
    if found is None or not call.principal.sees_store(found[1]):
        raise NotFound("customer", customer_id)
    return found[0]


@api.route("GET", "/api/customers/{id}/consents", summary="A customer's consent history",
           tag=TAG, response=ConsentList, errors=(403, 404),
           permissions=(Permission.CUSTOMER_CONTACT, Permission.CUSTOMER_MANAGE))
async def list_consents(call: NoInput) -> dict[str, Any]:
    customer_id = call.path_id("customer")
    opt_in = await _customer_opt_in(call, customer_id)
    return {"sms_opt_in": opt_in, "items": await store(call).consents(customer_id)}


@api.route("POST", "/api/customers/{id}/consents",
           summary="Record a customer's yes or no to texts", tag=TAG, body=ConsentIn,
           response=ConsentOut, status=201, errors=(403, 404, 422),
           permissions=(Permission.CUSTOMER_MANAGE,))
async def add_consent(call: Call[ConsentIn, Empty]) -> dict[str, Any]:
    """Who recorded it and when are taken from the call. Granting needs a phone number that can
    take texts (422 ``no_sms_number``)."""
    uow = call.uow()
    b = call.body
    return await uc.record_consent(uow, call.context(), SqlConsentHistory(uow),
                                   customer_id=call.path_id("customer"), granted=b.granted,
                                   source=b.source, note=b.note)


@api.route("POST", "/api/sms/inbound", summary="A customer's reply (forwarded by Genesys Cloud)",
           tag=TAG, auth=False, status=200, errors=(400, 401, 404))
async def inbound_sms(call: NoInput) -> Response:
    """Signed with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`` under
    ``GENESYS_INBOUND_SECRET`` (404 while that is unset). STOP (or STOPALL, UNSUBSCRIBE, CANCEL,
    END, QUIT) opts every customer with the sender's number out; START or UNSTOP back in. Answers
    ``{"changed": n}``; any other text changes nothing."""
    secret = call.runtime.settings.genesys_inbound_secret.get_secret_value()
    if not secret:
        raise ApiError(404, "inbound texts are not enabled (GENESYS_INBOUND_SECRET)",
                       code="not_found")
    raw = await read_capped(call.request, MAX_BODY)
    if not verify(secret, raw, call.request.headers.get(SIGNATURE_HEADER)):
        raise ApiError(401, "the X-Hub-Signature-256 signature does not match the body",
                       code="bad_signature")
    try:
        message = parse(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "the body is not valid JSON", code="malformed_json") from error
    if message is None:
        return JSONResponse({"changed": 0})
    uow = call.uow()
    changed = await uc.consent_from_reply(
        uow, SqlConsentHistory(uow), store(call).customers_by_phone, sender=message.sender,
        text=message.text, now=call.runtime.now())
    return JSONResponse({"changed": len(changed)})
