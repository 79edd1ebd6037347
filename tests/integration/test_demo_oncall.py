"""The demo's on-call rota: ``dispatch demo`` seeds phones, e-mail addresses and weekly shifts so
that every escalation level names someone at any instant of the demo's day, in the stores' zone."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.roles import Permission
from storage import tables as t
from storage.oncall import SqlRotaReader
from storage.uow import SqlUnitOfWork
from web.demo.seed import prepare_demo_day, seed

NOW = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)  # a Sunday, 9:00 in Texas
FICTIONAL = re.compile(r"^\+1\d{3}55501\d{2}$")


async def _demo(engine: AsyncEngine, now: dt.datetime) -> str:
    """What ``dispatch demo`` does before serving, for a small company."""
    return await prepare_demo_day(engine, now, stores=4, technicians=6, orders=20, random_seed=1)


@pytest.fixture
async def demo(engine: AsyncEngine) -> AsyncEngine:
    """An empty database that ``dispatch demo`` has seeded for ``NOW``."""
    assert "seeded in" in await _demo(engine, NOW)
    return engine


async def _count(engine: AsyncEngine, table: Table, *where: ColumnElement[bool]) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))
                    ).scalar() or 0)


async def _who(engine: AsyncEngine, at: dt.datetime, store_id: str | None) -> dict[int, list[str]]:
    """Usernames on call per level, resolved the way escalations and ``/api/oncall/now`` do."""
    reader = SqlRotaReader(engine)
    rota, zones = await reader.rota(at), await reader.zones()
    answers = [rota.on_call(level, store_id, at, zones.of(store_id)) for level in (1, 2, 3)]
    people = await reader.people({u for a in answers for u in a.user_ids})
    return {a.level: [people[u]["username"] for u in a.user_ids] for a in answers}


@pytest.mark.parametrize(("hours", "level_1"), [
    (0, "dispatcher"),    # 9:00 Sunday
    (9.5, "dispatcher"),  # 18:30
    (10, "operations"),   # 19:00: the night begins
    (18, "operations"),   # 3:00 Monday, a night that began on Sunday
    (22, "dispatcher"),   # 7:00 Monday
])
async def test_the_demo_rota_names_someone_for_every_level(
        demo: AsyncEngine, hours: float, level_1: str) -> None:
    at = NOW + dt.timedelta(hours=hours)
    async with demo.connect() as conn:
        stores = (await conn.execute(select(t.stores.c.id).order_by(t.stores.c.id))
                  ).scalars().all()
    for store_id in [*stores, None]:  # every store, and system alerts
        assert await _who(demo, at, store_id) == {
            1: [level_1], 2: ["operations"], 3: ["admin"]}, (store_id, at)


async def test_those_who_escalate_get_fictional_numbers_and_addresses(demo: AsyncEngine) -> None:
    reader = SqlRotaReader(demo)
    people = {p["username"]: p for p in (await reader.people()).values()}
    assert sorted(people) == ["admin", "dispatcher", "manager", "operations"]
    phones = [p["phone"] for p in people.values()]
    assert all(FICTIONAL.match(phone) for phone in phones) and len(set(phones)) == 4
    contacts = {c["username"]: c for c in await reader.contacts()}
    assert {u: c["email"] for u, c in contacts.items()} == {
        u: f"{u}@example.com" for u in people}
    # what the rota's use cases ask of a person on call: a phone, may acknowledge alerts,
    # and (every store being covered) no store scope
    shifts = await reader.shifts()
    assert len(shifts) == 4
    async with SqlUnitOfWork(demo) as uow:
        for line in shifts:
            user = await uow.users.get(line["user_id"])
            assert user is not None and user.phone
            principal = user.principal()
            assert principal.can(Permission.ALERT_ACK) and principal.store_ids is None


async def test_a_new_demo_day_seeds_the_rota_afresh(demo: AsyncEngine) -> None:
    tomorrow = NOW + dt.timedelta(days=1)
    assert "new day" in await _demo(demo, tomorrow)
    assert await _count(demo, t.oncall_shifts) == await _count(demo, t.alert_contacts) == 4
    assert (await _who(demo, tomorrow, None))[1] == ["dispatcher"]


async def test_other_seeds_leave_the_rota_and_phones_empty(engine: AsyncEngine) -> None:
    # what tests and benchmarks seed
    await seed(engine, stores=4, technicians=6, orders=20, seed=1, now=NOW, progress=False)
    assert await _count(engine, t.oncall_shifts) == 0
    assert await _count(engine, t.users, t.users.c.phone != "") == 0
