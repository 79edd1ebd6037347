"""Helpers shared by the read queries: scope filters, paging, counting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Principal


def scope_filter(principal: Principal, column: Any) -> ColumnElement[bool]:
    """Rows of the caller's stores only (everything for an unscoped user)."""
    if principal.store_ids is None:
        return true()
    return column.in_(sorted(principal.store_ids))  # type: ignore[no-any-return]


async def fetch_page(
    conn: AsyncConnection, query: Select[Any], *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    total = (await conn.execute(select(func.count()).select_from(query.order_by(None).subquery())
                                )).scalar() or 0
    rows = (await conn.execute(query.limit(limit).offset(offset))).mappings().all()
    return [dict(r) for r in rows], int(total)
