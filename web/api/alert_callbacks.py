"""Genesys Cloud calling back about escalations: the key pressed on a call, a text sent back.

Both are POSTed by web services data actions (``realtime/notify/data_actions.py``) with the
shared secret ``GENESYS_CALLBACK_SECRET`` in ``X-Callback-Secret`` (not Bearer tokens: Genesys
calls them); without that setting they answer 404, with a wrong secret 401, and nothing changes.
The answer is quick JSON matching the actions' success schema: ``accepted``, the ``outcome``,
and ``say`` (what the call reads out, or the text the message flow sends back).

- ``POST /api/voice/keypress``: ``{alertId, deliveryId, callToken, conversationId, digit}``. The
  call is found by its token (the one its contact row carried); 1 acknowledges the alert as the
  person called, 2 passes it to the next level now, anything else (or no key) changes nothing.
- ``POST /api/sms/replies``: ``{conversationId, messageId, from, to, text}``. ``ACK <code>`` or
  ``1`` from the number an escalation text went to acknowledges that alert as its person; STOP
  and START set a customer's consent to texts, as ``/api/sms/inbound`` does. Anything else, an
  unknown number or a wrong code: nothing changes (logged).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from domain.alert_delivery import normalize_phone
from domain.alert_responses import Outcome, say, token_hash
from domain.alerts import AlertPolicy
from domain.ports import ResponseUnitOfWork
from domain.roles import Principal
from domain.services import alert_responses as uc
from domain.services.notifications import consent_from_reply
from realtime.notify.data_actions import KEYPRESS_PATH, SECRET_HEADER, SMS_REPLY_PATH, secret_matches
from storage.alert_answers import SqlAlertAnswers
from storage.notifications import SqlConsentHistory, SqlCustomerNotifications
from web.api.alert_callback_schemas import CallbackOut, KeypressIn, SmsReplyIn
from web.api.framework import AnyCall, Api, Call, Empty
from web.api.problems import ApiError

api = Api()
TAG = "alert callbacks"
log = logging.getLogger("dispatch.alerts")


def _authenticate(call: AnyCall) -> None:
    secret = call.runtime.settings.genesys_callback_secret.get_secret_value()
    if not secret:
        raise ApiError(404, "alert callbacks are not enabled (GENESYS_CALLBACK_SECRET)",
                       code="not_found")
    if not secret_matches(secret, call.request.headers.get(SECRET_HEADER)):
        raise ApiError(401, "the X-Callback-Secret header does not match", code="bad_secret")


def _new_uow(call: AnyCall) -> uc.NewUow:
    def make(actor: Principal | None) -> ResponseUnitOfWork:  # a SqlUnitOfWork for them
        return call.runtime.uow(actor=actor, correlation_id=call.correlation_id)
    return make


def _answer(outcome: Outcome) -> dict[str, Any]:
    return {"accepted": True, "outcome": outcome.value, "say": say(outcome)}


@api.route("POST", KEYPRESS_PATH, summary="The key pressed on an escalation call (Genesys)",
           tag=TAG, body=KeypressIn, response=CallbackOut, auth=False, errors=(401, 404, 422))
async def keypress(call: Call[KeypressIn, Empty]) -> dict[str, Any]:
    """1 acknowledges, 2 passes the alert on; a call past its timeout
    (``ALERT_CALL_TIMEOUT_SECONDS``) or answered before changes nothing."""
    _authenticate(call)
    settings, b = call.runtime.settings, call.body
    answer = await uc.keypress(
        _new_uow(call), SqlAlertAnswers(call.runtime.engine),
        token_hash=token_hash(b.callToken), digit=b.digit, now=call.runtime.now(),
        call_timeout=dt.timedelta(seconds=settings.alert_call_timeout_seconds),
        policy=AlertPolicy(escalation_interval=dt.timedelta(
            minutes=settings.alert_escalation_minutes)))
    log.info("alert call %s: key %r -> %s (alert %s)", answer.delivery_id, b.digit[:1],
             answer.outcome.value, answer.alert_id)
    return _answer(answer.outcome)


@api.route("POST", SMS_REPLY_PATH, summary="A text sent back to the org's number (Genesys)",
           tag=TAG, body=SmsReplyIn, response=CallbackOut, auth=False, errors=(401, 404, 422))
async def sms_reply(call: Call[SmsReplyIn, Empty]) -> dict[str, Any]:
    """``ACK <code>`` or ``1`` acknowledges the alert texted to the sender; STOP / START set a
    customer's consent. Other texts, unknown numbers and wrong codes change nothing."""
    _authenticate(call)
    settings, b = call.runtime.settings, call.body
    ours = normalize_phone(settings.genesys_from_number)
    if ours is not None and b.to and normalize_phone(b.to) != ours:
        log.warning("a text to another number than the org's was forwarded; ignored")
        return _answer(Outcome.UNKNOWN)
    sender, now = normalize_phone(b.sender), call.runtime.now()
    answer = await uc.text_reply(_new_uow(call), SqlAlertAnswers(call.runtime.engine),
                                 sender=sender, text=b.text, now=now)
    if answer.delivery_id is None and sender is not None:  # not about an alert: consent?
        uow = call.uow()
        changed = await consent_from_reply(
            uow, SqlConsentHistory(uow),
            SqlCustomerNotifications(call.runtime.engine).customers_by_phone,
            sender=sender, text=b.text, now=now)
        if changed:
            return {"accepted": True, "outcome": "consent", "say": ""}
    log.info("alert text reply -> %s (alert %s)", answer.outcome.value, answer.alert_id)
    return _answer(answer.outcome)
