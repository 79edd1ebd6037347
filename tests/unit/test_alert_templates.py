"""Alert templates (plain placeholders only, nothing reaches past the given values), an admin's
change of a kind (every refusal names what is wrong; a null goes back to the default), the
preview, and the weekly figure per kind."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from domain.alert_catalogue import (
    AlertRule,
    RuleChange,
    RuleOverride,
    change_rule,
    effective,
    preview,
)
from domain.alert_figures import RaisedAlert, week_start, weekly_figures, weeks_back
from domain.alert_kinds import CATALOGUE
from domain.alert_templates import check_template, placeholders, render
from domain.alerts import AlertKind, Severity
from domain.errors import ValidationFailed

T0 = dt.datetime(2026, 7, 15, 15, 0, tzinfo=dt.UTC)  # a Wednesday
URGENT = CATALOGUE[AlertKind.URGENT_ORDER]
FIELDS = tuple(URGENT.fields)


def refusal(template: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        check_template(template, FIELDS)
    assert caught.value.details["field"] == "template"
    return caught.value


def test_a_template_names_its_kinds_fields_and_renders_them() -> None:
    template = "{{Urgent}} {store}: {order_id} waits {waited}."
    check_template(template, FIELDS)
    assert placeholders(template) == ["store", "order_id", "waited"]
    assert render(template, {"store": "Dallas", "order_id": "wo-1", "waited": "12 min"}) == \
        "{Urgent} Dallas: wo-1 waits 12 min."
    assert render("{store}/{order_id}", {"store": "Dallas"}) == "Dallas/"


def test_an_unknown_placeholder_is_refused_by_name() -> None:
    error = refusal("Job {order_id} at {shop}")
    assert error.details["placeholder"] == "shop" and "{shop}" in error.message
    assert "store" in list(error.details["placeholders"])  # type: ignore[call-overload]


@pytest.mark.parametrize("template", [
    "{order_id.__class__}", "{order_id[0]}", "{order_id!r}", "{order_id:>30}", "{}",
    "{0}", "{ store }", "open { brace", "close } brace", "   ", "x" * 1001,
])
def test_anything_but_a_plain_name_is_refused(template: str) -> None:
    refusal(template)


def rule_after(given: dict[str, Any], current: RuleOverride | None = None) -> RuleOverride:
    return change_rule(URGENT, current, RuleChange(given), now=T0, by="user-admin")


@pytest.mark.parametrize(("given", "field"), [
    ({"settings": {"after_minutes": 0}}, "settings.after_minutes"),
    ({"settings": {"after_minutes": 241}}, "settings.after_minutes"),
    ({"settings": {"after_minutes": 7.5}}, "settings.after_minutes"),
    ({"settings": {"after_minutes": True}}, "settings.after_minutes"),
    ({"settings": {"after_minutes": float("inf")}}, "settings.after_minutes"),
    ({"settings": {"after_minutes": float("nan")}}, "settings.after_minutes"),
    ({"settings": {"after_minutes": "10"}}, "settings.after_minutes"),
    ({"settings": {"hours": 3}}, "settings.hours"),
    ({"settings": [1, 2]}, "settings"),
    ({"severity": "loud"}, "severity"),
    ({"enabled": "yes"}, "enabled"),
    ({"template": "{nope}"}, "template"),
    ({"colour": "red"}, "colour"),
    ({}, "body"),
])
def test_a_bad_change_is_refused_naming_the_field(given: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        rule_after(given)
    assert caught.value.details["field"] == field


def test_a_choice_takes_only_its_options() -> None:
    spec = CATALOGUE[AlertKind.TECHNICIAN_STATUS]
    with pytest.raises(ValidationFailed) as caught:
        change_rule(spec, None, RuleChange({"settings": {"statuses": ["asleep"]}}), now=T0,
                    by="u")
    assert caught.value.details["field"] == "settings.statuses"
    changed = change_rule(spec, None, RuleChange({"settings": {"statuses": [
        "on_break", "off_duty"]}}), now=T0, by="u")
    assert effective(spec, changed).chosen("statuses") == {"off_duty", "on_break"}


def test_a_change_keeps_only_what_differs_and_null_goes_back_to_the_default() -> None:
    first = rule_after({"settings": {"after_minutes": 5}, "severity": "critical",
                        "template": "{order_id} waits", "enabled": False})
    assert first.version == 1 and first.updated_by == "user-admin"
    rule = effective(URGENT, first)
    assert rule.number("after_minutes") == 5 and rule.severity == Severity.CRITICAL
    assert rule.template == "{order_id} waits" and not rule.enabled
    second = rule_after({"settings": {"after_minutes": None}, "template": None,
                         "severity": "warning", "enabled": True}, first)
    assert second.version == 2
    assert (second.settings, second.template, second.severity, second.enabled) == \
        ({}, None, None, None)
    assert effective(URGENT, second) == AlertRule(
        spec=URGENT, enabled=True, severity=URGENT.severity, settings=URGENT.defaults(),
        template=URGENT.template, version=2, updated_at=T0, updated_by="user-admin")


def test_the_preview_renders_the_example_alert_and_refuses_what_a_save_would() -> None:
    rule = effective(URGENT)
    shown = preview(rule, template="{store}: {order_id} ({waited})")
    assert shown == {"title": "Urgent job unassigned",
                     "message": "Dallas Downtown: wo-1234 (12 min)"}
    assert preview(rule)["message"].endswith("unassigned for 12 min.")
    with pytest.raises(ValidationFailed):
        preview(rule, template="{order_id.__dict__}")


def test_every_default_template_uses_only_its_kinds_fields() -> None:
    for spec in CATALOGUE.values():
        check_template(spec.template, tuple(spec.fields))
        check_template(spec.title, tuple(spec.fields))
        for setting in spec.settings:
            assert spec.setting(setting.name) is setting


def alert(kind: str, raised: dt.datetime, acked_after: float | None = None, level: int = 0,
          severity: str = "warning", store: str | None = "store-1") -> RaisedAlert:
    acked = raised + dt.timedelta(minutes=acked_after) if acked_after is not None else None
    return RaisedAlert(kind, severity, store, raised, acked, level)


def test_the_weekly_figure_counts_raised_acknowledged_the_median_wait_and_escalated() -> None:
    this_week = week_start(T0)
    assert this_week == dt.datetime(2026, 7, 13, tzinfo=dt.UTC)
    last_week = this_week - dt.timedelta(weeks=1)
    starts = weeks_back(T0, 2)
    assert starts == [last_week, this_week]
    alerts = [
        alert("emergency_order", T0, 2, level=1, severity="critical"),
        alert("emergency_order", T0, 10, level=2, severity="critical"),   # climbed a rung
        alert("emergency_order", T0, None, level=3, severity="critical"),
        alert("integration_failing", T0, None, level=3, severity="critical", store=None),
        alert("urgent_order", last_week + dt.timedelta(days=2), 4),
        alert("urgent_order", last_week - dt.timedelta(days=1), 1),        # before the range
    ]
    rows = weekly_figures(alerts, starts)
    assert rows == [
        {"week": "2026-07-06", "kind": "urgent_order", "raised": 1, "acknowledged": 1,
         "median_minutes_to_acknowledge": 4.0, "escalated": 0},
        {"week": "2026-07-13", "kind": "emergency_order", "raised": 3, "acknowledged": 2,
         "median_minutes_to_acknowledge": 6.0, "escalated": 2},
        {"week": "2026-07-13", "kind": "integration_failing", "raised": 1, "acknowledged": 0,
         "median_minutes_to_acknowledge": None, "escalated": 0},
    ]
