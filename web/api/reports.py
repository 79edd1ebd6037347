"""The reports: ``GET /api/reports/{revenue|sla|technicians|volume}``, as JSON or CSV.

Query: ``from`` and ``to`` (local dates, inclusive; default the last 30 days ending today),
``group`` (per report) and ``store_id``. With ``Accept: text/csv`` the same items come as CSV
(header row = the item's field names, one line per item, money in integer cents). Definitions of
every number: ``docs/reports.md``.
"""

from __future__ import annotations

import csv
import inspect
import io
from typing import Any

from starlette.responses import Response

from domain.reports import FIELDS, Group, ReportKind
from domain.roles import Permission
from domain.services import reports as uc
from storage.queries.reports import SqlReportSource
from web.api.framework import Api, Call, Empty
from web.api.report_schemas import (
    ReportOut,
    ReportQueryIn,
    RevenueQuery,
    RevenueReport,
    SlaQuery,
    SlaReport,
    TechniciansQuery,
    TechniciansReport,
    VolumeQuery,
    VolumeReport,
)

api = Api()
TAG = "reports"
CSV = "text/csv"
QUERIES: dict[ReportKind, type[ReportQueryIn]] = {
    ReportKind.REVENUE: RevenueQuery, ReportKind.SLA: SlaQuery,
    ReportKind.TECHNICIANS: TechniciansQuery, ReportKind.VOLUME: VolumeQuery,
}


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
