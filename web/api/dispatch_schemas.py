"""Request and response models of the dispatch endpoints (``dispatches.py``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from domain.dispatch import DispatchStatus
from web.api.schemas import Out, Page, PageQuery, Strict

Id = Field(min_length=1, max_length=64)


class NewInvoiceIn(Strict):
    sales_order_id: str = Id
    amount_cents: int = Field(ge=0, le=10**11)
    number: str | None = Field(default=None, min_length=1, max_length=64)


class DispatchIn(Strict):
    trip_ticket_id: str = Id
    datetime: AwareDatetime
    unit: str = Id
    invoice_ids: list[str] = Field(default_factory=list, max_length=50)
    invoices: list[NewInvoiceIn] = Field(default_factory=list, max_length=50)


class DispatchPatch(Strict):
    """Only ``datetime`` and ``unit`` are editable; any other field answers 422 naming it."""

    datetime: AwareDatetime | None = None
    unit: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _something(self) -> DispatchPatch:
        if not self.model_fields_set:
            raise ValueError("send datetime and/or unit")
        if "datetime" in self.model_fields_set and self.datetime is None:
            raise ValueError("datetime may not be null")
        if "unit" in self.model_fields_set and self.unit is None:
            raise ValueError("unit may not be null")
        return self


class InvoiceAttachIn(Strict):
    """Attach an existing invoice (``invoice_id``) or a new one for a sales order."""

    invoice_id: str | None = Field(default=None, min_length=1, max_length=64)
    sales_order_id: str | None = Field(default=None, min_length=1, max_length=64)
    amount_cents: int | None = Field(default=None, ge=0, le=10**11)
    number: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_of(self) -> InvoiceAttachIn:
        if (self.invoice_id is None) == (self.sales_order_id is None):
            raise ValueError("give either invoice_id, or sales_order_id with amount_cents")
        if self.sales_order_id is not None and self.amount_cents is None:
            raise ValueError("a new invoice needs amount_cents")
        return self


class StatusIn(Strict):
    status: DispatchStatus


class Sort(StrEnum):
    DATETIME = "datetime"
    DATETIME_DESC = "-datetime"
    CREATED = "date_created"
    CREATED_DESC = "-date_created"
    UNIT = "unit"
    UNIT_DESC = "-unit"
    ID = "dispatch_id"


class DispatchQuery(PageQuery):
    date_from: AwareDatetime | None = None
    date_to: AwareDatetime | None = None
    unit: str | None = Field(default=None, max_length=64)
    customer_id: str | None = Field(default=None, max_length=64)
    created_by: str | None = Field(default=None, max_length=64)
    store_id: str | None = Field(default=None, max_length=64)
    status: DispatchStatus | None = None
    sort: Sort = Sort.DATETIME


class DispatchOut(Out):
    id: str
    dispatch_id: str
    trip_ticket_id: str
    datetime: dt.datetime
    unit: str
    date_created: dt.datetime
    created_by: str
    created_by_name: str | None = Field(
        default=None, description="the creator's display name, else username (null: no user)")
    store_id: str
    unit_name: str | None = None
    status: str
    display_status: str
    invoice_count: int
    version: int


class InvoiceOut(Out):
    id: str
    number: str
    sales_order_id: str
    amount_cents: int
    processed: bool
    dispatch_id: str | None


class TripTicketRef(Out):
    id: str
    number: str


class DispatchDetailOut(DispatchOut):
    trip_ticket: TripTicketRef | None
    invoices: list[InvoiceOut]


class DispatchPage(Page[DispatchOut]):
    pass
