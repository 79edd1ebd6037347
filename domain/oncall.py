"""The on-call rota: who an escalation level reaches, for which stores, at which time.

A rota is made of weekly **shifts** (a level, a person, the days of the week, a start and an end
time in the store's local time, the stores it covers: none named means every store) and
**overrides** (a person covering a level for a range of instants, for the whole level or in
place of one person on the rota: a swap, a holiday, a sick day).

Who is on call for level L, store S at instant T: when overrides cover (L, S, T), the people
those overrides name, plus the rota's people no override replaces (an override for the whole
level replaces everyone); otherwise the people of the shifts that cover (L, S, T), T read in the
store's time zone. Nobody: the level falls back to the static on-call numbers
(``ALERT_ONCALL_PHONES``, ``domain.alert_delivery.OnCall``). Pure functions; the rota is stored
by ``storage/oncall.py`` (``domain.ports.OnCallStore``, each line with a ``StoredLine``) and used
by the escalations (``web/alerts_wiring.py``). A person's alert contact settings (``ContactIn``:
an e-mail address, quiet hours) are kept beside the rota (``domain.ports.ContactStore``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.alert_channels import EMAIL_ADDRESS
from domain.errors import RuleViolation, ValidationFailed
from domain.geo import ensure_aware

LEVELS = (1, 2, 3)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: An override covers at most this long (a longer absence is a change of the rota).
MAX_OVERRIDE = dt.timedelta(days=62)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_time(text: str, field_name: str) -> dt.time:
    """``"HH:MM"`` (24 h) as a time; anything else is refused naming the field."""
    match = _HHMM.match(text or "")
    if match is None:
        raise ValidationFailed(f"{text!r} is not a time of day as HH:MM", field=field_name)
    return dt.time(int(match.group(1)), int(match.group(2)))


def check_level(level: int) -> int:
    if level not in LEVELS:
        raise ValidationFailed(f"the escalation level must be one of {LEVELS}", field="level")
    return level


def parse_weekdays(names: Iterable[str]) -> frozenset[int]:
    """``["mon", "tue"]`` as weekday numbers (Monday 0); at least one."""
    days: set[int] = set()
    for name in names:
        key = str(name).strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ValidationFailed(f"{name!r} is not a day of the week (mon ... sun)",
                                   field="weekdays")
        days.add(WEEKDAYS.index(key))
    if not days:
        raise ValidationFailed("a shift needs at least one day of the week", field="weekdays")
    return frozenset(days)


def weekday_names(days: Iterable[int]) -> list[str]:
    return [WEEKDAYS[d] for d in sorted(days)]


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekly line of the rota. ``ends <= starts`` runs past midnight into the next day (the
    day it starts is the one named); ``ends == starts`` is a whole day."""

    id: str
    level: int
    user_id: str
    weekdays: frozenset[int]
    starts: dt.time
    ends: dt.time
    store_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        check_level(self.level)
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValidationFailed("a shift needs days of the week (0-6)", field="weekdays")

    def serves(self, store_id: str | None) -> bool:
        """No stores named: every store, and the system's alerts (no store)."""
        return not self.store_ids or (store_id is not None and store_id in self.store_ids)

    def covers(self, level: int, store_id: str | None, local: dt.datetime) -> bool:
        """Whether it is on at ``local`` (a time in the store's zone) for this level and store."""
        if level != self.level or not self.serves(store_id):
            return False
        day, now = local.weekday(), local.time().replace(tzinfo=None)
        if self.starts < self.ends:
            return day in self.weekdays and self.starts <= now < self.ends
        # past midnight (or a whole day): the evening of a named day, the morning after it
        started_today = day in self.weekdays and now >= self.starts
        started_yesterday = (day - 1) % 7 in self.weekdays and now < self.ends
        return started_today or started_yesterday


