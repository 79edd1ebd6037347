"""Who an escalation level reaches by SMS, what the message says, and how retries are spaced.

A level reaches the people who hold its roles and have a phone (``people_for_level``: level 1 the
store's managers and the dispatchers, 2 operations managers for that store, 3 admins), the
on-call numbers configured for it (``OnCall``), and at level 1 a technician alert also the
technician's own phone. Pure functions; the delivery itself is ``realtime/notify``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import ValidationFailed

SMS_LIMIT = 765
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
LEVEL_NAMES = {1: "store", 2: "operations", 3: "admins"}


def normalize_phone(text: str) -> str | None:
    """An E.164 number from what people type (spaces, dashes, dots, brackets); None if not one."""
    cleaned = re.sub(r"[\s\-().]", "", text or "")
    return cleaned if E164.match(cleaned) else None


@dataclass(frozen=True, slots=True)
class OnCall:
    """On-call numbers by escalation level; ``every_level`` numbers get every level."""

    by_level: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    every_level: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> OnCall:
        """``"+15550100, 2=+15550102, 3=+15550103"``: a bare number is for every level."""
        by_level: dict[int, list[str]] = {}
        every: list[str] = []
        for part in (p.strip() for p in (text or "").split(",")):
            if not part:
                continue
            level_text, _, number = part.rpartition("=")
            phone = normalize_phone(number)
            if phone is None:
                raise ValidationFailed(f"{number!r} is not an E.164 phone number",
                                       field="alert_oncall_phones")
            if not level_text:
                every.append(phone)
            elif level_text.strip().isdigit() and 1 <= int(level_text) <= 3:
                by_level.setdefault(int(level_text), []).append(phone)
            else:
                raise ValidationFailed(f"unknown escalation level {level_text!r}",
                                       field="alert_oncall_phones")
        return cls({k: tuple(v) for k, v in by_level.items()}, tuple(every))

    def numbers(self, level: int) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.by_level.get(level, ()), *self.every_level)))


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    who: str  # "on-call level 2", "technician <id>", "user <username>"


@dataclass(frozen=True, slots=True)
class Person:
    """A user who may be texted: their roles and store scope (empty: every store)."""

    username: str
    roles: frozenset[str]
    store_ids: frozenset[str]
    phone: str


#: The roles each escalation level reaches (level 1 is scoped to the alert's store).
LEVEL_ROLES = {1: frozenset({"store_manager", "dispatcher"}),
               2: frozenset({"operations_manager"}), 3: frozenset({"admin"})}


def people_for_level(people: Iterable[Person], level: int, store_id: str | None) -> list[Recipient]:
    """Users with a phone who hold a role of ``level`` and whose scope covers the alert's store
    (an alert without a store, a system alert, reaches only unscoped users)."""
    out: list[Recipient] = []
    for person in people:
        phone = normalize_phone(person.phone)
        if phone is None or not person.roles & LEVEL_ROLES.get(level, frozenset()):
            continue
        if person.store_ids and (store_id is None or store_id not in person.store_ids):
            continue
        out.append(Recipient(phone, f"user {person.username}"))
    return out


def recipients(alert: Mapping[str, Any], level: int, oncall: OnCall,
               technician_phone: str | None = None,
               people: Iterable[Person] = ()) -> list[Recipient]:
    """Everyone a critical alert reaches at ``level`` (no duplicates)."""
    out: dict[str, Recipient] = {}
    if level == 1 and alert.get("category") == "technician" and technician_phone:
        phone = normalize_phone(technician_phone)
        if phone is not None:
            out[phone] = Recipient(phone, f"technician {alert.get('technician_id')}")
    for r in people_for_level(people, level, alert.get("store_id")):
        out.setdefault(r.address, r)
    for number in oncall.numbers(level):
        out.setdefault(number, Recipient(number, f"on-call level {level}"))
    return list(out.values())


def sms_text(alert: Mapping[str, Any], level: int, store_name: str | None = None) -> str:
    """The message: severity and level first, then the title, the message and the store."""
    where = f" ({store_name})" if store_name else ""
    head = f"[{str(alert.get('severity', '')).upper()} L{level} {LEVEL_NAMES.get(level, '')}]"
    body = f"{head} {alert.get('title', '')}{where}. {alert.get('message', '')}".strip()
    tail = f" Ack on the board: alert {str(alert.get('id', ''))[:8]}"
    if len(body) + len(tail) > SMS_LIMIT:
        body = body[:SMS_LIMIT - len(tail) - 1] + "…"
    return body + tail


def retry_delay(attempts: int, *, base: dt.timedelta = dt.timedelta(seconds=10),
                cap: dt.timedelta = dt.timedelta(minutes=5)) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failures: 10 s, 20 s, 40 s ... up to 5 min."""
    delay: dt.timedelta = base * (2 ** max(0, attempts - 1))
    return min(cap, delay)


@dataclass(frozen=True, slots=True)
class PendingNotification:
    """A queued delivery (an ``alert_notifications`` row) with the alert it is about."""

    id: str
    alert: Mapping[str, Any]   # the alert's snapshot as stored now
    level: int
    recipient: str
    attempts: int
    store_name: str | None = None

    def text(self) -> str:
        return sms_text(self.alert, self.level, self.store_name)
