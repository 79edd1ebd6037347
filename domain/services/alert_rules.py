"""Use cases of the alert catalogue: read it, change a kind (admins; audited), preview a
template against an example alert, and the weekly figure per kind.

An edit is stored as the kind's override (``RuleOverride``: only what differs from the
catalogue's defaults) together with its audit row, in one transaction; the next pass of the rules
reads it. The override's ``version`` guards concurrent edits (``If-Match``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.alert_catalogue import RuleChange, change_rule, effective, preview
from domain.alert_figures import weekly_figures, weeks_back
from domain.alert_kinds import CATALOGUE, rule_book
from domain.alerts import AlertKind
from domain.errors import ConcurrencyConflict, NotFound, PermissionDenied
from domain.ports import AlertRuleStore
from domain.roles import Permission, Principal
from domain.services.context import Context, check_version

#: The most weeks the figure reaches back.
MAX_WEEKS = 26


def _may_read(principal: Principal) -> None:
    if not (principal.can(Permission.ALERT_VIEW) or principal.can(Permission.ALERT_RULE_MANAGE)):
        raise PermissionDenied(f"{principal.username} may not read the alert catalogue",
                               permission=Permission.ALERT_VIEW.value)


def kind_of(value: str) -> AlertKind:
    try:
        return AlertKind(value)
    except ValueError:
        raise NotFound("alert rule", value[:64]) from None


async def list_alert_rules(store: AlertRuleStore, ctx: Context) -> list[dict[str, Any]]:
    """Every kind of the catalogue, in its order, as the admins left it."""
    _may_read(ctx.principal)
    book = rule_book(await store.overrides())
    return [rule.as_dict() for rule in book]


async def change_alert_rule(store: AlertRuleStore, ctx: Context, *, kind: str,
                            given: Mapping[str, Any], expected_version: int | None = None,
                            correlation_id: str | None = None) -> dict[str, Any]:
    """Change one kind's enabled flag, severity, numbers or template (a given null puts that
    part back to its default). Refused values change nothing; the change is audited with the
    rule before and after."""
    p = ctx.principal
    p.require(Permission.ALERT_RULE_MANAGE)
    found = kind_of(kind)
    spec = CATALOGUE[found]
    current = await store.get(found)
    before = effective(spec, current).as_dict()
    version = current.version if current is not None else 0
    check_version("alert rule", found.value, version, expected_version, before)
    changed = change_rule(spec, current, RuleChange(dict(given)), now=ctx.now, by=p.user_id)
    after = effective(spec, changed).as_dict()
    audit = {"actor_id": p.user_id, "actor": p.username, "correlation_id": correlation_id,
             "at": ctx.now, "action": "alert_rule.change", "entity_type": "alert_rule",
             "entity_id": found.value, "before": _audited(before), "after": _audited(after)}
    if not await store.save(changed, expected_version=version, audit=audit):
        raise ConcurrencyConflict(f"alert rule {found.value} was changed meanwhile; "
                                  "reload it and try again", current=before)
    return after


def _audited(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: rule[k] for k in ("enabled", "severity", "settings", "template", "version")}


async def preview_alert_rule(store: AlertRuleStore, ctx: Context, *, kind: str,
                             template: str | None = None) -> dict[str, Any]:
    """The title and message an example alert of this kind would carry, with ``template`` (not
    saved) or the rule's current one."""
    ctx.principal.require(Permission.ALERT_RULE_MANAGE)
    found = kind_of(kind)
    rule = effective(CATALOGUE[found], await store.get(found))
    return {"kind": found.value, **preview(rule, template=template),
            "fields": dict(rule.spec.fields)}


async def weekly_alert_figures(store: AlertRuleStore, ctx: Context, *,
                               weeks: int = 8) -> dict[str, Any]:
    """Per ISO week (UTC) and kind: raised, acknowledged, median minutes to acknowledge,
    escalated; the last ``weeks`` weeks, this one included."""
    ctx.principal.require(Permission.ALERT_RULE_MANAGE)
    weeks = max(1, min(weeks, MAX_WEEKS))
    starts = weeks_back(ctx.now, weeks)
    items = weekly_figures(await store.raised_since(starts[0]), starts)
    return {"items": items, "weeks": [s.date().isoformat() for s in starts],
            "from": starts[0].isoformat(), "to": ctx.now.isoformat()}
