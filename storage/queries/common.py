"""Helpers shared by the read queries: scope filters, paging, counting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.roles import Principal


def scope_filter(principal: Principal, column: Any) -> ColumnElement[bool]:
    """Rows of the caller's stores only (everything for an unscoped user)."""
    if principal.store_ids is None:
        return true()
    return column.in_(sorted(principal.store_ids))  # type: ignore[no-any-return]


#: The column a page's rows carry their list's total in (taken off before they are answered).
TOTAL = "page_total__"


@dataclass(frozen=True)
class PageStatements:
    """A list's page (its rows carrying the total, ``:page_limit`` and ``:page_offset`` bound)
    and its count alone (for a page past the end, which has no row to carry it)."""

    page: Select[Any]
    count: Select[Any]


def page_statements(query: Select[Any], *, count: Select[Any] | None = None) -> PageStatements:
    """One page of ``query`` and how many rows it has in all, in one statement: the count rides
    on every row as an uncorrelated scalar subquery, which the database computes once. (Two
    statements cost a second round trip and, in this process, as much again as the page.)
    ``count``: a cheaper statement with the same rows to count (the list's filters without the
    joins that only add columns)."""
    counted = select(func.count()).select_from(
        (count if count is not None else query).order_by(None).subquery())
    page = (query.add_columns(counted.scalar_subquery().label(TOTAL))
            .limit(bindparam("page_limit", type_=Integer))
            .offset(bindparam("page_offset", type_=Integer)))
    return PageStatements(page, counted)


async def run_page(conn: AsyncConnection, statements: PageStatements, values: dict[str, Any], *,
                   limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The rows of one page (without the total they carried) and the total."""
    rows = (await conn.execute(statements.page, {
        **values, "page_limit": limit, "page_offset": offset})).mappings().all()
    if rows:
        total = rows[0][TOTAL]
    elif offset == 0:
        total = 0
    else:
        total = (await conn.execute(statements.count, values)).scalar() or 0
    page = []
    for row in rows:
        item = dict(row)
        del item[TOTAL]
        page.append(item)
    return page, int(total)


async def fetch_page(
    conn: AsyncConnection, query: Select[Any], *, limit: int, offset: int,
    count: Select[Any] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """``page_statements`` then ``run_page``, for a query built with its values in it."""
    return await run_page(conn, page_statements(query, count=count), {}, limit=limit,
                          offset=offset)

