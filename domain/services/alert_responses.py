"""Use cases of the answers to escalations: a key pressed on a call, a text sent back.

Each answer is recorded on its delivery first (the first answer wins: a provider retrying its
callback, or a second text, changes nothing more), then acted on as the person it reached: 1 or
an acknowledging text acknowledges the alert through ``acknowledge_alert`` (audited, published
like any acknowledgement), 2 passes it to the next level at once (``pass_alert_on``, audited).
A call or text that reached no user, a number that was not texted, a wrong code: nothing changes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from domain.alert_responses import (
    KEY_ACKNOWLEDGE,
    KEY_PASS_ON,
    NO_KEY,
    REPLIED,
    Outcome,
    parse_reply,
)
from domain.alerts import AlertPolicy, AlertStatus
from domain.errors import Conflict, InvalidTransition, NotFound, PermissionDenied
from domain.ports import AlertUnitOfWork, ResponseStore, ResponseUnitOfWork
from domain.roles import Permission, Principal
from domain.services.alerts import acknowledge_alert, may_see_alert
from domain.services.context import Context

log = logging.getLogger("dispatch.alerts")
#: A text answers the alerts texted to its number within this long.
REPLY_WINDOW = dt.timedelta(hours=24)


NewUow = Callable[[Principal | None], ResponseUnitOfWork]


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    alert_id: str | None = None
    delivery_id: str | None = None


async def keypress(new_uow: NewUow, store: ResponseStore, *, token_hash: str, digit: str,
                   now: dt.datetime, call_timeout: dt.timedelta,
                   policy: AlertPolicy) -> Answer:
    """The key pressed on a call (``digit`` empty: none before the call ended)."""
    call = await store.call(token_hash)
    if call is None:
        return Answer(Outcome.UNKNOWN)
    known = Answer(Outcome.UNKNOWN, call.alert_id, call.id)
    if call.response is not None:
        return _as(known, Outcome.EXPIRED if call.response == NO_KEY else Outcome.ANSWERED_BEFORE)
    if call.sent_at is not None and now - call.sent_at > call_timeout:
        await store.respond(call.id, NO_KEY, now)
        return _as(known, Outcome.EXPIRED)
    digit = (digit or "").strip()[:1]
    if not await store.respond(call.id, digit or NO_KEY, now):
        return _as(known, Outcome.ANSWERED_BEFORE)
    if digit not in (KEY_ACKNOWLEDGE, KEY_PASS_ON):
        return _as(known, Outcome.NO_KEY)
    principal = await _person(new_uow, call.user_id)
    if principal is None:
        return _as(known, Outcome.NOT_ALLOWED)
    ctx = Context(principal, now)
    if digit == KEY_ACKNOWLEDGE:
        return _as(known, await _each(call.about, lambda a: _acknowledge(new_uow, ctx, a)))
    return _as(known, await _each(call.about, lambda a: _pass_on(new_uow, ctx, a, call.level,
                                                               policy)))


async def text_reply(new_uow: NewUow, store: ResponseStore, *, sender: str | None, text: str,
                     now: dt.datetime) -> Answer:
    """A text back to the org's number. ``sender`` None: not a phone number (nothing matches)."""
    reply = parse_reply(text)
    if reply is None or sender is None:
        return Answer(Outcome.UNKNOWN)
    texts = await store.texts_to(sender, now - REPLY_WINDOW)
    if reply.code is not None:
        texts = [t for t in texts if t.ack_code == reply.code]
    if not texts:
        log.warning("alert reply from %s matches no alert texted to it%s", _mask(sender),
                    " with that code" if reply.code else "")
        return Answer(Outcome.UNKNOWN)
    text_sent = texts[0]
    known = Answer(Outcome.UNKNOWN, text_sent.alert_id, text_sent.id)
    await store.respond(text_sent.id, REPLIED, now)
    principal = await _person(new_uow, text_sent.user_id)
    if principal is None:
        log.warning("alert reply from %s: the number is no user's who may acknowledge",
                    _mask(sender))
        return _as(known, Outcome.NOT_ALLOWED)
    ctx = Context(principal, now)
    about = (text_sent.alert_id,) if reply.code is not None else text_sent.about
    return _as(known, await _each(about, lambda a: _acknowledge(new_uow, ctx, a)))


async def pass_alert_on(uow: AlertUnitOfWork, ctx: Context, *, alert_id: str, from_level: int,
                        policy: AlertPolicy) -> dict[str, Any]:
    """The person on call at ``from_level`` hands the alert to the next level now: the
    escalation that would have come on the clock comes at once (AlertEscalated, audited)."""
    ctx.principal.require(Permission.ALERT_ACK)
    async with uow:
        alert = await uow.alerts.get(alert_id)
        if alert is None or not may_see_alert(ctx.principal, alert.store_id):
            raise NotFound("alert", alert_id)
        if alert.status != AlertStatus.OPEN or alert.escalation_level != from_level:
            raise Conflict(f"alert {alert_id} is no longer open at level {from_level}",
                           code="already_handled", current=alert.snapshot())
        if alert.escalation_level >= policy.top_level:
            raise Conflict(f"alert {alert_id} is at the last level", code="top_level",
                           current=alert.snapshot())
        before = alert.snapshot()
        alert.next_escalation_at = ctx.now  # due now: the person on call passed it on
        alert.escalate(ctx.now, policy)
        after = alert.snapshot()
        uow.audit(action="alert.pass_on", entity_type="alert", entity_id=alert.id,
                  before=before, after=after)
        await uow.commit()
        return after


def _as(answer: Answer, outcome: Outcome) -> Answer:
    return Answer(outcome, answer.alert_id, answer.delivery_id)


async def _person(new_uow: NewUow, user_id: str | None) -> Principal | None:
    """The user a delivery reached, as they act (None: no user, or no longer active)."""
    if user_id is None:
        return None
    uow = new_uow(None)
    async with uow:
        user = await uow.users.get(user_id)
    if user is None or not user.active:
        return None
    return user.principal()


async def _acknowledge(new_uow: NewUow, ctx: Context, alert_id: str) -> Outcome:
    try:
        await acknowledge_alert(new_uow(ctx.principal), ctx, alert_id=alert_id)
    except (Conflict, InvalidTransition):
        return Outcome.ALREADY_HANDLED
    except (PermissionDenied, NotFound):
        return Outcome.NOT_ALLOWED
    return Outcome.ACKNOWLEDGED


async def _each(alert_ids: tuple[str, ...],
                answer: Callable[[str], Awaitable[Outcome]]) -> Outcome:
    """Answer for every alert of the message; what it did to the first it changed (else to the
    first)."""
    outcomes = [await answer(alert_id) for alert_id in alert_ids]
    done = [o for o in outcomes if o in (Outcome.ACKNOWLEDGED, Outcome.PASSED_ON)]
    return done[0] if done else outcomes[0]


async def _pass_on(new_uow: NewUow, ctx: Context, alert_id: str, level: int,
                   policy: AlertPolicy) -> Outcome:
    try:
        await pass_alert_on(new_uow(ctx.principal), ctx, alert_id=alert_id,
                            from_level=level, policy=policy)
    except Conflict as error:
        return Outcome.TOP_LEVEL if error.code == "top_level" else Outcome.ALREADY_HANDLED
    except (PermissionDenied, NotFound):
        return Outcome.NOT_ALLOWED
    return Outcome.PASSED_ON


def _mask(number: str) -> str:
    return number[:3] + "…" + number[-2:] if len(number) > 6 else "…"
