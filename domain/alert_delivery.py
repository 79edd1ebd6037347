"""Who an escalation level reaches and how (text, call), what each message says, and how retries
are spaced.

When the on-call rota (``domain/oncall.py``) covers a level, the level reaches the people on call
for it: a text and, when voice is configured, a call. Otherwise it falls back to the people who
hold its roles and have a phone (``people_for_level``: level 1 the store's managers and the
dispatchers, 2 operations managers for that store, 3 admins), by text, and the on-call numbers
configured for it (``OnCall``, ``ALERT_ONCALL_PHONES``), by text and call. At level 1 a
technician alert also texts the technician's own phone. Pure functions; the delivery itself is
``realtime/notify``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
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


SMS, VOICE, EMAIL, WEBHOOK = "sms", "voice", "email", "webhook"
CHANNELS = (SMS, VOICE, EMAIL, WEBHOOK)


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    who: str  # "on-call level 2", "technician <id>", "user <username>", "on call <username>"
    channel: str = SMS
    user_id: str | None = None  # the person, when it is a user (their key or reply acknowledges)
    not_before: dt.datetime | None = None  # held until then (the person's quiet hours)


@dataclass(frozen=True, slots=True)
class Person:
    """A user who may be texted: their roles and store scope (empty: every store)."""

    username: str
    roles: frozenset[str]
    store_ids: frozenset[str]
    phone: str
    user_id: str | None = None
    email: str = ""
    #: Daily quiet hours (HH:MM, local time) and the zone to read them in ("": the store's).
    quiet_starts: str | None = None
    quiet_ends: str | None = None
    timezone: str = ""


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
        out.append(Recipient(phone, f"user {person.username}", SMS, person.user_id))
    return out


def recipients(alert: Mapping[str, Any], level: int, oncall: OnCall,
               technician_phone: str | None = None, people: Iterable[Person] = (), *,
               on_call: Iterable[str] = (), voice: bool = False) -> list[Recipient]:
    """Everyone a critical alert reaches at ``level``, by channel (no duplicates). ``on_call``:
    the users the rota has on call for the level now (none: the fallback); ``voice``: calls are
    configured."""
    people = list(people)
    out: dict[tuple[str, str], Recipient] = {}

    def add(r: Recipient) -> None:
        out.setdefault((r.channel, r.address), r)

    if level == 1 and alert.get("category") == "technician" and technician_phone:
        phone = normalize_phone(technician_phone)
        if phone is not None:
            add(Recipient(phone, f"technician {alert.get('technician_id')}"))
    by_id = {p.user_id: p for p in people if p.user_id}
    rota = [by_id[u] for u in on_call if u in by_id and normalize_phone(by_id[u].phone)]
    if rota:
        for person in rota:
            phone = str(normalize_phone(person.phone))
            for channel in (SMS, VOICE) if voice else (SMS,):
                add(Recipient(phone, f"on call {person.username}", channel, person.user_id))
        return list(out.values())
    for r in people_for_level(people, level, alert.get("store_id")):
        add(r)
    by_phone = {normalize_phone(p.phone): p for p in people if p.user_id}
    for number in oncall.numbers(level):
        owner = by_phone.get(number)
        user_id = owner.user_id if owner is not None else None
        for channel in (SMS, VOICE) if voice else (SMS,):
            add(Recipient(number, f"on-call level {level}", channel, user_id))
    return list(out.values())


def _head(alert: Mapping[str, Any], level: int, store_name: str | None) -> str:
    where = f" ({store_name})" if store_name else ""
    head = f"[{str(alert.get('severity', '')).upper()} L{level} {LEVEL_NAMES.get(level, '')}]"
    return f"{head} {alert.get('title', '')}{where}. {alert.get('message', '')}".strip()


def sms_text(alert: Mapping[str, Any], level: int, store_name: str | None = None,
             ack_code: str | None = None) -> str:
    """The message: severity and level first, then the title, the message and the store; how to
    acknowledge by replying when the text carries the alert's code."""
    body = _head(alert, level, store_name)
    tail = (f" Reply ACK {ack_code} to acknowledge." if ack_code
            else f" Ack on the board: alert {str(alert.get('id', ''))[:8]}")
    if len(body) + len(tail) > SMS_LIMIT:
        body = body[:SMS_LIMIT - len(tail) - 1] + "…"
    return body + tail


VOICE_LIMIT = 500


def voice_text(alert: Mapping[str, Any], level: int, store_name: str | None = None) -> str:
    """What the call reads out (text to speech) before it asks for a key: plain words, no
    brackets or codes."""
    severity = str(alert.get("severity", "")).lower() or "an"
    where = f" at {store_name}" if store_name else ""
    text = (f"This is the dispatch board with a {severity} alert, escalation level {level}"
            f"{where}. {alert.get('title', '')}. {alert.get('message', '')}").strip()
    return text if len(text) <= VOICE_LIMIT else text[:VOICE_LIMIT - 1] + "…"


def count_words(n: int) -> str:
    return {2: "two", 3: "three", 4: "four", 5: "five"}.get(n, str(n))


def group_head(alerts: Sequence[Mapping[str, Any]], level: int,
               store_name: str | None = None) -> str:
    """``[CRITICAL L1 store] 3 alerts: <first title> (<store>) and 2 more of the same kind``."""
    first = alerts[0]
    where = f" ({store_name})" if store_name else ""
    more = len(alerts) - 1
    return (f"[{str(first.get('severity', '')).upper()} L{level} {LEVEL_NAMES.get(level, '')}] "
            f"{len(alerts)} alerts: {first.get('title', '')}{where} and {more} more of the same "
            f"kind")


def group_sms(alerts: Sequence[Mapping[str, Any]], level: int,
              store_name: str | None = None) -> str:
    body = group_head(alerts, level, store_name) + "."
    tail = " Reply 1 to acknowledge them all."
    if len(body) + len(tail) > SMS_LIMIT:
        body = body[:SMS_LIMIT - len(tail) - 1] + "…"
    return body + tail


def group_voice(alerts: Sequence[Mapping[str, Any]], level: int,
                store_name: str | None = None) -> str:
    first = alerts[0]
    where = f" at {store_name}" if store_name else ""
    text = (f"This is the dispatch board with {count_words(len(alerts))} "
            f"{str(first.get('severity', '')).lower()} alerts of the same kind{where}, escalation "
            f"level {level}. The first: {first.get('title', '')}. {first.get('message', '')}")
    return text if len(text) <= VOICE_LIMIT else text[:VOICE_LIMIT - 1] + "…"



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
    channel: str = SMS
    ack_code: str | None = None
    user_id: str | None = None
    #: A call's token (given to the provider, its keypress callback names it); set when claimed.
    call_token: str | None = None
    #: The other alerts that go out in this message (a group of one kind and store).
    group: tuple[Mapping[str, Any], ...] = ()

    @property
    def alerts(self) -> tuple[Mapping[str, Any], ...]:
        return (self.alert, *self.group)

    def text(self) -> str:
        if self.group:
            grouped = group_voice if self.channel == VOICE else group_sms
            return grouped(self.alerts, self.level, self.store_name)
        if self.channel == VOICE:
            return voice_text(self.alert, self.level, self.store_name)
        return sms_text(self.alert, self.level, self.store_name, self.ack_code)
