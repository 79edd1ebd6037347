from __future__ import annotations

import datetime as dt

import pytest

from domain.dispatch import (
    DISPATCH_TRANSITIONS,
    DispatchPolicy,
    DispatchStatus,
    SalesOrderStatus,
)
from domain.errors import Conflict, InvalidTransition, RuleViolation, ValidationFailed
from tests.unit.factories import NOW, dispatch, invoice, sales_order


def test_a_new_dispatch_is_a_draft_shown_as_pending_until_it_has_an_invoice() -> None:
    d = dispatch()
    assert d.status == DispatchStatus.DRAFT
    assert d.display_status == "pending"
    assert d.created_by == "user-1"
    assert d.date_created == NOW
    d.attach_invoice(invoice())
    assert d.display_status == "draft"
    assert d.snapshot()["dispatch_id"] == d.id


def test_a_trip_ticket_already_used_is_a_conflict() -> None:
    with pytest.raises(Conflict, match="already used") as caught:
        dispatch(trip_ticket_in_use=True)
    assert caught.value.code == "trip_ticket_in_use"


def test_a_unit_is_never_double_booked_at_the_same_datetime() -> None:
    with pytest.raises(Conflict) as caught:
        dispatch(unit_busy=True)
    assert caught.value.code == "unit_double_booked"


def test_the_datetime_may_not_be_in_the_past_unless_the_policy_allows_it() -> None:
    past = NOW - dt.timedelta(hours=1)
    with pytest.raises(RuleViolation, match="past"):
        dispatch(when=past)
    assert dispatch(when=past, policy=DispatchPolicy(allow_past_datetime=True)).datetime == past
    # a few seconds of clock skew is tolerated
    assert dispatch(when=NOW - dt.timedelta(seconds=30)).datetime < NOW


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        dispatch(when=NOW.replace(tzinfo=None) + dt.timedelta(days=1))


def test_only_datetime_and_unit_are_editable() -> None:
    d = dispatch()
    with pytest.raises(ValidationFailed, match="trip_ticket_id"):
        d.edit(changes={"trip_ticket_id": "other"}, now=NOW, policy=DispatchPolicy(),
               unit_busy=False)
    later = NOW + dt.timedelta(days=1)
    d.edit(changes={"datetime": later, "unit": "unit-2"}, now=NOW, policy=DispatchPolicy(),
           unit_busy=False)
    assert (d.datetime, d.unit) == (later, "unit-2")
    assert d.events[-1].payload()["changed"] == ["datetime", "unit"]


def test_an_edit_that_double_books_the_unit_is_refused() -> None:
    d = dispatch()
    with pytest.raises(Conflict) as caught:
        d.edit(changes={"unit": "unit-2"}, now=NOW, policy=DispatchPolicy(), unit_busy=True)
    assert caught.value.code == "unit_double_booked"


def test_completion_needs_at_least_one_invoice() -> None:
    d = dispatch()
    d.change_status(DispatchStatus.SCHEDULED)
    d.change_status(DispatchStatus.DISPATCHED)
    with pytest.raises(RuleViolation, match="invoice"):
        d.change_status(DispatchStatus.COMPLETED)
    d.attach_invoice(invoice())
    d.change_status(DispatchStatus.COMPLETED)
    d.change_status(DispatchStatus.CLOSED)
    assert d.display_status == "closed"


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in DispatchStatus for t in DispatchStatus if t not in DISPATCH_TRANSITIONS[s]],
)
def test_every_lifecycle_move_outside_the_table_is_refused(
    source: DispatchStatus, target: DispatchStatus
) -> None:
    d = dispatch()
    d.attach_invoice(invoice())
    d.status = source
    with pytest.raises(InvalidTransition):
        d.change_status(target)


def test_an_invoice_needs_a_valid_sales_order() -> None:
    order = sales_order()
    order.status = SalesOrderStatus.CANCELLED
    with pytest.raises(RuleViolation, match="valid"):
        invoice(order)


def test_an_invoice_is_linked_to_at_most_one_dispatch() -> None:
    first, second = dispatch(), dispatch()
    inv = invoice()
    first.attach_invoice(inv)
    with pytest.raises(Conflict) as caught:
        second.attach_invoice(inv)
    assert caught.value.code == "invoice_already_linked"
    with pytest.raises(Conflict) as again:
        first.attach_invoice(inv)
    assert again.value.code == "invoice_already_attached"
    assert second.invoice_ids == []


def test_a_processed_invoice_cannot_be_removed() -> None:
    d = dispatch()
    inv = invoice()
    d.attach_invoice(inv)
    inv.mark_processed(NOW, "user-1")
    with pytest.raises(RuleViolation, match="processed"):
        d.detach_invoice(inv)


def test_a_completed_dispatch_keeps_at_least_one_invoice() -> None:
    d = dispatch()
    inv = invoice()
    d.attach_invoice(inv)
    d.status = DispatchStatus.COMPLETED
    with pytest.raises(RuleViolation):
        d.detach_invoice(inv)


def test_deletion_is_soft_releases_invoices_and_is_refused_while_one_is_processed() -> None:
    d = dispatch()
    inv = invoice()
    d.attach_invoice(inv)
    inv.mark_processed(NOW, "user-1")
    with pytest.raises(RuleViolation) as caught:
        d.delete(invoices=[inv], now=NOW)
    assert caught.value.code == "invoice_processed"
    assert not d.is_deleted

    other = dispatch()
    free = invoice(number="INV-2")
    other.attach_invoice(free)
    other.delete(invoices=[free], now=NOW)
    assert other.is_deleted
    assert free.dispatch_id is None
    assert other.events[-1].name == "DispatchDeleted"
    with pytest.raises(RuleViolation, match="deleted"):
        other.edit(changes={"unit": "u"}, now=NOW, policy=DispatchPolicy(), unit_busy=False)


def test_a_closed_dispatch_takes_no_more_invoices() -> None:
    d = dispatch()
    d.attach_invoice(invoice())
    d.status = DispatchStatus.CLOSED
    with pytest.raises(RuleViolation):
        d.attach_invoice(invoice(number="INV-9"))


def test_a_completed_dispatch_can_no_longer_be_edited() -> None:
    d = dispatch()
    d.status = DispatchStatus.COMPLETED
    with pytest.raises(RuleViolation):
        d.edit(changes={"unit": "unit-9"}, now=NOW, policy=DispatchPolicy(), unit_busy=False)
