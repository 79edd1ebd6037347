"""The intake ledger: which partner order became which work order, and which webhook was handled.

`IntakeUnitOfWork` writes the ledger row in the same transaction as the work order the use case
creates, so "one work order per (source, external id)" holds even when a webhook and a poll, or two
redeliveries, race: the loser's whole transaction rolls back and it raises `AlreadyTaken`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.partner_orders import AlreadyTaken, IntakeClaim, IntakeRecord
from domain.roles import Principal
from storage import tables as t
from storage.queries.work_orders import work_order_detail
from storage.uow import SqlUnitOfWork

I = t.intake_orders  # noqa: E741 - the table's short name, as elsewhere in storage


def _record(row: Any) -> IntakeRecord:
    return IntakeRecord(row["source"], row["external_id"], row["work_order_id"], row["webhook_id"],
                        row["partner_version"])


class IntakeLedger:
    """Reads of the ledger (and the store lookup and the work order the intake answers)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def find(self, source: str, external_id: str) -> IntakeRecord | None:
        return await self._one(select(I).where(I.c.source == source,
                                               I.c.external_id == external_id))

    async def find_webhook(self, webhook_id: str) -> IntakeRecord | None:
        return await self._one(select(I).where(I.c.webhook_id == webhook_id))

    async def _one(self, stmt: Any) -> IntakeRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _record(row)

    async def store_id_for_code(self, code: str) -> str | None:
        s = t.stores
        async with self.engine.connect() as conn:
            value = (await conn.execute(select(s.c.id).where(s.c.code == code))).scalar()
        return None if value is None else str(value)

    async def work_order(self, principal: Principal, work_order_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            return await work_order_detail(conn, principal, work_order_id)


class IntakeUnitOfWork(SqlUnitOfWork):
    """A unit of work that also records ``claim`` for the one work order it creates."""

    def __init__(self, engine: AsyncEngine, *, claim: IntakeClaim, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self.claim = claim

    async def commit(self) -> None:
        created = [o for o in self.work_orders.seen.values() if o.is_new]
        if len(created) == 1:
            conn = self.connection
            c = self.claim
            try:
                await conn.execute(insert(I).values(
                    source=c.source, external_id=c.external_id, work_order_id=created[0].id,
                    webhook_id=c.webhook_id, received_at=self.clock(), partner_version=c.version,
                ))
            except IntegrityError as error:
                await conn.rollback()
                raise AlreadyTaken(f"order {c.external_id} from {c.source} was already taken",
                                   external_id=c.external_id) from error
        await super().commit()
