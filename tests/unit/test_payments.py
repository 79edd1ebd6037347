"""The rules of payments and of processing an invoice (``domain/payments.py``,
``domain/billing.py``): pure, no storage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from domain.billing import GENERAL, Invoice, clean_service_line, main_skill
from domain.errors import RuleViolation, ValidationFailed
from domain.payments import (
    FUTURE_TOLERANCE,
    MAX_REFERENCE,
    Payment,
    PaymentMethod,
    PaymentRecorded,
    PaymentStatus,
    payment_status,
)
from tests.unit.factories import NOW, invoice


def processed(amount: int = 12_000) -> Invoice:
    inv = invoice()
    inv.amount_cents = amount
    inv.mark_processed(NOW, "user-clerk")
    inv.mark_persisted()
    return inv


def receive(inv: Invoice, amount: int, paid: int = 0, **extra: Any) -> Payment:
    return Payment.receive(inv, paid_cents=paid, amount_cents=amount,
                           method=extra.pop("method", PaymentMethod.CARD),
                           recorded_by="user-clerk", now=NOW, **extra)


def test_processing_keeps_who_and_when_once() -> None:
    inv = invoice()
    inv.mark_persisted()
    inv.mark_processed(NOW, "user-clerk")
    assert (inv.processed, inv.processed_at, inv.processed_by) == (True, NOW, "user-clerk")
    assert inv.events[-1].name == "InvoiceProcessed"
    assert inv.events[-1].data["processed_at"] == NOW.isoformat()
    assert inv.events[-1].data["processed_by"] == "user-clerk"
    inv.mark_persisted()
    inv.mark_processed(NOW + dt.timedelta(hours=1), "someone-else")
    assert (inv.processed_at, inv.processed_by, inv.events) == (NOW, "user-clerk", [])
    with pytest.raises(ValidationFailed):
        invoice().mark_processed(NOW.replace(tzinfo=None), "user-clerk")


def test_partial_payments_add_up_to_the_amount_and_no_further() -> None:
    inv = processed(10_000)
    first = receive(inv, 2_500)
    assert first.received_at == NOW and first.recorded_by == "user-clerk"
    assert payment_status(inv.amount_cents, 2_500) == PaymentStatus.PARTLY_PAID
    second = receive(inv, 7_500, paid=2_500, method="check", reference=" check 1001 ")
    assert second.reference == "check 1001" and second.method == PaymentMethod.CHECK
    assert payment_status(inv.amount_cents, 10_000) == PaymentStatus.PAID
    with pytest.raises(RuleViolation) as over:
        receive(inv, 1, paid=10_000)
    assert (over.value.code, over.value.details["field"]) == ("overpayment", "amount_cents")
    with pytest.raises(RuleViolation) as too_much:
        receive(inv, 7_501, paid=2_500)
    assert too_much.value.details["balance_cents"] == 7_500
    assert "$75.00" in too_much.value.message


def test_a_payment_needs_a_processed_invoice() -> None:
    with pytest.raises(RuleViolation) as caught:
        receive(invoice(), 100)
    assert caught.value.code == "invoice_not_processed"


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": 0}, "amount_cents"),
    ({"amount": -5}, "amount_cents"),
    ({"method": "bitcoin"}, "method"),
    ({"reference": "r" * (MAX_REFERENCE + 1)}, "reference"),
])
def test_bad_values_are_refused_naming_their_field(changes: dict[str, Any], field: str) -> None:
    amount = changes.pop("amount", 100)
    with pytest.raises(ValidationFailed) as caught:
        receive(processed(), amount, **changes)
    assert caught.value.details["field"] == field


def test_a_payment_is_not_received_in_the_future_of_the_clock() -> None:
    inv = processed()
    late = receive(inv, 100, received_at=NOW - dt.timedelta(days=3))
    assert late.received_at == NOW - dt.timedelta(days=3)
    assert receive(inv, 100, received_at=NOW + FUTURE_TOLERANCE).received_at > NOW  # skew
    with pytest.raises(RuleViolation) as caught:
        receive(inv, 100, received_at=NOW + FUTURE_TOLERANCE + dt.timedelta(seconds=1))
    assert (caught.value.code, caught.value.details["field"]) == ("received_in_future",
                                                                  "received_at")
    with pytest.raises(ValidationFailed):
        receive(inv, 100, received_at=NOW.replace(tzinfo=None))


def test_a_payment_moves_the_invoice_to_its_next_version_and_records_an_event() -> None:
    inv = processed(5_000)
    version = inv.version
    payment = receive(inv, 2_000, paid=1_000)
    assert inv.version == version + 1, "a concurrent payment's write of the invoice must fail"
    event = payment.events[-1]
    assert isinstance(event, PaymentRecorded)
    assert (event.store_id, event.data["invoice_paid_cents"],
            event.data["invoice_balance_cents"]) == (inv.store_id, 3_000, 2_000)
    assert payment.snapshot()["amount_cents"] == 2_000


def test_refused_payments_leave_the_invoice_as_it_was() -> None:
    inv = processed(5_000)
    version = inv.version
    for amount in (6_000, 0):
        with pytest.raises((RuleViolation, ValidationFailed)):
            receive(inv, amount)
    assert inv.version == version and not inv.is_dirty


def test_payment_status_of_an_invoice() -> None:
    assert payment_status(1_000, 0) == PaymentStatus.UNPAID
    assert payment_status(1_000, 1) == PaymentStatus.PARTLY_PAID
    assert payment_status(1_000, 1_000) == PaymentStatus.PAID
    assert payment_status(0, 0) == PaymentStatus.PAID  # nothing to pay


def test_the_service_line_is_the_jobs_main_skill() -> None:
    assert main_skill(frozenset({"plumbing", "hvac"})) == "hvac"
    assert main_skill(frozenset()) == GENERAL
    assert main_skill(frozenset({"X" * 40})) == "x" * 32
    assert clean_service_line(None) == clean_service_line("  ") == GENERAL
    assert clean_service_line(" Electrical ") == "electrical"
    with pytest.raises(ValidationFailed):
        clean_service_line("x" * 33)
    with pytest.raises(ValidationFailed):
        clean_service_line("a\nb")
