"""The on-call rota in the database: shifts and overrides (``storage/alert_delivery_tables.py``).

``SqlOnCallStore`` writes within a unit of work (the rota's use cases, audited in the same
transaction); ``SqlRotaReader`` reads what the escalations and the pages need: the rota in force,
each store's time zone, the lists with the people's names, who may be put on call.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import ConcurrencyConflict
from domain.oncall import (
    ContactIn,
    Override,
    Rota,
    Shift,
    StoredLine,
    Zones,
    parse_time,
    weekday_names,
)
from storage import tables as t
from storage.uow import SqlUnitOfWork

log = logging.getLogger("dispatch.oncall")
S, OV = t.oncall_shifts, t.oncall_overrides


def shift_from_row(row: Any) -> tuple[Shift, StoredLine]:
    shift = Shift(id=row["id"], level=row["level"], user_id=row["user_id"],
                  weekdays=frozenset(int(d) for d in row["weekdays"] or ()),
                  starts=parse_time(row["starts"], "starts"), ends=parse_time(row["ends"], "ends"),
                  store_ids=frozenset(row["store_ids"] or ()))
    return shift, StoredLine(row["version"], row["note"])


def override_from_row(row: Any) -> tuple[Override, StoredLine]:
    override = Override(id=row["id"], level=row["level"], user_id=row["user_id"],
                        starts_at=row["starts_at"], ends_at=row["ends_at"],
                        store_ids=frozenset(row["store_ids"] or ()),
                        replaces_user_id=row["replaces_user_id"])
    return override, StoredLine(row["version"], row["note"])


def _shift_values(shift: Shift) -> dict[str, Any]:
    return {"level": shift.level, "user_id": shift.user_id, "weekdays": sorted(shift.weekdays),
            "starts": shift.starts.strftime("%H:%M"), "ends": shift.ends.strftime("%H:%M"),
            "store_ids": sorted(shift.store_ids)}


class SqlOnCallStore:
    """Implements ``domain.ports.OnCallStore`` and ``ContactStore`` on the unit of work's
    connection."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    @property
    def conn(self) -> AsyncConnection:
        return self.uow.connection

    async def add_shift(self, shift: Shift, *, note: str, at: dt.datetime, by: str) -> None:
        await self.conn.execute(insert(S).values(
            id=shift.id, note=note, created_at=at, created_by=by, version=1,
            **_shift_values(shift)))

    async def shift(self, shift_id: str) -> tuple[Shift, StoredLine] | None:
        row = (await self.conn.execute(select(S).where(S.c.id == shift_id))).mappings().first()
        return shift_from_row(row) if row is not None else None

    async def replace_shift(self, shift: Shift, *, note: str, version: int) -> None:
        done = await self.conn.execute(
            update(S).where(S.c.id == shift.id, S.c.version == version)
            .values(note=note, version=version + 1, **_shift_values(shift)))
        if done.rowcount != 1:
            raise ConcurrencyConflict(f"on-call shift {shift.id} was changed meanwhile")

    async def remove_shift(self, shift_id: str) -> None:
        await self.conn.execute(delete(S).where(S.c.id == shift_id))

    async def add_override(self, override: Override, *, note: str, at: dt.datetime,
                           by: str) -> None:
        await self.conn.execute(insert(OV).values(
            id=override.id, level=override.level, user_id=override.user_id,
            replaces_user_id=override.replaces_user_id, starts_at=override.starts_at,
            ends_at=override.ends_at, store_ids=sorted(override.store_ids), note=note,
            created_at=at, created_by=by, version=1))

    async def override(self, override_id: str) -> tuple[Override, StoredLine] | None:
        row = (await self.conn.execute(select(OV).where(OV.c.id == override_id))
               ).mappings().first()
        return override_from_row(row) if row is not None else None

    async def remove_override(self, override_id: str) -> None:
        await self.conn.execute(delete(OV).where(OV.c.id == override_id))

    async def contact(self, user_id: str) -> dict[str, Any] | None:
        c = t.alert_contacts
        row = (await self.conn.execute(select(c.c.user_id, c.c.email, c.c.quiet_starts,
                                              c.c.quiet_ends, c.c.timezone)
                                       .where(c.c.user_id == user_id))).mappings().first()
        return dict(row) if row is not None else None

    async def set_contact(self, user_id: str, contact: ContactIn, *, at: dt.datetime) -> None:
        c = t.alert_contacts
        values = {"email": contact.email, "quiet_starts": contact.quiet_starts,
                  "quiet_ends": contact.quiet_ends, "timezone": contact.timezone,
                  "updated_at": at}
        done = await self.conn.execute(update(c).where(c.c.user_id == user_id)
                                       .values(version=c.c.version + 1, **values))
        if done.rowcount != 1:
            await self.conn.execute(insert(c).values(user_id=user_id, version=1, **values))


