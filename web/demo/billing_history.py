"""The billing clerk's past months in the demo: jobs finished over the last 90 days, billed and
paid as a real company's would be, so that ``/billing`` opens on a realistic day.

- Jobs finished more than a week ago were dispatched (closed), invoiced and processed a day or
  three later; most are paid in full (once or in two parts), some partly, a few not at all.
- Of the last week's jobs about half are processed; the others' dispatches are completed with
  their invoices waiting (the queue to process), and a few jobs have no invoice yet.

It draws from its own random generator, so the demo's day (``scenario.build``) stays the same.
Everything is built through the domain constructors, like the rest of the demo.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

from domain.billing import Invoice, SalesOrder, TripTicket, main_skill
from domain.dispatch import Dispatch, DispatchStatus
from domain.geo import TimeWindow
from domain.payments import Payment, PaymentMethod
from domain.work_orders import Channel, Priority, WorkOrder, WorkOrderStatus
from web.demo.geography import JOB_TEMPLATES

if TYPE_CHECKING:
    from web.demo.scenario import Scenario

#: The demo's billing clerk (``web/demo/seed.py`` gives the ``billing`` login this id).
CLERK = "user-billing"
SYSTEM_USER = "00000000-0000-0000-0000-000000000000"
DAYS = 90
METHODS = (PaymentMethod.CARD, PaymentMethod.CARD, PaymentMethod.CHECK, PaymentMethod.TRANSFER,
           PaymentMethod.CASH)


def _reference(rng: random.Random, method: PaymentMethod) -> str:
    if method == PaymentMethod.CHECK:
        return f"check {rng.randint(1000, 9999)}"
    if method == PaymentMethod.CARD:
        return f"card ending {rng.randint(1000, 9999)}"
    if method == PaymentMethod.TRANSFER:
        return f"ACH {rng.randint(100000, 999999)}"
    return ""


def billing_history(sc: Scenario, now: dt.datetime, *, seed: int, jobs: int) -> None:
    """Add ``jobs`` finished jobs with their trip tickets, dispatches, sales orders, invoices
    and payments to ``sc``."""
    rng = random.Random(seed * 7919 + 17)
    unit_of = {tech.id: tech.unit_id for tech in sc.technicians if tech.unit_id}
    booked: set[tuple[str, dt.datetime]] = set()
    for i in range(1, jobs + 1):
        customer = sc.customers[rng.randrange(len(sc.customers))]
        store_id = customer.home_store_id or sc.stores[0].id
        text, skill, minutes = rng.choice(JOB_TEMPLATES)
        # a technician of the store who has the skill, else anyone who has it
        able = [t for t in sc.technicians if skill is None or skill in t.skills]
        if not able:
            text, skill, minutes = "Annual maintenance visit", None, 60
            able = list(sc.technicians)
        tech_id = rng.choice([t for t in able if t.home_store_id == store_id] or able).id
        # one job in four finished in the last week, the others over the months before
        recent = i % 4 == 0
        age = dt.timedelta(days=rng.uniform(0.3, 6.5)) if recent else \
            dt.timedelta(days=rng.uniform(7.5, DAYS))
        finished = (now - age).replace(second=0, microsecond=0)
        on_site = finished - dt.timedelta(minutes=minutes)
        en_route = on_site - dt.timedelta(minutes=rng.randint(10, 45))
        created = en_route - dt.timedelta(hours=rng.randint(2, 50))
        assigned = created + dt.timedelta(minutes=rng.randint(3, 90))
        # the window promised at booking: one job in eight was reached after it closed
        hour = on_site.replace(minute=0) - dt.timedelta(hours=1 if i % 8 != 7 else 4)
        assert customer.location is not None
        order = WorkOrder(
            id=f"wo-h{i:05d}", store_id=store_id,
            priority=rng.choices((Priority.HIGH, Priority.NORMAL, Priority.LOW), (2, 6, 2))[0],
            location=customer.location, description=text, created_at=created,
            created_by=SYSTEM_USER, customer_id=customer.id,
            address=customer.address, required_skills=frozenset({skill}) if skill else frozenset(),
            estimated_minutes=minutes, status=WorkOrderStatus.COMPLETED, technician_id=tech_id,
            status_changed_at=finished, en_route_at=en_route, on_site_at=on_site,
            finished_at=finished, assigned_at=assigned,
            time_window=TimeWindow(hour, hour + dt.timedelta(hours=2)),
            channel={0: Channel.PARTNER, 3: Channel.PARTNER, 5: Channel.WEBHOOK}.get(
                i % 10, Channel.PHONE),
        )
        sc.work_orders.append(order)
        if recent and i % 20 == 4:
            continue  # finished, not invoiced yet: the queue shows the job itself
        # of the last week's jobs every other one is processed already
        _bill(sc, rng, order, unit_of.get(tech_id), booked, now,
              processed=not recent or i % 8 == 0, number=i)


def _bill(sc: Scenario, rng: random.Random, order: WorkOrder, unit_id: str | None,
          booked: set[tuple[str, dt.datetime]], now: dt.datetime, *, processed: bool,
          number: int) -> None:
    assert order.on_site_at is not None and order.finished_at is not None
    finished = order.finished_at
    ticket = TripTicket(id=f"tt-h{number:05d}", number=f"TT-H{number:05d}",
                        store_id=order.store_id, created_at=order.created_at,
                        description=f"Trip for {order.description.lower()}",
                        work_order_id=order.id, customer_id=order.customer_id)
    sales = SalesOrder(id=f"so-h{number:05d}", number=f"SO-H{number:05d}",
                       customer_id=order.customer_id or "", store_id=order.store_id,
                       created_at=order.created_at, total_cents=rng.randint(90, 1800) * 100)
    sc.trip_tickets.append(ticket)
    sc.sales_orders.append(sales)
    parts = rng.choice((1, 1, 1, 2))
    dispatch = None
    if unit_id is not None:
        when = order.on_site_at.replace(second=0, microsecond=0)
        while (unit_id, when) in booked:
            when += dt.timedelta(minutes=1)
        booked.add((unit_id, when))
        dispatch = Dispatch(
            id=f"dsp-h{number:05d}", trip_ticket_id=ticket.id, datetime=when, unit=unit_id,
            store_id=order.store_id, date_created=order.created_at, created_by=SYSTEM_USER,
            status=DispatchStatus.CLOSED if processed else DispatchStatus.COMPLETED)
        sc.dispatches.append(dispatch)
    for k in range(1, parts + 1):
        amount = sales.total_cents // parts if k < parts else \
            sales.total_cents - sales.total_cents // parts * (parts - 1)
        processed_at = min(finished + dt.timedelta(hours=rng.randint(4, 72)),
                           now - dt.timedelta(minutes=30))
        invoice = Invoice(
            id=f"inv-h{number:05d}-{k}", number=f"INV-H{number:05d}-{k}",
            sales_order_id=sales.id, store_id=order.store_id, amount_cents=amount,
            created_at=finished, processed=processed,
            processed_at=processed_at if processed else None,
            processed_by=CLERK if processed else None,
            service_line=main_skill(order.required_skills),
            dispatch_id=dispatch.id if dispatch else None)
        if dispatch is not None:
            dispatch.invoice_ids.append(invoice.id)
        sc.invoices.append(invoice)
        if processed:
            _pay(sc, rng, invoice, processed_at, now)


def _pay(sc: Scenario, rng: random.Random, invoice: Invoice, processed_at: dt.datetime,
         now: dt.datetime) -> None:
    """Paid in full (once or in two parts), partly, or not at all (the older, the likelier
    paid)."""
    roll = rng.random()
    if roll < 0.15:
        return
    if roll < 0.4:  # partly paid: a deposit
        amounts = [max(100, invoice.amount_cents * rng.choice((25, 40, 50)) // 100 // 100 * 100)]
    elif roll < 0.55:  # two parts
        first = invoice.amount_cents // 2 // 100 * 100
        amounts = [first, invoice.amount_cents - first]
    else:
        amounts = [invoice.amount_cents]
    received = processed_at
    for k, amount in enumerate(a for a in amounts if a > 0):
        received = min(received + dt.timedelta(days=rng.uniform(0.5, 20)), now)
        method = rng.choice(METHODS)
        sc.payments.append(Payment(
            id=f"pay-{invoice.id.removeprefix('inv-')}-{k + 1}", invoice_id=invoice.id,
            store_id=invoice.store_id, amount_cents=min(amount, invoice.amount_cents),
            method=method, reference=_reference(rng, method), received_at=received,
            recorded_by=CLERK, created_at=received))
