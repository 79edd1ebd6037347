"""Fewer messages that matter more: quiet hours per person, and alerts of one kind and store that
come close together sent as one message.

**Quiet hours.** A person may set a daily quiet window (local time, their own zone or else the
alert's store's): an alert that is not critical waits until the window ends before it reaches
them (and is not sent at all if it was acknowledged or resolved meanwhile). Critical alerts are
never held.

**Grouping.** The first alert of a kind for a store reaches a person at once; the alerts of that
kind and store that follow within ``GROUP_WINDOW`` (a minute) of it wait until the minute is
over and go out together as one message (one text, one call, one mail, one post) that names how
many there are. An answer to that message (a key, a reply ``1``) answers for every alert in it.
Pure functions (a group's texts are ``domain/alert_delivery.py``'s); the queueing is
``storage/alert_notifications.py``, the sending ``realtime/notify``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.alert_delivery import Person, Recipient
from domain.errors import ValidationFailed
from domain.geo import ensure_aware
from domain.oncall import parse_time

GROUP_WINDOW = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window of local time; ``ends`` not after ``starts`` runs past midnight."""

    starts: dt.time
    ends: dt.time
    zone: dt.tzinfo

    def until(self, at: dt.datetime) -> dt.datetime | None:
        """When the quiet window covering the instant ``at`` ends (None: not quiet then)."""
        local = ensure_aware(at, "at").astimezone(self.zone)
        now = local.time().replace(tzinfo=None)
        if self.starts == self.ends:
            return None
        if self.starts < self.ends:
            if not self.starts <= now < self.ends:
                return None
            day = local.date()
        else:  # past midnight
            if self.ends <= now < self.starts:
                return None
            day = local.date() + dt.timedelta(days=1 if now >= self.starts else 0)
        return dt.datetime.combine(day, self.ends, tzinfo=self.zone).astimezone(dt.UTC)


def group_lines(alerts: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per alert (for a mail's body)."""
    return [f"- {a.get('title', '')}: {a.get('message', '')} (alert {a.get('id', '')})"
            for a in alerts]


def quiet_hours(person: Person, default_zone: dt.tzinfo) -> QuietHours | None:
    """The person's quiet hours in their zone (else ``default_zone``); None when they set none."""
    if not person.quiet_starts or not person.quiet_ends:
        return None
    try:
        starts = parse_time(person.quiet_starts, "quiet_starts")
        ends = parse_time(person.quiet_ends, "quiet_ends")
        zone: dt.tzinfo = ZoneInfo(person.timezone) if person.timezone else default_zone
    except (ValidationFailed, ZoneInfoNotFoundError, ValueError):
        return None
    return QuietHours(starts, ends, zone)


def held(recipients: Iterable[Recipient], people: Iterable[Person], store_zone: dt.tzinfo,
         now: dt.datetime) -> list[Recipient]:
    """Each recipient who is a person in their quiet hours waits until those end (for alerts
    that are not critical; the caller decides)."""
    by_id = {p.user_id: p for p in people if p.user_id}
    out = []
    for r in recipients:
        person = by_id.get(r.user_id) if r.user_id else None
        quiet = quiet_hours(person, store_zone) if person is not None else None
        until = quiet.until(now) if quiet is not None else None
        out.append(replace(r, not_before=until) if until is not None else r)
    return out
