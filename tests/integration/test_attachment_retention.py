"""Retention of proof uploads: what a closed order's proof never used goes after a while; what it
uses, and everything of an open order, stays."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t
from storage.attachments import AttachmentJanitor, prune_unused, store_attachment
from tests.integration.helpers import NOW, seed_world


async def add_order(engine: AsyncEngine, id: str, status: str, closed: dt.datetime,
                    proof: dict[str, object] | None, hashes: list[str]) -> None:
    async with engine.begin() as conn:
        row = (await conn.execute(select(t.work_orders).where(t.work_orders.c.id == "wo-1"))
               ).mappings().one()
        await conn.execute(t.work_orders.insert().values(
            {**row, "id": id, "status": status, "status_changed_at": closed, "proof": proof}))
        for h in hashes:
            await store_attachment(conn, work_order_id=id, sha256=h, content_type="image/jpeg",
                                   data=h.encode(), uploaded_by="user-t", at=closed)


async def held(engine: AsyncEngine) -> dict[str, set[str]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.attachments.c.work_order_id,
                                          t.attachments.c.sha256))).all()
    out: dict[str, set[str]] = {}
    for order, sha in rows:
        out.setdefault(order, set()).add(sha)
    return out


async def test_unused_uploads_of_closed_orders_go_and_proofs_stay(engine: AsyncEngine) -> None:
    await seed_world(engine)
    a, b, c, d = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
    proof = {"device_time": NOW.isoformat(), "signature_ref": f"attachment:sha256-{a}",
             "photo_refs": [f"attachment:sha256-{b}"], "notes": ""}
    day = dt.timedelta(days=1)
    await add_order(engine, "wo-done", "completed", NOW - 2 * day, proof, [a, b, c, d])
    await add_order(engine, "wo-open", "on_site", NOW - 2 * day, None, [c])
    await add_order(engine, "wo-recent", "completed", NOW - day / 2, proof, [a, c])
    await add_order(engine, "wo-failed", "failed", NOW - 2 * day, None, [d])

    janitor = AttachmentJanitor(engine, keep_unused=day)
    assert await janitor.prune(NOW) == 3  # c and d of wo-done, d of wo-failed
    assert await held(engine) == {"wo-done": {a, b}, "wo-open": {c}, "wo-recent": {a, c}}
    assert await janitor.prune(NOW) == 0  # nothing twice

    async with engine.begin() as conn:  # long closed: outside the look-back, left alone
        await conn.execute(update(t.work_orders).where(t.work_orders.c.id == "wo-recent")
                           .values(status_changed_at=NOW - 10 * day))
        assert await prune_unused(conn, NOW - day) == 0
        assert await prune_unused(conn, NOW - day, lookback=20 * day, page=1) == 1  # paged
    assert await held(engine) == {"wo-done": {a, b}, "wo-open": {c}, "wo-recent": {a}}
