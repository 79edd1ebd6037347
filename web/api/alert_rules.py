"""The alert catalogue: every kind with its severity, whether it is on, its trigger's numbers and
its message template (``GET /api/alert-rules``); an admin changes a kind with
``PATCH /api/alert-rules/{kind}`` (merge-patch: a field given as null goes back to the default),
previews a template against an example alert, and reads the weekly figure per kind
(``GET /api/alert-figures``). See docs/alerts.md, "The catalogue"."""

from __future__ import annotations

from typing import Any

from domain.roles import Permission
from domain.services import alert_rules as uc
from storage.alert_rule_store import SqlAlertRules
from web.api.alert_rule_schemas import (
    AlertRuleIn,
    AlertRuleOut,
    AlertRulesOut,
    FiguresOut,
    FiguresQuery,
    PreviewIn,
    PreviewOut,
)
from web.api.framework import AnyCall, Api, Call, Empty, NoInput

api = Api()
TAG = "alert rules"
MANAGE = (Permission.ALERT_RULE_MANAGE,)


def _store(call: AnyCall) -> SqlAlertRules:
    return SqlAlertRules(call.runtime.engine)


def _kind(call: AnyCall) -> str:
    return call.path["kind"]


@api.route("GET", "/api/alert-rules", summary="The alert catalogue", tag=TAG,
           response=AlertRulesOut, errors=(403,),
           permissions=(Permission.ALERT_VIEW, Permission.ALERT_RULE_MANAGE))
async def list_rules(call: NoInput) -> dict[str, Any]:
    """Every kind, in the catalogue's order: severity, enabled, its numbers, its template."""
    return {"items": await uc.list_alert_rules(_store(call), call.context())}


@api.route("PATCH", "/api/alert-rules/{kind}", summary="Change an alert kind", tag=TAG,
           body=AlertRuleIn, response=AlertRuleOut, errors=(400, 403, 404, 409, 422),
           permissions=MANAGE)
async def change_rule(call: Call[AlertRuleIn, Empty]) -> dict[str, Any]:
    """Admins. A number out of its range, an unknown setting or an unknown placeholder in the
    template answers 422 naming it, and nothing changes. ``If-Match: "<version>"`` (or
    ``version``) refuses a change made on an older version (409). Audited (``alert_rule.change``);
    the next pass of the rules applies it."""
    body = call.body
    given = {name: getattr(body, name) for name in body.model_fields_set if name != "version"}
    expected = body.version if body.version is not None else call.if_match()
    return await uc.change_alert_rule(_store(call), call.context(), kind=_kind(call),
                                      given=given, expected_version=expected,
                                      correlation_id=call.correlation_id)


@api.route("POST", "/api/alert-rules/{kind}/preview", summary="Preview an alert's text", tag=TAG,
           body=PreviewIn, response=PreviewOut, errors=(400, 403, 404, 422), permissions=MANAGE)
async def preview(call: Call[PreviewIn, Empty]) -> dict[str, Any]:
    """The title and message an example alert of this kind carries with ``template`` (or the
    current one); checked exactly as a save would be (an unknown placeholder is 422)."""
    return await uc.preview_alert_rule(_store(call), call.context(), kind=_kind(call),
                                       template=call.body.template)


@api.route("GET", "/api/alert-figures", summary="Alerts per week and kind", tag=TAG,
           query=FiguresQuery, response=FiguresOut, errors=(403, 422), permissions=MANAGE)
async def figures(call: Call[Empty, FiguresQuery]) -> dict[str, Any]:
    """Per ISO week (Monday 00:00 UTC) and kind: raised, acknowledged, the median minutes from
    raised to acknowledged, and escalated (climbed past its first rung); the last ``weeks``."""
    return await uc.weekly_alert_figures(_store(call), call.context(), weeks=call.query.weeks)
