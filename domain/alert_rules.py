"""Alert rules: pure functions from the current state and ``now`` to the alerts that should be live.

Each kind's rule is a small function of its own (``alert_rules_orders``, ``alert_rules_fleet``,
``alert_rules_system``) whose numbers come from the catalogue (``RuleBook``: the defaults of
``domain/alert_kinds.py`` with an admin's overrides). ``expected_alerts`` asks every enabled
kind's rule which alerts the world calls for (one candidate per dedup key); ``reconcile`` compares
them with the live alerts and answers what to raise, what to resolve (the condition cleared, the
kind was switched off, a happening's time is up) and what to escalate. Happenings (an order
booked, a comment, a status change ...) are raised once each: ``raised`` holds the keys already
raised. Nothing here does I/O: the storage layer builds the ``World``, the use case in
``domain/services/alerts.py`` applies the plan in units of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from domain import alert_rules_fleet, alert_rules_orders, alert_rules_system
from domain.alert_catalogue import RuleBook
from domain.alert_facts import (
    DeadWebhooks,
    Happening,
    IntegrationHealth,
    OrderFacts,
    ProposalFacts,
    StoreFacts,
    SystemFacts,
    TechnicianFacts,
    World,
)
from domain.alert_kinds import rule_book
from domain.alert_rules_orders import StateRule
from domain.alert_rules_system import SYSTEM_COMPONENTS, happening_alert
from domain.alerts import (
    EVENT_KINDS,
    HAPPENING_KINDS,
    Alert,
    AlertCandidate,
    AlertKind,
    AlertPolicy,
)
from domain.work_orders import WorkOrderStatus

__all__ = [
    "STATE_RULES",
    "DeadWebhooks",
    "Happening",
    "IntegrationHealth",
    "OrderFacts",
    "Plan",
    "ProposalFacts",
    "StoreFacts",
    "SystemFacts",
    "TechnicianFacts",
    "World",
    "expected_alerts",
    "reconcile",
]

#: The rule of every kind raised by a condition over the state (the others are happenings or
#: raised by a use case).
STATE_RULES: dict[AlertKind, StateRule] = {
    **alert_rules_orders.RULES, **alert_rules_fleet.RULES, **alert_rules_system.RULES}


def expected_alerts(world: World, now: dt.datetime,
                    book: RuleBook | None = None) -> dict[str, AlertCandidate]:
    """Every alert the world's conditions call for now, by dedup key (enabled kinds only)."""
    book = book or rule_book()
    found: list[AlertCandidate] = []
    for kind, rule in STATE_RULES.items():
        if book[kind].enabled:
            found += rule(world, now, book)
    return {c.dedup_key: c for c in found}


@dataclass(frozen=True, slots=True)
class Plan:
    raise_: tuple[AlertCandidate, ...] = ()
    resolve: tuple[str, ...] = ()    # alert ids whose condition cleared
    escalate: tuple[str, ...] = ()   # alert ids due to climb a rung

    @property
    def empty(self) -> bool:
        return not (self.raise_ or self.resolve or self.escalate)


def is_happening(alert: Alert) -> bool:
    """Raised for something that happened (not a condition that holds): an outage of the
    database is a system error raised this way."""
    if alert.kind == AlertKind.SYSTEM_ERROR:
        return alert.dedup_key.split(":", 1)[1] not in SYSTEM_COMPONENTS
    return alert.kind in HAPPENING_KINDS


def _covered(alert: Alert, world: World, now: dt.datetime, book: RuleBook) -> bool:
    """Whether the world speaks about the alert's subject at all, so its absence from the
    expected alerts means the condition cleared.

    Integrations and the system's health are reported by the process that runs the rules: one
    this world does not mention is unknown here, so its alert is left alone rather than
    resolved. Happenings go when their time is up (or their order is settled); a kind raised by a
    use case when its subject is settled.
    """
    rule = book[alert.kind]
    subject = alert.dedup_key.split(":", 1)[1]
    if not rule.enabled:
        return True  # switched off: its alerts go
    if is_happening(alert):
        return (now - alert.raised_at >= rule.minutes("clear_after_minutes")
                or (alert.kind == AlertKind.NEW_ORDER and _order_settled(alert, world)))
    if alert.kind in EVENT_KINDS:
        return event_alert_settled(alert, world)
    if "hold_minutes" in rule.settings and now - alert.raised_at < rule.minutes("hold_minutes"):
        return False  # stays a while: a van hovering around the limit is one alert, not many
    if alert.kind == AlertKind.INTEGRATION_FAILING:
        return subject in {h.name for h in world.integrations}
    if alert.kind == AlertKind.WEBHOOK_DEAD:
        return world.dead_webhooks is not None
    if alert.kind == AlertKind.SYSTEM_ERROR:
        known = {"relay": world.system.relay_lag_seconds, "redis": world.system.redis_error,
                 "exceptions": world.system.exceptions}
        return known.get(subject) is not None
    return True


def _order_settled(alert: Alert, world: World) -> bool:
    order = world.order(alert.work_order_id)
    return order is None or order.status != WorkOrderStatus.NEW or order.technician_id is not None


def event_alert_settled(alert: Alert, world: World) -> bool:
    """Whether an alert a use case raised (no rule expects it) has done its work: a failed job's
    follow-up is assigned or closed; a blocked partner change's job is closed."""
    order = world.order(alert.work_order_id)
    if order is None:
        return True
    if alert.kind == AlertKind.JOB_FAILED:
        return _order_settled(alert, world)
    return False


def reconcile(live: Iterable[Alert], world: World, now: dt.datetime,
              policy: AlertPolicy | None = None, *, snoozed: frozenset[str] = frozenset(),
              book: RuleBook | None = None, raised: frozenset[str] = frozenset()) -> Plan:
    """What to do so the live alerts match the world: raise the missing ones (unless a person
    closed that key by hand recently: ``snoozed``), raise each happening not raised before
    (``raised``: the dedup keys of the happenings' alerts so far), resolve those whose condition
    cleared, and escalate the unacknowledged critical ones that are due."""
    policy = policy or AlertPolicy()
    book = book or rule_book()
    expected = expected_alerts(world, now, book)
    for happening in world.happenings:
        candidate = happening_alert(happening, world, now, book)
        if candidate is not None and candidate.dedup_key not in raised:
            expected.setdefault(candidate.dedup_key, candidate)
    live_by_key = {a.dedup_key: a for a in live if a.is_live}
    to_raise = tuple(c for key, c in sorted(expected.items())
                     if key not in live_by_key and key not in snoozed)
    to_resolve = tuple(a.id for key, a in sorted(live_by_key.items())
                       if (key not in expected or is_happening(a))
                       and _covered(a, world, now, book))
    gone = set(to_resolve)
    to_escalate = tuple(a.id for a in live_by_key.values()
                        if a.id not in gone and a.escalation_due(now))
    return Plan(raise_=to_raise, resolve=to_resolve, escalate=to_escalate)
