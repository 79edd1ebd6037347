"""The ledger of partner changes (``intake_changes``) and the unit of work that writes it.

`PartnerChangeUnitOfWork` records the change's row, and moves the order's ``partner_version`` up
to it, in the same transaction as what the change did (the work order's edit or cancellation, or
the alert that it was blocked): two deliveries of one version racing cannot both commit (the
primary key), and a version cannot land after a newer one committed (the guarded update); the
loser rolls back entirely and raises `AlreadyTaken` or `StaleChange`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.partner_orders import (
    AlreadyTaken,
    ChangeClaim,
    ChangeOutcome,
    ChangeRecord,
    StaleChange,
)
from storage import tables as t
from storage.uow import SqlUnitOfWork

C, ORDERS = t.intake_changes, t.intake_orders


class ChangeLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def find(self, source: str, external_id: str, version: int) -> ChangeRecord | None:
        return await self._one(select(C).where(C.c.source == source, C.c.external_id == external_id,
                                               C.c.version == version))

    async def find_webhook(self, webhook_id: str) -> ChangeRecord | None:
        return await self._one(select(C).where(C.c.webhook_id == webhook_id))

    async def _one(self, stmt: Any) -> ChangeRecord | None:
        async with self.engine.connect() as conn:
            r = (await conn.execute(stmt)).mappings().first()
        if r is None:
            return None
        return ChangeRecord(r["source"], r["external_id"], r["version"], r["outcome"],
                            r["work_order_id"], r["webhook_id"])


class PartnerChangeUnitOfWork(SqlUnitOfWork):
    """A unit of work that also records the partner change ``claim`` with its outcome."""

    def __init__(self, engine: AsyncEngine, *, claim: ChangeClaim, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self.claim = claim
        self.outcome: ChangeOutcome | None = None

    def record_partner_change(self, outcome: ChangeOutcome) -> None:
        self.outcome = outcome

    async def commit(self) -> None:
        if self.outcome is not None:
            conn, c = self.connection, self.claim
            try:
                await conn.execute(insert(C).values(
                    source=c.source, external_id=c.external_id, version=c.version, kind=c.kind,
                    outcome=self.outcome.value, work_order_id=c.work_order_id,
                    webhook_id=c.webhook_id, received_at=self.clock()))
            except IntegrityError as error:
                await conn.rollback()
                raise AlreadyTaken(f"version {c.version} of order {c.external_id} was already "
                                   "handled", external_id=c.external_id) from error
            moved = await conn.execute(update(ORDERS).where(
                ORDERS.c.source == c.source, ORDERS.c.external_id == c.external_id,
                ORDERS.c.partner_version < c.version).values(partner_version=c.version))
            if moved.rowcount != 1:
                await conn.rollback()
                raise StaleChange(f"a newer version of order {c.external_id} was handled first")
        await super().commit()
