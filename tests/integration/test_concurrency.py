"""Real concurrency on both databases: the rules hold when requests race."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import Conflict, DomainError
from domain.services import dispatches as dispatch_uc
from domain.services import work_orders as wo_uc
from storage import tables as t
from storage.uow import SqlUnitOfWork
from tests.integration.helpers import DISPATCHER, TOMORROW, ctx, seed_world


async def test_fifty_concurrent_bookings_of_one_unit_leave_exactly_one_dispatch(
    engine: AsyncEngine,
) -> None:
    await seed_world(engine, tickets=50)

    async def book(n: int) -> str:
        try:
            await dispatch_uc.create_dispatch(
                SqlUnitOfWork(engine, actor=DISPATCHER), ctx(), trip_ticket_id=f"tt-{n}",
                datetime=TOMORROW, unit="unit-1",
            )
            return "ok"
        except Conflict as error:  # the use case's check or the unique index: one error, one code
            return error.code
        except DomainError as error:
            return f"not a conflict: {error.code}"

    results = await asyncio.gather(*(book(n) for n in range(1, 51)))
    assert results.count("ok") == 1
    assert sorted(set(results) - {"ok"}) == ["unit_double_booked"]
    assert results.count("unit_double_booked") == 49
    async with engine.connect() as conn:
        live = (await conn.execute(select(func.count()).select_from(t.dispatches))).scalar()
    assert live == 1


async def test_two_concurrent_edits_of_one_work_order_one_wins_the_other_conflicts(
    engine: AsyncEngine,
) -> None:
    await seed_world(engine)
    start = asyncio.Event()

    async def edit(description: str) -> str:
        # Both clients saw version 1 on their screens and send it with the edit.
        uow = SqlUnitOfWork(engine, actor=DISPATCHER)
        await start.wait()
        try:
            await wo_uc.update_work_order(uow, ctx(), work_order_id="wo-1",
                                          changes={"description": description},
                                          expected_version=1)
            return "ok"
        except Conflict as error:
            return error.code

    tasks = [asyncio.create_task(edit(d)) for d in ("First edit", "Second edit")]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    assert results.count("ok") == 1
    assert len({"stale_version", "concurrent_modification"} & set(results)) == 1
    async with SqlUnitOfWork(engine) as check:
        final = await check.work_orders.get("wo-1")
        assert final is not None
        assert final.version == 2


async def test_an_edit_that_read_an_old_version_loses_to_one_that_committed(
    engine: AsyncEngine,
) -> None:
    """Interleaved explicitly: both read version 1, the first commits, the second must fail."""
    await seed_world(engine)
    first = SqlUnitOfWork(engine, actor=DISPATCHER)
    second = SqlUnitOfWork(engine, actor=DISPATCHER)
    async with first:
        a = await first.work_orders.get("wo-1")
        assert a is not None
        a.update_details(description="Edited by A")
        await first.commit()
    async with second:
        # simulate a reader that loaded version 1 before A committed
        b = await second.work_orders.get("wo-1")
        assert b is not None
        b.version = b.loaded_version = 1
        b.update_details(description="Edited by B")
        try:
            await second.commit()
            outcome = "ok"
        except Conflict as error:
            outcome = error.code
    assert outcome == "concurrent_modification"
    async with SqlUnitOfWork(engine) as check:
        final = await check.work_orders.get("wo-1")
        assert final is not None
        assert final.description == "Edited by A"
