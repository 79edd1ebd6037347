"""The alert catalogue: every kind with its severity, whether it is on, its trigger's numbers and
its message template (``GET /api/alert-rules``); an admin changes a kind with
``PATCH /api/alert-rules/{kind}`` (merge-patch: a field given as null goes back to the default),
previews a template against an example alert, and reads the weekly figure per kind
(``GET /api/alert-figures``). See docs/alerts.md, "The catalogue"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from domain.alert_templates import MAX_TEMPLATE
from domain.alerts import AlertKind, Severity
from domain.roles import Permission
from domain.services import alert_rules as uc
from storage.alert_rule_store import SqlAlertRules
from web.api.framework import AnyCall, Api, Call, Empty, NoInput
from web.api.schemas import Out, Strict

api = Api()
TAG = "alert rules"
MANAGE = (Permission.ALERT_RULE_MANAGE,)
#: A number, a list of options (a choice), or null (back to the default).
SettingIn = StrictInt | StrictFloat | list[StrictStr] | None


class AlertRuleOut(Out):
    kind: AlertKind
    category: str
    severity: Severity
    enabled: bool
    trigger: str = Field(description="what raises it, in words")
    settings: dict[str, Any] = Field(description="the trigger's numbers (and choices) now")
    setting_specs: list[dict[str, Any]] = Field(
        description="each number's default, range and unit (each choice's options)")
    template: str = Field(description="the message template now")
    title: str
    default_template: str
    default_severity: Severity
    placeholders: list[str] = Field(description="the fields the templates may name")
    customized: bool
    version: int = Field(description="0 while nobody changed the kind")
    updated_at: dt.datetime | None
    updated_by: str | None


class AlertRulesOut(Out):
    items: list[AlertRuleOut]


class AlertRuleIn(Strict):
    """Only the fields given change; null puts one back to the catalogue's default (a number
    given as null within ``settings`` too)."""

    enabled: StrictBool | None = None
    severity: Severity | None = None
    settings: dict[str, SettingIn] | None = Field(default=None, max_length=20)
    template: str | None = Field(default=None, max_length=MAX_TEMPLATE)
    version: StrictInt | None = Field(default=None, ge=0, lt=2**31,
                                      description="the version the change was made on")


class PreviewIn(Strict):
    template: str | None = Field(default=None, max_length=MAX_TEMPLATE,
                                 description="a template to try (not saved); none: the current")


class PreviewOut(Out):
    kind: AlertKind
    title: str
    message: str
    fields: dict[str, str] = Field(description="the example alert's field values")


class FiguresQuery(Strict):
    weeks: int = Field(default=8, ge=1, le=uc.MAX_WEEKS)


class FigureOut(Out):
    week: str = Field(description="the ISO week's Monday (UTC)")
    kind: AlertKind
    raised: int
    acknowledged: int
    median_minutes_to_acknowledge: float | None
    escalated: int


class FiguresOut(Out):
    items: list[FigureOut]
    weeks: list[str]


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
