"""The demo's on-call rota: who its escalations reach, day and night, every day of the week.

The demo logins who escalate (dispatcher, store manager, operations manager, admin) get fictional
phone numbers (555-0100 to 555-0199 is kept for fiction) and addresses at example.com, and the rota
has weekly shifts for every store, read in the store's time zone:

    level 1  dispatcher 07:00-19:00, operations manager 19:00-07:00
    level 2  operations manager, all day
    level 3  admin, all day

so every level names someone at every instant. Only ``dispatch demo`` writes them (``seed(...,
oncall=True)`` from ``prepare_demo_day``): the other seeds (tests, benchmarks) keep users without
phones, whose escalations fall back to ``ALERT_ONCALL_PHONES``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from domain.oncall import Shift
from domain.users import User

#: Dallas, and the exchange kept for fiction.
PHONE_PREFIX = "+1214555"
#: The demo logins who escalate -> the last two digits of their number (555-01xx).
DEMO_CONTACTS: dict[str, int] = {"admin": 0, "dispatcher": 1, "operations": 2, "manager": 3}
EMAIL_DOMAIN = "example.com"

DAY, NIGHT, MIDNIGHT = dt.time(7), dt.time(19), dt.time(0)
EVERY_DAY = frozenset(range(7))


def demo_phone(username: str) -> str:
    """The fictional number of a demo login who escalates; "" for the others."""
    line = DEMO_CONTACTS.get(username)
    return "" if line is None else f"{PHONE_PREFIX}01{line:02d}"


def demo_shifts(user_ids: Mapping[str, str]) -> list[tuple[Shift, str]]:
    """The weekly shifts and their notes; ``user_ids``: the demo logins' ids by username.
    Ends not after starts run into the next morning; equal ends and starts are a whole day."""
    def line(key: str, level: int, username: str, starts: dt.time, ends: dt.time,
             note: str) -> tuple[Shift, str]:
        return Shift(id=f"oncall-demo-{key}", level=level, user_id=user_ids[username],
                     weekdays=EVERY_DAY, starts=starts, ends=ends), note

    return [
        line("1-day", 1, "dispatcher", DAY, NIGHT, "front desk by day"),
        line("1-night", 1, "operations", NIGHT, DAY, "operations covers the desk by night"),
        line("2-all", 2, "operations", MIDNIGHT, MIDNIGHT, "operations manager"),
        line("3-all", 3, "admin", MIDNIGHT, MIDNIGHT, "last resort"),
    ]


def shift_row(item: tuple[Shift, str], *, at: dt.datetime) -> dict[str, Any]:
    """An ``oncall_shifts`` row as the rota's store writes it (seeded: nobody made it)."""
    shift, note = item
    return {"id": shift.id, "level": shift.level, "user_id": shift.user_id,
            "weekdays": sorted(shift.weekdays), "starts": shift.starts.strftime("%H:%M"),
            "ends": shift.ends.strftime("%H:%M"), "store_ids": sorted(shift.store_ids),
            "note": note, "created_at": at, "created_by": None}


def contact_rows(users: Iterable[User], *, at: dt.datetime) -> list[dict[str, Any]]:
    """``alert_contacts`` rows: an e-mail address for each demo login with a phone, no quiet
    hours, the store's time zone."""
    return [{"user_id": u.id, "email": f"{u.username}@{EMAIL_DOMAIN}", "quiet_starts": None,
             "quiet_ends": None, "timezone": "", "updated_at": at}
            for u in users if u.phone]
