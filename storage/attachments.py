"""Proof-of-work attachments (photos, signatures): bytes stored per work order under their SHA-256.

The hash is the identity, so storing the same bytes again (an offline retry) finds the row that is
there instead of adding one; concurrent stores of the same bytes settle on the primary key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import tables as t

A = t.attachments
W = t.work_orders
_LISTED = (A.c.sha256, A.c.content_type, A.c.size, A.c.uploaded_by, A.c.uploaded_at)


async def work_order_owner(conn: AsyncConnection, work_order_id: str) -> tuple[str, str | None] | None:
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
    build = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (build(A).values(**values)
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
