"""The alert catalogue: every kind with its severity, its trigger's numbers and its message
template, the defaults in code (``domain/alert_kinds.py``) and an admin's overrides on top.

An override (``RuleOverride``, one stored row per kind an admin changed) holds only what differs:
a null severity, enabled flag or template, and every number absent from its ``settings``, keep
the default, so a better default reaches every kind nobody edited. ``RuleBook`` is the effective
catalogue a pass of the rules reads: one ``AlertRule`` per kind. ``change_rule`` applies an
admin's change (JSON merge-patch semantics: a field given as null goes back to its default)
after checking every number against its range and the template against the kind's fields.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.alert_templates import check_template, render
from domain.alerts import AlertCandidate, AlertKind, Severity
from domain.errors import ValidationFailed

#: A number's value, or the chosen options of a choice.
SettingValue = float | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Number:
    """A trigger number: minutes, a count, a speed ... within ``low..high``."""

    name: str
    default: float
    low: float
    high: float
    unit: str
    label: str
    integer: bool = True

    def check(self, value: Any) -> float:
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value)):
            raise ValidationFailed(f"{self.name} must be a number", field=f"settings.{self.name}")
        if self.integer and value != int(value):
            raise ValidationFailed(f"{self.name} must be a whole number",
                                   field=f"settings.{self.name}")
        if not self.low <= value <= self.high:
            raise ValidationFailed(f"{self.name} must be within {self.low:g}..{self.high:g} "
                                   f"{self.unit}".rstrip(), field=f"settings.{self.name}")
        return int(value) if self.integer else float(value)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": "number", "default": self.default, "min": self.low,
                "max": self.high, "unit": self.unit, "label": self.label,
                "integer": self.integer}


@dataclass(frozen=True, slots=True)
class Choice:
    """Which of a fixed set of options trigger the kind (e.g. the technician statuses)."""

    name: str
    default: tuple[str, ...]
    options: tuple[str, ...]
    label: str

    def check(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValidationFailed(f"{self.name} must be a list of options",
                                   field=f"settings.{self.name}")
        unknown = sorted(set(value) - set(self.options))
        if unknown:
            raise ValidationFailed(f"{self.name} does not offer {unknown[0]!r}; choose from "
                                   + ", ".join(self.options), field=f"settings.{self.name}")
        return tuple(o for o in self.options if o in value)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": "choice", "default": list(self.default),
                "options": list(self.options), "label": self.label}


Setting = Number | Choice


@dataclass(frozen=True, slots=True)
class KindSpec:
    """One kind's defaults: what raises it (``trigger``, in words), who it is about, its title
    (fixed, with placeholders) and message template, its numbers and the fields its templates
    may name (with the example values a preview renders)."""

    kind: AlertKind
    severity: Severity
    trigger: str
    title: str
    template: str
    fields: Mapping[str, str]
    settings: tuple[Setting, ...] = ()

    def setting(self, name: str) -> Setting:
        for s in self.settings:
            if s.name == name:
                return s
        raise ValidationFailed(
            f"{self.kind.value} has no setting {name!r}"
            + (f"; it has {', '.join(s.name for s in self.settings)}" if self.settings
               else "; it has none"), field=f"settings.{name}")

    def defaults(self) -> dict[str, SettingValue]:
        return {s.name: s.default for s in self.settings}


@dataclass(frozen=True, slots=True)
class RuleOverride:
    """What an admin changed of one kind (None / absent: the default)."""

    kind: AlertKind
    enabled: bool | None = None
    severity: Severity | None = None
    settings: Mapping[str, SettingValue] = field(default_factory=dict)
    template: str | None = None
    version: int = 0
    updated_at: dt.datetime | None = None
    updated_by: str | None = None

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "enabled": self.enabled,
                "severity": self.severity.value if self.severity else None,
                "settings": {k: list(v) if isinstance(v, tuple) else v
                             for k, v in sorted(self.settings.items())},
                "template": self.template, "version": self.version}


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One kind as the rules apply it now: the defaults with the admin's override on top."""

    spec: KindSpec
    enabled: bool
    severity: Severity
    settings: Mapping[str, SettingValue]
    template: str
    version: int = 0
    updated_at: dt.datetime | None = None
    updated_by: str | None = None

    @property
    def kind(self) -> AlertKind:
        return self.spec.kind

    def number(self, name: str) -> float:
        value = self.settings[name]
        assert not isinstance(value, tuple), f"{name} is a choice"
        return value

    def minutes(self, name: str) -> dt.timedelta:
        return dt.timedelta(minutes=self.number(name))

    def chosen(self, name: str) -> frozenset[str]:
        value = self.settings[name]
        assert isinstance(value, tuple), f"{name} is a number"
        return frozenset(value)

    def candidate(self, subject: str, fields: Mapping[str, str], *, store_id: str | None = None,
                  technician_id: str | None = None,
                  work_order_id: str | None = None) -> AlertCandidate:
        """The alert this rule raises about ``subject``: its title and message rendered."""
        return AlertCandidate(
            kind=self.kind, severity=self.severity, subject=subject,
            title=render(self.spec.title, fields, 200) or self.kind.value,
            message=render(self.template, fields), store_id=store_id,
            technician_id=technician_id, work_order_id=work_order_id)

    def as_dict(self) -> dict[str, Any]:
        """The catalogue's entry as the API answers it."""
        spec = self.spec
        return {
            "kind": self.kind.value, "category": self.kind.category,
            "severity": self.severity.value, "enabled": self.enabled,
            "trigger": spec.trigger,
            "settings": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in self.settings.items()},
            "setting_specs": [s.describe() for s in spec.settings],
            "template": self.template, "title": spec.title,
            "default_template": spec.template, "default_severity": spec.severity.value,
            "placeholders": sorted(spec.fields), "customized": self.version > 0,
            "version": self.version,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by": self.updated_by,
        }