@dataclass(frozen=True, slots=True)
class Override:
    """A person on call for a level from ``starts_at`` to ``ends_at``; ``replaces_user_id`` None
    covers the whole level (everyone on the rota steps aside), else only that person."""

    id: str
    level: int
    user_id: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    store_ids: frozenset[str] = frozenset()
    replaces_user_id: str | None = None

    def __post_init__(self) -> None:
        check_level(self.level)
        starts = ensure_aware(self.starts_at, "starts_at")
        ends = ensure_aware(self.ends_at, "ends_at")
        if ends <= starts:
            raise ValidationFailed("an override must end after it starts", field="ends_at")
        if ends - starts > MAX_OVERRIDE:
            raise ValidationFailed(f"an override lasts at most {MAX_OVERRIDE.days} days",
                                   field="ends_at")

    def covers(self, level: int, store_id: str | None, at: dt.datetime) -> bool:
        if level != self.level or not self.starts_at <= at < self.ends_at:
            return False
        return not self.store_ids or (store_id is not None and store_id in self.store_ids)


@dataclass(frozen=True, slots=True)
class StoredLine:
    """What is kept beside a shift or an override: its version and note."""

    version: int
    note: str


@dataclass(frozen=True, slots=True)
class ContactIn:
    """A person's alert contact settings: an e-mail address ("" none) and quiet hours (both or
    neither, HH:MM local) read in ``timezone`` ("": the alert's store's)."""

    email: str = ""
    quiet_starts: str | None = None
    quiet_ends: str | None = None
    timezone: str = ""

    def check(self) -> ContactIn:
        email = self.email.strip()
        if email and not EMAIL_ADDRESS.match(email):
            raise RuleViolation(f"{email!r} is not an e-mail address", field="email")
        if bool(self.quiet_starts) != bool(self.quiet_ends):
            raise RuleViolation("quiet hours need a start and an end", field="quiet_ends")
        if self.quiet_starts and self.quiet_ends:
            parse_time(self.quiet_starts, "quiet_starts")
            parse_time(self.quiet_ends, "quiet_ends")
        if self.timezone:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise RuleViolation(f"unknown time zone {self.timezone!r}",
                                    field="timezone") from error
        return ContactIn(email, self.quiet_starts or None, self.quiet_ends or None, self.timezone)


@dataclass(frozen=True, slots=True)
class OnCallAnswer:
    """Who is on call for a level (user ids, in a stable order) and why: ``override`` (an
    override is in force), ``rota`` (shifts only) or ``none`` (nobody: the fallback applies)."""

    level: int
    user_ids: tuple[str, ...]
    source: str
    shift_ids: tuple[str, ...] = ()
    override_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rota:
    shifts: tuple[Shift, ...] = ()
    overrides: tuple[Override, ...] = ()

    def on_call(self, level: int, store_id: str | None, at: dt.datetime,
                zone: dt.tzinfo) -> OnCallAnswer:
        """Who is on call for ``level`` and ``store_id`` at the instant ``at`` (the shifts read
        in ``zone``, the store's time zone)."""
        at = ensure_aware(at, "at")
        local = at.astimezone(zone)
        shifts = sorted((s for s in self.shifts if s.covers(level, store_id, local)),
                        key=lambda s: (s.starts, s.id))
        overrides = sorted((o for o in self.overrides if o.covers(level, store_id, at)),
                           key=lambda o: (o.starts_at, o.id))
        if not overrides:
            users = tuple(dict.fromkeys(s.user_id for s in shifts))
            return OnCallAnswer(level, users, "rota" if users else "none",
                                shift_ids=tuple(s.id for s in shifts))
        if any(o.replaces_user_id is None for o in overrides):
            stay: list[Shift] = []
        else:
            stepped_aside = {o.replaces_user_id for o in overrides}
            stay = [s for s in shifts if s.user_id not in stepped_aside]
        users = tuple(dict.fromkeys([*(o.user_id for o in overrides),
                                     *(s.user_id for s in stay)]))
        return OnCallAnswer(level, users, "override", shift_ids=tuple(s.id for s in stay),
                            override_ids=tuple(o.id for o in overrides))


@dataclass(frozen=True, slots=True)
class Zones:
    """Each store's time zone, and the company's for what has no store (system alerts)."""

    by_store: Mapping[str, dt.tzinfo] = field(default_factory=dict)
    default: dt.tzinfo = dt.UTC

    def of(self, store_id: str | None) -> dt.tzinfo:
        if store_id is None:
            return self.default
        return self.by_store.get(store_id, self.default)
