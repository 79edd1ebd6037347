"""Use case: a technician could not finish a job, so it comes back as a follow-up (see
``domain/follow_ups.py``). Runs inside the unit of work of the failure itself, so the failed job,
its follow-up, the ``job_failed`` alert and their events commit together or not at all."""

from __future__ import annotations

from domain.alerts import Alert, AlertKind
from domain.follow_ups import job_failed_alert, open_follow_up
from domain.ports import UnitOfWork
from domain.services.context import Context
from domain.work_orders import WorkOrder


async def follow_up_failed(uow: UnitOfWork, ctx: Context, original: WorkOrder) -> WorkOrder:
    """Queue the follow-up of ``original`` (just failed), raise the alert, audit both."""
    p = ctx.principal
    follow = open_follow_up(original, ctx.now, created_by=p.user_id, author=p.username)
    uow.work_orders.add(follow)
    tech = (await uow.technicians.get(original.technician_id)
            if original.technician_id is not None else None)
    rule = await uow.alerts.rule(AlertKind.JOB_FAILED)
    if rule.enabled:
        store = await uow.stores.get(original.store_id)
        uow.alerts.add(Alert.raise_for(job_failed_alert(
            original, follow, rule, tech.name if tech else None, store.name if store else None),
            ctx.now))
    uow.audit(action="work_order.follow_up", entity_type="work_order", entity_id=follow.id,
              before=None, after=follow.snapshot())
    return follow
