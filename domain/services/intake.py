"""Use cases of the order intake: a partner's order becomes one work order, and each version of a
partner's change of it is handled once, however often and by whichever way (the signed webhook,
the feed, or both racing) it arrives.

Both go through the work-order use cases (``create_work_order``, ``apply_partner_change``) as the
intake's system principal. The partner's ledger makes them idempotent: it is read first (a repeat
answers the work order as it now is) and written by the unit of work in the transaction of the
change, so a delivery that lost a race rolls back entirely (`AlreadyTaken`, `StaleChange`) and is
looked at again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.errors import ConcurrencyConflict, Conflict, NotFound, RuleViolation
from domain.geo import Location, TimeWindow
from domain.partner_orders import (
    AlreadyTaken,
    ChangeClaim,
    IntakeClaim,
    IntakeRecord,
    PartnerChange,
    StaleChange,
    already_handled,
)
from domain.ports import ChangeLedger, IntakeLedger, PartnerChangeUnitOfWork, UnitOfWork
from domain.services.context import Context
from domain.services.partner_orders import apply_partner_change
from domain.services.work_orders import NewWorkOrder, WalkInCustomer, create_work_order
from domain.work_orders import Channel, Priority

#: A race lost to another delivery is tried again this often before it is answered as a conflict.
RACE_RETRIES = 3


#: A unit of work that records the claim with the work order it creates.
NewOrderUow = Callable[[IntakeClaim], UnitOfWork]
#: A unit of work that records the claim with what the change did.
NewChangeUow = Callable[[ChangeClaim], PartnerChangeUnitOfWork]


@dataclass(frozen=True, slots=True)
class PartnerOrder:
    """A partner's new order, its syntax checked at the edge, under the partner's
    ``external_id`` and ``version``. Its store is ``store_id``, or the store whose code is
    ``store_code`` (exactly one). Its time window (start, end) becomes a `TimeWindow` only when
    the order is taken: a repeat answers the work order it became, whatever it says."""

    external_id: str
    store_id: str | None
    store_code: str | None
    priority: Priority
    location: Location
    description: str
    address: str = ""
    walk_in: WalkInCustomer | None = None
    time_window: tuple[dt.datetime, dt.datetime] | None = None
    required_skills: frozenset[str] = frozenset()
    estimated_minutes: int = 60
    version: int = 0

    def work_order(self, store_id: str, channel: Channel) -> NewWorkOrder:
        window = TimeWindow(*self.time_window) if self.time_window is not None else None
        return NewWorkOrder(
            store_id=store_id, priority=self.priority, location=self.location,
            description=self.description, walk_in=self.walk_in, address=self.address,
            time_window=window, required_skills=self.required_skills,
            estimated_minutes=self.estimated_minutes, channel=channel)


@dataclass(frozen=True, slots=True)
class Taken:
    """The work order as it now is, and what became of the message: ``created``, ``duplicate``
    (the order was taken before), ``replayed`` (this webhook message was handled before), or a
    change's outcome (``updated``, ``cancelled``, ``blocked``, ``closed``, ``duplicate``,
    ``stale``)."""

    work_order: dict[str, Any]
    outcome: str


async def take_partner_order(
    new_uow: NewOrderUow, ledger: IntakeLedger, ctx: Context, order: PartnerOrder, *,
    source: str, webhook_id: str | None = None,
) -> Taken:
    """One work order per (``source``, external id), on the channel it came by (the signed
    webhook, else the feed). A message id that came with another order is 409
    ``webhook_id_reused``."""
    if webhook_id is not None:
        seen = await ledger.find_webhook(webhook_id)
        if seen is not None:
            return await _again(ledger, ctx, seen, order.external_id, "replayed")
    known = await ledger.find(source, order.external_id)
    if known is not None:
        return await _again(ledger, ctx, known, order.external_id, "duplicate")
    # how it reached us: a signed webhook, or the feed the poller reads
    new = order.work_order(await _store_id(ledger, order),
                           Channel.WEBHOOK if webhook_id is not None else Channel.PARTNER)
    claim = IntakeClaim(source, order.external_id, webhook_id, order.version)
    try:
        created = await create_work_order(new_uow(claim), ctx, new)
    except AlreadyTaken:  # a concurrent delivery won the race: answer what it made
        return await take_partner_order(new_uow, ledger, ctx, order, source=source,
                                        webhook_id=webhook_id)
    return Taken(created, "created")


async def _store_id(ledger: IntakeLedger, order: PartnerOrder) -> str:
    if order.store_id is not None:
        return order.store_id
    found = await ledger.store_id_for_code(order.store_code) if order.store_code else None
    if found is None:
        raise RuleViolation(f"store {order.store_code} does not exist", field="store_code",
                            code="invalid_store")
    return found


async def _again(ledger: IntakeLedger, ctx: Context, record: IntakeRecord, external_id: str,
                 outcome: str) -> Taken:
    if record.external_id != external_id:
        raise Conflict("this webhook-id was already used for another order",
                       code="webhook_id_reused")
    found = await ledger.work_order(ctx.principal, record.work_order_id)
    if found is None:
        raise Conflict(f"order {external_id} was taken but its work order is gone",
                       code="already_taken")
    return Taken(found, outcome)


async def take_partner_change(
    new_uow: NewChangeUow, orders: IntakeLedger, changes: ChangeLedger, ctx: Context,
    change: PartnerChange, *, source: str, webhook_id: str | None = None,
) -> Taken:
    """Apply a partner's change of an order it created, once per version: a version handled
    before is ``duplicate``, an older one ``stale``, a webhook message handled before
    ``replayed``; 404 for an order never taken, 409 ``webhook_id_reused`` for a message id
    that came with another message."""
    for _ in range(RACE_RETRIES):
        try:
            return await _apply(new_uow, orders, changes, ctx, change, source, webhook_id)
        except (AlreadyTaken, StaleChange, ConcurrencyConflict):
            continue  # another delivery won: look again
    raise ConcurrencyConflict(f"order {change.external_id} is being changed; try again")


async def _apply(new_uow: NewChangeUow, orders: IntakeLedger, changes: ChangeLedger,
                 ctx: Context, change: PartnerChange, source: str,
                 webhook_id: str | None) -> Taken:
    if webhook_id is not None:
        seen = await changes.find_webhook(webhook_id)
        created = await orders.find_webhook(webhook_id)
        if seen is not None and (seen.external_id, seen.version) == (change.external_id,
                                                                      change.version):
            return Taken(await _current(orders, ctx, seen.work_order_id), "replayed")
        if seen is not None or created is not None:
            raise Conflict("this webhook-id was already used for another message",
                           code="webhook_id_reused")
    known = await orders.find(source, change.external_id)
    if known is None:
        raise NotFound("partner order", change.external_id)
    done = already_handled(
        change.version, known.partner_version,
        await changes.find(source, change.external_id, change.version) is not None)
    if done is not None:
        return Taken(await _current(orders, ctx, known.work_order_id), done.value)
    uow = new_uow(ChangeClaim(source, change.external_id, change.version, change.kind.value,
                              known.work_order_id, webhook_id))
    outcome, _ = await apply_partner_change(uow, ctx, work_order_id=known.work_order_id,
                                            change=change, partner=source)
    return Taken(await _current(orders, ctx, known.work_order_id), outcome.value)


async def _current(orders: IntakeLedger, ctx: Context, work_order_id: str) -> dict[str, Any]:
    found = await orders.work_order(ctx.principal, work_order_id)
    if found is None:
        raise Conflict(f"the work order {work_order_id} is gone", code="already_taken")
    return found
