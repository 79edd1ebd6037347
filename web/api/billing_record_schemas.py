"""Request and response models of the trip-ticket, sales-order and invoice endpoints
(``billing_records.py``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field

from domain.billing import SERVICE_LINE_MAX
from domain.dispatch import SalesOrderStatus
from domain.payments import PaymentStatus
from web.api.schemas import Out, Page, PageQuery, Strict

Ref = Field(min_length=1, max_length=64)
OptRef = Field(default=None, min_length=1, max_length=64)
Number = Field(default=None, min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")
Search = Field(default=None, min_length=1, max_length=100)


class TripTicketIn(Strict):
    store_id: str = Ref
    number: str | None = Number
    description: str = Field(default="", max_length=2000)
    work_order_id: str | None = OptRef
    customer_id: str | None = OptRef


class SalesOrderIn(Strict):
    store_id: str = Ref
    customer_id: str = Ref
    number: str | None = Number
    total_cents: int = Field(default=0, ge=0, le=10**11)


class InvoiceIn(Strict):
    sales_order_id: str = Ref
    amount_cents: int = Field(ge=0, le=2_000_000_000)
    number: str | None = Number
    service_line: str | None = Field(
        default=None, min_length=1, max_length=SERVICE_LINE_MAX,
        description="what the revenue report groups it by (default: general)")


class TripTicketOut(Out):
    id: str
    number: str
    store_id: str
    created_at: dt.datetime
    description: str
    work_order_id: str | None
    customer_id: str | None
    dispatch_id: str | None = Field(description="the live dispatch using it, if any")
    version: int


class SalesOrderOut(Out):
    id: str
    number: str
    customer_id: str
    store_id: str
    created_at: dt.datetime
    status: str
    total_cents: int
    invoice_count: int
    version: int


class BillingInvoiceOut(Out):
    id: str
    number: str
    sales_order_id: str
    sales_order_number: str | None = None
    customer_id: str | None
    customer_name: str | None = None
    store_id: str
    amount_cents: int
    created_at: dt.datetime
    processed: bool
    processed_at: dt.datetime | None = Field(default=None, description="when it was processed")
    processed_by: str | None = Field(default=None, description="the user who processed it")
    processed_by_name: str | None = None
    service_line: str = "general"
    paid_cents: int = Field(default=0, description="what its payments add up to")
    balance_cents: int = Field(description="amount less paid")
    payment_status: PaymentStatus
    dispatch_id: str | None
    version: int


class TripTicketPage(Page[TripTicketOut]):
    pass


class SalesOrderPage(Page[SalesOrderOut]):
    pass


class InvoicePage(Page[BillingInvoiceOut]):
    pass


class TripTicketQuery(PageQuery):
    store_id: str | None = OptRef
    customer_id: str | None = OptRef
    work_order_id: str | None = OptRef
    unused: bool | None = Field(default=None, description="true: only tickets no dispatch uses")
    q: str | None = Search


class SalesOrderQuery(PageQuery):
    store_id: str | None = OptRef
    customer_id: str | None = OptRef
    status: SalesOrderStatus | None = None
    q: str | None = Search


class InvoiceSort(StrEnum):
    """How the invoice list may be ordered (a leading ``-``: newest or largest first)."""

    NUMBER = "number"
    CREATED_DESC = "-created_at"
    PROCESSED_DESC = "-processed_at"
    BALANCE_DESC = "-balance_cents"


class InvoiceQuery(PageQuery):
    store_id: str | None = OptRef
    sales_order_id: str | None = OptRef
    dispatch_id: str | None = OptRef
    customer_id: str | None = Field(default=None, min_length=1, max_length=64,
                                    description="through the invoice's sales order")
    processed: bool | None = None
    status: PaymentStatus | None = Field(default=None,
                                         description="the payment status: unpaid, partly_paid, paid")
    q: str | None = Search
    sort: InvoiceSort = InvoiceSort.NUMBER
