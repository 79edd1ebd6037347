"""Use case: apply a partner's change (update, priority change, cancellation) to the work order
its order became, or raise an alert when the job is already under way (``domain/partner_orders``).

The unit of work records the change in the partner's ledger (``record_partner_change``) in the
same transaction, so each version is handled once even when deliveries race; the caller checks
beforehand whether the version was handled already (duplicate) or is older (stale).
"""

from __future__ import annotations

from typing import Any

from domain.alerts import Alert, AlertKind
from domain.errors import Conflict, NotFound
from domain.partner_orders import (
    ChangeKind,
    ChangeOutcome,
    PartnerChange,
    blocked_change_alert,
    outcome_for,
)
from domain.ports import PartnerChangeUnitOfWork, WebhookDeliveries
from domain.roles import Permission
from domain.services.context import Context
from domain.services.work_orders import load_work_order
from domain.work_orders import WorkOrder


async def apply_partner_change(
    uow: PartnerChangeUnitOfWork, ctx: Context, *, work_order_id: str, change: PartnerChange,
    partner: str,
) -> tuple[ChangeOutcome, dict[str, Any]]:
    """Apply ``change`` (a version not handled before) and answer the outcome and the order."""
    p = ctx.principal
    p.require(Permission.WORK_ORDER_CANCEL if change.kind == ChangeKind.CANCEL
              else Permission.WORK_ORDER_EDIT)
    async with uow:
        order = await load_work_order(uow, ctx, work_order_id)
        before = order.snapshot()
        outcome = outcome_for(order.status, change)
        if outcome == ChangeOutcome.UPDATED:
            order.update_details(**change.changes)
        elif outcome == ChangeOutcome.CANCELLED:
            order.cancel(ctx.now, reason=change.reason or f"cancelled by {partner}")
        elif outcome == ChangeOutcome.BLOCKED:
            await _raise_blocked(uow, ctx, order, change, partner)
        after = order.snapshot()
        uow.audit(action=f"work_order.partner_{outcome.value}", entity_type="work_order",
                  entity_id=order.id, before=before,
                  after=after if outcome in {ChangeOutcome.UPDATED, ChangeOutcome.CANCELLED}
                  else {"version": change.version, "asked": change.describe()})
        uow.record_partner_change(outcome)
        await uow.commit()
        return outcome, after


async def _raise_blocked(uow: PartnerChangeUnitOfWork, ctx: Context, order: WorkOrder,
                         change: PartnerChange, partner: str) -> None:
    """The ``partner_change_blocked`` alert, in the change's transaction (unless switched off)."""
    rule = await uow.alerts.rule(AlertKind.PARTNER_CHANGE_BLOCKED)
    if not rule.enabled:
        return
    tech = (await uow.technicians.get(order.technician_id)
            if order.technician_id is not None else None)
    store = await uow.stores.get(order.store_id)
    uow.alerts.add(Alert.raise_for(blocked_change_alert(
        order, change, partner, rule, tech.name if tech else None,
        store.name if store else None), ctx.now))


async def replay_webhook(deliveries: WebhookDeliveries, ctx: Context, *, delivery_id: int,
                         correlation_id: str | None = None) -> dict[str, Any]:
    """Send a dead-lettered webhook again (the same message id and body): admins only."""
    p = ctx.principal
    p.require(Permission.WEBHOOK_REPLAY)
    found = await deliveries.get(delivery_id)
    if found is None:
        raise NotFound("webhook delivery", str(delivery_id))
    replayed = None
    if found["status"] == "dead":
        replayed = await deliveries.replay(
            delivery_id, by=p.user_id, now=ctx.now,
            audit={"actor_id": p.user_id, "actor": p.username, "correlation_id": correlation_id})
    if replayed is None:
        current = await deliveries.get(delivery_id) or found
        raise Conflict(f"webhook delivery {delivery_id} is {current['status']}: only a dead one "
                       "is replayed", code="not_dead", current=current)
    return replayed