def zone(name: str | None, default: dt.tzinfo) -> dt.tzinfo:
    try:
        return ZoneInfo(name) if name else default
    except (ZoneInfoNotFoundError, ValueError):
        return default


class SqlRotaReader:
    def __init__(self, engine: AsyncEngine, *, company_zone: str | None = None) -> None:
        self.engine = engine
        self.company_zone = company_zone

    async def rota(self, now: dt.datetime) -> Rota:
        """Every shift, and the overrides not over at ``now``."""
        async with self.engine.connect() as conn:
            shifts = (await conn.execute(select(S))).mappings().all()
            overrides = (await conn.execute(select(OV).where(OV.c.ends_at > now))).mappings().all()
        return Rota(tuple(shift_from_row(r)[0] for r in shifts),
                    tuple(override_from_row(r)[0] for r in overrides))

    async def zones(self) -> Zones:
        """Each store's zone; the company's is ``company_zone`` or the zone most stores use."""
        st = t.stores
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(st.c.id, st.c.timezone))).all()
            common = (await conn.execute(
                select(st.c.timezone).group_by(st.c.timezone)
                .order_by(func.count().desc(), st.c.timezone).limit(1))).scalar()
        default = zone(self.company_zone or common, dt.UTC)
        return Zones({r[0]: zone(r[1], default) for r in rows}, default=default)

    async def shifts(self) -> list[dict[str, Any]]:
        u = t.users
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(S, u.c.username, u.c.display_name).join(u, u.c.id == S.c.user_id)
                .order_by(S.c.level, S.c.starts, u.c.username))).mappings().all()
        return [{**dict(r), "weekdays": weekday_names(r["weekdays"] or ()),
                 "store_ids": sorted(r["store_ids"] or ())} for r in rows]

    async def overrides(self, now: dt.datetime) -> list[dict[str, Any]]:
        """The overrides not over yet, soonest first."""
        u, r = t.users, t.users.alias("replaced")
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(OV, u.c.username, u.c.display_name,
                       r.c.username.label("replaces_username"))
                .join(u, u.c.id == OV.c.user_id).outerjoin(r, r.c.id == OV.c.replaces_user_id)
                .where(OV.c.ends_at > now).order_by(OV.c.starts_at, OV.c.id))).mappings().all()
        return [{**dict(row), "store_ids": sorted(row["store_ids"] or ())} for row in rows]

    async def contacts(self) -> list[dict[str, Any]]:
        """Active users with a phone and their alert contact settings (blank when none)."""
        u, c = t.users, t.alert_contacts
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(u.c.id.label("user_id"), u.c.username, u.c.display_name, c.c.email,
                       c.c.quiet_starts, c.c.quiet_ends, c.c.timezone)
                .outerjoin(c, c.c.user_id == u.c.id)
                .where(u.c.active.is_(True), u.c.phone != "").order_by(u.c.username)
            )).mappings().all()
        return [{**dict(r), "email": r["email"] or "", "timezone": r["timezone"] or ""}
                for r in rows]

    async def people(self, user_ids: set[str] | None = None) -> dict[str, dict[str, Any]]:
        """Active users with a phone (by id): who may be put on call (``user_ids``: only those)."""
        u = t.users
        query = select(u.c.id, u.c.username, u.c.display_name, u.c.phone, u.c.roles,
                       u.c.store_ids).where(u.c.active.is_(True), u.c.phone != "")
        if user_ids is not None:
            query = query.where(u.c.id.in_(sorted(user_ids)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(u.c.username))).mappings().all()
        return {r["id"]: {**dict(r), "roles": sorted(r["roles"] or ()),
                          "store_ids": sorted(r["store_ids"] or ())} for r in rows}
