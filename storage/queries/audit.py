"""The audit trail and role delegations: their reads, and the store delegations are written through.

``SqlDelegationStore`` writes on the unit of work's own connection, so a delegation and its audit
row commit (or roll back) together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import desc, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from domain.roles import Delegation, Role
from storage import tables as t
from storage.queries.common import fetch_page
from storage.uow import SqlUnitOfWork


async def list_audit(
    conn: AsyncConnection, *, actor: str | None, actor_id: str | None, action: str | None,
    entity_type: str | None, entity_id: str | None, date_from: dt.datetime | None,
    date_to: dt.datetime | None, limit: int, offset: int,
) -> tuple[list[dict[str, Any]], int]:
    a = t.audit_log
    q = select(a)
    if actor:
        q = q.where(a.c.actor == actor)
    if actor_id:
        q = q.where(a.c.actor_id == actor_id)
    if action:
        q = q.where(a.c.action == action)
    if entity_type:
        q = q.where(a.c.entity_type == entity_type)
    if entity_id:
        q = q.where(a.c.entity_id == entity_id)
    if date_from is not None:
        q = q.where(a.c.at >= date_from)
    if date_to is not None:
        q = q.where(a.c.at <= date_to)
    q = q.order_by(desc(a.c.at), desc(a.c.id))
    rows, total = await fetch_page(conn, q, limit=limit, offset=offset)
    for row in rows:
        row["id"] = str(row["id"])
    return rows, total


def _delegation_query() -> Any:
    d = t.role_delegations
    giver = aliased(t.users, name="giver")
    taker = aliased(t.users, name="taker")
    return (select(d, giver.c.username.label("from_username"),
                   taker.c.username.label("to_username"))
            .join(giver, giver.c.id == d.c.from_user_id)
            .join(taker, taker.c.id == d.c.to_user_id))


async def list_delegations(
    conn: AsyncConnection, *, user_id: str | None, active_at: dt.datetime | None, limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Delegations given or received by ``user_id`` (every one when it is None), newest first."""
    d = t.role_delegations
    q = _delegation_query()
    if user_id is not None:
        q = q.where(or_(d.c.from_user_id == user_id, d.c.to_user_id == user_id))
    if active_at is not None:
        q = q.where(d.c.starts_at <= active_at, d.c.ends_at > active_at)
    q = q.order_by(desc(d.c.created_at), desc(d.c.id))
    return await fetch_page(conn, q, limit=limit, offset=offset)


async def delegation_detail(conn: AsyncConnection, delegation_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_delegation_query().where(t.role_delegations.c.id == delegation_id))
           ).mappings().first()
    return None if row is None else dict(row)


class SqlDelegationStore:
    """Delegations on the unit of work's connection (its transaction, its commit), looked up when
    used, so the store can be made before the use case opens the unit of work."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    @property
    def conn(self) -> AsyncConnection:
        return self.uow.connection

    async def add(self, delegation: Delegation, *, created_at: dt.datetime) -> None:
        await self.conn.execute(insert(t.role_delegations).values(
            id=delegation.id, from_user_id=delegation.from_user_id,
            to_user_id=delegation.to_user_id, role=delegation.role.value,
            starts_at=delegation.starts_at, ends_at=delegation.ends_at, created_at=created_at,
        ))

    async def get(self, delegation_id: str) -> Delegation | None:
        d = t.role_delegations
        row = (await self.conn.execute(select(d).where(d.c.id == delegation_id))
               ).mappings().first()
        if row is None:
            return None
        return Delegation(id=row["id"], from_user_id=row["from_user_id"],
                          to_user_id=row["to_user_id"], role=Role(row["role"]),
                          starts_at=row["starts_at"], ends_at=row["ends_at"])

    async def end(self, delegation_id: str, *, at: dt.datetime) -> None:
        d = t.role_delegations
        await self.conn.execute(update(d).where(d.c.id == delegation_id).values(ends_at=at))
