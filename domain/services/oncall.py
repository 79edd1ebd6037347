"""Use cases of the on-call rota: add, change and remove shifts; add and remove overrides.

Admins (``oncall:manage``) edit; every change is audited with before and after. The person on a
shift or an override must be an active user with a phone number who may acknowledge alerts
(``alert:ack``), within their store scope: a call they answer with 1 must be able to
acknowledge the alert it was about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from domain.aggregate import new_id
from domain.errors import NotFound, RuleViolation
from domain.oncall import (
    ContactIn,
    Override,
    Shift,
    StoredLine,
    check_level,
    parse_time,
    parse_weekdays,
    weekday_names,
)
from domain.ports import ContactStore, OnCallStore, UnitOfWork
from domain.roles import Permission
from domain.services.context import Context, check_version


def shift_snapshot(shift: Shift, stored: StoredLine) -> dict[str, Any]:
    return {"id": shift.id, "level": shift.level, "user_id": shift.user_id,
            "weekdays": weekday_names(shift.weekdays), "starts": shift.starts.strftime("%H:%M"),
            "ends": shift.ends.strftime("%H:%M"), "store_ids": sorted(shift.store_ids),
            "note": stored.note, "version": stored.version}


def override_snapshot(override: Override, stored: StoredLine) -> dict[str, Any]:
    return {"id": override.id, "level": override.level, "user_id": override.user_id,
            "replaces_user_id": override.replaces_user_id,
            "starts_at": override.starts_at.isoformat(), "ends_at": override.ends_at.isoformat(),
            "store_ids": sorted(override.store_ids), "note": stored.note,
            "version": stored.version}


async def _check_person(uow: UnitOfWork, user_id: str, store_ids: frozenset[str],
                        field: str = "user_id") -> None:
    """An active user with a phone who may acknowledge alerts of those stores."""
    user = await uow.users.get(user_id)
    if user is None or not user.active:
        raise RuleViolation(f"user {user_id} does not exist", field=field, code="invalid_user")
    if not user.phone:
        raise RuleViolation(f"{user.username} has no phone number to be called on", field=field,
                            code="no_phone")
    principal = user.principal()
    if not principal.can(Permission.ALERT_ACK):
        raise RuleViolation(f"{user.username} may not acknowledge alerts", field=field,
                            code="may_not_acknowledge")
    if principal.store_ids is not None and not (store_ids and store_ids <= principal.store_ids):
        raise RuleViolation(f"{user.username} may cover only their own stores: name them",
                            field="store_ids", code="outside_scope")
    for store_id in sorted(store_ids):
        if await uow.stores.get(store_id) is None:
            raise RuleViolation(f"store {store_id} does not exist", field="store_ids",
                                code="invalid_store")


@dataclass(frozen=True, slots=True)
class ShiftIn:
    level: int
    user_id: str
    weekdays: list[str]
    starts: str
    ends: str
    store_ids: list[str]
    note: str = ""

    def build(self, shift_id: str) -> Shift:
        return Shift(id=shift_id, level=check_level(self.level), user_id=self.user_id,
                     weekdays=parse_weekdays(self.weekdays), starts=parse_time(self.starts, "starts"),
                     ends=parse_time(self.ends, "ends"), store_ids=frozenset(self.store_ids))


async def add_shift(uow: UnitOfWork, ctx: Context, store: OnCallStore,
                    new: ShiftIn) -> dict[str, Any]:
    ctx.principal.require(Permission.ONCALL_MANAGE)
    shift = new.build(new_id())
    async with uow:
        await _check_person(uow, shift.user_id, shift.store_ids)
        await store.add_shift(shift, note=new.note.strip(), at=ctx.now, by=ctx.principal.user_id)
        after = shift_snapshot(shift, StoredLine(1, new.note.strip()))
        uow.audit(action="oncall.shift.create", entity_type="oncall_shift", entity_id=shift.id,
                  before=None, after=after)
        await uow.commit()
    return after


async def change_shift(uow: UnitOfWork, ctx: Context, store: OnCallStore, *, shift_id: str,
                       changes: dict[str, Any], expected_version: int | None = None
                       ) -> dict[str, Any]:
    """Change some fields of a shift (the others stay); a stale version is refused."""
    ctx.principal.require(Permission.ONCALL_MANAGE)
    async with uow:
        found = await store.shift(shift_id)
        if found is None:
            raise NotFound("on-call shift", shift_id)
        shift, stored = found
        before = shift_snapshot(shift, stored)
        check_version("on-call shift", shift_id, stored.version, expected_version, before)
        merged = {**before, **{k: v for k, v in changes.items() if v is not None}}
        note = str(merged["note"]).strip()
        changed = ShiftIn(level=merged["level"], user_id=merged["user_id"],
                          weekdays=merged["weekdays"], starts=merged["starts"],
                          ends=merged["ends"], store_ids=merged["store_ids"],
                          note=note).build(shift_id)
        await _check_person(uow, changed.user_id, changed.store_ids)
        await store.replace_shift(changed, note=note, version=stored.version)
        after = shift_snapshot(changed, replace(stored, version=stored.version + 1, note=note))
        uow.audit(action="oncall.shift.change", entity_type="oncall_shift", entity_id=shift_id,
                  before=before, after=after)
        await uow.commit()
    return after


async def remove_shift(uow: UnitOfWork, ctx: Context, store: OnCallStore, *,
                       shift_id: str) -> None:
    await _remove(uow, ctx, kind="shift", line_id=shift_id, load=store.shift,
                  delete=store.remove_shift, snapshot=shift_snapshot)


async def _remove(uow: UnitOfWork, ctx: Context, *, kind: str, line_id: str,
                  load: Callable[[str], Awaitable[tuple[Any, StoredLine] | None]],
                  delete: Callable[[str], Awaitable[None]],
                  snapshot: Callable[[Any, StoredLine], dict[str, Any]]) -> None:
    """Remove a shift or an override (kept in the audit's ``before``)."""
    ctx.principal.require(Permission.ONCALL_MANAGE)
    async with uow:
        found = await load(line_id)
        if found is None:
            raise NotFound(f"on-call {kind}", line_id)
        await delete(line_id)
        uow.audit(action=f"oncall.{kind}.remove", entity_type=f"oncall_{kind}",
                  entity_id=line_id, before=snapshot(*found), after=None)
        await uow.commit()


@dataclass(frozen=True, slots=True)
class OverrideIn:
    level: int
    user_id: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    store_ids: list[str]
    replaces_user_id: str | None = None
    note: str = ""


async def add_override(uow: UnitOfWork, ctx: Context, store: OnCallStore,
                       new: OverrideIn) -> dict[str, Any]:
    """A person covers a level for a time range (not one already over)."""
    ctx.principal.require(Permission.ONCALL_MANAGE)
    override = Override(id=new_id(), level=check_level(new.level), user_id=new.user_id,
                        starts_at=new.starts_at, ends_at=new.ends_at,
                        store_ids=frozenset(new.store_ids),
                        replaces_user_id=new.replaces_user_id or None)
    if override.ends_at <= ctx.now:
        raise RuleViolation("an override must end in the future", field="ends_at")
    if override.replaces_user_id == override.user_id:
        raise RuleViolation("a person cannot cover for themselves", field="replaces_user_id")
    async with uow:
        await _check_person(uow, override.user_id, override.store_ids)
        if override.replaces_user_id is not None \
                and await uow.users.get(override.replaces_user_id) is None:
            raise RuleViolation(f"user {override.replaces_user_id} does not exist",
                                field="replaces_user_id", code="invalid_user")
        await store.add_override(override, note=new.note.strip(), at=ctx.now,
                                 by=ctx.principal.user_id)
        after = override_snapshot(override, StoredLine(1, new.note.strip()))
        uow.audit(action="oncall.override.create", entity_type="oncall_override",
                  entity_id=override.id, before=None, after=after)
        await uow.commit()
    return after


async def remove_override(uow: UnitOfWork, ctx: Context, store: OnCallStore, *,
                          override_id: str) -> None:
    await _remove(uow, ctx, kind="override", line_id=override_id, load=store.override,
                  delete=store.remove_override, snapshot=override_snapshot)


async def set_contact(uow: UnitOfWork, ctx: Context, store: ContactStore, *, user_id: str,
                      contact: ContactIn) -> dict[str, Any]:
    """Set a person's e-mail address and quiet hours (audited)."""
    ctx.principal.require(Permission.ONCALL_MANAGE)
    contact = contact.check()
    async with uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("user", user_id)
        before = await store.contact(user_id)
        await store.set_contact(user_id, contact, at=ctx.now)
        after = {"user_id": user_id, "email": contact.email,
                 "quiet_starts": contact.quiet_starts, "quiet_ends": contact.quiet_ends,
                 "timezone": contact.timezone}
        uow.audit(action="oncall.contact.set", entity_type="alert_contact", entity_id=user_id,
                  before=before, after=after)
        await uow.commit()
    return after
