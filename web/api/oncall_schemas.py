"""Request and response models of the on-call endpoints (``oncall.py``): shifts, overrides, people
and contacts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field

from web.api.schemas import Out, Page, Strict

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Id = Field(min_length=1, max_length=64)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def _in_range(value: dt.datetime) -> dt.datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 2000 and 2100")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]


class ShiftIn(Strict):
    level: int = Field(ge=1, le=3, description="1 store, 2 operations, 3 admins")
    user_id: str = Id
    weekdays: list[Day] = Field(min_length=1, max_length=7)
    starts: str = Field(pattern=HHMM, description="HH:MM in the store's local time")
    ends: str = Field(pattern=HHMM, description="HH:MM; not after starts: the next morning")
    store_ids: list[str] = Field(default_factory=list, max_length=1000,
                                 description="none: every store (and system alerts)")
    note: str = Field(default="", max_length=500)


class ShiftPatch(Strict):
    level: int | None = Field(default=None, ge=1, le=3)
    user_id: str | None = Field(default=None, min_length=1, max_length=64)
    weekdays: list[Day] | None = Field(default=None, min_length=1, max_length=7)
    starts: str | None = Field(default=None, pattern=HHMM)
    ends: str | None = Field(default=None, pattern=HHMM)
    store_ids: list[str] | None = Field(default=None, max_length=1000)
    note: str | None = Field(default=None, max_length=500)
    version: int | None = Field(default=None, ge=1, description="the version you saw")


class OverrideIn(Strict):
    level: int = Field(ge=1, le=3)
    user_id: str = Id
    starts_at: Instant
    ends_at: Instant
    store_ids: list[str] = Field(default_factory=list, max_length=1000)
    replaces_user_id: str | None = Field(default=None, min_length=1, max_length=64,
                                         description="none: the whole level")
    note: str = Field(default="", max_length=500)


class ShiftOut(Out):
    id: str
    level: int
    user_id: str
    username: str | None = None
    weekdays: list[str]
    starts: str
    ends: str
    store_ids: list[str]
    note: str
    version: int


class OverrideOut(Out):
    id: str
    level: int
    user_id: str
    username: str | None = None
    replaces_user_id: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    store_ids: list[str]
    note: str
    version: int


class ShiftPage(Page[ShiftOut]):
    pass


class OverridePage(Page[OverrideOut]):
    pass


class PersonOut(Out):
    id: str
    username: str
    display_name: str
    phone: str


class PersonPage(Page[PersonOut]):
    pass


class ContactBody(Strict):
    email: str = Field(default="", max_length=254, description='"": none')
    quiet_starts: str | None = Field(default=None, pattern=HHMM,
                                     description="local time; with quiet_ends, or neither")
    quiet_ends: str | None = Field(default=None, pattern=HHMM)
    timezone: str = Field(default="", max_length=64,
                          description='IANA zone of the quiet hours ("": the store\'s)')


class ContactOut(Out):
    user_id: str
    username: str | None = None
    display_name: str | None = None
    email: str
    quiet_starts: str | None
    quiet_ends: str | None
    timezone: str


class ContactPage(Page[ContactOut]):
    pass


class NowQuery(Strict):
    store_id: str | None = Field(default=None, max_length=64,
                                 description="none: system alerts (no store)")
    at: Instant | None = Field(default=None, description="default: now")


class LevelOut(Out):
    level: int
    source: Literal["override", "rota", "none"] = Field(
        description="none: nobody on the rota; the level's fallback numbers apply")
    people: list[PersonOut]
    fallback_numbers: list[str]


class NowOut(Out):
    at: dt.datetime
    store_id: str | None
    items: list[LevelOut]
