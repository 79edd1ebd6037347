"""E-mail and webhook deliveries of escalations: who receives them per level, and what they say.

``ALERT_EMAILS`` names addresses per level like ``ALERT_ONCALL_PHONES`` names numbers
(``ops@example.com, 2=duty@example.com``); the people on call with an e-mail address of their own
(``alert_contacts.email``) get one too. ``ALERT_WEBHOOKS`` lists chat and incident tools as JSON:
each a ``name``, a ``url``, the ``levels`` it hears (default all), a ``template`` (the body, JSON
with ``{{placeholders}}``) or a ``format`` whose default template it takes (``teams``,
``pagerduty``, ``servicenow``, ``json``), and an optional ``secret`` (``whsec_...``) to sign with
Standard Webhooks. Pure functions; the sending is ``realtime/notify``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.alert_delivery import EMAIL as EMAIL_CHANNEL
from domain.alert_delivery import LEVEL_NAMES, WEBHOOK, Person, Recipient, group_head
from domain.errors import ValidationFailed

EMAIL_ADDRESS = re.compile(r"^[^@\s,;<>\"]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")

#: Default bodies of the tools that need only a URL and a template. Microsoft Teams: an incoming
#: webhook's MessageCard; PagerDuty: Events API v2 (``routing_key`` is the integration key, so a
#: PagerDuty hook sets ``routing_key`` in its config); ServiceNow: the Table API's incident record.
TEMPLATES = {
    "json": '{"type": "alert.escalated", "alert_id": "{{alert_id}}", "kind": "{{kind}}", '
            '"severity": "{{severity}}", "level": {{level}}, "title": "{{title}}", '
            '"message": "{{message}}", "store": "{{store}}", "raised_at": "{{raised_at}}"}',
    "teams": '{"@type": "MessageCard", "@context": "https://schema.org/extensions", '
             '"themeColor": "D70000", "summary": "{{title}}", "title": "{{headline}}", '
             '"text": "{{message}}"}',
    "pagerduty": '{"routing_key": "{{routing_key}}", "event_action": "trigger", '
                 '"dedup_key": "{{alert_id}}", "payload": {"summary": "{{headline}}", '
                 '"source": "dispatch-board", "severity": "{{pd_severity}}", '
                 '"custom_details": {"message": "{{message}}", "store": "{{store}}", '
                 '"level": {{level}}}}}',
    "servicenow": '{"short_description": "{{headline}}", "description": "{{message}}", '
                  '"urgency": "{{sn_urgency}}", "impact": "{{sn_urgency}}", '
                  '"correlation_id": "{{alert_id}}"}',
}


def parse_emails(text: str) -> dict[int, tuple[str, ...]]:
    """``"ops@x.com, 2=duty@x.com"``: a bare address for every level (1-3)."""
    out: dict[int, list[str]] = {1: [], 2: [], 3: []}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        level_text, _, address = part.rpartition("=")
        if not EMAIL_ADDRESS.match(address.strip()):
            raise ValidationFailed(f"{address!r} is not an e-mail address", field="alert_emails")
        levels = (1, 2, 3) if not level_text else (_level(level_text, "alert_emails"),)
        for level in levels:
            out[level].append(address.strip())
    return {level: tuple(dict.fromkeys(v)) for level, v in out.items()}


def _level(text: str, field_name: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 3:
        raise ValidationFailed(f"unknown escalation level {text!r}", field=field_name)
    return int(text)


@dataclass(frozen=True, slots=True)
class AlertWebhook:
    name: str
    url: str
    template: str
    levels: frozenset[int] = frozenset({1, 2, 3})
    secret: str = ""
    config: Mapping[str, str] = field(default_factory=dict)  # extra placeholders (routing_key)


def parse_webhooks(text: str) -> tuple[AlertWebhook, ...]:
    """``ALERT_WEBHOOKS``: a JSON list of endpoints (empty: none)."""
    if not (text or "").strip():
        return ()
    try:
        items = json.loads(text)
    except ValueError as error:
        raise ValidationFailed(f"ALERT_WEBHOOKS is not JSON: {error}",
                               field="alert_webhooks") from error
    if not isinstance(items, list):
        raise ValidationFailed("ALERT_WEBHOOKS must be a JSON list", field="alert_webhooks")
    hooks = [_webhook(item) for item in items]
    if len({h.name for h in hooks}) != len(hooks):
        raise ValidationFailed("ALERT_WEBHOOKS names must differ", field="alert_webhooks")
    return tuple(hooks)


def _webhook(item: Any) -> AlertWebhook:
    if not isinstance(item, dict):
        raise ValidationFailed("each webhook is an object", field="alert_webhooks")
    name, url = str(item.get("name", "")), str(item.get("url", ""))
    if not NAME.match(name):
        raise ValidationFailed(f"webhook name {name!r}: lower case letters, digits, - and _",
                               field="alert_webhooks")
    if not url.startswith(("https://", "http://")):
        raise ValidationFailed(f"webhook {name}: the url must be http(s)", field="alert_webhooks")
    template = item.get("template") or TEMPLATES.get(str(item.get("format") or "json"))
    if not isinstance(template, str):
        raise ValidationFailed(f"webhook {name}: unknown format {item.get('format')!r}",
                               field="alert_webhooks")
    levels = frozenset(_level(str(v), "alert_webhooks") for v in item.get("levels") or (1, 2, 3))
    config = {str(k): str(v) for k, v in item.items()
              if k not in {"name", "url", "template", "format", "levels", "secret"}}
    hook = AlertWebhook(name, url, template, levels, str(item.get("secret") or ""), config)
    render(hook, {"id": "check", "severity": "critical", "title": "check"}, 1)  # valid JSON?
    return hook


def headline(alert: Mapping[str, Any], level: int, store_name: str | None = None) -> str:
    where = f" ({store_name})" if store_name else ""
    return (f"[{str(alert.get('severity', '')).upper()} L{level} {LEVEL_NAMES.get(level, '')}] "
            f"{alert.get('title', '')}{where}")


def placeholders(alert: Mapping[str, Any], level: int,
                 store_name: str | None = None) -> dict[str, str]:
    severity = str(alert.get("severity", ""))
    return {
        "alert_id": str(alert.get("id", "")), "kind": str(alert.get("kind", "")),
        "severity": severity, "level": str(level), "title": str(alert.get("title", "")),
        "message": str(alert.get("message", "")), "store": store_name or "",
        "store_id": str(alert.get("store_id") or ""), "raised_at": str(alert.get("raised_at", "")),
        "headline": headline(alert, level, store_name),
        "pd_severity": {"critical": "critical", "warning": "warning"}.get(severity, "info"),
        "sn_urgency": {"critical": "1", "warning": "2"}.get(severity, "3"),
    }


def render(hook: AlertWebhook, alert: Mapping[str, Any], level: int,
           store_name: str | None = None,
           group: tuple[Mapping[str, Any], ...] = ()) -> bytes:
    """The body: the template with each placeholder's value escaped as a JSON string's inside
    (numbers such as ``{{level}}`` stand unquoted in the templates). Must parse as JSON. A group
    (the alerts that go with ``alert``) says how many in ``{{count}}`` and ``{{headline}}``."""
    values = {**placeholders(alert, level, store_name), **hook.config,
              "count": str(1 + len(group))}
    if group:
        values["headline"] = group_head((alert, *group), level, store_name)

    def fill(match: re.Match[str]) -> str:
        return json.dumps(values.get(match.group(1), ""))[1:-1]

    body = _PLACEHOLDER.sub(fill, hook.template)
    try:
        json.loads(body)
    except ValueError as error:
        raise ValidationFailed(f"webhook {hook.name}: the template does not make JSON ({error})",
                               field="alert_webhooks") from error
    return body.encode()


def email_subject(alert: Mapping[str, Any], level: int, store_name: str | None = None) -> str:
    return headline(alert, level, store_name)[:200]


def email_body(alert: Mapping[str, Any], level: int, store_name: str | None = None,
               board_url: str = "") -> str:
    lines = [headline(alert, level, store_name), "", str(alert.get("message", "")), "",
             f"Raised at {alert.get('raised_at', '')}; escalation level {level} "
             f"({LEVEL_NAMES.get(level, '')}).",
             "Acknowledge it on the board" + (f": {board_url}" if board_url else "."),
             f"Alert {alert.get('id', '')}"]
    return "\n".join(lines) + "\n"


def more_recipients(level: int, reached: Iterable[Recipient], people: Iterable[Person], *,
                    emails: Mapping[int, tuple[str, ...]], webhooks: Iterable[AlertWebhook],
                    email: bool) -> list[Recipient]:
    """The mails and posts of a level, beside its texts and calls: the people reached who have an
    e-mail address, the level's ``ALERT_EMAILS`` (when mail is set up) and its webhooks."""
    out: dict[tuple[str, str], Recipient] = {}
    if email:
        by_id = {p.user_id: p for p in people if p.user_id and p.email}
        # a person reached by text and call gets one mail
        for r in reached:
            person = by_id.get(r.user_id) if r.user_id else None
            if person is not None:
                out.setdefault((EMAIL_CHANNEL, person.email),
                               Recipient(person.email, r.who, EMAIL_CHANNEL, person.user_id))
        for address in emails.get(level, ()):
            out.setdefault((EMAIL_CHANNEL, address),
                           Recipient(address, f"e-mail level {level}", EMAIL_CHANNEL))
    for hook in webhooks:
        if level in hook.levels:
            out.setdefault((WEBHOOK, hook.name), Recipient(hook.name, f"webhook {hook.name}",
                                                           WEBHOOK))
    return list(out.values())
