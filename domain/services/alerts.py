"""Use cases for alerts: acknowledge and resolve by hand, and the rules' evaluation pass.

The evaluation pass reads the world (``AlertFacts``), asks ``domain.alert_rules.reconcile`` what
to do and applies each change in a unit of work of its own, so one conflict (a concurrent
acknowledgement, another process raising the same key) costs only that change; the next pass
tries again. The outbox publishes every change, so the board sees it live.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.alert_rules import reconcile
from domain.alerts import Alert, AlertCandidate, AlertPolicy
from domain.errors import Conflict, InvalidTransition, NotFound
from domain.ports import AlertFacts, AlertUnitOfWork
from domain.roles import Permission, Principal
from domain.services.context import Context, check_version

log = logging.getLogger("dispatch.alerts")


#: How far back the keys of happenings already raised are read: a happening is old news after
#: its kind's ``clear_after_minutes`` (at most a day), so none older can be raised again.
RAISED_LOOKBACK = dt.timedelta(hours=25)


def may_see_alert(principal: Principal, store_id: str | None) -> bool:
    """Alert view permission, the store scope, and system alerts (no store) for admins only."""
    if not principal.can(Permission.ALERT_VIEW):
        return False
    if store_id is None:
        return principal.can(Permission.ALERT_SYSTEM)
    return principal.sees_store(store_id)


async def _load(uow: AlertUnitOfWork, ctx: Context, alert_id: str) -> Alert:
    alert = await uow.alerts.get(alert_id)
    if alert is None or not may_see_alert(ctx.principal, alert.store_id):
        raise NotFound("alert", alert_id)
    return alert


async def acknowledge_alert(uow: AlertUnitOfWork, ctx: Context, *, alert_id: str,
                            expected_version: int | None = None) -> dict[str, Any]:
    """Take it: escalation stops. Twice is a conflict (409 with the current alert)."""
    ctx.principal.require(Permission.ALERT_ACK)
    async with uow:
        alert = await _load(uow, ctx, alert_id)
        before = alert.snapshot()
        check_version("alert", alert_id, alert.version, expected_version, before)
        alert.acknowledge(ctx.principal.user_id, ctx.now)
        after = alert.snapshot()
        uow.audit(action="alert.acknowledge", entity_type="alert", entity_id=alert.id,
                  before=before, after=after)
        await uow.commit()
        return after


async def acknowledge_alerts(uow: AlertUnitOfWork, ctx: Context, *,
                             items: list[tuple[str, int | None]]) -> dict[str, Any]:
    """Take many at once (a flood after an outage): one transaction; each alert that is not
    open any more, changed since the version given, or out of scope is skipped with its reason."""
    ctx.principal.require(Permission.ALERT_ACK)
    done: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    async with uow:
        for alert_id, expected in dict(items).items():  # a repeated id counts once
            try:
                alert = await _load(uow, ctx, alert_id)
                before = alert.snapshot()
                check_version("alert", alert_id, alert.version, expected, before)
                alert.acknowledge(ctx.principal.user_id, ctx.now)
            except (NotFound, Conflict, InvalidTransition) as error:
                skipped.append({"id": alert_id, "code": error.code})
                continue
            after = alert.snapshot()
            uow.audit(action="alert.acknowledge", entity_type="alert", entity_id=alert.id,
                      before=before, after=after)
            done.append(after)
        await uow.commit()
    return {"acknowledged": done, "skipped": skipped}


async def resolve_alert(uow: AlertUnitOfWork, ctx: Context, *, alert_id: str,
                        expected_version: int | None = None, note: str = "") -> dict[str, Any]:
    """Close by hand. The rule does not raise the same key again for a while (the snooze)."""
    ctx.principal.require(Permission.ALERT_ACK)
    async with uow:
        alert = await _load(uow, ctx, alert_id)
        before = alert.snapshot()
        check_version("alert", alert_id, alert.version, expected_version, before)
        alert.resolve(ctx.now, by=ctx.principal.user_id, reason=note.strip() or "closed by hand")
        after = alert.snapshot()
        uow.audit(action="alert.resolve", entity_type="alert", entity_id=alert.id,
                  before=before, after=after)
        await uow.commit()
        return after


@dataclass
class PassResult:
    raised: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    escalated: list[dict[str, Any]] = field(default_factory=list)
    conflicts: int = 0

    @property
    def changed(self) -> int:
        return len(self.raised) + len(self.resolved) + len(self.escalated)


async def evaluate_alerts(new_uow: Callable[[], AlertUnitOfWork], facts: AlertFacts,
                          now: dt.datetime, policy: AlertPolicy | None = None) -> PassResult:
    """One pass of every rule of the catalogue: raise, resolve (condition cleared) and escalate.

    It runs on one process (the alerts leader), but several at once stay correct: a duplicate
    raise hits the live dedup key's unique index, a stale resolve or escalation the version
    check; either is skipped and counted. A happening already raised is never raised again
    (``raised_keys``), even after its alert was resolved.
    """
    policy = policy or AlertPolicy()
    book = await facts.rule_book()
    world = await facts.world(now)
    snoozed = await facts.snoozed_keys(now - policy.manual_resolve_snooze)
    raised = await facts.raised_keys(now - RAISED_LOOKBACK)
    async with new_uow() as uow:
        live = await uow.alerts.live()
    plan = reconcile(live, world, now, policy, snoozed=snoozed, book=book, raised=raised)
    result = PassResult()
    for candidate in plan.raise_:
        await _apply(new_uow, result, result.raised, _raise(candidate, now, policy))
    for alert_id in plan.resolve:
        await _apply(new_uow, result, result.resolved, _resolve(alert_id, now))
    for alert_id in plan.escalate:
        await _apply(new_uow, result, result.escalated, _escalate(alert_id, now, policy))
    await facts.passed()
    return result


Change = Callable[[AlertUnitOfWork], Any]


def _raise(candidate: AlertCandidate, now: dt.datetime, policy: AlertPolicy) -> Change:
    async def change(uow: AlertUnitOfWork) -> dict[str, Any] | None:
        alert = Alert.raise_for(candidate, now, policy)
        uow.alerts.add(alert)
        return alert.snapshot()
    return change


def _resolve(alert_id: str, now: dt.datetime) -> Change:
    async def change(uow: AlertUnitOfWork) -> dict[str, Any] | None:
        alert = await uow.alerts.get(alert_id)
        if alert is None or not alert.is_live:
            return None
        alert.resolve(now, reason="the condition cleared")
        return alert.snapshot()
    return change


def _escalate(alert_id: str, now: dt.datetime, policy: AlertPolicy) -> Change:
    async def change(uow: AlertUnitOfWork) -> dict[str, Any] | None:
        alert = await uow.alerts.get(alert_id)
        if alert is None or not alert.escalate(now, policy):
            return None
        return alert.snapshot()
    return change


async def _apply(new_uow: Callable[[], AlertUnitOfWork], result: PassResult,
                 into: list[dict[str, Any]], change: Change) -> None:
    try:
        async with new_uow() as uow:
            snapshot = await change(uow)
            if snapshot is None:
                return
            await uow.commit()
    except Conflict as error:
        result.conflicts += 1
        log.debug("alert change skipped: %s", error)
        return
    into.append(snapshot)
