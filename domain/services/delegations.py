"""Use cases of role delegation: a user lends a role they hold to another user of their stores
for at most 30 days; it lapses by itself, or the giver, the receiver or an administrator ends it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.aggregate import new_id
from domain.errors import NotFound, PermissionDenied, RuleViolation
from domain.geo import ensure_aware
from domain.ports import DelegationStore, UnitOfWork
from domain.roles import Delegation, Permission, Role
from domain.services.context import Context

P = Permission
MAX_DELEGATION = dt.timedelta(days=30)
BACKDATE_TOLERANCE = dt.timedelta(minutes=5)


def delegation_snapshot(d: Delegation) -> dict[str, Any]:
    return {"id": d.id, "from_user_id": d.from_user_id, "to_user_id": d.to_user_id,
            "role": d.role.value, "starts_at": d.starts_at.isoformat(),
            "ends_at": d.ends_at.isoformat()}


async def delegate_role(
    uow: UnitOfWork, ctx: Context, store: DelegationStore, *, to_username: str, role: Role,
    ends_at: dt.datetime, starts_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Lend a role one holds to another user for at most 30 days; it lapses by itself."""
    p = ctx.principal
    p.require(P.ROLE_DELEGATE)
    starts = ensure_aware(starts_at, "starts_at") if starts_at is not None else ctx.now
    ends = ensure_aware(ends_at, "ends_at")
    if starts < ctx.now - BACKDATE_TOLERANCE:
        raise RuleViolation("a delegation cannot start in the past", field="starts_at")
    if ends <= max(starts, ctx.now):
        raise RuleViolation("a delegation must end in the future, after it starts",
                            field="ends_at")
    if ends - starts > MAX_DELEGATION:
        raise RuleViolation("a delegation lasts at most 30 days", field="ends_at")
    async with uow:
        me = await uow.users.get(p.user_id)
        if me is None or role not in me.roles:
            raise PermissionDenied(f"you may delegate only a role you hold, not {role.value}",
                                   permission=P.ROLE_DELEGATE.value)
        target = await uow.users.by_username(to_username.strip().lower())
        if target is None or not target.active:
            raise RuleViolation(f"user {to_username} does not exist", field="to_username",
                                code="invalid_user")
        if target.id == me.id:
            raise RuleViolation("you cannot delegate a role to yourself", field="to_username")
        if p.store_ids is not None and not (target.store_ids and target.store_ids <= p.store_ids):
            raise RuleViolation("you may delegate only to users of your own stores",
                                field="to_username")
        delegation = Delegation(id=new_id(), from_user_id=me.id, to_user_id=target.id,
                                role=role, starts_at=starts, ends_at=ends)
        await store.add(delegation, created_at=ctx.now)
        after = delegation_snapshot(delegation)
        uow.audit(action="delegation.create", entity_type="delegation", entity_id=delegation.id,
                  before=None, after=after)
        await uow.commit()
        return after


async def revoke_delegation(uow: UnitOfWork, ctx: Context, store: DelegationStore, *,
                            delegation_id: str) -> None:
    """The giver, the receiver or an administrator ends a delegation now (kept for history)."""
    p = ctx.principal
    async with uow:
        found = await store.get(delegation_id)
        involved = found is not None and p.user_id in {found.from_user_id, found.to_user_id}
        if found is None or not (involved or p.can(P.USER_ADMIN)):
            raise NotFound("delegation", delegation_id)
        if found.ends_at <= ctx.now:
            return
        end = max(ctx.now, found.starts_at)
        await store.end(found.id, at=end)
        uow.audit(action="delegation.revoke", entity_type="delegation", entity_id=found.id,
                  before=delegation_snapshot(found),
                  after={**delegation_snapshot(found), "ends_at": end.isoformat()})
        await uow.commit()
