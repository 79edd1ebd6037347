"""Payments: money received against an invoice.

Rules:

- an amount is a whole number of cents above zero;
- the method is one of ``PaymentMethod`` (cash, card, check, transfer, other);
- the reference (a check number, a card slip, a transfer id) is at most 128 characters;
- a payment is taken only against a *processed* invoice: processing is when billing checks the
  invoice and bills the customer, so money is not booked against a bill the customer was never
  sent (code ``invoice_not_processed``);
- partial payments add up; no payment may take the invoice above its amount: the amount is at most
  the remaining balance (``RuleViolation`` on ``amount_cents``, code ``overpayment``);
- ``received_at`` (when the money came in; the clock's now when not given) may not lie in the
  future of the clock (a minute of clock skew between a browser and the server is tolerated).

Recording a payment also moves the invoice to its next version, so two payments recorded at the
same moment against one invoice cannot both pass the balance check: the second one's write of the
invoice finds another version (``ConcurrencyConflict``), or, where writers queue, it sees the first
payment and the smaller balance.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from domain import events as ev
from domain.aggregate import Aggregate, new_id
from domain.billing import Invoice
from domain.errors import RuleViolation, ValidationFailed
from domain.geo import ensure_aware

MAX_REFERENCE = 128
#: How far ahead of the clock a ``received_at`` may be (a browser's clock runs a little fast).
FUTURE_TOLERANCE = dt.timedelta(minutes=1)


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    CARD = "card"
    CHECK = "check"
    TRANSFER = "transfer"
    OTHER = "other"


class PaymentStatus(enum.StrEnum):
    """Where an invoice stands with its payments."""

    UNPAID = "unpaid"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"


def payment_status(amount_cents: int, paid_cents: int) -> PaymentStatus:
    """Paid once nothing is left (an invoice of zero is paid); partly paid after some money."""
    if paid_cents >= amount_cents:
        return PaymentStatus.PAID
    return PaymentStatus.PARTLY_PAID if paid_cents > 0 else PaymentStatus.UNPAID


class PaymentRecorded(ev.BillingEvent):
    pass


class Payment(Aggregate):
    def __init__(
        self,
        *,
        invoice_id: str,
        store_id: str,
        amount_cents: int,
        method: PaymentMethod | str,
        received_at: dt.datetime,
        recorded_by: str,
        created_at: dt.datetime,
        reference: str = "",
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
            raise ValidationFailed("an amount is a whole number of cents", field="amount_cents")
        if amount_cents <= 0:
            raise ValidationFailed("a payment must be more than zero", field="amount_cents")
        try:
            self.method = PaymentMethod(method)
        except ValueError as error:
            choices = ", ".join(m.value for m in PaymentMethod)
            raise ValidationFailed(f"the method is one of {choices}", field="method") from error
        reference = reference.strip()
        if len(reference) > MAX_REFERENCE:
            raise ValidationFailed(f"a reference is at most {MAX_REFERENCE} characters",
                                   field="reference")
        if not recorded_by:
            raise ValidationFailed("a payment needs the user who records it", field="recorded_by")
        self.id = id or new_id()
        self.invoice_id = invoice_id
        self.store_id = store_id
        self.amount_cents = amount_cents
        self.reference = reference
        self.received_at = ensure_aware(received_at, "received_at")
        self.recorded_by = recorded_by
        self.created_at = ensure_aware(created_at, "created_at")

    @classmethod
    def receive(
        cls,
        invoice: Invoice,
        *,
        paid_cents: int,
        amount_cents: int,
        method: PaymentMethod | str,
        recorded_by: str,
        now: dt.datetime,
        reference: str = "",
        received_at: dt.datetime | None = None,
    ) -> Payment:
        """A payment of ``amount_cents`` against ``invoice``, which has ``paid_cents`` already."""
        received = ensure_aware(received_at, "received_at") if received_at else now
        if received > now + FUTURE_TOLERANCE:
            raise RuleViolation("a payment cannot be received in the future",
                                field="received_at", code="received_in_future")
        payment = cls(invoice_id=invoice.id, store_id=invoice.store_id, amount_cents=amount_cents,
                      method=method, reference=reference, received_at=received,
                      recorded_by=recorded_by, created_at=now)
        if not invoice.processed:
            raise RuleViolation(
                f"invoice {invoice.number} is not processed yet; process it before taking "
                "payments", field="invoice_id", code="invoice_not_processed")
        balance = invoice.amount_cents - paid_cents
        if amount_cents > balance:
            raise RuleViolation(
                f"the payment is more than the balance of invoice {invoice.number} "
                f"({_dollars(balance)} left)",
                field="amount_cents", code="overpayment", balance_cents=balance)
        # The invoice's next version: a concurrent payment against it cannot also pass the check.
        invoice.touch()
        payment.touch()
        paid = paid_cents + amount_cents
        payment._record(PaymentRecorded, store_id=payment.store_id, data={
            **payment.snapshot(), "invoice_paid_cents": paid,
            "invoice_balance_cents": invoice.amount_cents - paid,
        })
        return payment

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "invoice_id": self.invoice_id,
            "store_id": self.store_id,
            "amount_cents": self.amount_cents,
            "method": self.method.value,
            "reference": self.reference,
            "received_at": self.received_at.isoformat(),
            "recorded_by": self.recorded_by,
            "created_at": self.created_at.isoformat(),
            "version": self.version,
        }


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}" if cents >= 0 else f"-{_dollars(-cents)}"
