"""Request and response models of the alert-rule and alert-figure endpoints (``alert_rules.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from domain.alert_templates import MAX_TEMPLATE
from domain.alerts import AlertKind, Severity
from domain.services import alert_rules as uc
from web.api.schemas import Out, Strict

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