def effective(spec: KindSpec, override: RuleOverride | None = None) -> AlertRule:
    if override is None:
        return AlertRule(spec=spec, enabled=True, severity=spec.severity,
                         settings=spec.defaults(), template=spec.template)
    settings = spec.defaults()
    for name, value in override.settings.items():
        if name in settings:  # a setting a newer catalogue dropped is ignored
            settings[name] = value
    return AlertRule(
        spec=spec, enabled=True if override.enabled is None else override.enabled,
        severity=override.severity or spec.severity, settings=settings,
        template=override.template or spec.template, version=override.version,
        updated_at=override.updated_at, updated_by=override.updated_by)


class RuleBook:
    """The effective catalogue: every kind's rule (defaults where nobody changed anything)."""

    def __init__(self, specs: Mapping[AlertKind, KindSpec],
                 overrides: Iterable[RuleOverride] = ()) -> None:
        found = {o.kind: o for o in overrides}
        self.rules = {kind: effective(spec, found.get(kind)) for kind, spec in specs.items()}

    def __getitem__(self, kind: AlertKind) -> AlertRule:
        return self.rules[kind]

    def __iter__(self) -> Iterator[AlertRule]:
        return iter(self.rules.values())


@dataclass(frozen=True, slots=True)
class RuleChange:
    """An admin's change of one kind. Only the keys present in ``given`` change; a given None
    puts that part (or that number) back to its default."""

    given: Mapping[str, Any]

    FIELDS = frozenset({"enabled", "severity", "settings", "template"})


def change_rule(spec: KindSpec, current: RuleOverride | None, change: RuleChange, *,
                now: dt.datetime, by: str) -> RuleOverride:
    """The override after ``change``, every value checked (``ValidationFailed`` names the field,
    the number or the placeholder at fault; nothing changes then)."""
    current = current or RuleOverride(kind=spec.kind)
    given = change.given
    unknown = sorted(set(given) - RuleChange.FIELDS)
    if unknown:
        raise ValidationFailed(f"an alert rule has no field {unknown[0]!r}", field=unknown[0])
    if not given:
        raise ValidationFailed("nothing to change: give enabled, severity, settings or template",
                               field="body")
    enabled, severity = current.enabled, current.severity
    settings, template = dict(current.settings), current.template
    if "enabled" in given:
        if given["enabled"] is not None and not isinstance(given["enabled"], bool):
            raise ValidationFailed("enabled must be true or false", field="enabled")
        enabled = given["enabled"]
    if "severity" in given:
        severity = None if given["severity"] is None else _severity(given["severity"])
    if "settings" in given:
        settings = _settings(spec, settings, given["settings"])
    if "template" in given:
        template = given["template"]
        if template is not None:
            if not isinstance(template, str):
                raise ValidationFailed("template must be text", field="template")
            check_template(template, tuple(spec.fields))
            template = None if template == spec.template else template
    return RuleOverride(kind=spec.kind, enabled=None if enabled is True else enabled,
                        severity=None if severity == spec.severity else severity,
                        settings=settings, template=template, version=current.version + 1,
                        updated_at=now, updated_by=by)


def _severity(value: Any) -> Severity:
    try:
        return Severity(value)
    except ValueError as error:
        raise ValidationFailed(f"severity must be one of {', '.join(s.value for s in Severity)}",
                               field="severity") from error


def _settings(spec: KindSpec, current: dict[str, SettingValue],
              given: Any) -> dict[str, SettingValue]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ValidationFailed("settings must be an object of numbers", field="settings")
    out = dict(current)
    for name, value in given.items():
        setting = spec.setting(str(name))
        if value is None:
            out.pop(setting.name, None)
            continue
        checked = setting.check(value)
        if checked == setting.default:
            out.pop(setting.name, None)
        else:
            out[setting.name] = checked
    return out


def preview(rule: AlertRule, *, template: str | None = None) -> dict[str, str]:
    """The title and message of an example alert of this kind (with ``template`` when given:
    checked first, so an unknown placeholder is refused exactly as a save would refuse it)."""
    text = rule.template if template is None else template
    check_template(text, tuple(rule.spec.fields))
    fields = rule.spec.fields
    return {"title": render(rule.spec.title, fields, 200), "message": render(text, fields)}
