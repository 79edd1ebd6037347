"""Request and response models of the billing queue, balance and payment endpoints (``billing.py``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from domain.payments import MAX_REFERENCE, PaymentMethod
from web.api.schemas import Out, Page, PageQuery, Strict
from web.fields import Instant

OptRef = Field(default=None, min_length=1, max_length=64)
#: The largest payment the edge takes (the invoice's balance is the real limit).
MAX_CENTS = 2_000_000_000


class QueueQuery(PageQuery):
    store_id: str | None = OptRef


class QueueInvoice(Out):
    id: str
    number: str
    amount_cents: int


class QueueItemOut(Out):
    kind: str = Field(description="dispatch, invoice or work_order")
    id: str = Field(description="the dispatch's, invoice's or work order's id (per kind)")
    since: dt.datetime = Field(description="the dispatch's datetime, the invoice's creation, "
                                           "or when the job was finished")
    store_id: str
    customer_id: str | None
    customer_name: str | None
    number: str | None = Field(description="the trip ticket's number (dispatch) or the invoice's")
    status: str = Field(description="the dispatch's or job's status; unprocessed (invoice)")
    dispatch_id: str | None
    work_order_id: str | None
    amount_cents: int | None = Field(description="what its unprocessed invoices amount to "
                                                 "(null for a job with no invoice)")
    description: str
    invoices: list[QueueInvoice] = Field(description="the invoices waiting to be processed")


class QueuePage(Page[QueueItemOut]):
    pass


class BalanceQuery(PageQuery):
    store_id: str | None = OptRef
    owing: bool | None = Field(default=None,
                               description="true: only customers who owe something")
    q: str | None = Field(default=None, min_length=1, max_length=100,
                          description="part of the customer's name, or their id")


class BalanceOut(Out):
    customer_id: str
    customer_name: str | None
    invoice_count: int = Field(description="processed invoices")
    open_invoices: int = Field(description="processed invoices with something left to pay")
    billed_cents: int
    paid_cents: int
    balance_cents: int


class Totals(Out):
    billed_cents: int
    paid_cents: int
    balance_cents: int


class BalancePage(Page[BalanceOut]):
    totals: Totals = Field(description="over every customer that matches, not only this page")


class PaymentIn(Strict):
    amount_cents: int = Field(ge=1, le=MAX_CENTS, description="integer cents, above zero")
    method: PaymentMethod
    reference: str = Field(default="", max_length=MAX_REFERENCE,
                           description="a check number, card slip or transfer id")
    received_at: Instant | None = Field(default=None,
                                        description="when it was received (default: now)")


class InvoiceBalanceOut(Out):
    id: str
    number: str
    amount_cents: int
    processed: bool
    paid_cents: int
    balance_cents: int
    payment_status: str = Field(description="unpaid, partly_paid or paid")
    version: int


class PaymentOut(Out):
    id: str
    invoice_id: str
    store_id: str
    amount_cents: int
    method: str
    reference: str
    received_at: dt.datetime
    recorded_by: str
    recorded_by_name: str | None = None
    created_at: dt.datetime
    version: int


class RecordedPaymentOut(PaymentOut):
    invoice: InvoiceBalanceOut = Field(description="the invoice after this payment")


class PaymentPage(Page[PaymentOut]):
    invoice: InvoiceBalanceOut
