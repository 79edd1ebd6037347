"""The reports: ``GET /api/reports/{revenue|sla|technicians|volume}``, as JSON or CSV.

Query: ``from`` and ``to`` (local dates, inclusive; default the last 30 days ending today),
``group`` (per report) and ``store_id``. With ``Accept: text/csv`` the same items come as CSV
(header row = the item's field names, one line per item, money in integer cents). Definitions of
every number: ``docs/reports.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import io
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from domain.reports import FIELDS, Group, ReportKind
from domain.roles import Permission
from domain.services import reports as uc
from storage.queries.reports import SqlReportSource
from web.api.framework import Api, Call, Empty
from web.api.schemas import Strict

api = Api()
TAG = "reports"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CSV = "text/csv"


# -- the query ------------------------------------------------------------------------------------


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


QUERIES: dict[ReportKind, type[ReportQueryIn]] = {
    ReportKind.REVENUE: RevenueQuery, ReportKind.SLA: SlaQuery,
    ReportKind.TECHNICIANS: TechniciansQuery, ReportKind.VOLUME: VolumeQuery,
}


# -- the answer -----------------------------------------------------------------------------------


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


# -- the endpoints --------------------------------------------------------------------------------


def wants_csv(accept: str) -> bool:
    """``Accept`` names text/csv (with a weight above zero)."""
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == CSV and not any(p.replace(" ", "") in {"q=0", "q=0.0", "q=0.00",
                                                                   "q=0.000"} for p in params):
            return True
    return False


def csv_text(kind: ReportKind, items: list[dict[str, Any]]) -> str:
    """The items as CSV: the header row, then one line per item in the same order."""
    out = io.StringIO()
    writer = csv.writer(out)
    fields = FIELDS[kind]
    writer.writerow(fields)
    for item in items:
        writer.writerow(["" if item[f] is None else item[f] for f in fields])
    return out.getvalue()


def _endpoint(kind: ReportKind, response: type[ReportOut], summary: str, doc: str) -> None:
    async def handler(call: Call[Empty, ReportQueryIn]) -> dict[str, Any] | Response:
        q = call.query
        result = await uc.run_report(
            SqlReportSource(call.runtime.engine), call.context(),
            uc.ReportQuery(kind=kind, group=Group(q.group), start=q.from_, end=q.to,
                           store_id=q.store_id),
            timezone=call.runtime.settings.report_timezone)
        if not wants_csv(call.request.headers.get("accept", "")):
            return result
        name = f"{kind.value}-{result['from']}-{result['to']}-{result['group']}.csv"
        return Response(csv_text(kind, result["items"]), media_type=f"{CSV}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    handler.__name__ = f"{kind.value}_report"
    handler.__doc__ = inspect.cleandoc(doc)
    api.route(
        "GET", f"/api/reports/{kind.value}", summary=summary, tag=TAG, query=QUERIES[kind],
        response=response, errors=(403, 422), permissions=(Permission.REPORT_VIEW,),
        responses={200: {"description": "The report (JSON), or its items as CSV with "
                                        "`Accept: text/csv`",
                         "content": {
                             "application/json": {
                                 "schema": {"$ref": f"#/components/schemas/{response.__name__}"}},
                             CSV: {"schema": {"type": "string"}}}}},
    )(handler)


_endpoint(ReportKind.REVENUE, RevenueReport, "Revenue: processed invoices by local date",
          """Invoices counted on the local date they were processed (only processed ones), by
          ``day`` (default), ``week`` (ISO), ``month``, ``store``, ``customer`` (via the sales
          order: the top 100, then one ``others`` item summing the rest) or ``service_line``.
          Items: ``invoices``, ``revenue_cents``.""")
_endpoint(ReportKind.SLA, SlaReport, "SLA: time to assign and to arrive, on-time rate",
          """Jobs booked in the range, not cancelled, by ``day`` (default), ``week``, ``month`` or
          ``store``: minutes from booking to the first assignment and to arrival (averages, 1
          decimal), arrivals within the time window (``on_time_rate``, 0..1, null without a
          window), emergencies and their minutes to site.""")
_endpoint(ReportKind.TECHNICIANS, TechniciansReport, "Technicians: jobs finished, on time, first time",
          """Jobs finished in the range by each technician (``group=technician``): completed,
          failed, on time, first-time completions (not a follow-up, and none followed), minutes
          driving and on site, and the assignments they declined in the range.""")
_endpoint(ReportKind.VOLUME, VolumeReport, "Volume: jobs booked per channel",
          """Jobs booked in the range per channel (``phone``, ``partner``, ``webhook``,
          ``emergency``), by local ``hour`` 00..23 (default), ``weekday`` 1..7, ``day``,
          ``week``, ``month`` or ``store``.""")
