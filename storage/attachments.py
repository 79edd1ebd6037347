"""Proof-of-work attachments (photos, signatures): bytes stored per work order under their SHA-256.

The hash is the identity, so storing the same bytes again (an offline retry) finds the row that is
there instead of adding one; concurrent stores of the same bytes settle on the primary key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.attachments import Owner
from domain.services.work_orders import AttachmentLookup
from storage import tables as t
from storage.engine import dialect_insert
from storage.uow import SqlUnitOfWork

A = t.attachments
W = t.work_orders
_LISTED = (A.c.sha256, A.c.content_type, A.c.size, A.c.uploaded_by, A.c.uploaded_at)


async def work_order_owner(conn: AsyncConnection, work_order_id: str) -> Owner | None:
    """The work order's store and technician (None when there is no such work order)."""
    row = (await conn.execute(select(W.c.store_id, W.c.technician_id)
                              .where(W.c.id == work_order_id))).first()
    return (row.store_id, row.technician_id) if row is not None else None


async def store_attachment(
    conn: AsyncConnection, *, work_order_id: str, sha256: str, content_type: str, data: bytes,
    uploaded_by: str, at: dt.datetime,
) -> bool:
    """Store the bytes unless the work order holds them already; True when this call added them."""
    values = {"work_order_id": work_order_id, "sha256": sha256, "content_type": content_type,
              "size": len(data), "data": data, "uploaded_by": uploaded_by, "uploaded_at": at}
    statement = (dialect_insert(A, conn.dialect.name).values(**values)
                 .on_conflict_do_nothing(index_elements=[A.c.work_order_id, A.c.sha256])
                 .returning(A.c.sha256))
    return (await conn.execute(statement)).first() is not None


async def count_attachments(conn: AsyncConnection, work_order_id: str) -> int:
    query = select(func.count()).select_from(A).where(A.c.work_order_id == work_order_id)
    return int((await conn.execute(query)).scalar_one())


async def present_hashes(conn: AsyncConnection, work_order_id: str,
                         hashes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` the work order holds."""
    if not hashes:
        return set()
    query = select(A.c.sha256).where(A.c.work_order_id == work_order_id,
                                     A.c.sha256.in_(sorted(set(hashes))))
    return {r.sha256 for r in await conn.execute(query)}


class SqlAttachmentStore:
    """Implements ``domain.ports.AttachmentStore`` on the unit of work's
    connection."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    async def owner(self, work_order_id: str) -> Owner | None:
        return await work_order_owner(self.uow.connection, work_order_id)

    async def count(self, work_order_id: str) -> int:
        return await count_attachments(self.uow.connection, work_order_id)

    async def present(self, work_order_id: str, hashes: Sequence[str]) -> set[str]:
        return await present_hashes(self.uow.connection, work_order_id, hashes)

    async def add(self, *, work_order_id: str, sha256: str, content_type: str, data: bytes,
                  uploaded_by: str, at: dt.datetime) -> bool:
        return await store_attachment(self.uow.connection, work_order_id=work_order_id,
                                      sha256=sha256, content_type=content_type, data=data,
                                      uploaded_by=uploaded_by, at=at)


def attachment_lookup(uow: SqlUnitOfWork) -> AttachmentLookup:
    """What a completion checks its proof against, read in the completing unit of work."""
    async def present(work_order_id: str, hashes: Sequence[str]) -> set[str]:
        return await present_hashes(uow.connection, work_order_id, list(hashes))
    return present


def _listed(row: Any) -> dict[str, Any]:
    return {"sha256": row.sha256, "ref": f"attachment:sha256-{row.sha256}",
            "content_type": row.content_type, "size": row.size, "uploaded_by": row.uploaded_by,
            "uploaded_at": row.uploaded_at.isoformat()}


async def list_attachments(conn: AsyncConnection, work_order_id: str) -> list[dict[str, Any]]:
    """The work order's attachments without their bytes, oldest first."""
    query = (select(*_LISTED).where(A.c.work_order_id == work_order_id)
             .order_by(A.c.uploaded_at, A.c.sha256))
    return [_listed(r) for r in await conn.execute(query)]


async def read_attachment(conn: AsyncConnection, work_order_id: str,
                          sha256: str) -> tuple[dict[str, Any], bytes] | None:
    """One attachment's description and bytes."""
    query = select(*_LISTED, A.c.data).where(A.c.work_order_id == work_order_id,
                                             A.c.sha256 == sha256)
    row = (await conn.execute(query)).first()
    return (_listed(row), bytes(row.data)) if row is not None else None


def _proof_hashes(proof: Any) -> set[str]:
    """The hashes a stored proof refers to (``attachment:sha256-<hash>``)."""
    if not isinstance(proof, dict):
        return set()
    refs = [proof.get("signature_ref"), *(proof.get("photo_refs") or [])]
    return {ref.removeprefix("attachment:sha256-") for ref in refs
            if isinstance(ref, str) and ref.startswith("attachment:sha256-")}


async def prune_unused(conn: AsyncConnection, closed_before: dt.datetime,
                       lookback: dt.timedelta = dt.timedelta(days=2), page: int = 200) -> int:
    """Delete the uploads that a closed work order's proof never used (a retaken photo, an offline
    retry of another capture) for the orders closed in ``[closed_before - lookback,
    closed_before)``: an hourly caller sees each order in many passes, never the whole history.
    What a proof refers to is kept as long as the work order."""
    closed = ("completed", "failed", "cancelled")
    removed = 0
    after: tuple[dt.datetime, str] | None = None
    while True:
        query = (select(W.c.id, W.c.proof, W.c.status_changed_at)
                 .where(W.c.status.in_(closed), W.c.status_changed_at < closed_before,
                        W.c.status_changed_at >= closed_before - lookback,
                        select(A.c.sha256).where(A.c.work_order_id == W.c.id).exists())
                 .order_by(W.c.status_changed_at, W.c.id).limit(page))
        if after is not None:
            query = query.where(tuple_(W.c.status_changed_at, W.c.id) > after)
        orders = (await conn.execute(query)).all()
        held: dict[str, set[str]] = {}
        for r in await conn.execute(select(A.c.work_order_id, A.c.sha256).where(
                A.c.work_order_id.in_([o.id for o in orders]))):
            held.setdefault(r.work_order_id, set()).add(r.sha256)
        for order in orders:
            unused = sorted(held.get(order.id, set()) - _proof_hashes(order.proof))
            if unused:
                result = await conn.execute(A.delete().where(A.c.work_order_id == order.id,
                                                             A.c.sha256.in_(unused)))
                removed += result.rowcount or 0
        if len(orders) < page:
            return removed
        after = (orders[-1].status_changed_at, orders[-1].id)


class AttachmentJanitor:
    """The hourly retention pass's side of attachments (see ``prune_unused``)."""

    def __init__(self, engine: AsyncEngine, keep_unused: dt.timedelta) -> None:
        self.engine = engine
        self.keep_unused = keep_unused

    async def prune(self, now: dt.datetime) -> int:
        async with self.engine.begin() as conn:
            return await prune_unused(conn, now - self.keep_unused)
