"""Request and response models of the report endpoints (``reports.py``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from web.api.schemas import Strict

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ReportQueryIn(Strict):
    """Unknown parameters and a group the report does not have answer 422."""

    from_: dt.date | None = Field(
        default=None, alias="from",
        description="First local date (YYYY-MM-DD); default: 29 days before `to`.")
    to: dt.date | None = Field(
        default=None, description="Last local date (YYYY-MM-DD, inclusive; at most 2 years after "
                                  "`from`); default: today on the company's calendar.")
    store_id: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="One store (a store-bound user: one of theirs, else 403); default: every "
                    "store the caller sees.")
    if TYPE_CHECKING:  # each report's query declares its own groups (and default)
        group: str

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _plain_date(cls, value: object) -> object:
        if value is not None and not (isinstance(value, str) and DATE.fullmatch(value)):
            raise ValueError("give a date as YYYY-MM-DD")
        return value


class RevenueQuery(ReportQueryIn):
    group: Literal["day", "week", "month", "store", "customer", "service_line"] = "day"


class SlaQuery(ReportQueryIn):
    group: Literal["day", "week", "month", "store"] = "day"


class TechniciansQuery(ReportQueryIn):
    group: Literal["technician"] = "technician"


class VolumeQuery(ReportQueryIn):
    group: Literal["hour", "weekday", "day", "week", "month", "store"] = "hour"


class Item(BaseModel):
    key: str = Field(description="Stable: 2026-11-03, 2026-W45, 2026-11, an id, a service line, "
                                 "an hour 00..23, a weekday 1..7")
    label: str = Field(description="For people: a date, a name, Mon")


class RevenueSums(BaseModel):
    invoices: int
    revenue_cents: int


class SlaSums(BaseModel):
    jobs: int
    assigned: int
    arrived: int
    avg_minutes_to_assign: float | None
    avg_minutes_to_arrive: float | None
    with_window: int
    on_time: int
    on_time_rate: float | None = Field(description="on_time / with_window, 0..1, 4 places")
    emergencies: int
    emergency_avg_minutes_to_site: float | None


class TechnicianSums(BaseModel):
    jobs_completed: int
    jobs_failed: int
    on_time: int
    with_window: int
    on_time_rate: float | None
    first_time_completions: int
    first_time_rate: float | None
    drive_minutes: float
    on_site_minutes: float
    declined: int


class VolumeSums(BaseModel):
    phone: int
    partner: int
    webhook: int
    emergency: int
    total: int


# (fields in the order of the bases from the last: key and label first)
class RevenueItem(RevenueSums, Item):
    pass


class SlaItem(SlaSums, Item):
    pass


class TechnicianOf(Item):
    store_id: str | None = Field(description="The technician's home store")


class TechnicianItem(TechnicianSums, TechnicianOf):
    pass


class VolumeItem(VolumeSums, Item):
    pass


class ReportOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    report: str
    from_: str = Field(alias="from")
    to: str
    group: str
    store_id: str | None
    timezone: str = Field(description="The company's calendar the dates are on")


class RevenueReport(ReportOut):
    items: list[RevenueItem]
    total: RevenueSums


class SlaReport(ReportOut):
    items: list[SlaItem]
    total: SlaSums


class TechniciansReport(ReportOut):
    items: list[TechnicianItem]
    total: TechnicianSums


class VolumeReport(ReportOut):
    items: list[VolumeItem]
    total: VolumeSums
