"""Where a dispatch list request's time goes, phase by phase, in this process (no HTTP):

    python bench/api_profile.py --database-url postgresql://... [--rounds 300]

over a database seeded by ``bench/api.py --keep``: the count, the page (with its joins), the rows
turned into dicts, the response model's validation and the JSON encoding. Each phase is timed on
its own over the same rotation of filters (the 200 vans), wall and CPU time; PostgreSQL's own
time of the statements comes from ``EXPLAIN ANALYZE``. The page and ``SELECT 1`` (what
``/healthz`` asks) straight through the driver are the floor under any code of ours. The page
without its joins shows what the joins cost; the count of the dispatches alone what counting
the joined list cost; the last two lines the whole list as the endpoint reads it, in a
transaction and outside one.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.roles import Principal, Role  # noqa: E402
from storage.engine import create_engine, read_connection  # noqa: E402
from storage.queries import dispatches as q  # noqa: E402
from storage.queries.common import TOTAL, run_page  # noqa: E402
from web.api.dispatch_schemas import DispatchPage, DispatchQuery  # noqa: E402
from web.api.schemas import page  # noqa: E402

DISPATCHER = Principal(user_id="user-dispatcher", username="dispatcher",
                       roles=frozenset({Role.DISPATCHER}))


def filters(n: int, now: dt.datetime) -> dict[str, Any]:
    return {"date_from": now + dt.timedelta(days=2), "date_to": now + dt.timedelta(days=4),
            "unit": f"unit-{n % 200 + 1:04d}", "customer_id": None, "created_by": None,
            "store_id": None, "status": None, "sort": "datetime", "limit": 50, "offset": 0}


def bound(n: int, now: dt.datetime) -> dict[str, Any]:
    f = filters(n, now)
    return {"date_from": f["date_from"], "date_to": f["date_to"], "unit": f["unit"],
            "page_limit": 50, "page_offset": 0}


async def timed(name: str, rounds: int, step: Callable[[int], Awaitable[Any]]) -> None:
    walls, cpus = [], []
    for n in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        await step(n)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    print(f"{name:<40} wall p50 {statistics.median(walls):6.2f} ms  "
          f"CPU mean {statistics.fmean(cpus):6.2f} ms", flush=True)


async def explain(conn: Any, query: Any, values: dict[str, Any]) -> str:
    """PostgreSQL's own planning and execution times, the best of five."""
    sql = query.params(**values).compile(dialect=conn.dialect,
                                         compile_kwargs={"literal_binds": True})
    plans = [(await conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))).scalar()[0]
             for _ in range(5)]
    return (f"planning {min(p['Planning Time'] for p in plans):.2f} ms, "
            f"execution {min(p['Execution Time'] for p in plans):.2f} ms")


async def run(url: str, rounds: int) -> None:
    engine = create_engine(url)
    now = dt.datetime.now(dt.UTC)
    shape = q.list_statements(frozenset({"date_from", "date_to", "unit"}), False, "datetime")
    rows_and_total = shape.page.limit(None).offset(None)
    joined_count = select(func.count()).select_from(rows_and_total.subquery())
    page_only = shape.page.with_only_columns(
        *(c for c in shape.page.selected_columns if c.key != TOTAL))
    try:
        async with engine.connect() as conn:
            values = bound(0, now)
            print(f"EXPLAIN count of the joined list:  {await explain(conn, joined_count, values)}")
            print(f"EXPLAIN count of dispatches alone: {await explain(conn, shape.count, values)}")
            print(f"EXPLAIN page with its total:       {await explain(conn, shape.page, values)}")
            rows = (await conn.execute(page_only, values)).mappings().all()

            async def count(n: int) -> Any:
                return (await conn.execute(joined_count, bound(n, now))).scalar()

            async def count_alone(n: int) -> Any:
                return (await conn.execute(shape.count, bound(n, now))).scalar()

            async def page_rows(n: int) -> Any:
                return (await conn.execute(page_only, bound(n, now))).mappings().all()

            await timed("count of the joined list", rounds, count)
            await timed("count of dispatches alone", rounds, count_alone)
            await timed("page (the joins, the invoice count)", rounds, page_rows)

            # The floor under any code of ours: the page's statement (as SQLAlchemy sends it)
            # and /healthz's SELECT 1, each straight through the driver, no SQLAlchemy.
            compiled = shape.page.compile(dialect=conn.dialect)
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None

            async def page_via_driver(n: int) -> Any:
                params = compiled.construct_params(bound(n, now))
                return await driver.fetch(str(compiled),
                                          *(params[k] for k in compiled.positiontup or ()))

            async def select_one(n: int) -> Any:
                return await driver.fetchval("SELECT 1")

            await timed("page and total, the driver alone", rounds, page_via_driver)
            await timed("SELECT 1, the driver alone", rounds, select_one)

        build = q.list_statements.__wrapped__  # as every request built its statements before
        given = frozenset({"date_from", "date_to", "unit"})

        async def before(n: int) -> Any:
            """As the endpoint read it before: statements built for the request, in a
            transaction, the joined list counted apart."""
            async with engine.connect() as conn:
                page = build(given, False, "datetime").page
                counted = select(func.count()).select_from(page.limit(None).offset(None).subquery())
                total = (await conn.execute(counted, bound(n, now))).scalar()
                rows = (await conn.execute(page.with_only_columns(*(
                    c for c in page.selected_columns if c.key != TOTAL)), bound(n, now))).all()
                return [q._row(dict(r._mapping)) for r in rows], total

        async def one_statement(n: int) -> Any:
            async with engine.connect() as conn:
                rows, total = await run_page(conn, build(given, False, "datetime"),
                                             bound(n, now), limit=50, offset=0)
                return [q._row(r) for r in rows], total

        async def kept(n: int) -> Any:
            async with engine.connect() as conn:
                return await q.list_dispatches(conn, DISPATCHER, **filters(n, now))

        async def after(n: int) -> Any:
            async with read_connection(engine) as conn:
                return await q.list_dispatches(conn, DISPATCHER, **filters(n, now))

        for _ in range(2):  # twice, interleaved: the machine's noise falls on all four
            await timed("list as before: two statements", rounds, before)
            await timed("  one statement with its total", rounds, one_statement)
            await timed("  and kept (built once per shape)", rounds, kept)
            await timed("  and read outside a transaction", rounds, after)
        items = [q._row(dict(r)) for r in rows]
        body = page(items, 192, DispatchQuery(limit=50))

        async def to_dicts(n: int) -> Any:
            return [q._row(dict(r)) for r in rows]

        async def validate(n: int) -> Any:
            return DispatchPage.model_validate(body).model_dump(mode="json")

        dumped = DispatchPage.model_validate(body).model_dump(mode="json")

        async def encode(n: int) -> Any:
            return json.dumps(dumped, ensure_ascii=False, separators=(",", ":")).encode()

        async def validate_to_json(n: int) -> Any:
            return DispatchPage.model_validate(body).model_dump_json()

        await timed("rows -> dicts", rounds, to_dicts)
        await timed("response model: validate + dump", rounds, validate)
        await timed("JSON encoding (json.dumps)", rounds, encode)
        await timed("validate + dump straight to JSON", rounds, validate_to_json)
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
