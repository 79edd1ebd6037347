"""Use cases of the customer's consent to texts: recorded by a person (with its source), or by the
customer's own reply (STOP / START). Every change is a consent record and a customer update in
one unit of work, so the history and ``sms_opt_in`` never disagree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from domain.alert_delivery import normalize_phone
from domain.errors import NotFound, RuleViolation
from domain.notifications import (
    SYSTEM_SOURCES,
    Channel,
    ConsentRecord,
    ConsentSource,
    reply_intent,
)
from domain.ports import ConsentHistory, UnitOfWork
from domain.resources import Customer
from domain.roles import Permission
from domain.services.context import Context, in_scope_or_404

#: The ids of the customers whose phone is this E.164 number.
CustomersByPhone = Callable[[str], Awaitable[Sequence[str]]]


def _change(uow: UnitOfWork, customer: Customer, record: ConsentRecord) -> dict[str, Any]:
    before = customer.snapshot()
    if customer.sms_opt_in != record.granted:
        customer.update(sms_opt_in=record.granted)
    uow.audit(action="customer.consent", entity_type="customer", entity_id=customer.id,
              before=before, after={**customer.snapshot(), "consent": record.as_dict()})
    return record.as_dict()


async def record_consent(
    uow: UnitOfWork, ctx: Context, history: ConsentHistory, *, customer_id: str, granted: bool,
    source: ConsentSource, note: str = "",
) -> dict[str, Any]:
    """A person records the customer's yes or no to texts, and how it was given."""
    ctx.principal.require(Permission.CUSTOMER_MANAGE)
    if source in SYSTEM_SOURCES:
        raise RuleViolation(f"{source.value} is recorded by the change itself", field="source")
    async with uow:
        customer = await uow.customers.get(customer_id)
        if customer is None or not customer.active:
            raise NotFound("customer", customer_id)
        in_scope_or_404(ctx, "customer", customer_id, customer.home_store_id)
        out = await apply_consent(uow, ctx, history, customer, granted=granted, source=source,
                                  note=note)
        await uow.commit()
        return out


async def apply_consent(
    uow: UnitOfWork, ctx: Context, history: ConsentHistory, customer: Customer, *,
    granted: bool, source: ConsentSource, note: str = "",
) -> dict[str, Any]:
    """Inside the caller's open unit of work: the consent record (who: the caller) and
    ``sms_opt_in`` together. Granting needs a number that can take texts."""
    ctx.principal.require(Permission.CUSTOMER_MANAGE)
    if granted and normalize_phone(customer.phone) is None:
        raise RuleViolation("the customer has no phone number that can take texts",
                            field="granted", code="no_sms_number")
    record = ConsentRecord(customer_id=customer.id, channel=Channel.SMS, granted=granted,
                           source=source, recorded_by=ctx.principal.username, at=ctx.now,
                           note=note.strip()[:500])
    await history.add(record)
    return _change(uow, customer, record)


async def consent_from_reply(
    uow: UnitOfWork, history: ConsentHistory, by_phone: CustomersByPhone, *, sender: str,
    text: str, now: dt.datetime,
) -> list[str]:
    """A text from a customer: STOP opts every customer with that number out, START in again.
    Answers the ids of the customers whose consent changed (nothing for any other text)."""
    intent = reply_intent(text)
    phone = normalize_phone(sender)
    if intent is None or phone is None:
        return []
    changed: list[str] = []
    async with uow:
        for customer_id in await by_phone(phone):
            customer = await uow.customers.get(customer_id)
            if customer is None or customer.sms_opt_in == intent:
                continue
            record = ConsentRecord(customer_id=customer.id, channel=Channel.SMS, granted=intent,
                                   source=ConsentSource.SMS_REPLY, recorded_by=f"sms:{phone}",
                                   at=now, note=text.strip()[:100])
            await history.add(record)
            _change(uow, customer, record)
            changed.append(customer.id)
        await uow.commit()
    return changed
