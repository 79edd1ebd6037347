"""The SQL adapter on SQLite and PostgreSQL: round trips, outbox, audit, constraints."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import Conflict, RuleViolation
from domain.services import dispatches as dispatch_uc
from domain.services import work_orders as wo_uc
from domain.work_orders import WorkOrderStatus
from storage import tables as t
from storage.uow import SqlUnitOfWork
from tests.integration.helpers import DISPATCHER, TOMORROW, ctx, seed_world


async def outbox_names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.outbox.c.name).order_by(t.outbox.c.id))
        return list(rows.scalars())


async def test_a_work_order_round_trips_with_its_events_in_the_outbox(engine: AsyncEngine) -> None:
    await seed_world(engine)
    async with SqlUnitOfWork(engine) as uow:
        order = await uow.work_orders.get("wo-1")
        assert order is not None
        assert order.required_skills == frozenset({"hvac"})
        assert order.created_at.tzinfo is not None
        assert order.version == 1
    assert await outbox_names(engine) == ["WorkOrderCreated"]


async def test_assigning_writes_the_change_the_event_and_the_audit_row_together(
    engine: AsyncEngine,
) -> None:
    await seed_world(engine)
    after = await wo_uc.assign_work_order(SqlUnitOfWork(engine, actor=DISPATCHER,
                                                        correlation_id="req-1"),
                                          ctx(), work_order_id="wo-1", technician_id="tech-1",
                                          expected_version=1)
    assert after["status"] == "assigned"
    assert after["version"] == 2
    assert await outbox_names(engine) == ["WorkOrderCreated", "WorkOrderAssigned"]
    async with engine.connect() as conn:
        audit = (await conn.execute(select(t.audit_log))).mappings().one()
    assert audit["actor"] == "dispatcher"
    assert audit["correlation_id"] == "req-1"
    assert audit["before"]["status"] == "new"
    assert audit["after"]["status"] == "assigned"


async def test_a_failed_rule_changes_nothing(engine: AsyncEngine) -> None:
    await seed_world(engine)
    uow = SqlUnitOfWork(engine, actor=DISPATCHER)
    with pytest.raises(RuleViolation):
        await wo_uc.technician_step(uow, ctx(), work_order_id="wo-1", step="accept",
                                    technician_id="tech-1")
    async with SqlUnitOfWork(engine) as check:
        order = await check.work_orders.get("wo-1")
        assert order is not None
        assert order.status == WorkOrderStatus.NEW
    assert await outbox_names(engine) == ["WorkOrderCreated"]


async def test_a_dispatch_with_a_new_invoice_is_stored_with_its_link(engine: AsyncEngine) -> None:
    await seed_world(engine)
    created = await dispatch_uc.create_dispatch(
        SqlUnitOfWork(engine, actor=DISPATCHER), ctx(), trip_ticket_id="tt-1",
        datetime=TOMORROW, unit="unit-1",
        new_invoices=(dispatch_uc.NewInvoice(sales_order_id="so-1", amount_cents=5000),),
    )
    async with SqlUnitOfWork(engine) as uow:
        stored = await uow.dispatches.get(created["id"])
        assert stored is not None
        assert stored.datetime == TOMORROW
        assert len(stored.invoice_ids) == 1
        assert stored.display_status == "draft"
    assert "InvoiceAttached" in await outbox_names(engine)


async def test_the_database_itself_refuses_a_double_booked_unit(engine: AsyncEngine) -> None:
    await seed_world(engine)
    row = {"trip_ticket_id": "tt-1", "datetime": TOMORROW, "unit": "unit-1",
           "store_id": "store-1", "date_created": TOMORROW, "created_by": "x",
           "status": "draft", "version": 1}
    async with engine.begin() as conn:
        await conn.execute(insert(t.dispatches).values(id="d-1", **row))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(t.dispatches).values(id="d-2", **{**row,
                                                                      "trip_ticket_id": "tt-2"}))
    # a soft-deleted dispatch frees the slot
    async with engine.begin() as conn:
        await conn.execute(t.dispatches.update().values(deleted_at=TOMORROW))
        await conn.execute(insert(t.dispatches).values(id="d-3", **row))


async def test_a_reused_trip_ticket_is_a_conflict_even_when_the_check_is_bypassed(
    engine: AsyncEngine,
) -> None:
    await seed_world(engine)
    await dispatch_uc.create_dispatch(SqlUnitOfWork(engine, actor=DISPATCHER), ctx(),
                                      trip_ticket_id="tt-1", datetime=TOMORROW, unit="unit-1")
    async with SqlUnitOfWork(engine, actor=DISPATCHER) as uow:
        from domain.dispatch import Dispatch

        ticket = await uow.trip_tickets.get("tt-1")
        assert ticket is not None
        uow.dispatches.add(Dispatch.create(
            trip_ticket=ticket, datetime=TOMORROW + dt.timedelta(hours=1), unit="unit-2",
            created_by="x", now=TOMORROW - dt.timedelta(days=1), policy=ctx().dispatch_policy,
            unit_busy=False, trip_ticket_in_use=False,
        ))
        with pytest.raises(Conflict) as caught:
            await uow.commit()
    assert caught.value.code == "trip_ticket_in_use"


async def test_an_events_notifications_are_written_together_and_once(engine: AsyncEngine) -> None:
    """The page's post and the text of one event land in one statement (a reader never sees one
    without the other); an event handled again (a replay) writes nothing twice."""
    from domain.notifications import Channel, Notification, NotificationKind
    from storage.notifications import SqlCustomerNotifications

    await seed_world(engine)
    store = SqlCustomerNotifications(engine)
    now = TOMORROW - dt.timedelta(days=1)

    def item(channel: Channel, seq: int) -> Notification:
        return Notification(work_order_id="wo-1", customer_id=None,
                            kind=NotificationKind.BOOKED, channel=channel,
                            recipient="+15555550100" if channel == Channel.SMS else "",
                            text="Booked", event_seq=seq,
                            status="pending" if channel == Channel.SMS else "posted")

    assert await store.record([item(Channel.WEB, 7), item(Channel.SMS, 7)], now) == 2
    assert await store.record([item(Channel.WEB, 7), item(Channel.SMS, 7)], now) == 0
    assert await store.record([item(Channel.WEB, 7), item(Channel.WEB, 8)], now) == 1
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(t.customer_notifications.c.event_seq, t.customer_notifications.c.channel)
            .order_by(t.customer_notifications.c.event_seq, t.customer_notifications.c.channel)
        )).all()
    assert [tuple(r) for r in rows] == [(7, "sms"), (7, "web"), (8, "web")]
