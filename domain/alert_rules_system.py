"""The platform's kinds' rules (integrations, dead webhooks, system errors, proposals waiting for
review) and the rule that turns a happening into its one alert. Pure functions of the world,
``now`` and the catalogue."""

from __future__ import annotations

import datetime as dt

from domain.alert_catalogue import Choice, RuleBook
from domain.alert_facts import Happening, World
from domain.alert_fields import ago, clock_time, order_fields
from domain.alert_rules_orders import StateRule
from domain.alerts import AlertCandidate, AlertKind

_K = AlertKind
#: The system-error subjects a state rule judges; any other subject is a happening (an outage).
SYSTEM_COMPONENTS = frozenset({"relay", "redis", "exceptions"})


def integration_failing(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.INTEGRATION_FAILING]
    return [rule.candidate(h.name, {"integration": h.name,
                                    "failures": str(h.consecutive_failures),
                                    "error": h.last_error or "none recorded", "store": "—"})
            for h in world.integrations
            if h.consecutive_failures >= rule.number("failures")]


def webhook_dead(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.WEBHOOK_DEAD]
    return [rule.candidate(d.partner, {"partner": d.partner, "count": str(d.count),
                                       "error": d.last_error or "none recorded", "store": "—"})
            for d in world.dead_webhooks or () if d.count >= rule.number("count")]


def system_error(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.SYSTEM_ERROR]
    facts = world.system
    found: dict[str, str] = {}
    lag = facts.relay_lag_seconds
    if lag is not None and lag >= rule.number("relay_lag_seconds"):
        found["relay"] = (f"The relay is behind: the oldest unpublished event is {lag:.0f} s "
                          "old, so boards see changes late.")
    if facts.redis_error:
        found["redis"] = f"Redis is unreachable ({facts.redis_error}): live updates between " \
                         "processes stop."
    if facts.exceptions is not None:
        since = now - rule.minutes("window_minutes")
        recent = [what for at, what in facts.exceptions if at >= since]
        if recent and len(recent) >= rule.number("exceptions"):
            found["exceptions"] = (f"{len(recent)} unhandled errors in "
                                   f"{rule.number('window_minutes'):g} min; the last: "
                                   f"{recent[-1]}")[:1000]
    return [rule.candidate(name, {"component": name, "detail": detail, "store": "—"})
            for name, detail in found.items()]


def proposal_waiting(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    """Proposed, neither confirmed nor rejected, for a while, and not expired yet. A proposal of
    one store goes to that store's people; one over several stores to the board's admins."""
    rule = book[_K.PROPOSAL_WAITING]
    out = []
    for p in world.proposals:
        if now - p.created_at < rule.minutes("after_minutes") or now >= p.expires_at:
            continue
        store = p.store_ids[0] if len(p.store_ids) == 1 else None
        out.append(rule.candidate(p.id, {
            "proposal_id": p.id, "moves": str(p.moves), "waited": ago(now - p.created_at),
            "scope": p.scope or "the board", "store": world.store_name(store),
            "expires": clock_time(p.expires_at, world, store)}, store_id=store))
    return out


def happening_alert(h: Happening, world: World, now: dt.datetime,
                    book: RuleBook) -> AlertCandidate | None:
    """The one alert of a happening, unless its kind is off, it is old news (older than the
    kind's ``clear_after_minutes``), or a choice of its kind leaves it out (e.g. a priority or a
    technician status the admin did not pick)."""
    rule = book[h.kind]
    if not rule.enabled or now - h.at >= rule.minutes("clear_after_minutes"):
        return None
    for setting in rule.spec.settings:
        if isinstance(setting, Choice) and h.tag not in rule.chosen(setting.name):
            return None
    order = world.order(h.work_order_id)
    about = order_fields(order, world) if order is not None else {
        "order_id": h.work_order_id or "—", "job": h.work_order_id or "—"}
    fields = {"store": world.store_name(h.store_id), **about, **h.fields}
    return rule.candidate(h.key, fields, store_id=h.store_id, technician_id=h.technician_id,
                          work_order_id=h.work_order_id)


RULES: dict[AlertKind, StateRule] = {
    _K.INTEGRATION_FAILING: integration_failing, _K.WEBHOOK_DEAD: webhook_dead,
    _K.SYSTEM_ERROR: system_error, _K.PROPOSAL_WAITING: proposal_waiting,
}
