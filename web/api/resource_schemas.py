"""Request and response models of the resources' endpoints (stores, technicians, units,
customers): what a create and a change may send, what a list may filter by, what is answered."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from domain.resources import TechnicianStatus
from web.api.schemas import LocationIn, LocationOut, Out, Page, PageQuery, Strict

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
Text = Field(min_length=1, max_length=200)
Ref = Field(min_length=1, max_length=64)
Search = Field(default=None, min_length=1, max_length=100)


class Patch(Strict):
    """A partial update: at least one field, and null only where ``NULLABLE`` allows it."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _something(self) -> Patch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        nulls = sorted(f for f in self.model_fields_set
                       if getattr(self, f) is None and f not in self.NULLABLE)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} may not be null")
        return self


class HoursIn(Strict):
    opens: str = Field(pattern=HHMM)
    closes: str = Field(pattern=HHMM)


class TimeZoneField(Strict):
    @field_validator("timezone", check_fields=False)
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value


class StoreIn(TimeZoneField):
    code: str = Field(min_length=1, max_length=32)
    name: str = Text
    location: LocationIn
    region: str = Field(min_length=1, max_length=64)
    hours: HoursIn
    address: str = Field(default="", max_length=300)
    timezone: str = Field(default="America/Chicago", min_length=1, max_length=64)


class StorePatch(Patch, TimeZoneField):
    code: str | None = Field(default=None, min_length=1, max_length=32)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    location: LocationIn | None = None
    region: str | None = Field(default=None, min_length=1, max_length=64)
    hours: HoursIn | None = None
    address: str | None = Field(default=None, max_length=300)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = Field(default=None, description="true reactivates it")


def _check_skills(value: list[str] | None) -> list[str] | None:
    if value is not None and any(not 1 <= len(s.strip()) <= 40 for s in value):
        raise ValueError("each skill is 1 to 40 characters")
    return value


class ShiftIn(Strict):
    start: AwareDatetime
    end: AwareDatetime


class TechnicianIn(Strict):
    name: str = Text
    home_store_id: str = Ref
    skills: list[str] = Field(default_factory=list, max_length=50)
    shift: ShiftIn | None = None
    unit_id: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str = Field(default="", max_length=32)

    _skills = field_validator("skills")(_check_skills)


class TechnicianPatch(Patch):
    NULLABLE = frozenset({"shift", "unit_id"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    home_store_id: str | None = Field(default=None, min_length=1, max_length=64)
    skills: list[str] | None = Field(default=None, max_length=50)
    shift: ShiftIn | None = None
    unit_id: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    active: bool | None = Field(default=None, description="true reactivates it")

    _skills = field_validator("skills")(_check_skills)


class UnitIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    home_store_id: str = Ref
    geotab_device_id: str | None = Field(default=None, min_length=1, max_length=64)
    plate: str = Field(default="", max_length=32)
    model: str = Field(default="", max_length=100)


class UnitPatch(Patch):
    NULLABLE = frozenset({"geotab_device_id"})
    name: str | None = Field(default=None, min_length=1, max_length=64)
    home_store_id: str | None = Field(default=None, min_length=1, max_length=64)
    geotab_device_id: str | None = Field(default=None, min_length=1, max_length=64)
    plate: str | None = Field(default=None, max_length=32)
    model: str | None = Field(default=None, max_length=100)
    in_service: bool | None = None


class CustomerIn(Strict):
    name: str = Text
    phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300)
    location: LocationIn | None = None
    sms_opt_in: bool = False
    home_store_id: str | None = Field(default=None, min_length=1, max_length=64)


class CustomerPatch(Patch):
    NULLABLE = frozenset({"location", "home_store_id"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    location: LocationIn | None = None
    sms_opt_in: bool | None = Field(
        default=None, description="A change is recorded in the consent history (who, when, "
                                  "source customer_update); granting needs a phone that takes "
                                  "texts (422 no_sms_number)")
    home_store_id: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = Field(default=None, description="true reactivates it")


class HoursOut(BaseModel):
    opens: str
    closes: str


class ShiftOut(BaseModel):
    start: dt.datetime
    end: dt.datetime


class StoreOut(Out):
    id: str
    code: str
    name: str
    location: LocationOut
    region: str
    hours: HoursOut
    address: str
    timezone: str
    active: bool
    version: int


class TechnicianOut(Out):
    id: str
    name: str
    home_store_id: str
    skills: list[str]
    shift: ShiftOut | None
    status: str
    unit_id: str | None
    phone: str
    active: bool
    version: int


class UnitOut(Out):
    id: str
    name: str
    home_store_id: str
    geotab_device_id: str | None
    plate: str
    model: str
    in_service: bool
    version: int


class CustomerOut(Out):
    id: str
    name: str
    phone: str
    email: str
    address: str
    location: LocationOut | None
    sms_opt_in: bool
    home_store_id: str | None
    active: bool
    version: int


class StorePage(Page[StoreOut]):
    pass


class TechnicianPage(Page[TechnicianOut]):
    pass


class UnitPage(Page[UnitOut]):
    pass


class CustomerPage(Page[CustomerOut]):
    pass


class StoreQuery(PageQuery):
    region: str | None = Field(default=None, max_length=64)
    active: bool | None = None
    q: str | None = Search


class TechnicianQuery(PageQuery):
    store_id: str | None = Field(default=None, max_length=64)
    status: TechnicianStatus | None = None
    skill: str | None = Field(default=None, min_length=1, max_length=40)
    active: bool | None = None
    q: str | None = Search


class UnitQuery(PageQuery):
    store_id: str | None = Field(default=None, max_length=64)
    active: bool | None = Field(default=None, description="the same as in_service")
    in_service: bool | None = None
    q: str | None = Search


class CustomerQuery(PageQuery):
    store_id: str | None = Field(default=None, max_length=64)
    active: bool | None = None
    q: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="Find a customer by name, email, address, phone (any punctuation: its "
                    "digits match) or order number (a sales order's or invoice's number, or a "
                    "work order's id)")
